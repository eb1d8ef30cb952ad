"""What the database holds, file by file: the answer to `maskscan status`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from maskscan.storage.models import Clip, Frame, Track, Video

INVENTORY_COLUMNS = ("id", "path", "status", "camera", "recorded_at", "frames", "faces", "unmasked", "clips",
                     "attempts", "error", "sample_fps", "people", "people_unmasked")
"""`people` and `people_unmasked` are None for files processed before tracking."""


def video_inventory(engine: Engine, failed_only: bool = False, cameras: Sequence[str] = ()) -> list[dict[str, Any]]:
    """One dict per file (every status, newest recording first), with its counts."""
    frame_counts = (select(Frame.video_id, func.count().label("frames"), func.sum(Frame.faces).label("faces"),
                           func.sum(Frame.unmasked).label("unmasked"))
                    .group_by(Frame.video_id).subquery())
    clip_counts = select(Clip.video_id, func.count().label("clips")).group_by(Clip.video_id).subquery()
    labelled = Track.label != "unknown"
    people_counts = (select(Track.video_id, func.count().filter(labelled).label("people"),
                            func.count().filter(Track.label == "no_mask").label("unmasked"))
                     .group_by(Track.video_id).subquery())
    query = (
        select(Video.id, Video.path, Video.status, Video.camera, Video.recorded_at,
               func.coalesce(frame_counts.c.frames, 0), func.coalesce(frame_counts.c.faces, 0),
               func.coalesce(frame_counts.c.unmasked, 0), func.coalesce(clip_counts.c.clips, 0), Video.attempts,
               Video.error, Video.sample_fps, Video.tracker, func.coalesce(people_counts.c.people, 0),
               func.coalesce(people_counts.c.unmasked, 0))
        .outerjoin(frame_counts, frame_counts.c.video_id == Video.id)
        .outerjoin(clip_counts, clip_counts.c.video_id == Video.id)
        .outerjoin(people_counts, people_counts.c.video_id == Video.id)
        .order_by(Video.recorded_at.desc().nulls_last(), Video.id)
    )
    if failed_only:
        query = query.where(Video.status == "failed")
    if cameras:
        query = query.where(Video.camera.in_(list(cameras)))
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [dict(zip(INVENTORY_COLUMNS, (*row[:4], _iso(row[4]), *(int(v) for v in row[5:10]), row[10], row[11],
                                         *((int(row[13]), int(row[14])) if row[12] is not None else (None, None)))))
            for row in rows]


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")
