"""Writing one file's results so that nothing is lost or doubled, with many workers at once.

A file's row is its queue entry: pending -> running -> done | failed. A worker *claims* a row
with a conditional UPDATE guarded by the row's `attempts` counter (optimistic locking that
works the same on SQLite and PostgreSQL): of two workers that race, exactly one matches. The
holder refreshes `heartbeat_at` with every batch of frames it commits; a `running` row whose
heartbeat is older than the lease belongs to a dead worker and may be claimed again. Every
write is conditional on still holding the claim, so a worker that lost its claim can never
double or delete another's frames. A claimed row's old frames are deleted first, so a `done`
row holds each analysed frame exactly once and a `failed` one none.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from math import isclose
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from maskscan.detections import FaceDetections
from maskscan.storage.models import Clip, ClipTrack, Detection, Frame, Track, Video

if TYPE_CHECKING:
    from maskscan.pipeline.people import PeopleTally


@dataclass(frozen=True)
class MediaInfo:
    path: str
    sha256: str | None
    size_bytes: int
    detector: str
    classifier: str


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class ClaimPolicy:
    worker: str
    lease_s: float = 120.0
    """A running row whose heartbeat is older than this is considered abandoned."""
    max_attempts: int = 3
    """A file that failed (or killed its worker) this often is left alone unless forced."""
    force: bool = False
    sample_fps: float | None = None
    """The sampling rate of this run: a file done at another rate is done again (None: any rate will do)."""


@dataclass(frozen=True)
class Claim:
    video: Video | None
    refusal: str | None = None
    """Why the file is not ours to process (`video` is None then)."""
    gave_up: bool = False
    """The refusal is final: the file failed `max_attempts` times and stays failed."""


class ClaimLost(Exception):
    """Another worker took the file over (our heartbeat went stale); stop without writing."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; maskscan only ever stores UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


def find_video(session: Session, info: MediaInfo) -> Video | None:
    if info.sha256 is None:
        query = select(Video).where(Video.path == info.path, Video.sha256.is_(None))
    else:
        query = select(Video).where(Video.sha256 == info.sha256, Video.detector == info.detector,
                                    Video.classifier == info.classifier)
    # claims are changed by UPDATE statements: read the row itself, not the session's cached copy
    return session.scalars(query.execution_options(populate_existing=True)).first()


def _worker_alive(worker: str | None) -> bool:
    """False only for a worker known dead: a process of this host that no longer exists."""
    host, _, rest = (worker or "").partition(":")
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(rest.split(":")[0]), 0)
    except ProcessLookupError:
        return False
    except (ValueError, OSError):
        return True
    return True


def _held_elsewhere(video: Video, policy: ClaimPolicy, now: datetime) -> bool:
    """Another live worker holds the file: its heartbeat is fresh, and it is not a dead process of this host."""
    heartbeat = as_utc(video.heartbeat_at)
    return (video.status == "running" and video.worker != policy.worker and heartbeat is not None
            and now - heartbeat < timedelta(seconds=policy.lease_s) and _worker_alive(video.worker))


def _same_rate(done_at: float | None, wanted: float | None) -> bool:
    """Results from before the rate was stored (None) stand for any rate."""
    return done_at is None or wanted is None or isclose(done_at, wanted, rel_tol=1e-6)


def _refusal(video: Video, policy: ClaimPolicy, now: datetime) -> Claim | None:
    if _held_elsewhere(video, policy, now):
        return Claim(None, f"being processed by {video.worker}")
    if policy.force:
        return None
    if video.status == "done" and _same_rate(video.sample_fps, policy.sample_fps):
        return Claim(None, "already done with these models (--force to redo)")
    if video.status in ("failed", "running") and video.attempts >= policy.max_attempts:
        return Claim(None, f"gave up after {video.attempts} attempts (last error: {video.error or 'worker died'}; "
                           "--force to retry)", gave_up=True)
    return None


def claim_video(session: Session, info: MediaInfo, policy: ClaimPolicy) -> Claim:
    """Claim the file's row (creating it if needed), emptied of earlier results."""
    now = _now()
    video = find_video(session, info)
    if video is None:
        video = Video(sha256=info.sha256, detector=info.detector, classifier=info.classifier, path=info.path,
                      size_bytes=info.size_bytes, status="running", worker=policy.worker, heartbeat_at=now,
                      attempts=1, frames_analysed=0, started_at=now)
        session.add(video)
        try:
            session.commit()
            return Claim(video)
        except IntegrityError:  # another worker created it first
            session.rollback()
            video = find_video(session, info)
            if video is None:
                raise
    refusal = _refusal(video, policy, now)
    if refusal is not None:
        return refusal
    taken = session.execute(
        update(Video)
        .where(Video.id == video.id, Video.attempts == video.attempts)
        .values(status="running", worker=policy.worker, heartbeat_at=now, attempts=video.attempts + 1,
                path=info.path, size_bytes=info.size_bytes, error=None, frames_analysed=0, started_at=now,
                finished_at=None)
    ).rowcount
    if taken != 1:
        session.rollback()
        return Claim(None, "claimed by another worker just now")
    clear_results(session, video.id)
    session.commit()
    session.refresh(video)
    return Claim(video)


