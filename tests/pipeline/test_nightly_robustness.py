"""What a hostile but realistic nightly job meets, one test per defect of the robustness probe.

The numbers in the test names are the items of that issue. Stand-in models keep these fast;
`tests/cli/test_nightly_cli.py` covers what only the command line shows.
"""

import errno
import hashlib
import os
import threading
import time
import warnings
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from sqlalchemy import create_engine, select, text

from maskscan.pipeline.decode import MAX_IMAGE_PIXELS
from maskscan.pipeline.media import MediaFile
from maskscan.pipeline.runner import FileProcessor
from maskscan.storage import database
from maskscan.storage.models import Clip, Frame, Video
from maskscan.storage.reports import ReportFilter, frame_table
from tests.factories import ColourSquareDetector, scripted_frames, write_video
from tests.pipeline.test_runner import make_processor


def video(path: Path) -> MediaFile:
    return MediaFile(path, "video")


def rows(processor: FileProcessor) -> list[Video]:
    with processor.sessions() as session:
        return list(session.scalars(select(Video).order_by(Video.id)))


def frame_count(processor: FileProcessor, video_id: int) -> int:
    with processor.sessions() as session:
        return len(session.scalars(select(Frame.id).where(Frame.video_id == video_id)).all())


def write_faststart_mp4(path: Path, frames: int, fps: int = 10) -> Path:
    """An MP4 whose index (moov) sits at the front, as streaming-friendly encoders write it.
    Noisy frames, so that the bytes spread over the footage as in real recordings."""
    rng = np.random.default_rng(0)
    images = [np.maximum(image, rng.integers(0, 60, image.shape, dtype=np.uint8)) for image in scripted_frames(frames)]
    with av.open(str(path), mode="w", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        for i, image in enumerate(images):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


# 1. footage that is still arriving


def test_01_a_file_still_being_copied_fails_as_incomplete(db_url: str, tmp_path: Path) -> None:
    full = write_faststart_mp4(tmp_path / "full.mp4", 200)
    copying = tmp_path / "copying.mp4"
    copying.write_bytes(full.read_bytes()[: full.stat().st_size * 3 // 10])
    processor = make_processor(db_url, sample_fps=2, clips_dir=None)
    outcome = processor.process(video(copying))
    assert outcome.status == "failed" and "incomplete file" in outcome.error, outcome
    (row,) = rows(processor)
    assert (row.status, frame_count(processor, row.id)) == ("failed", 0)
    assert processor.process(video(full)).status == "done"  # the complete file is fine


def test_01_files_modified_within_the_settle_time_wait_for_a_later_run(db_url: str, tmp_path: Path) -> None:
    path = write_video(tmp_path / "arriving.mp4", scripted_frames(10), fps=10)
    processor = make_processor(db_url, sample_fps=0, clips_dir=None, settle_s=60)
    outcome = processor.process(video(path))
    assert outcome.status == "skipped" and "still being written" in outcome.error
    assert rows(processor) == []  # no row: the file is simply not there yet
    two_minutes_ago = time.time() - 120
    os.utime(path, (two_minutes_ago, two_minutes_ago))
    assert processor.process(video(path)).status == "done"


def test_01_a_new_version_at_the_same_path_supersedes_the_old_one(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "cam1.mp4"
    write_video(path, scripted_frames(20), fps=10)
    processor = make_processor(db_url, sample_fps=0, clips_dir=None)
    first = processor.process(video(path))
    write_video(path, scripted_frames(30), fps=10)  # the complete recording lands at the same path
    second = processor.process(video(path))
    assert (first.status, second.status) == ("done", "done")
    old, new = rows(processor)
    assert (old.status, new.status) == ("superseded", "done") and f"video {new.id}" in old.error
    engine = database.create_db_engine(db_url)
    reported = frame_table(engine, ReportFilter())
    engine.dispose()
    assert len(reported) == 30 and set(reported["video_id"]) == {new.id}  # no footage counted twice


# 2. a file rewritten while it is processed


class RewritingDetector(ColourSquareDetector):
    """Truncates the file under analysis during the first batch, as a crashed copy would."""

    def __init__(self, victim: Path) -> None:
        self.victim, self.done = victim, False

    def detect(self, frames):  # noqa: ANN001, ANN201
        if not self.done:
            self.done = True
            with self.victim.open("r+b") as handle:
                handle.truncate(self.victim.stat().st_size // 2)
        return super().detect(frames)


def test_02_a_file_changed_during_processing_fails(db_url: str, tmp_path: Path) -> None:
    path = write_video(tmp_path / "changing.mp4", scripted_frames(40), fps=10)
    processor = make_processor(db_url, sample_fps=0, clips_dir=None, batch_size=4)
    processor.pipeline.detector = RewritingDetector(path)
    outcome = processor.process(video(path))
    assert outcome.status == "failed", outcome
    assert "changed while it was processed" in outcome.error or "decoding failed" in outcome.error
    (row,) = rows(processor)
    assert (row.status, frame_count(processor, row.id)) == ("failed", 0)


# 3. timestamps that restart


def test_03_concatenated_segments_keep_all_their_footage(db_url: str, tmp_path: Path) -> None:
    first = write_video(tmp_path / "a.ts", scripted_frames(35), fps=10)
    second = write_video(tmp_path / "b.ts", scripted_frames(35), fps=10)
    joined = tmp_path / "joined.ts"
    joined.write_bytes(first.read_bytes() + second.read_bytes())  # pts start again half way
    every = make_processor(db_url, sample_fps=0, clips_dir=None).process(video(joined))
    assert every.frames == 70
    processor = make_processor(db_url, sample_fps=5, clips_dir=None, force=True)
    sampled = processor.process(video(joined))
    assert sampled.status == "done" and 34 <= sampled.frames <= 36, sampled  # 7 s of footage at 5 a second
    assert any("timestamps jump back" in warning for warning in processor.progress.warnings)
    with processor.sessions() as session:
        times = session.scalars(select(Frame.timestamp_s).order_by(Frame.frame_index)).all()
    assert times == sorted(times) and times[-1] > 6.5


# 4. clips belong to one result


class OtherDetector(ColourSquareDetector):
    name = "other-squares"


def test_04_other_models_keep_the_first_models_clips(db_url: str, tmp_path: Path) -> None:
    path = write_video(tmp_path / "scripted.mp4", scripted_frames(30), fps=10)
    first = make_processor(db_url, sample_fps=0, clips_dir=tmp_path / "clips")
    second = make_processor(db_url, sample_fps=0, clips_dir=tmp_path / "clips")
    second.pipeline.detector = OtherDetector()
    outcomes = [first.process(video(path)), second.process(video(path))]
    assert [o.status for o in outcomes] == ["done", "done"]
    clips = [Path(c) for o in outcomes for c in o.clips]
    assert len(clips) == 2 and clips[0].parent != clips[1].parent
    assert all(c.is_file() for c in clips)
    again = make_processor(db_url, sample_fps=0, clips_dir=tmp_path / "clips", force=True)
    assert again.process(video(path)).status == "done"  # a re-run of the first result replaces only its own
    assert clips[1].is_file()


# 5. names that FFmpeg would read as URLs


@pytest.mark.parametrize("name", ["concat:real.mp4|real.mp4", "file:real.mp4", "http:example.mp4",
                                  "subfile,,start,0,end,100,,:real.mp4", "tcp:127.0.0.1:9.mp4"])
def test_05_protocol_like_names_are_read_as_plain_files(db_url: str, tmp_path: Path, name: str) -> None:
    write_video(tmp_path / "real.mp4", scripted_frames(30), fps=10)
    own = write_video(tmp_path / "own.mp4", scripted_frames(8), fps=10).rename(tmp_path / name)
    processor = make_processor(db_url, sample_fps=0, clips_dir=None)
    outcome = processor.process(video(own))
    assert (outcome.status, outcome.frames) == ("done", 8)  # its own 8 frames, not real.mp4's 30
    (row,) = rows(processor)
    assert row.sha256 == hashlib.sha256(own.read_bytes()).hexdigest()


# 6. names that are not UTF-8


def test_06_a_non_utf8_name_is_stored_and_the_batch_goes_on(db_url: str, tmp_path: Path) -> None:
    latin1 = Path(os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9.mp4"))
    write_video(tmp_path / "tmp.mp4", scripted_frames(10), fps=10).rename(latin1)
    after = write_video(tmp_path / "after.mp4", scripted_frames(12), fps=10)
    processor = make_processor(db_url, sample_fps=0, clips_dir=tmp_path / "clips")
    outcomes = [processor.process(video(latin1)), processor.process(video(after))]
    assert [o.status for o in outcomes] == ["done", "done"], outcomes
    assert outcomes[0].path.endswith("caf\\xe9.mp4")
    assert rows(processor)[0].path == str(tmp_path) + "/caf\\xe9.mp4"
    assert all(Path(clip).is_file() for clip in outcomes[0].clips) and outcomes[0].clips


# 7. FIFOs


def test_07_a_fifo_is_never_opened_for_reading(db_url: str, tmp_path: Path) -> None:
    fifo = tmp_path / "camera.mp4"
    os.mkfifo(fifo)
    processor = make_processor(db_url, sample_fps=0, clips_dir=None)
    result: list = []
    worker = threading.Thread(target=lambda: result.append(processor.process(video(fifo))), daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "processing a FIFO hung"
    assert result[0].status == "failed" and "not a regular file" in result[0].error


# 9. very long names


def test_09_a_250_character_name_gets_its_clips(db_url: str, tmp_path: Path) -> None:
    path = write_video(tmp_path / "short.mp4", scripted_frames(30), fps=10).rename(tmp_path / ("x" * 246 + ".mp4"))
    outcome = make_processor(db_url, sample_fps=0, clips_dir=tmp_path / "clips").process(video(path))
    assert outcome.status == "done" and len(outcome.clips) == 1, outcome
    assert Path(outcome.clips[0]).is_file()
    assert all(len(part.encode()) <= 255 for part in Path(outcome.clips[0]).parts)


# 11. a full disk


def test_11_a_write_error_fails_the_file_and_leaves_no_truncated_image(db_url: str, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    image = tmp_path / "still.png"
    Image.fromarray(scripted_frames(3)[1]).save(image)  # one masked and one unmasked face

    def disk_full(self: Image.Image, fp, format=None, **params) -> None:  # noqa: ANN001, A002
        Path(fp).write_bytes(b"\xff\xd8\xff\xe0 the first few bytes")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", disk_full)
    processor = make_processor(db_url, clips_dir=tmp_path / "clips")
    outcome = processor.process(MediaFile(image, "image"))
    assert outcome.status == "failed" and "No space left on device" in outcome.error
    assert not [p for p in (tmp_path / "clips").rglob("*") if p.is_file()]  # no JPEG, no temporary file
    (row,) = rows(processor)
    assert (row.status, frame_count(processor, row.id)) == ("failed", 0)
    with processor.sessions() as session:
        assert session.scalars(select(Clip)).all() == []


# 14. the database lost mid-file


def test_14_a_lost_postgresql_fails_that_file_only_and_the_run_goes_on(tmp_path: Path) -> None:
    """PostgreSQL goes away mid-file (every connection cut, none accepted) and comes back 3 s later."""
    from tests.conftest import POSTGRES_ADMIN_URL, _postgres_database

    for db_url in _postgres_database():
        name = db_url.rsplit("/", 1)[1]
        slow = write_video(tmp_path / "slow.mp4", scripted_frames(60), fps=10)
        later = write_video(tmp_path / "later.mp4", scripted_frames(10), fps=10)
        processor = make_processor(db_url, sample_fps=0, clips_dir=None, batch_size=2)
        original = processor.pipeline.detector.detect
        processor.pipeline.detector.detect = lambda frames: (time.sleep(0.05), original(frames))[1]
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        watcher = create_engine(db_url)

        def outage_while_running() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with watcher.connect() as connection:
                    if connection.execute(text("SELECT count(*) FROM frames")).scalar() >= 6:
                        break
                time.sleep(0.05)
            watcher.dispose()
            with admin.connect() as connection:
                connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
                connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                                   {"n": name})
                time.sleep(3)
                connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))

        outage = threading.Thread(target=outage_while_running)
        outage.start()
        outcomes = [processor.process(video(slow)), processor.process(video(later))]
        outage.join()
        assert outcomes[0].status == "failed" and "database connection lost" in outcomes[0].error, outcomes[0]
        assert outcomes[1].status == "done"
        first, second = rows(processor)
        assert (first.status, frame_count(processor, first.id)) == ("failed", 0)
        assert "database connection lost" in first.error and second.status == "done"
        admin.dispose()
        processor.sessions.kw["bind"].dispose()


def test_14_a_database_that_stays_away_ends_the_run_with_one_error(tmp_path: Path) -> None:
    from maskscan.pipeline.runner import DatabaseUnavailable
    from tests.conftest import POSTGRES_ADMIN_URL, _postgres_database

    for db_url in _postgres_database():
        name = db_url.rsplit("/", 1)[1]
        path = write_video(tmp_path / "clip.mp4", scripted_frames(10), fps=10)
        processor = make_processor(db_url, sample_fps=0, clips_dir=None, database_retry_s=1)
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                               {"n": name})
        try:
            with pytest.raises(DatabaseUnavailable, match="database unreachable for 1 s"):
                processor.process(video(path))
            assert processor.progress.outcomes[0].error.startswith("database connection lost")
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            admin.dispose()
            processor.sessions.kw["bind"].dispose()


# 19. huge images


def png_header(path: Path, width: int, height: int) -> Path:
    """A PNG that announces `width` x `height` pixels and holds none (readers see the size first)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    return path


def test_19_huge_images_fail_clearly_and_large_ones_pass_without_a_warning(db_url: str, tmp_path: Path) -> None:
    large = tmp_path / "large.png"
    Image.new("RGB", (12000, 9000), (20, 20, 20)).save(large, compress_level=1)  # 108 MP: Pillow would warn
    huge = png_header(tmp_path / "huge.png", 16000, 10000)  # 160 MP, above maskscan's limit
    processor = make_processor(db_url, clips_dir=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        outcome = processor.process(MediaFile(large, "image"))
        refused = processor.process(MediaFile(huge, "image"))
    assert outcome.status == "done", outcome
    assert refused.status == "failed" and refused.error == (
        f"image too large (16000x10000, limit {MAX_IMAGE_PIXELS / 1e6:g} megapixels)")
