import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest
from sqlalchemy import func, select

from maskscan.pipeline.inference import FaceMaskPipeline
from maskscan.pipeline.media import MediaFile
from maskscan.pipeline.runner import FileOutcome, FileProcessor, ProcessOptions
from maskscan.storage import database
from maskscan.storage.models import Clip, Detection, Frame, Video
from tests.factories import ColourSquareClassifier, ColourSquareDetector, scripted_frames, write_video

REPO = Path(__file__).resolve().parents[2]


class RecordingProgress:
    def __init__(self) -> None:
        self.outcomes: list[FileOutcome] = []
        self.warnings: list[str] = []

    def start_file(self, media, info, expected_frames) -> None:  # noqa: ANN001
        pass

    def advance(self, media, frames: int, faces: int) -> None:  # noqa: ANN001
        pass

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def end_file(self, outcome: FileOutcome) -> None:
        self.outcomes.append(outcome)


def make_processor(db_url: str, **options: object) -> FileProcessor:
    engine = database.create_db_engine(db_url)
    database.ensure_schema(engine)
    pipeline = FaceMaskPipeline(ColourSquareDetector(), ColourSquareClassifier(), "cpu", mask_threshold=0.5)
    return FileProcessor(pipeline, database.session_factory(engine), ProcessOptions(**options), RecordingProgress())


def test_counts_detections_and_clip_of_a_known_video(db_url: str, tmp_path: Path) -> None:
    # 60 frames at 10 fps; the red (unmasked) square shows in frames 20..39, i.e. 2.0 s to 3.9 s
    path = write_video(tmp_path / "scripted.mp4", scripted_frames(60), fps=10)
    processor = make_processor(db_url, sample_fps=0, batch_size=7, clips_dir=tmp_path / "clips",
                               pre_roll_s=1.0, post_roll_s=1.0)
    outcome = processor.process(MediaFile(path, "video"))
    assert (outcome.status, outcome.frames, outcome.faces, outcome.unmasked) == ("done", 60, 80, 20)

    with processor.sessions() as session:
        video = session.scalars(select(Video)).one()
        assert (video.status, video.frames_analysed, video.width, video.height) == ("done", 60, 160, 96)
        assert video.fps == pytest.approx(10) and video.duration_s == pytest.approx(6.0, abs=0.11)
        frames = session.scalars(select(Frame).order_by(Frame.frame_index)).all()
        assert [f.unmasked for f in frames] == [int(20 <= i < 40) for i in range(60)]
        assert all(f.masked == 1 for f in frames)
        assert session.scalar(select(func.count()).select_from(Detection)) == 80
        red = session.scalars(select(Detection).where(Detection.label == "no_mask")).first()
        assert (red.x1, red.y1, red.x2, red.y2) == pytest.approx((100, 40, 132, 72), abs=1.5)
        clip = session.scalars(select(Clip)).one()
    assert clip.start_s == pytest.approx(1.0, abs=0.11)
    assert clip.end_s == pytest.approx(4.9, abs=0.11)
    with av.open(clip.path) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.pix_fmt) == ("h264", "yuv420p")
        assert sum(1 for _ in container.decode(stream)) == 40


def test_done_files_are_skipped_and_force_replaces_without_doubling(db_url: str, tmp_path: Path) -> None:
    path = write_video(tmp_path / "scripted.mkv", scripted_frames(30), fps=10)
    processor = make_processor(db_url, sample_fps=5, clips_dir=None)
    assert processor.process(MediaFile(path, "video")).status == "done"
    assert processor.process(MediaFile(path, "video")).status == "skipped"
    forced = make_processor(db_url, sample_fps=5, clips_dir=None, force=True)
    assert forced.process(MediaFile(path, "video")).status == "done"
    with processor.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Video)) == 1
        assert session.scalar(select(func.count()).select_from(Frame)) == 15


@pytest.mark.parametrize("name,content,message", [
    ("text.mp4", b"hello, I am text\n", "not a readable video"),
    ("empty.mp4", b"", "empty file"),
])
def test_bad_files_fail_with_a_reason_and_the_batch_goes_on(db_url: str, tmp_path: Path, name: str,
                                                            content: bytes, message: str) -> None:
    bad = tmp_path / name
    bad.write_bytes(content)
    good = write_video(tmp_path / "good.mp4", scripted_frames(10), fps=10)
    processor = make_processor(db_url, sample_fps=0, clips_dir=None)
    outcomes = [processor.process(MediaFile(p, "video")) for p in (bad, good)]
    assert outcomes[0].status == "failed" and message in outcomes[0].error
    assert outcomes[1].status == "done" and outcomes[1].frames == 10
    with processor.sessions() as session:
        statuses = dict(session.execute(select(Video.path, Video.status)).all())
    assert statuses == {str(bad.resolve()): "failed", str(good.resolve()): "done"}


