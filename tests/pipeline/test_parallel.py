"""Several files in flight (`--decoders N`): the same results as one at a time, and an
interrupt rolls every file in flight back."""

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from maskscan.pipeline.media import MediaFile
from maskscan.pipeline.parallel import SharedPipeline, process_in_parallel
from maskscan.pipeline.runner import FileProcessor
from maskscan.storage import database
from maskscan.storage.models import Clip, Detection, Frame, Track, Video
from tests.factories import GREEN, RED, square_frame, write_video
from tests.pipeline.test_runner import make_processor


def clips(tmp_path: Path, count: int) -> list[MediaFile]:
    """Short clips, each with its own pattern of masked and unmasked faces."""
    made = []
    for n in range(count):
        frames = [square_frame(160, 96, [(10 + (i + n) % 30, 20, 24, GREEN)]
                               + ([(100, 40, 24, RED)] if (i // (3 + n)) % 2 else [])) for i in range(20 + 3 * n)]
        made.append(MediaFile(write_video(tmp_path / f"cam{n}.mp4", frames, fps=10), "video"))
    return made


class Wrapped:
    """The stand-in pipeline with its call replaced (names and thresholds kept)."""

    def __init__(self, inner: object, call) -> None:  # noqa: ANN001
        self._inner, self._call = inner, call

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def __call__(self, images: list[np.ndarray]):  # noqa: ANN204
        return self._call(images)


def stored(db_url: str) -> dict[str, tuple]:
    """Per file: its frames' counts, its faces' boxes and labels, its people and its clips."""
    engine = database.create_db_engine(db_url)
    out = {}
    with database.session_factory(engine)() as session:
        for video in session.scalars(select(Video)):
            frames = session.execute(select(Frame.frame_index, Frame.faces, Frame.masked, Frame.unmasked)
                                     .where(Frame.video_id == video.id).order_by(Frame.frame_index)).all()
            faces = session.execute(select(Frame.frame_index, Detection.x1, Detection.y1, Detection.label)
                                    .join(Frame, Frame.id == Detection.frame_id).where(Frame.video_id == video.id)
                                    .order_by(Frame.frame_index, Detection.x1)).all()
            people = session.execute(select(Track.first_s, Track.last_s, Track.detections, Track.label)
                                     .where(Track.video_id == video.id).order_by(Track.first_s, Track.label)).all()
            clip_rows = session.execute(select(Clip.start_s, Clip.end_s).where(Clip.video_id == video.id)
                                        .order_by(Clip.start_s)).all()
            out[Path(video.path).name] = (video.status, tuple(frames), tuple(faces), tuple(people), tuple(clip_rows))
    engine.dispose()
    return out


def test_two_decoders_store_exactly_what_one_does(tmp_path: Path) -> None:
    media = clips(tmp_path, 5)
    one, two = f"sqlite:///{tmp_path / 'one.db'}", f"sqlite:///{tmp_path / 'two.db'}"
    sequential = make_processor(one, sample_fps=5, clips_dir=tmp_path / "clips-one")
    for item in media:
        assert sequential.process(item).status == "done"
    base = make_processor(two, sample_fps=5, clips_dir=tmp_path / "clips-two")
    shared = SharedPipeline(base.pipeline)
    outcomes = []
    process_in_parallel(lambda cancel: FileProcessor(shared, base.sessions, base.options, base.progress, cancel),
                        media, 2, outcomes.append)
    assert sorted(o.status for o in outcomes) == ["done"] * 5
    assert stored(one) == stored(two)
    assert len(stored(two)) == 5


def test_an_interrupt_rolls_back_every_file_in_flight(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    media = clips(tmp_path, 4)
    db_url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    base = make_processor(db_url, sample_fps=0, batch_size=2, clips_dir=None)
    inner = base.pipeline
    busy = threading.Event()

    def slow(images: list[np.ndarray]):  # noqa: ANN202
        busy.set()
        time.sleep(0.05)
        return inner(images)

    shared = SharedPipeline(Wrapped(inner, slow))
    outcomes = []

    def interrupt_soon() -> None:
        busy.wait()
        time.sleep(0.2)
        import _thread

        _thread.interrupt_main()  # what Ctrl-C does: KeyboardInterrupt in the main thread

    threading.Thread(target=interrupt_soon, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        process_in_parallel(lambda cancel: FileProcessor(shared, base.sessions, base.options, base.progress, cancel),
                            media, 2, outcomes.append)
    engine = database.create_db_engine(db_url)
    with database.session_factory(engine)() as session:
        statuses = dict(session.execute(select(Video.path, Video.status)).all())
        frames_left = session.scalars(select(Frame.video_id).where(
            Frame.video_id.in_(select(Video.id).where(Video.status != "done")))).all()
    engine.dispose()
    # nothing half done: each file is done (finished before the interrupt) or pending again, without rows
    assert set(statuses.values()) <= {"done", "pending"} and "pending" in statuses.values()
    assert frames_left == []
    assert len(outcomes) == sum(status == "done" for status in statuses.values())


def test_a_lost_model_stops_every_worker_and_is_raised(tmp_path: Path) -> None:
    from maskscan.pipeline.deferred import ModelLoadError

    media = clips(tmp_path, 3)
    base = make_processor(f"sqlite:///{tmp_path / 'db.sqlite'}", sample_fps=5, clips_dir=None)

    def broken(images: list[np.ndarray]):  # noqa: ANN202
        raise ModelLoadError("weights file gone")

    shared = SharedPipeline(Wrapped(base.pipeline, broken))
    with pytest.raises(ModelLoadError, match="weights file gone"):
        process_in_parallel(lambda cancel: FileProcessor(shared, base.sessions, base.options, base.progress, cancel),
                            media, 2, lambda outcome: None)