def clear_results(session: Session, video_id: int) -> None:
    """Delete a video's frames (with their detections), clips and tracks."""
    frame_ids = select(Frame.id).where(Frame.video_id == video_id)
    clip_ids = select(Clip.id).where(Clip.video_id == video_id)
    session.execute(delete(ClipTrack).where(ClipTrack.clip_id.in_(clip_ids)))
    session.execute(delete(Detection).where(Detection.frame_id.in_(frame_ids)))
    session.execute(delete(Frame).where(Frame.video_id == video_id))
    session.execute(delete(Clip).where(Clip.video_id == video_id))
    session.execute(delete(Track).where(Track.video_id == video_id))


def _still_ours(session: Session, video: Video, policy: ClaimPolicy, **values: object) -> None:
    """Refresh the heartbeat (and set `values`) if the claim is still ours, else raise ClaimLost."""
    updated = session.execute(
        update(Video)
        .where(Video.id == video.id, Video.worker == policy.worker, Video.attempts == video.attempts,
               Video.status == "running")
        .values({"heartbeat_at": _now(), **values})
    ).rowcount
    if updated != 1:
        session.rollback()
        raise ClaimLost(f"video {video.id} was taken over by another worker")


@dataclass(frozen=True)
class StreamFacts:
    duration_s: float | None
    fps: float | None
    width: int
    height: int
    camera: str | None = None
    recorded_at: datetime | None = None
    recorded_at_source: str | None = None
    sample_fps: float | None = None
    face_conf: float | None = None
    mask_threshold: float | None = None
    tracker: str | None = None


def set_stream_info(session: Session, video: Video, policy: ClaimPolicy, facts: StreamFacts) -> None:
    _still_ours(session, video, policy, duration_s=facts.duration_s, fps=facts.fps, width=facts.width,
                height=facts.height, camera=facts.camera, recorded_at=facts.recorded_at,
                recorded_at_source=facts.recorded_at_source, sample_fps=facts.sample_fps,
                face_conf=facts.face_conf, mask_threshold=facts.mask_threshold, tracker=facts.tracker)
    session.commit()


def _at(recorded_at: datetime | None, timestamp_s: float) -> datetime | None:
    return None if recorded_at is None else recorded_at + timedelta(seconds=timestamp_s)


def _add_new_tracks(session: Session, video: Video, frames: list[tuple[int, float, FaceDetections]],
                    recorded_at: datetime | None, track_rows: dict[int, int]) -> None:
    """A row for each person first seen in these frames (its counts are filled in by `finish_tracks`)."""
    first_seen: dict[int, float] = {}
    for _, timestamp_s, faces in frames:
        for person in faces.track_ids:
            if person >= 0 and int(person) not in track_rows:
                first_seen.setdefault(int(person), timestamp_s)
    if not first_seen:
        return
    ids = session.scalars(
        insert(Track).returning(Track.id, sort_by_parameter_order=True),
        [{"video_id": video.id, "first_s": t, "last_s": t, "first_recorded_at": _at(recorded_at, t), "detections": 0,
          "mask_votes": 0, "no_mask_votes": 0, "mask_prob": None, "label": "unknown"} for t in first_seen.values()],
    ).all()
    track_rows.update(zip(first_seen, ids))


def add_frames(session: Session, video: Video, policy: ClaimPolicy,
               frames: Iterable[tuple[int, float, FaceDetections]], recorded_at: datetime | None = None,
               track_rows: dict[int, int] | None = None) -> int:
    """Store analysed frames and their faces in one transaction, with the heartbeat; returns how many.

    `recorded_at` is the recording's wall-clock start; each frame gets it plus its timestamp.
    `track_rows` maps the file's person numbers (`FaceDetections.track_ids`) to `tracks` rows;
    people first seen here get their row and join it. Rows go in as multi-row INSERTs
    (frames, returning their ids, then detections): building ORM objects per face costs more
    CPU than the decoder can spare.
    """
    frames = list(frames)
    track_rows = {} if track_rows is None else track_rows
    if frames:
        _add_new_tracks(session, video, frames, recorded_at, track_rows)
        frame_ids = session.scalars(
            insert(Frame).returning(Frame.id, sort_by_parameter_order=True),
            [{"video_id": video.id, "frame_index": index, "timestamp_s": timestamp_s, "faces": len(faces),
              "masked": faces.masked_count, "unmasked": faces.unmasked_count,
              "recorded_at": _at(recorded_at, timestamp_s)}
             for index, timestamp_s, faces in frames],
        ).all()
        detections = [
            {"frame_id": frame_id, "x1": float(b[0]), "y1": float(b[1]), "x2": float(b[2]), "y2": float(b[3]),
             "face_score": float(score), "mask_prob": float(prob), "label": label,
             "track_id": track_rows.get(int(person))}
            for frame_id, (_, _, faces) in zip(frame_ids, frames)
            for b, score, prob, label, person in zip(faces.boxes, faces.face_scores, faces.mask_probs, faces.labels,
                                                     faces.track_ids)
        ]
        if detections:
            session.execute(insert(Detection), detections)
    _still_ours(session, video, policy, frames_analysed=Video.frames_analysed + len(frames))
    session.commit()
    return len(frames)