def test_unreadable_file_fails_cleanly(db_url: str, tmp_path: Path) -> None:
    # root reads any file whatever its mode, so unreadability comes from reading a folder
    path = tmp_path / "not-a-file.mp4"
    path.mkdir()
    outcome = make_processor(db_url, clips_dir=None).process(MediaFile(path, "video"))
    assert outcome.status == "failed" and "cannot read file (not a regular file)" in outcome.error
    with make_processor(db_url).sessions() as session:
        assert session.execute(select(Video.status, Video.sha256)).one() == ("failed", None)


def test_image_violation_writes_an_annotated_jpeg(db_url: str, tmp_path: Path) -> None:
    from PIL import Image

    image = tmp_path / "still.png"
    Image.fromarray(scripted_frames(3)[1]).save(image)
    processor = make_processor(db_url, clips_dir=tmp_path / "clips")
    outcome = processor.process(MediaFile(image, "image"))
    assert (outcome.frames, outcome.faces, outcome.unmasked) == (1, 2, 1)
    assert len(outcome.clips) == 1 and outcome.clips[0].endswith(".jpg")
    with Image.open(outcome.clips[0]) as annotated:
        pixels = annotated.convert("RGB").load()
        assert pixels[100, 40][0] > 150  # the red box outline is drawn on the unmasked face


KILL_SCRIPT = """
import sys, time
from pathlib import Path
from maskscan.pipeline.inference import FaceMaskPipeline
from maskscan.pipeline.media import MediaFile
from maskscan.pipeline.runner import FileProcessor, ProcessOptions
from maskscan.storage import database
from tests.factories import ColourSquareClassifier, ColourSquareDetector
from tests.pipeline.test_runner import RecordingProgress

class SlowDetector(ColourSquareDetector):
    def detect(self, frames):
        time.sleep(float(sys.argv[3]))
        return super().detect(frames)

engine = database.create_db_engine(sys.argv[1])
database.ensure_schema(engine)
pipeline = FaceMaskPipeline(SlowDetector(), ColourSquareClassifier(), "cpu", 0.5)
processor = FileProcessor(pipeline, database.session_factory(engine),
                          ProcessOptions(sample_fps=0, batch_size=4, clips_dir=None, lease_s=float(sys.argv[4])),
                          RecordingProgress())
print(processor.process(MediaFile(Path(sys.argv[2]), "video")).status, flush=True)
"""


def test_a_run_killed_mid_file_is_completed_by_the_next_without_doubles(db_url: str, tmp_path: Path) -> None:
    path = write_video(tmp_path / "long.mp4", scripted_frames(120), fps=10)
    command = [sys.executable, "-c", KILL_SCRIPT, db_url, str(path)]
    victim = subprocess.Popen(command + ["0.15", "120"], cwd=REPO)
    engine = database.create_db_engine(db_url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until some frames are committed, then SIGKILL
        time.sleep(0.2)
        try:
            with engine.connect() as connection:
                if connection.exec_driver_sql("SELECT count(*) FROM frames").scalar() >= 8:
                    break
        except Exception:  # noqa: BLE001 - tables not created yet
            continue
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    with engine.connect() as connection:
        partial = connection.exec_driver_sql("SELECT count(*) FROM frames").scalar()
        status = connection.exec_driver_sql("SELECT status FROM videos").scalar()
    assert 8 <= partial < 120 and status == "running"

    # the claim's lease (120 s) has not expired, but its holder is a dead process of this host: taken over at once
    rerun = subprocess.run(command + ["0", "120"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert rerun.stdout.strip() == "done", rerun.stderr
    with engine.connect() as connection:
        indexes = [r[0] for r in connection.exec_driver_sql("SELECT frame_index FROM frames ORDER BY frame_index")]
        assert connection.exec_driver_sql("SELECT status FROM videos").scalar() == "done"
    assert indexes == list(range(120))
    engine.dispose()


def test_frames_get_wall_clock_times_and_the_file_a_camera(db_url: str, tmp_path: Path) -> None:
    from datetime import datetime, timedelta, timezone

    (tmp_path / "platform-b").mkdir()
    path = write_video(tmp_path / "platform-b" / "cam_20261124_073015.mp4", scripted_frames(20), fps=10)
    processor = make_processor(db_url, sample_fps=2, clips_dir=None, time_pattern="%Y%m%d_%H%M%S")
    assert processor.process(MediaFile(path, "video")).status == "done"
    start = datetime(2026, 11, 24, 7, 30, 15, tzinfo=timezone.utc)
    with processor.sessions() as session:
        video = session.scalars(select(Video)).one()
        assert (video.camera, video.recorded_at_source) == ("platform-b", "filename")
        assert as_utc(video.recorded_at) == start
        times = session.execute(select(Frame.timestamp_s, Frame.recorded_at).order_by(Frame.frame_index)).all()
    assert len(times) == 4
    for offset, moment in times:
        assert as_utc(moment) == start + timedelta(seconds=offset)


def as_utc(moment):  # noqa: ANN001, ANN201 - SQLite returns naive UTC, PostgreSQL aware datetimes
    from datetime import timezone

    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
