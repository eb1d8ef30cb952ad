from pathlib import Path

import pytest

from maskscan.pipeline.decode import DecodeError, FrameSampler, VideoSource, batched_frames
from maskscan.pipeline.media import MediaFile
from tests.factories import CONTAINERS, GREEN, scripted_frames, square_frame, write_video


@pytest.mark.parametrize("suffix", sorted(CONTAINERS))
def test_every_container_decodes_all_frames_in_order(tmp_path: Path, suffix: str) -> None:
    frames = scripted_frames(12)
    path = write_video(tmp_path / f"clip{suffix}", frames, fps=10)
    with VideoSource(MediaFile(path, "video"), sample_fps=0) as source:
        decoded = list(source.frames())
        assert (source.info.width, source.info.height) == (160, 96)
    assert [f.index for f in decoded] == list(range(12))
    assert [f.timestamp_s for f in decoded] == pytest.approx([i / 10 for i in range(12)], abs=0.011)
    # the red square is there in the middle third only (lossy codecs: compare coarsely)
    red_present = [bool((f.image[40:72, 100:132, 0] > 150).mean() > 0.5) for f in decoded]
    assert red_present == [4 <= i < 8 for i in range(12)]


def test_sampling_keeps_the_requested_rate(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.mp4", scripted_frames(50), fps=25)
    with VideoSource(MediaFile(path, "video"), sample_fps=5) as source:
        decoded = list(source.frames())
    assert [f.index for f in decoded] == [0, 5, 10, 15, 20, 25, 30, 35, 40, 45]
    assert [f.timestamp_s for f in decoded] == pytest.approx([i * 0.2 for i in range(10)], abs=1e-3)


def test_variable_frame_rate_uses_pts(tmp_path: Path) -> None:
    times = [0.0, 0.05, 0.1, 0.5, 0.55, 1.4, 1.45, 1.5, 2.0]
    path = write_video(tmp_path / "vfr.mkv", scripted_frames(len(times)), fps=20, timestamps=times)
    with VideoSource(MediaFile(path, "video"), sample_fps=2) as source:
        decoded = list(source.frames())
    # one frame per half-second slot that has any: [0, .5) [.5, 1) [1, 1.5) [1.5, 2) [2, 2.5)
    assert [f.timestamp_s for f in decoded] == pytest.approx([0.0, 0.5, 1.4, 1.5, 2.0], abs=1e-3)


def test_frame_sampler_keeps_the_first_frame_of_each_slot_across_gaps() -> None:
    sampler = FrameSampler(1.0)
    kept = [t for t in [0.0, 0.4, 1.0, 1.2, 5.3, 5.4, 6.0, 6.31] if sampler.keep(t)]
    assert kept == [0.0, 1.0, 5.3, 6.0]


def test_frame_sampler_zero_keeps_everything() -> None:
    sampler = FrameSampler(0)
    assert all(sampler.keep(t) for t in [0.0, 0.0, 0.01, 0.02])


def test_rotation_metadata_is_applied(tmp_path: Path) -> None:
    image = square_frame(64, 32, [(0, 0, 8, GREEN)])
    image[:, :8] = 255  # a white stripe down the left edge
    path = write_video(tmp_path / "rotated.mp4", [image] * 3, rotation=90)
    with VideoSource(MediaFile(path, "video"), sample_fps=0) as source:
        frame = next(iter(source.frames()))
        assert (source.info.width, source.info.height, source.info.rotation) == (32, 64, 90)
    # 90 degrees counter-clockwise: the left edge becomes the bottom edge
    assert frame.image.shape == (64, 32, 3)
    assert frame.image[-4:].mean() > 200 and frame.image[:8].mean() < 120


def test_images_are_one_frame_videos(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "photo.png"
    Image.fromarray(scripted_frames(1)[0]).save(path)
    with VideoSource(MediaFile(path, "image"), sample_fps=5) as source:
        decoded = list(source.frames())
    assert len(decoded) == 1 and decoded[0].image.shape == (96, 160, 3)


def test_batches_are_bounded_and_complete(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.mp4", scripted_frames(23), fps=10)
    with VideoSource(MediaFile(path, "video"), sample_fps=0) as source:
        batches = list(batched_frames(source, batch_size=5))
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
    assert [f.index for b in batches for f in b] == list(range(23))


@pytest.mark.parametrize("content,reason", [
    (b"this is not a video at all\n" * 20, "not a readable video"),
    (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 40, "not a readable video"),
])
def test_garbage_is_a_decode_error(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "fake.mp4"
    path.write_bytes(content)
    with pytest.raises(DecodeError, match=reason):
        with VideoSource(MediaFile(path, "video"), sample_fps=5) as source:
            list(source.frames())


def test_truncated_video_is_a_decode_error(tmp_path: Path) -> None:
    path = write_video(tmp_path / "full.mp4", scripted_frames(30), fps=10)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DecodeError):
        with VideoSource(MediaFile(truncated, "video"), sample_fps=0) as source:
            list(source.frames())


def test_errors_in_the_decoding_thread_reach_the_consumer(tmp_path: Path) -> None:
    from maskscan.classifiers.yolo_offline import import_ultralytics

    import_ultralytics()  # it patches Pillow's open; maskscan must still see Pillow's own errors
    path = tmp_path / "broken.png"
    path.write_bytes(b"not a png")
    source = VideoSource(MediaFile(path, "image"), sample_fps=0)
    with pytest.raises(DecodeError, match="not a readable image"):
        list(batched_frames(source, batch_size=4))
