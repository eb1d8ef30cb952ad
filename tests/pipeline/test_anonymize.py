"""Hiding faces: regions, modes, strength by size, the hold over frames, and the pipeline's
recall-first split between faces counted and faces hidden."""

import numpy as np
import pytest
import torch

from maskscan.detections import FaceDetections
from maskscan.pipeline.annotate import BoxAnnotator
from maskscan.pipeline.anonymize import (ENLARGE, HOLD_FRAMES, SOLID_GREY, FaceAnonymizer, RegionHold,
                                         hidden_regions)
from maskscan.pipeline.inference import FaceMaskPipeline
from tests.factories import ColourSquareClassifier

RNG = np.random.default_rng(7)


def textured_frame(width: int = 320, height: int = 200) -> np.ndarray:
    return RNG.integers(0, 256, (height, width, 3), np.uint8)


def test_regions_are_enlarged_about_the_centre_and_kept_inside_the_image() -> None:
    regions = hidden_regions(np.array([[100, 100, 140, 140], [0, 0, 20, 20]]), 320, 200)
    grow = 40 * (ENLARGE - 1) / 2
    assert regions[0].tolist() == [int(np.floor(100 - grow)), int(np.floor(100 - grow)),
                                   int(np.ceil(140 + grow)), int(np.ceil(140 + grow))]
    assert regions[1][:2].tolist() == [0, 0]


@pytest.mark.parametrize("mode", ["blur", "pixelate", "solid"])
def test_each_mode_changes_the_face_regions_and_nothing_else(mode: str) -> None:
    frame = textured_frame()
    boxes = np.array([[40, 40, 80, 80], [200, 60, 260, 120]], np.float32)
    hidden = FaceAnonymizer(mode).anonymize(frame, boxes)
    inside = np.zeros(frame.shape[:2], bool)
    for x1, y1, x2, y2 in hidden_regions(boxes, 320, 200):
        inside[y1:y2, x1:x2] = True
    assert np.array_equal(hidden[~inside], frame[~inside])
    for x1, y1, x2, y2 in boxes.astype(int):
        before, after = frame[y1:y2, x1:x2].astype(float), hidden[y1:y2, x1:x2].astype(float)
        assert after.std() < 0.35 * before.std()  # the noise texture (the "identity") is gone
    if mode == "solid":
        assert (hidden[inside] == SOLID_GREY).all()


def test_none_leaves_the_image_as_it_is() -> None:
    frame = textured_frame()
    assert np.array_equal(FaceAnonymizer("none").anonymize(frame, np.array([[40, 40, 80, 80]])), frame)
    with pytest.raises(ValueError, match="unknown anonymize mode"):
        FaceAnonymizer("smudge")  # type: ignore[arg-type]