def add_clip(session: Session, video: Video, policy: ClaimPolicy, start_s: float, end_s: float, path: str,
             reason: str, track_ids: Iterable[int] = ()) -> None:
    """A clip, with the tracks (row ids) of the people it shows without a mask."""
    clip = Clip(video_id=video.id, start_s=start_s, end_s=end_s, path=path, reason=reason)
    session.add(clip)
    session.flush()
    tracks = sorted(set(track_ids))
    if tracks:
        session.execute(insert(ClipTrack), [{"clip_id": clip.id, "track_id": t} for t in tracks])
    _still_ours(session, video, policy)
    session.commit()


def finish_tracks(session: Session, video: Video, policy: ClaimPolicy, tally: PeopleTally,
                  track_rows: dict[int, int], recorded_at: datetime | None) -> None:
    """Each person's sightings, votes and label, once the whole file has been seen (one bulk UPDATE)."""
    if track_rows:
        session.execute(update(Track), [
            {"id": row, "first_s": seen.first_s, "last_s": seen.last_s,
             "first_recorded_at": _at(recorded_at, seen.first_s), "detections": seen.detections,
             "mask_votes": seen.mask_votes, "no_mask_votes": seen.no_mask_votes, "mask_prob": seen.mask_prob,
             "label": tally.label(person)}
            for person, row in track_rows.items() for seen in (tally.people[person],)])
    _still_ours(session, video, policy)
    session.commit()


def finish_video(session: Session, video: Video, policy: ClaimPolicy) -> None:
    """Mark the file done; earlier versions of it (other content at the same path) leave the reports."""
    _still_ours(session, video, policy, status="done", finished_at=_now())
    session.execute(
        update(Video)
        .where(Video.path == video.path, Video.id != video.id, Video.status.in_(("done", "failed", "pending")),
               or_(Video.sha256.is_(None), Video.sha256 != video.sha256))
        .values(status="superseded", error=f"superseded by video {video.id} (new content at the same path)")
    )
    session.commit()


def fail_claimed(session: Session, video: Video, policy: ClaimPolicy, error: str) -> None:
    """Mark our claimed file failed and drop whatever part of it was stored."""
    session.rollback()
    clear_results(session, video.id)
    _still_ours(session, video, policy, status="failed", error=error, frames_analysed=0, finished_at=_now())
    session.commit()


def fail_if_ours(session: Session, video_id: int, policy: ClaimPolicy, error: str) -> None:
    """After a lost connection: fail the file we were processing, if the claim is still ours."""
    video = session.get(Video, video_id, populate_existing=True)
    if video is None or video.worker != policy.worker or video.status != "running":
        return
    try:
        fail_claimed(session, video, policy, error)
    except ClaimLost:
        pass


def release_claim(session: Session, video: Video, policy: ClaimPolicy) -> None:
    """Give an interrupted file back: its partial results go and it is pending again."""
    session.rollback()
    clear_results(session, video.id)
    _still_ours(session, video, policy, status="pending", worker=None, heartbeat_at=None, frames_analysed=0)
    session.commit()


def record_unreadable(session: Session, info: MediaInfo, policy: ClaimPolicy, error: str) -> None:
    """A file that cannot even be read or hashed gets (or keeps) one `failed` row."""
    session.rollback()
    now = _now()
    video = find_video(session, info)
    if video is not None and _held_elsewhere(video, policy, now):
        return
    if video is None:
        video = Video(sha256=info.sha256, detector=info.detector, classifier=info.classifier, path=info.path,
                      size_bytes=info.size_bytes, started_at=now, attempts=0)
        session.add(video)
    else:
        clear_results(session, video.id)
    video.status, video.error, video.frames_analysed, video.finished_at = "failed", error, 0, now
    video.attempts = (video.attempts or 0) + 1
    try:
        session.commit()
    except IntegrityError:  # another worker recorded it at the same moment
        session.rollback()
