"""The storage contract: tables that compliance SQL is written against (see the README)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Float, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

VIDEO_STATUSES = ("pending", "running", "done", "failed", "superseded")
PERSON_LABELS = ("mask", "no_mask", "unknown")

naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=naming_convention)


class Video(Base):
    """One media file analysed with one detector and one classifier."""

    __tablename__ = "videos"
    __table_args__ = (
        UniqueConstraint("sha256", "detector", "classifier", name="content_models"),
        CheckConstraint(f"status IN {VIDEO_STATUSES}", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text, index=True)
    """Absolute; bytes that are not UTF-8 appear as `\\xNN`."""
    sha256: Mapped[str | None] = mapped_column(String(64))  # None: the file could not be read
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    duration_s: Mapped[float | None] = mapped_column(Float)
    fps: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    frames_analysed: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    detector: Mapped[str] = mapped_column(String(200))
    classifier: Mapped[str] = mapped_column(String(200))
    worker: Mapped[str | None] = mapped_column(String(200))
    """Who holds (or last held) the file: `host:pid:random`."""
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """Refreshed by the worker while it runs; a `running` row whose heartbeat is stale is free again."""
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    camera: Mapped[str | None] = mapped_column(String(200), index=True)
    recorded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """Wall-clock start of the recording (UTC)."""
    recorded_at_source: Mapped[str | None] = mapped_column(String(16))
    """Where `recorded_at` came from: `filename`, `metadata` or `mtime`."""
    sample_fps: Mapped[float | None] = mapped_column(Float)
    """Frames analysed per second of footage (0: every frame)."""
    face_conf: Mapped[float | None] = mapped_column(Float)
    """Detector confidence threshold the faces were found at."""
    mask_threshold: Mapped[float | None] = mapped_column(Float)
    """P(mask) at or above which a face was labelled `mask`."""
    tracker: Mapped[str | None] = mapped_column(String(200))
    """The tracker and its settings that made the video's `tracks`; NULL: processed before tracking."""

    frames: Mapped[list["Frame"]] = relationship(back_populates="video", cascade="all, delete-orphan",
                                                 passive_deletes=True)
    clips: Mapped[list["Clip"]] = relationship(back_populates="video", cascade="all, delete-orphan",
                                               passive_deletes=True)
    tracks: Mapped[list["Track"]] = relationship(back_populates="video", cascade="all, delete-orphan",
                                                 passive_deletes=True)


class Frame(Base):
    """One analysed frame; its counts equal its stored detections."""

    __tablename__ = "frames"
    __table_args__ = (UniqueConstraint("video_id", "frame_index", name="video_frame"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    frame_index: Mapped[int] = mapped_column(Integer)
    timestamp_s: Mapped[float] = mapped_column(Float)
    faces: Mapped[int] = mapped_column(Integer)
    masked: Mapped[int] = mapped_column(Integer)
    unmasked: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    """Wall-clock time of the frame: the video's `recorded_at` plus `timestamp_s`."""

    video: Mapped[Video] = relationship(back_populates="frames")
    detections: Mapped[list["Detection"]] = relationship(back_populates="frame", cascade="all, delete-orphan",
                                                         passive_deletes=True)


class Detection(Base):
    """One face: box in source-frame pixels, detector score, mask probability and label."""

    __tablename__ = "detections"
    __table_args__ = (
        CheckConstraint("label IN ('mask', 'no_mask')", name="label"),
        Index("ix_detections_frame_id", "frame_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    frame_id: Mapped[int] = mapped_column(ForeignKey("frames.id", ondelete="CASCADE"))
    x1: Mapped[float] = mapped_column(Float)
    y1: Mapped[float] = mapped_column(Float)
    x2: Mapped[float] = mapped_column(Float)
    y2: Mapped[float] = mapped_column(Float)
    face_score: Mapped[float] = mapped_column(Float)
    mask_prob: Mapped[float] = mapped_column(Float)
    label: Mapped[str] = mapped_column(String(8))
    track_id: Mapped[int | None] = mapped_column(ForeignKey("tracks.id", ondelete="SET NULL"), index=True)
    """The person this face belongs to; NULL for footage processed before tracking and for faces no track took."""

    frame: Mapped[Frame] = relationship(back_populates="detections")


class Track(Base):
    """One person within one video: their sightings and the vote on their mask state."""

    __tablename__ = "tracks"
    __table_args__ = (
        CheckConstraint(f"label IN {PERSON_LABELS}", name="label"),
        Index("ix_tracks_video_id", "video_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    first_s: Mapped[float] = mapped_column(Float)
    last_s: Mapped[float] = mapped_column(Float)
    first_recorded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    """Wall-clock time of the first sighting: the video's `recorded_at` plus `first_s`."""
    detections: Mapped[int] = mapped_column(Integer)
    """Sightings (stored detections) of the person."""
    mask_votes: Mapped[int] = mapped_column(Integer)
    no_mask_votes: Mapped[int] = mapped_column(Integer)
    mask_prob: Mapped[float | None] = mapped_column(Float)
    """Mean P(mask) over the sightings."""
    label: Mapped[str] = mapped_column(String(8))
    """`mask`, `no_mask`, or `unknown` (too few confident sightings to say; not counted as a person)."""

    video: Mapped[Video] = relationship(back_populates="tracks")


class Clip(Base):
    """An annotated clip (or, for an image, an annotated JPEG) of a violation."""

    __tablename__ = "clips"
    __table_args__ = (Index("ix_clips_video_id", "video_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    path: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(32))

    video: Mapped[Video] = relationship(back_populates="clips")


class ClipTrack(Base):
    """Which people a violation clip shows without a mask."""

    __tablename__ = "clip_tracks"

    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), primary_key=True,
                                          index=True)