@pytest.mark.parametrize("face_width", [16, 48, 96])
def test_pixel_blocks_scale_with_the_face_at_most_an_eighth_of_its_width(face_width: int) -> None:
    frame = textured_frame(400, 300)
    box = np.array([[150, 100, 150 + face_width, 100 + face_width]], np.float32)
    hidden = FaceAnonymizer("pixelate").anonymize(frame, box)
    row = hidden[100 + face_width // 2, 150:150 + face_width].astype(int)
    runs = 1 + np.count_nonzero(np.any(np.diff(row, axis=0) != 0, axis=1))
    assert runs >= 8  # blocks no wider than an eighth of the face: at least 8 across it
    assert runs <= face_width // 2 + 2  # and they are blocks, not pixels (a fixed size would fail one end)


def test_blur_strength_follows_the_face_size() -> None:
    """A large face is blurred as much, relative to its size, as a small one."""
    frame = textured_frame(600, 400)
    small, large = np.array([[50, 50, 74, 74]], np.float32), np.array([[250, 100, 490, 340]], np.float32)
    hidden = FaceAnonymizer("blur").anonymize(frame, np.concatenate([small, large]))
    for x1, y1, x2, y2 in (small[0].astype(int), large[0].astype(int)):
        assert hidden[y1:y2, x1:x2].std() < 0.35 * frame[y1:y2, x1:x2].std()


def test_a_region_is_held_for_a_few_frames_after_the_face_was_last_seen() -> None:
    hold, face = RegionHold(), np.array([[10, 10, 30, 30]], np.float32)
    seen = [len(hold.update(face if i == 0 else np.zeros((0, 4)))) for i in range(HOLD_FRAMES + 2)]
    assert seen == [1] * (HOLD_FRAMES + 1) + [0]


class ScoredSquares:
    """Finds the bright squares; a square's score is its brightness (a dim face is a weak detection)."""

    name = "scored-squares"
    confidence = 0.1

    def detect(self, frames):  # noqa: ANN001, ANN201
        from tests.factories import _components

        out = []
        for frame in frames:
            boxes = torch.tensor(_components((frame.max(dim=0).values > 60).numpy()), dtype=torch.float32).reshape(-1, 4)
            scores = torch.tensor([float(frame[:, int(b[1]):int(b[3]), int(b[0]):int(b[2])].max()) / 255 for b in boxes])
            keep = scores >= self.confidence
            out.append((boxes[keep], scores[keep]))
        return out


def test_a_face_below_the_counting_confidence_is_hidden_but_not_counted() -> None:
    frame = np.full((120, 200, 3), 10, np.uint8)
    frame[20:52, 20:52] = (230, 0, 0)  # a clear unmasked face: score 0.9
    frame[40:72, 120:152] = (80, 0, 0)  # a faint one: score 0.31, under the counting confidence 0.45
    pipeline = FaceMaskPipeline(ScoredSquares(), ColourSquareClassifier(), "cpu", 0.5, counting_confidence=0.45)
    [found] = pipeline([frame])
    assert len(found) == 1 and found.boxes[0].tolist() == [20, 20, 52, 52]
    assert len(found.privacy_boxes) == 2
    drawn = BoxAnnotator(anonymizer=FaceAnonymizer("solid")).annotate(frame, found)
    assert (drawn[60, 136] == SOLID_GREY).all()  # the faint face is covered too
    assert (drawn[110, 100] == frame[110, 100]).all()  # the background is not
    assert pipeline.face_confidence == 0.45 and pipeline.privacy_confidence == 0.1


def test_without_a_privacy_confidence_the_counted_faces_are_the_regions() -> None:
    faces = FaceDetections(np.array([[1, 2, 3, 4]], np.float32), np.array([0.9], np.float32))
    assert faces.regions_to_hide.tolist() == [[1, 2, 3, 4]]
    assert faces.with_privacy_boxes(np.zeros((2, 4))).regions_to_hide.shape == (2, 4)


def test_written_clips_hide_the_faces_and_keep_the_rest(db_url: str, tmp_path) -> None:  # noqa: ANN001
    import av

    from maskscan.pipeline.media import MediaFile
    from tests.factories import write_video
    from tests.pipeline.test_runner import make_processor

    checker = (np.indices((40, 40)).sum(axis=0) % 2).astype(bool)  # a 1-px checkerboard: the face's "detail"
    frames = []
    for _ in range(20):
        frame = np.full((120, 200, 3), 30, np.uint8)
        frame[100:120, :] = (90, 60, 30)  # a band far from the face
        frame[30:70, 40:80] = np.where(checker[..., None], (240, 0, 0), (150, 0, 0))  # an unmasked face
        frames.append(frame)
    path = write_video(tmp_path / "face.mkv", frames, fps=10)
    outcome = make_processor(db_url, sample_fps=0, clips_dir=tmp_path / "clips", anonymize="pixelate").process(
        MediaFile(path, "video"))
    assert outcome.status == "done" and len(outcome.clips) == 1
    with av.open(outcome.clips[0]) as container:
        written = [f.to_ndarray(format="rgb24").astype(float) for f in container.decode(video=0)]
    with av.open(str(path)) as container:
        source = [f.to_ndarray(format="rgb24").astype(float) for f in container.decode(video=0)]
    assert len(written) == 20
    for clip_frame, source_frame in zip(written, source):
        face = slice(36, 64), slice(46, 74)  # inside the box, clear of its outline
        assert clip_frame[face][..., 0].std() < 0.5 * source_frame[face][..., 0].std()
        assert np.abs(clip_frame[104:120, 100:200] - source_frame[104:120, 100:200]).mean() < 4  # codec noise only


def test_annotated_photos_hide_the_faces_too(db_url: str, tmp_path) -> None:  # noqa: ANN001
    from PIL import Image

    from maskscan.pipeline.media import MediaFile
    from tests.pipeline.test_runner import make_processor

    photo = np.full((120, 200, 3), 30, np.uint8)
    photo[30:70, 40:80] = (230, 0, 0)  # an unmasked face
    Image.fromarray(photo).save(tmp_path / "door.png")
    outcome = make_processor(db_url, clips_dir=tmp_path / "clips", anonymize="solid").process(
        MediaFile(tmp_path / "door.png", "image"))
    assert outcome.status == "done" and outcome.people_unmasked == 1
    written = np.asarray(Image.open(outcome.clips[0]).convert("RGB")).astype(int)
    assert np.abs(written[50, 60] - SOLID_GREY).max() < 10
    assert np.abs(written[110, 190] - 30).max() < 10
