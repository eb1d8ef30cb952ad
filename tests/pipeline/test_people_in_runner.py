"""People through `process`: tracks stored beside the sightings, clips tied to the people they
show, the sampling rate part of what makes a file done, and real footage counted in people."""

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from maskscan.pipeline.media import MediaFile
from maskscan.storage.models import Clip, ClipTrack, Detection, Frame, Track, Video
from tests.factories import GREEN, RED, scripted_frames, square_frame, write_video
from tests.pipeline.test_runner import make_processor


def test_a_known_video_gives_its_people_with_their_sightings_votes_and_clips(db_url: str, tmp_path: Path) -> None:
    # a green (masked) square throughout, a red (unmasked) one from 2.0 s to 3.9 s
    path = write_video(tmp_path / "scripted.mp4", scripted_frames(60), fps=10)
    processor = make_processor(db_url, sample_fps=5, clips_dir=tmp_path / "clips")
    outcome = processor.process(MediaFile(path, "video"))
    assert (outcome.status, outcome.people, outcome.people_masked, outcome.people_unmasked) == ("done", 2, 1, 1)
    assert (outcome.frames, outcome.faces, outcome.unmasked) == (30, 40, 10)  # sightings as before tracking
    with processor.sessions() as session:
        tracks = {t.label: t for t in session.scalars(select(Track))}
        assert set(tracks) == {"mask", "no_mask"}
        red = tracks["no_mask"]
        assert (red.detections, red.no_mask_votes, red.mask_votes) == (10, 10, 0)
        assert (red.first_s, red.last_s) == pytest.approx((2.0, 3.8), abs=0.05)
        assert red.mask_prob < 0.1 and tracks["mask"].detections == 30
        video = session.scalars(select(Video)).one()
        assert red.first_recorded_at is not None
        assert session.scalar(select(func.count()).select_from(Detection).where(Detection.track_id.is_(None))) == 0
        assert session.scalar(select(func.sum(Frame.faces))) == 40
        assert video.tracker.startswith("bytetrack(trackers ")
        clip = session.scalars(select(Clip)).one()
        assert session.scalars(select(ClipTrack.track_id).where(ClipTrack.clip_id == clip.id)).all() == [red.id]
    [person] = outcome.unmasked_people
    assert (person.person, person.track_id, person.clips) == (2, red.id, [str(clip.path)])


def test_another_sampling_rate_is_processed_again_the_same_rate_is_skipped(db_url: str, tmp_path: Path) -> None:
    path = write_video(tmp_path / "scripted.mp4", scripted_frames(30), fps=10)
    first = make_processor(db_url, sample_fps=5, clips_dir=None).process(MediaFile(path, "video"))
    again = make_processor(db_url, sample_fps=5, clips_dir=None).process(MediaFile(path, "video"))
    other = make_processor(db_url, sample_fps=2, clips_dir=None)
    redone = other.process(MediaFile(path, "video"))
    assert (first.status, first.frames) == ("done", 15)
    assert again.status == "skipped" and "already done" in again.error
    assert (redone.status, redone.frames, redone.people) == ("done", 6, 2)
    with other.sessions() as session:  # the earlier result is replaced, never counted twice
        assert session.scalars(select(Video.sample_fps)).all() == [2.0]
        assert session.scalar(select(func.count()).select_from(Frame)) == 6
        assert session.scalar(select(func.count()).select_from(Track)) == 2


def test_people_crossing_in_a_generated_clip_are_two_people(db_url: str, tmp_path: Path) -> None:
    frames = [square_frame(320, 120, [(20 + 8 * i, 20, 24, GREEN), (276 - 8 * i, 60, 24, RED)]) for i in range(32)]
    path = write_video(tmp_path / "crossing.mp4", frames, fps=10)
    outcome = make_processor(db_url, sample_fps=2, clips_dir=None).process(MediaFile(path, "video"))
    assert (outcome.people, outcome.people_masked, outcome.people_unmasked, outcome.people_unknown) == (2, 1, 1, 0)


def real_clip_with_a_gap(tmp_path: Path, gap_s: float) -> Path:
    """The walking clip forward, `gap_s` seconds of an empty corridor, then the clip backwards:
    the same two people leave the picture and come back where they left it."""
    import av

    from tests.conftest import shared_path

    with av.open(str(shared_path("videos", "face-demographics-walking.gif"))) as container:
        images = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    empty = np.full_like(images[0], 90)
    fps = 10
    frames = images + [empty] * round(gap_s * fps) + images[::-1]
    return write_video(tmp_path / f"walking-gap-{gap_s:g}.mp4", frames, fps=fps)


@pytest.fixture(scope="module")
def shipped_pipeline():  # noqa: ANN201
    import torch

    from maskscan.classifiers.shipped import DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE, SHIPPED_DETECTOR
    from maskscan.pipeline.loading import load_pipeline

    return load_pipeline(torch.device("cpu"), SHIPPED_DETECTOR, DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE)


@pytest.mark.parametrize(("gap_s", "people"), [(1.0, 2), (6.0, 4)])
def test_real_people_who_leave_and_come_back(shipped_pipeline, tmp_path: Path, gap_s: float,  # noqa: ANN001
                                             people: int) -> None:
    """Back within the tracker's lost time: the same people. Away longer: counted again, as
    a door counter would (there is no face recognition to tell them apart, by design)."""
    from maskscan.pipeline.runner import FileProcessor, ProcessOptions
    from maskscan.storage import database
    from tests.pipeline.test_runner import RecordingProgress

    engine = database.create_db_engine(f"sqlite:///{tmp_path / 'people.db'}")
    database.ensure_schema(engine)
    path = real_clip_with_a_gap(tmp_path, gap_s)
    processor = FileProcessor(shipped_pipeline, database.session_factory(engine),
                              ProcessOptions(sample_fps=5, clips_dir=None), RecordingProgress())
    outcome = processor.process(MediaFile(path, "video"))
    assert (outcome.status, outcome.people, outcome.people_unmasked) == ("done", people, people)
