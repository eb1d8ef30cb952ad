import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select

from maskscan.detections import FaceDetections
from maskscan.storage import database, results
from maskscan.storage.models import Base, Detection, Frame, Video

CONTRACT = {
    "videos": {"id", "path", "sha256", "size_bytes", "duration_s", "fps", "width", "height", "frames_analysed",
               "status", "error", "started_at", "finished_at", "detector", "classifier"},
    "frames": {"id", "video_id", "frame_index", "timestamp_s", "faces", "masked", "unmasked"},
    "detections": {"id", "frame_id", "x1", "y1", "x2", "y2", "face_score", "mask_prob", "label", "track_id"},
    "clips": {"id", "video_id", "start_s", "end_s", "path", "reason"},
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


def test_outdated_schema_is_refused_with_advice(db_url: str) -> None:
    engine = database.create_db_engine(db_url)
    database.upgrade(engine, "0001")
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'older'")
    with pytest.raises(database.DatabaseError, match="maskscan db upgrade"):
        database.ensure_schema(engine)


def _faces(labels: list[str]) -> FaceDetections:
    probs = np.array([0.9 if label == "mask" else 0.1 for label in labels], np.float32)
    boxes = np.array([[i * 10, 0, i * 10 + 8, 8] for i in range(len(labels))], np.float32)
    return FaceDetections(boxes, np.full(len(labels), 0.8, np.float32), probs)


def test_frame_counts_equal_stored_detections_and_retry_replaces(db_url: str) -> None:
    engine = database.create_db_engine(db_url)
    database.ensure_schema(engine)
    info = results.MediaInfo("/videos/a.mp4", "ab" * 32, 123, "det:1", "cls:1")
    with database.session_factory(engine)() as session:
        video = results.start_video(session, info, force=False)
        results.add_frames(session, video, [(0, 0.0, _faces(["mask", "no_mask"])), (5, 0.2, _faces([])),
                                            (10, 0.4, _faces(["no_mask"]))])
        # the run dies here; the next run starts the same file again
        video = results.start_video(session, info, force=False)
        assert session.scalar(select(func.count()).select_from(Frame)) == 0
        results.add_frames(session, video, [(0, 0.0, _faces(["mask", "no_mask"])), (10, 0.4, _faces(["no_mask"]))])
        results.finish_video(session, video)
        assert results.start_video(session, info, force=False) is None  # done: skipped

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
    with database.session_factory(engine)() as session:
        video = results.start_video(session, info, force=False)
        results.add_frames(session, video, [(0, 0.0, _faces(["mask"]))])
        results.fail_video(session, info, "decoding failed after 1 frames")
        row = session.scalars(select(Video)).one()
        assert (row.status, row.error, row.frames_analysed) == ("failed", "decoding failed after 1 frames", 0)
        assert session.scalar(select(func.count()).select_from(Detection)) == 0
        # an unreadable file has no hash; failing it twice keeps one row
        unreadable = results.MediaInfo("/videos/c.mp4", None, 0, "det:1", "cls:1")
        results.fail_video(session, unreadable, "cannot read file")
        results.fail_video(session, unreadable, "cannot read file")
        assert session.scalar(select(func.count()).select_from(Video)) == 2
