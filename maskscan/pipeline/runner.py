"""Processing one media file end to end: decode, infer, store, write clips.

Every failure of a file becomes its `failed` row and an outcome; the caller goes on with
the next file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal, Protocol

from sqlalchemy import text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from maskscan.detections import FaceDetections
from maskscan.pipeline.annotate import BoxAnnotator
from maskscan.pipeline.anonymize import FaceAnonymizer, RegionHold
from maskscan.pipeline.anonymize_modes import AnonymizeMode
from maskscan.pipeline.clips import ClipRecord, ViolationClipWriter, write_annotated_image
from maskscan.pipeline.decode import DecodedFrame, DecodeError, StreamInfo, VideoSource, batched_frames
from maskscan.pipeline.deferred import ModelLoadError
from maskscan.pipeline.media import MediaFile, display_path, open_media, quoted
from maskscan.pipeline.overlap import OrderedWorker
from maskscan.pipeline.people import MASK, NO_MASK, UNKNOWN, PeopleTally
from maskscan.pipeline.recording import recording_of
from maskscan.pipeline.tracking import FaceTracker, TrackerSettings, import_tracker_library
from maskscan.storage import results
from maskscan.storage.database import first_line
from maskscan.storage.results import MediaInfo

if TYPE_CHECKING:
    from maskscan.pipeline.deferred import DeferredPipeline
    from maskscan.pipeline.inference import FaceMaskPipeline


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
    settle_s: float = 0.0
    """Files modified less than this many seconds ago are skipped as still being written."""
    database_retry_s: float = 60.0
    """After losing the database, how long to wait for it to come back before giving up the run."""
    tracker: TrackerSettings = field(default_factory=TrackerSettings)
    pending_batches: int = 2
    """Batches inference may run ahead of storage and clip encoding (which run beside it)."""
    anonymize: AnonymizeMode = "none"
    """How faces are hidden in the clips and photos written (the regions: `FaceDetections.privacy_boxes`)."""


@dataclass
class PersonOutcome:
    """A person seen without a mask, with the clips that show them."""

    person: int
    """Their number within the file, as drawn in the clips (`#1`, ...)."""
    track_id: int
    first_s: float
    last_s: float
    clips: list[str] = field(default_factory=list)


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
    people: int = 0
    """Tracked people labelled `mask` or `no_mask` (tracks too doubtful to label are `people_unknown`)."""
    people_masked: int = 0
    people_unmasked: int = 0
    people_unknown: int = 0
    clips: list[str] = field(default_factory=list)
    unmasked_people: list[PersonOutcome] = field(default_factory=list)
    seconds: float = 0.0
    exception: BaseException | None = field(default=None, repr=False)
    """The unexpected error behind a failure (shown with --debug); None for decode problems."""


class Progress(Protocol):
    def start_file(self, media: MediaFile, info: StreamInfo, expected_frames: int | None) -> None: ...
    def advance(self, media: MediaFile, frames: int, faces: int) -> None: ...
    def warn(self, message: str) -> None: ...
    def end_file(self, outcome: FileOutcome) -> None: ...


class DatabaseUnavailable(Exception):
    """The database was lost and did not come back in time: the run cannot go on."""


class _DatabaseLost(Exception):
    """The connection broke while a file was processed (the file's own data is not at fault)."""


class _FileChanged(DecodeError):
    """The file was modified, truncated or replaced while it was processed."""


_CONNECTION_ERRORS = (OperationalError, InterfaceError)


def _fingerprint(status: os.stat_result) -> tuple[int, int, int, int]:
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns


def safe_stem(path: Path) -> str:
    """The file's stem for names maskscan writes: letters, digits, `.`, `_` and `-` (others
    become `_`), at most 80 bytes, so that any file system takes it with a suffix."""
    stem = "".join(c if c.isalnum() or c in "._-" else "_" for c in display_path(path.stem))
    return stem.encode("utf-8")[:80].decode("utf-8", "ignore").strip(".") or "media"


def clip_folder_name(path: Path, sha256: str | None, detector: str, classifier: str) -> str:
    """`<stem>-<content>-<models>`: one folder per result (file content and models)."""
    models = hashlib.sha1(f"{detector}\n{classifier}".encode()).hexdigest()[:8]
    return f"{safe_stem(path)}-{(sha256 or 'unknown')[:10]}-{models}"


def _expected_frames(info: StreamInfo, sample_fps: float) -> int | None:
    if info.duration_s is None:
        return None
    rate = sample_fps or info.fps
    return max(1, round(info.duration_s * rate)) if rate else None


class FileProcessor:
    def __init__(self, pipeline: FaceMaskPipeline | DeferredPipeline, sessions: sessionmaker[Session],
                 options: ProcessOptions, progress: Progress, cancel: threading.Event | None = None) -> None:
        """`cancel`: set by the main thread when a file processed on another thread must be rolled
        back as an interrupt would (signals reach the main thread only)."""
        self.pipeline, self.sessions, self.options, self.progress = pipeline, sessions, options, progress
        self.cancel = cancel
        self.annotator = BoxAnnotator(anonymizer=None if options.anonymize == "none"
                                      else FaceAnonymizer(options.anonymize))
        self.policy = results.ClaimPolicy(results.new_worker_id(), options.lease_s, options.max_attempts, options.force,
                                          options.sample_fps)
        import_tracker_library()

    def _unsettled(self, media: MediaFile) -> str | None:
        """Why the file is left for a later run (it is still being written), or None."""
        if not self.options.settle_s:
            return None
        try:
            age = time.time() - media.path.stat().st_mtime
        except OSError:
            return None  # opening it below says what is wrong
        if age < self.options.settle_s:
            return f"still being written (modified {max(age, 0):.0f} s ago; --settle {self.options.settle_s:g})"
        return None

    def process(self, media: MediaFile) -> FileOutcome:
        """Process one file; raises DatabaseUnavailable when the database is gone for good."""
        started = time.monotonic()
        outcome = FileOutcome(display_path(media.path), "done")
        unsettled, database_lost = self._unsettled(media), False
        if unsettled:
            outcome.status, outcome.error = "skipped", unsettled
        else:
            try:
                self._open_and_process(media, outcome)
            except _DatabaseLost as exc:
                outcome.status, outcome.error, database_lost = "failed", f"database connection lost ({exc})", True
        outcome.seconds = time.monotonic() - started
        self.progress.end_file(outcome)  # the file's line comes first, even if the run then gives up
        if database_lost:
            self._recover_database(outcome)
        return outcome

    def _open_and_process(self, media: MediaFile, outcome: FileOutcome) -> None:
        """Open the file once: the hash, the decoding and the change check all read that one file."""
        path = media.path.resolve()
        info = MediaInfo(display_path(path), None, 0, self.pipeline.detector_name, self.pipeline.classifier_name)
        try:
            handle = open_media(path)
        except OSError as exc:
            self._record_unreadable(info, outcome, f"cannot read file ({exc.strerror or exc})")
            return
        with handle:
            opened = os.fstat(handle.fileno())
            try:
                sha256 = hashlib.file_digest(handle, "sha256").hexdigest()
            except OSError as exc:
                self._record_unreadable(info, outcome, f"cannot read file ({exc.strerror or exc})")
                return
            info = MediaInfo(info.path, sha256, opened.st_size, info.detector, info.classifier)
            if opened.st_size == 0:
                self._record_unreadable(info, outcome, "empty file")
                return
            try:
                with self.sessions() as session:
                    self._process_claimed(session, media, info, outcome, handle, _fingerprint(opened))
            except _CONNECTION_ERRORS as exc:
                raise _DatabaseLost(first_line(exc)) from exc

    def _record_unreadable(self, info: MediaInfo, outcome: FileOutcome, problem: str) -> None:
        outcome.status, outcome.error = "failed", problem
        try:
            with self.sessions() as session:
                results.record_unreadable(session, info, self.policy, problem)
        except _CONNECTION_ERRORS as exc:
            raise _DatabaseLost(first_line(exc)) from exc

    def _recover_database(self, outcome: FileOutcome) -> None:
        """Wait (bounded) for the database; then the interrupted file is marked failed."""
        deadline = time.monotonic() + self.options.database_retry_s
        while True:
            try:
                with self.sessions() as session:
                    session.execute(text("SELECT 1"))
                    if outcome.video_id is not None:
                        results.fail_if_ours(session, outcome.video_id, self.policy, outcome.error or "")
                return
            except _CONNECTION_ERRORS as exc:
                if time.monotonic() >= deadline:
                    raise DatabaseUnavailable(
                        f"database unreachable for {self.options.database_retry_s:g} s ({first_line(exc)}); "
                        "giving up the run") from exc
                time.sleep(min(2.0, max(0.0, deadline - time.monotonic())))

    def _process_claimed(self, session: Session, media: MediaFile, info: MediaInfo, outcome: FileOutcome,
                         handle: BinaryIO, fingerprint: tuple[int, int, int, int]) -> None:
        self._raise_if_cancelled()
        claim = results.claim_video(session, info, self.policy)
        video = claim.video
        if video is None:  # a file given up on still counts as failed, so the nightly job says so
            outcome.status, outcome.error = ("failed" if claim.gave_up else "skipped"), claim.refusal
            found = results.find_video(session, info)
            outcome.video_id = found.id if found else None
            return
        outcome.video_id = video.id
        try:
            self._analyse(session, media, video, info, outcome, handle)
            self._check_unchanged(media, handle, fingerprint)
            results.finish_video(session, video, self.policy)
        except results.ClaimLost as exc:
            outcome.status, outcome.error = "skipped", str(exc)
        except DecodeError as exc:
            outcome.status, outcome.error = "failed", str(exc)
            results.fail_claimed(session, video, self.policy, outcome.error)
        except (KeyboardInterrupt, ModelLoadError):  # the file is not at fault: it is pending again
            results.release_claim(session, video, self.policy)
            raise
        except _CONNECTION_ERRORS:
            raise
        except Exception as exc:  # noqa: BLE001 - one file's failure must not stop the batch
            outcome.status, outcome.error, outcome.exception = "failed", f"{type(exc).__name__}: {exc}", exc
            results.fail_claimed(session, video, self.policy, outcome.error)

    @staticmethod
    def _check_unchanged(media: MediaFile, handle: BinaryIO, fingerprint: tuple[int, int, int, int]) -> None:
        """The file read is still the file at the path, with the size and time it had when hashed."""
        try:
            at_path = _fingerprint(media.path.resolve().stat())
        except OSError:
            at_path = None
        if _fingerprint(os.fstat(handle.fileno())) != fingerprint or at_path != fingerprint:
            raise _FileChanged("file changed while it was processed (modified, truncated or replaced); "
                               "it is processed again on the next run")

    def _clip_dir(self, media: MediaFile, info: MediaInfo) -> Path | None:
        if self.options.clips_dir is None:
            return None
        folder = self.options.clips_dir.resolve() / clip_folder_name(media.path, info.sha256, info.detector,
                                                                      info.classifier)
        if folder.exists():  # results of an earlier run of this file with these models are being replaced
            shutil.rmtree(folder)
        return folder

    def _analyse(self, session: Session, media: MediaFile, video: results.Video, info: MediaInfo,
                 outcome: FileOutcome, handle: BinaryIO) -> None:
        clip_dir = self._clip_dir(media, info)
        try:
            self._analyse_into(session, media, video, outcome, clip_dir, handle)
        except results.ClaimLost:
            raise  # the folder now belongs to the worker that took the file over
        except BaseException:
            if clip_dir is not None:  # the failed file's rows are dropped; so are its clips
                shutil.rmtree(clip_dir, ignore_errors=True)
            raise

    def _analyse_into(self, session: Session, media: MediaFile, video: results.Video, outcome: FileOutcome,
                      clip_dir: Path | None, handle: BinaryIO) -> None:
        track_rows: dict[int, int] = {}  # the file's person numbers -> `tracks` rows
        clips_of: dict[int, list[str]] = {}

        def record_clip(clip: ClipRecord) -> None:
            results.add_clip(session, video, self.policy, clip.start_s, clip.end_s, str(clip.path), clip.reason,
                             [track_rows[p] for p in clip.people if p in track_rows])
            outcome.clips.append(str(clip.path))
            for person in clip.people:
                clips_of.setdefault(person, []).append(str(clip.path))

        clip_stem = safe_stem(media.path)
        with VideoSource(media, self.options.sample_fps, self.options.decoder_threads, handle) as source:
            stream = source.info
            recording = recording_of(media.path, stream.creation_time, self.options.camera_pattern,
                                     self.options.time_pattern, self.options.timezone)
            results.set_stream_info(session, video, self.policy, results.StreamFacts(
                stream.duration_s, stream.fps, stream.width, stream.height, recording.camera, recording.recorded_at,
                recording.source, self.options.sample_fps, self.pipeline.face_confidence, self.pipeline.mask_threshold,
                self.options.tracker.describe()))
            self.progress.start_file(media, stream, _expected_frames(stream, self.options.sample_fps))
            rate = self.options.sample_fps or stream.fps or 5.0
            tracker = FaceTracker(self.options.tracker, rate)
            tally = PeopleTally(rate if media.kind == "video" else 0.0)  # in a photo, one sighting is all there is
            hold = RegionHold()
            writer = (ViolationClipWriter(clip_dir, clip_stem, rate, self.options.pre_roll_s,
                                          self.options.post_roll_s, record_clip, self.annotator)
                      if clip_dir is not None and media.kind == "video" else None)

            def store(batch: list[DecodedFrame], found: list[FaceDetections]) -> None:
                """Everything after inference, on the results thread, batch after batch in time order."""
                faces = [tracker.assign(frame.timestamp_s, faces) for frame, faces in zip(batch, found)]
                if self.annotator.anonymizer is not None:
                    faces = [f.with_privacy_boxes(hold.update(f.regions_to_hide)) for f in faces]
                for frame, f in zip(batch, faces):
                    tally.add(frame.timestamp_s, f)
                results.add_frames(session, video, self.policy,
                                   ((frame.index, frame.timestamp_s, f) for frame, f in zip(batch, faces)),
                                   recording.recorded_at, track_rows)
                for frame, f in zip(batch, faces):
                    self._count(outcome, f)
                    if writer is not None:
                        writer.add(frame.timestamp_s, frame.image, f)
                    elif clip_dir is not None and f.unmasked_count:
                        path = clip_dir / f"{clip_stem}.jpg"
                        write_annotated_image(path, self.annotator.annotate(frame.image, f))
                        record_clip(ClipRecord(0.0, 0.0, path, people=frozenset(
                            int(p) for p, m in zip(f.track_ids, f.masked) if p >= 0 and not m)))
                self.progress.advance(media, len(batch), sum(len(f) for f in faces))

            with writer or nullcontext(), OrderedWorker(store, self.options.pending_batches) as worker:
                for batch in batched_frames(source, self.options.batch_size):
                    self._raise_if_cancelled()
                    worker.submit(batch, self.pipeline([frame.image for frame in batch]))
            results.finish_tracks(session, video, self.policy, tally, track_rows, recording.recorded_at)
            self._count_people(outcome, tally, track_rows, clips_of)
            for note in source.timeline.jumps:
                self.progress.warn(f"{quoted(outcome.path)}: {note}")

    def _raise_if_cancelled(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise KeyboardInterrupt("cancelled")

    @staticmethod
    def _count_people(outcome: FileOutcome, tally: PeopleTally, track_rows: dict[int, int],
                      clips_of: dict[int, list[str]]) -> None:
        for person, seen in sorted(tally.people.items()):
            label = tally.label(person)
            outcome.people_unknown += label == UNKNOWN
            outcome.people += label != UNKNOWN
            outcome.people_unmasked += label == NO_MASK
            outcome.people_masked += label == MASK
            if label == NO_MASK:
                outcome.unmasked_people.append(PersonOutcome(person + 1, track_rows[person], seen.first_s, seen.last_s,
                                                             clips_of.get(person, [])))

    @staticmethod
    def _count(outcome: FileOutcome, faces: FaceDetections) -> None:
        outcome.frames += 1
        outcome.faces += len(faces)
        outcome.masked += faces.masked_count
        outcome.unmasked += faces.unmasked_count
