from pathlib import Path

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select

from maskscan.detections import FaceDetections
from maskscan.storage import database, results
from maskscan.storage.models import Base, Clip, Detection, Frame, Video

CONTRACT = {
    "videos": {"id", "path", "sha256", "size_bytes", "duration_s", "fps", "width", "height", "frames_analysed",
               "status", "error", "started_at", "finished_at", "detector", "classifier", "worker", "heartbeat_at",
               "attempts", "camera", "recorded_at", "recorded_at_source", "sample_fps", "face_conf", "mask_threshold",
               "tracker"},
    "frames": {"id", "video_id", "frame_index", "timestamp_s", "faces", "masked", "unmasked", "recorded_at"},
    "detections": {"id", "frame_id", "x1", "y1", "x2", "y2", "face_score", "mask_prob", "label", "track_id"},
    "clips": {"id", "video_id", "start_s", "end_s", "path", "reason"},
    "tracks": {"id", "video_id", "first_s", "last_s", "first_recorded_at", "detections", "mask_votes", "no_mask_votes",
               "mask_prob", "label"},
    "clip_tracks": {"clip_id", "track_id"},
}


def test_migrations_create_the_documented_schema(db_url: str) -> None:
    engine = database.create_db_engine(db_url)
    database.ensure_schema(engine)
    inspector = inspect(engine)
    for table, columns in CONTRACT.items():
        assert {c["name"] for c in inspector.get_columns(table)} == columns
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    assert database.current_revision(engine) == database.head_revision()


def test_upgrade_keeps_existing_rows(db_url: str) -> None:
    engine = database.create_db_engine(db_url)
    database.upgrade(engine, "0001")
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO videos (path, sha256, size_bytes, frames_analysed, status, detector, classifier) "
            "VALUES ('/v.mp4', 'aa', 1, 0, 'done', 'd', 'c')")
    database.upgrade(engine)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT path, status, attempts, worker FROM videos").one() == (
            "/v.mp4", "done", 0, None)


def test_outdated_schema_is_refused_with_advice(db_url: str) -> None:
    engine = database.create_db_engine(db_url)
    database.upgrade(engine, "0001")
    with pytest.raises(database.DatabaseError, match="maskscan db upgrade"):
        database.ensure_schema(engine)


