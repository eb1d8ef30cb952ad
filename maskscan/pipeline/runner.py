"""Processing one media file end to end: decode, infer, store, write clips.

Every failure of a file becomes its `failed` row and an outcome; the caller goes on with
the next file.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timezone, tzinfo
from pathlib import Path
from typing import Literal, Protocol

from sqlalchemy.orm import Session, sessionmaker

from maskscan.detections import FaceDetections
from maskscan.pipeline.annotate import BoxAnnotator
from maskscan.pipeline.clips import ClipRecord, ViolationClipWriter, write_annotated_image
from maskscan.pipeline.decode import DecodeError, StreamInfo, VideoSource, batched_frames
from maskscan.pipeline.inference import FaceMaskPipeline
from maskscan.pipeline.media import MediaFile
from maskscan.pipeline.recording import recording_of
from maskscan.storage import results
from maskscan.storage.results import MediaInfo


@dataclass(frozen=True)
class ProcessOptions:
    sample_fps: float = 5.0
    batch_size: int = 16
    clips_dir: Path | None = Path("clips")
    pre_roll_s: float = 2.0
    post_roll_s: float = 2.0
    force: bool = False
    decoder_threads: int = 0
    lease_s: float = 120.0
    max_attempts: int = 3
    camera_pattern: str | None = None
    time_pattern: str | None = None
    timezone: tzinfo = timezone.utc
    """Zone of times read from file names."""


@dataclass
class FileOutcome:
    path: str
    status: Literal["done", "skipped", "failed"]
    error: str | None = None
    video_id: int | None = None
    frames: int = 0
    faces: int = 0
    masked: int = 0
    unmasked: int = 0
    clips: list[str] = field(default_factory=list)
    seconds: float = 0.0
    exception: BaseException | None = field(default=None, repr=False)
    """The unexpected error behind a failure (shown with --debug); None for decode problems."""


class Progress(Protocol):
    def start_file(self, media: MediaFile, info: StreamInfo, expected_frames: int | None) -> None: ...
    def advance(self, frames: int, faces: int) -> None: ...
    def end_file(self, outcome: FileOutcome) -> None: ...


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _expected_frames(info: StreamInfo, sample_fps: float) -> int | None:
    if info.duration_s is None:
        return None
    rate = sample_fps or info.fps
    return max(1, round(info.duration_s * rate)) if rate else None


class FileProcessor:
    def __init__(self, pipeline: FaceMaskPipeline, sessions: sessionmaker[Session], options: ProcessOptions,
                 progress: Progress) -> None:
        self.pipeline, self.sessions, self.options, self.progress = pipeline, sessions, options, progress
        self.annotator = BoxAnnotator()
        self.policy = results.ClaimPolicy(results.new_worker_id(), options.lease_s, options.max_attempts, options.force)

    def media_info(self, media: MediaFile) -> tuple[MediaInfo, str | None]:
        """What identifies the file in the database, and why it cannot be read (None if it can)."""
        path = media.path.resolve()
        problem = None
        try:
            size, sha256 = path.stat().st_size, file_sha256(path)
        except OSError as exc:
            size, sha256, problem = 0, None, f"cannot read file ({exc.strerror or exc})"
        else:
            if size == 0:
                problem = "empty file"
        return MediaInfo(str(path), sha256, size, self.pipeline.detector.name, self.pipeline.classifier.name), problem

    def process(self, media: MediaFile) -> FileOutcome:
        started = time.monotonic()
        info, problem = self.media_info(media)
        outcome = FileOutcome(str(media.path), "done")
        with self.sessions() as session:
            if problem:
                outcome.status, outcome.error = "failed", problem
                results.record_unreadable(session, info, self.policy, problem)
            else:
                self._process_claimed(session, media, info, outcome)
        outcome.seconds = time.monotonic() - started
        self.progress.end_file(outcome)
        return outcome

    def _process_claimed(self, session: Session, media: MediaFile, info: MediaInfo, outcome: FileOutcome) -> None:
        claim = results.claim_video(session, info, self.policy)
        video = claim.video
        if video is None:  # a file given up on still counts as failed, so the nightly job says so
            outcome.status, outcome.error = ("failed" if claim.gave_up else "skipped"), claim.refusal
            found = results.find_video(session, info)
            outcome.video_id = found.id if found else None
            return
        outcome.video_id = video.id
        try:
            self._analyse(session, media, video, info, outcome)
            results.finish_video(session, video, self.policy)
        except results.ClaimLost as exc:
            outcome.status, outcome.error = "skipped", str(exc)
        except DecodeError as exc:
            outcome.status, outcome.error = "failed", str(exc)
            results.fail_claimed(session, video, self.policy, outcome.error)
        except KeyboardInterrupt:
            results.release_claim(session, video, self.policy)
            raise
        except Exception as exc:  # noqa: BLE001 - one file's failure must not stop the batch
            outcome.status, outcome.error, outcome.exception = "failed", f"{type(exc).__name__}: {exc}", exc
            results.fail_claimed(session, video, self.policy, outcome.error)

    def _clip_dir(self, media: MediaFile, info: MediaInfo) -> Path | None:
        if self.options.clips_dir is None:
            return None
        folder = self.options.clips_dir / f"{media.path.stem}-{(info.sha256 or 'unknown')[:10]}"
        if folder.exists():  # results of an earlier run of this file are being replaced
            shutil.rmtree(folder)
        return folder

    def _analyse(self, session: Session, media: MediaFile, video: results.Video, info: MediaInfo,
                 outcome: FileOutcome) -> None:
        clip_dir = self._clip_dir(media, info)
        try:
            self._analyse_into(session, media, video, outcome, clip_dir)
        except results.ClaimLost:
            raise  # the folder now belongs to the worker that took the file over
        except BaseException:
            if clip_dir is not None:  # the failed file's rows are dropped; so are its clips
                shutil.rmtree(clip_dir, ignore_errors=True)
            raise

    def _analyse_into(self, session: Session, media: MediaFile, video: results.Video, outcome: FileOutcome,
                      clip_dir: Path | None) -> None:
        def record_clip(clip: ClipRecord) -> None:
            results.add_clip(session, video, self.policy, clip.start_s, clip.end_s, str(clip.path), clip.reason)
            outcome.clips.append(str(clip.path))

        with VideoSource(media, self.options.sample_fps, self.options.decoder_threads) as source:
            stream = source.info
            recording = recording_of(media.path, stream.creation_time, self.options.camera_pattern,
                                     self.options.time_pattern, self.options.timezone)
            results.set_stream_info(session, video, self.policy, results.StreamFacts(
                stream.duration_s, stream.fps, stream.width, stream.height, recording.camera, recording.recorded_at,
                recording.source))
            self.progress.start_file(media, stream, _expected_frames(stream, self.options.sample_fps))
            rate = self.options.sample_fps or stream.fps or 5.0
            writer = (ViolationClipWriter(clip_dir, media.path.stem, rate, self.options.pre_roll_s,
                                          self.options.post_roll_s, record_clip, self.annotator)
                      if clip_dir is not None and media.kind == "video" else None)
            with writer or nullcontext():
                for batch in batched_frames(source, self.options.batch_size):
                    faces = self.pipeline([frame.image for frame in batch])
                    results.add_frames(session, video, self.policy,
                                       ((f.index, f.timestamp_s, d) for f, d in zip(batch, faces)),
                                       recording.recorded_at)
                    for frame, found in zip(batch, faces):
                        self._count(outcome, found)
                        if writer is not None:
                            writer.add(frame.timestamp_s, frame.image, found)
                        elif clip_dir is not None and found.unmasked_count:
                            path = clip_dir / f"{media.path.stem}.jpg"
                            write_annotated_image(path, self.annotator.annotate(frame.image, found))
                            record_clip(ClipRecord(0.0, 0.0, path))
                    self.progress.advance(len(batch), sum(len(f) for f in faces))

    @staticmethod
    def _count(outcome: FileOutcome, faces: FaceDetections) -> None:
        outcome.frames += 1
        outcome.faces += len(faces)
        outcome.masked += faces.masked_count
        outcome.unmasked += faces.unmasked_count
