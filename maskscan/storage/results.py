"""Writing one file's results so that nothing is lost or doubled.

A file's row moves pending -> running -> done | failed. Frames are written in chunks while
it runs (memory stays flat on long footage); a file that fails, or a run that is killed,
leaves a row whose frames are deleted before the file is processed again, so a `done`
row always holds each analysed frame exactly once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from maskscan.detections import FaceDetections
from maskscan.storage.models import Clip, Detection, Frame, Video


@dataclass(frozen=True)
class MediaInfo:
    path: str
    sha256: str | None
    size_bytes: int
    detector: str
    classifier: str


def _now() -> datetime:
    return datetime.now(timezone.utc)


def find_video(session: Session, info: MediaInfo) -> Video | None:
    if info.sha256 is None:
        query = select(Video).where(Video.path == info.path, Video.sha256.is_(None))
    else:
        query = select(Video).where(Video.sha256 == info.sha256, Video.detector == info.detector,
                                    Video.classifier == info.classifier)
    return session.scalars(query).first()


def start_video(session: Session, info: MediaInfo, force: bool) -> Video | None:
    """The row to fill for this file, emptied of earlier results; None when it is already done.

    A `done` row with the same content and models is skipped unless `force`.
    """
    video = find_video(session, info)
    if video is not None and video.status == "done" and not force:
        return None
    if video is None:
        video = Video(sha256=info.sha256, detector=info.detector, classifier=info.classifier)
        session.add(video)
    else:
        clear_results(session, video.id)
    video.path, video.size_bytes = info.path, info.size_bytes
    video.status, video.error, video.frames_analysed = "running", None, 0
    video.started_at, video.finished_at = _now(), None
    session.commit()
    return video


def clear_results(session: Session, video_id: int) -> None:
    """Delete a video's frames (with their detections) and clips."""
    frame_ids = select(Frame.id).where(Frame.video_id == video_id)
    session.execute(delete(Detection).where(Detection.frame_id.in_(frame_ids)))
    session.execute(delete(Frame).where(Frame.video_id == video_id))
    session.execute(delete(Clip).where(Clip.video_id == video_id))


def set_stream_info(session: Session, video: Video, duration_s: float | None, fps: float | None,
                    width: int, height: int) -> None:
    video.duration_s, video.fps, video.width, video.height = duration_s, fps, width, height
    session.commit()


def add_frames(session: Session, video: Video, frames: Iterable[tuple[int, float, FaceDetections]]) -> int:
    """Store analysed frames and their faces in one transaction; returns how many."""
    count = 0
    for frame_index, timestamp_s, faces in frames:
        frame = Frame(video_id=video.id, frame_index=frame_index, timestamp_s=timestamp_s, faces=len(faces),
                      masked=faces.masked_count, unmasked=faces.unmasked_count)
        frame.detections = [
            Detection(x1=float(b[0]), y1=float(b[1]), x2=float(b[2]), y2=float(b[3]), face_score=float(s),
                      mask_prob=float(p), label=label)
            for b, s, p, label in zip(faces.boxes, faces.face_scores, faces.mask_probs, faces.labels)
        ]
        session.add(frame)
        count += 1
    video.frames_analysed += count
    session.commit()
    return count


def add_clip(session: Session, video: Video, start_s: float, end_s: float, path: str, reason: str) -> None:
    session.add(Clip(video_id=video.id, start_s=start_s, end_s=end_s, path=path, reason=reason))
    session.commit()


def finish_video(session: Session, video: Video) -> None:
    video.status, video.finished_at = "done", _now()
    session.commit()


def fail_video(session: Session, info: MediaInfo, error: str) -> None:
    """Mark the file failed and drop whatever part of it was stored."""
    session.rollback()
    video = find_video(session, info)
    if video is None:
        video = Video(sha256=info.sha256, detector=info.detector, classifier=info.classifier, path=info.path,
                      size_bytes=info.size_bytes, started_at=_now())
        session.add(video)
        session.flush()
    else:
        clear_results(session, video.id)
    video.status, video.error, video.frames_analysed, video.finished_at = "failed", error, 0, _now()
    session.commit()
