"""Retention: deleting old violation clips and per-face rows, keeping the per-frame counts.

Age is recorded time (the video's `recorded_at`, else when it was processed). Files whose row
is `running` or `pending` (a worker holds or will take them) are never touched, and each
delete re-checks that in the same statement, so pruning is safe while workers run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, and_, delete, func, select

from maskscan.storage.models import Clip, Detection, Frame, Video
from maskscan.storage.results import as_utc

SETTLED = ("done", "failed", "superseded")
"""Video statuses whose results no worker is writing or about to replace."""


@dataclass
class PruneResult:
    clips: list[str] = field(default_factory=list)
    """Clip files (and their rows) removed, or that would be with a dry run."""
    missing_files: int = 0
    """Clip rows whose file was already gone."""
    detections: int = 0


def prune(engine: Engine, cutoff: datetime, detections: bool = False, dry_run: bool = False) -> PruneResult:
    """Remove clips (files and rows) recorded before `cutoff`, and with `detections` the per-face
    rows of frames recorded before it. Per-frame counts stay, so reports over old periods work."""
    result = PruneResult()
    candidates = (
        select(Clip.id, Clip.path, func.coalesce(Video.recorded_at, Video.finished_at), Clip.start_s)
        .join(Video, Video.id == Clip.video_id)
        .where(Video.status.in_(SETTLED))
    )
    settled_videos = select(Video.id).where(Video.status.in_(SETTLED))
    with engine.begin() as connection:
        old_ids, old_paths = [], []
        for clip_id, path, start, offset in connection.execute(candidates):
            if start is not None and as_utc(start) + timedelta(seconds=offset or 0.0) < cutoff:
                old_ids.append(clip_id)
                old_paths.append(path)
        if dry_run:
            result.clips = old_paths
        elif old_ids:
            gone = connection.execute(
                delete(Clip).where(Clip.id.in_(old_ids), Clip.video_id.in_(settled_videos)).returning(Clip.path))
            result.clips = [row[0] for row in gone]
        if detections:
            recorded = func.coalesce(Frame.recorded_at, select(Video.finished_at).where(Video.id == Frame.video_id)
                                     .scalar_subquery())
            old_frames = select(Frame.id).where(and_(recorded < cutoff, Frame.video_id.in_(settled_videos)))
            if dry_run:
                result.detections = connection.execute(
                    select(func.count()).select_from(Detection).where(Detection.frame_id.in_(old_frames))).scalar()
            else:
                result.detections = connection.execute(
                    delete(Detection).where(Detection.frame_id.in_(old_frames))).rowcount
    if not dry_run:  # rows first, files after the commit: a crash leaves a stray file, never a dangling row
        for path in result.clips:
            try:
                Path(path).unlink()
            except FileNotFoundError:
                result.missing_files += 1
    return result