def test_schema_of_a_newer_maskscan_asks_to_upgrade_maskscan(db_url: str) -> None:
    engine = database.create_db_engine(db_url)
    database.upgrade(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0999'")
    for attempt in (database.ensure_schema, database.upgrade):  # `db upgrade` cannot help either
        with pytest.raises(database.DatabaseError, match="written by a newer maskscan; upgrade maskscan") as caught:
            attempt(engine)
        assert "db upgrade" not in str(caught.value)


def _faces(labels: list[str]) -> FaceDetections:
    probs = np.array([0.9 if label == "mask" else 0.1 for label in labels], np.float32)
    boxes = np.array([[i * 10, 0, i * 10 + 8, 8] for i in range(len(labels))], np.float32)
    return FaceDetections(boxes, np.full(len(labels), 0.8, np.float32), probs)


def test_frame_counts_equal_stored_detections_and_retry_replaces(db_url: str) -> None:
    engine = database.create_db_engine(db_url)
    database.ensure_schema(engine)
    info = results.MediaInfo("/videos/a.mp4", "ab" * 32, 123, "det:1", "cls:1")
    dead, alive = results.ClaimPolicy("dead-worker", lease_s=0.0), results.ClaimPolicy("next-worker")
    with database.session_factory(engine)() as session:
        video = results.claim_video(session, info, dead).video
        results.add_frames(session, video, dead, [(0, 0.0, _faces(["mask", "no_mask"])), (5, 0.2, _faces([])),
                                                  (10, 0.4, _faces(["no_mask"]))])
        # the worker dies here; its heartbeat goes stale and the next worker takes the file
        video = results.claim_video(session, info, results.ClaimPolicy("next-worker", lease_s=0.0)).video
        assert video is not None and video.attempts == 2
        assert session.scalar(select(func.count()).select_from(Frame)) == 0
        results.add_frames(session, video, alive, [(0, 0.0, _faces(["mask", "no_mask"])),
                                                   (10, 0.4, _faces(["no_mask"]))])
        results.finish_video(session, video, alive)
        assert results.claim_video(session, info, alive).refusal.startswith("already done")

        frames = session.scalars(select(Frame).order_by(Frame.frame_index)).all()
        assert [(f.frame_index, f.faces, f.masked, f.unmasked) for f in frames] == [(0, 2, 1, 1), (10, 1, 0, 1)]
        for frame in frames:
            labels = [d.label for d in frame.detections]
            assert (labels.count("mask"), labels.count("no_mask")) == (frame.masked, frame.unmasked)
        assert session.scalar(select(Video.frames_analysed)) == 2


def test_failed_file_keeps_no_frames(db_url: str) -> None:
    engine = database.create_db_engine(db_url)
    database.ensure_schema(engine)
    info = results.MediaInfo("/videos/b.mp4", "cd" * 32, 10, "det:1", "cls:1")
    policy = results.ClaimPolicy("worker", max_attempts=2)
    with database.session_factory(engine)() as session:
        for attempt in (1, 2):
            video = results.claim_video(session, info, policy).video
            results.add_frames(session, video, policy, [(0, 0.0, _faces(["mask"]))])
            results.fail_claimed(session, video, policy, f"decoding failed after {attempt} frames")
            row = session.scalars(select(Video)).one()
            assert (row.status, row.error, row.frames_analysed) == ("failed", f"decoding failed after {attempt} frames", 0)
            assert session.scalar(select(func.count()).select_from(Detection)) == 0
        assert results.claim_video(session, info, policy).refusal.startswith("gave up after 2 attempts")
        assert results.claim_video(session, info, results.ClaimPolicy("w", force=True)).video is not None
        # an unreadable file has no hash; failing it twice keeps one row
        unreadable = results.MediaInfo("/videos/c.mp4", None, 0, "det:1", "cls:1")
        results.record_unreadable(session, unreadable, policy, "cannot read file")
        results.record_unreadable(session, unreadable, policy, "cannot read file")
        assert session.scalar(select(func.count()).select_from(Video)) == 2


def test_a_worker_whose_claim_was_taken_over_cannot_write(db_url: str) -> None:
    engine = database.create_db_engine(db_url)
    database.ensure_schema(engine)
    info = results.MediaInfo("/videos/d.mp4", "ef" * 32, 10, "det:1", "cls:1")
    first = results.ClaimPolicy("first")
    impatient = results.ClaimPolicy("second", lease_s=0.0)  # sees every heartbeat as stale
    sessions = database.session_factory(engine)
    with sessions() as one, sessions() as two:
        mine = results.claim_video(one, info, first).video
        assert results.claim_video(one, info, results.ClaimPolicy("third")).refusal == "being processed by first"
        assert results.claim_video(two, info, impatient).video is not None
        with pytest.raises(results.ClaimLost):
            results.add_frames(one, mine, first, [(0, 0.0, _faces(["mask"]))])
        with pytest.raises(results.ClaimLost):
            results.finish_video(one, mine, first)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Frame)) == 0
        assert session.scalar(select(Video.worker)) == "second"


def test_upgrade_makes_old_relative_clip_paths_absolute(tmp_path: Path) -> None:
    engine = database.create_db_engine(f"sqlite:///{tmp_path / 'old.db'}")
    database.upgrade(engine, "0004")
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO videos (id, path, sha256, size_bytes, frames_analysed, status, detector, classifier) "
            "VALUES (1, '/v.mp4', 'aa', 1, 0, 'done', 'd', 'c')")
        connection.exec_driver_sql("INSERT INTO clips (video_id, start_s, end_s, path, reason) VALUES "
                                   "(1, 0, 1, 'clips/v-aa/v_00000000ms.mp4', 'no_mask'), "
                                   "(1, 2, 3, '/already/absolute.mp4', 'no_mask')")
    database.upgrade(engine)
    with engine.connect() as connection:
        paths = [row[0] for row in connection.exec_driver_sql("SELECT path FROM clips ORDER BY id")]
        settings = connection.exec_driver_sql("SELECT sample_fps, face_conf, mask_threshold FROM videos").one()
    assert paths == [str(tmp_path / "clips" / "v-aa" / "v_00000000ms.mp4"), "/already/absolute.mp4"]
    assert tuple(settings) == (None, None, None)  # unknown for footage processed before they were stored
    engine.dispose()


def test_each_video_stores_the_settings_it_was_analysed_with(db_url: str, tmp_path: Path) -> None:
    from maskscan.pipeline.media import MediaFile
    from tests.factories import scripted_frames, write_video
    from tests.pipeline.test_runner import make_processor

    path = write_video(tmp_path / "clip.mp4", scripted_frames(20), fps=10)
    processor = make_processor(db_url, sample_fps=2, clips_dir=tmp_path / "clips")
    outcome = processor.process(MediaFile(path, "video"))
    assert outcome.clips and all(Path(clip).is_absolute() for clip in outcome.clips)
    with processor.sessions() as session:
        video = session.scalars(select(Video)).one()
        assert (video.sample_fps, video.mask_threshold) == (2.0, 0.5)
        assert all(Path(p).is_absolute() for p in session.scalars(select(Clip.path)))
