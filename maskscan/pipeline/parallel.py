"""Several files in flight: `--decoders N` workers, each decoding, storing and encoding clips
of its own file, sharing one set of models.

Each worker is a FileProcessor with a claim of its own, so per-file ordering, claims,
roll-back and counts are exactly those of one file at a time. The models run one batch at a
time (`SharedPipeline`); what overlaps is everything around them: opening, hashing, decoding,
storage and clip encoding of other files, which is what many short files spend their time on.
Signals reach the main thread only: it sets `cancel`, and every worker rolls its file back as
an interrupt would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from maskscan.detections import FaceDetections

if TYPE_CHECKING:
    from maskscan.pipeline.deferred import DeferredPipeline
    from maskscan.pipeline.inference import FaceMaskPipeline
    from maskscan.pipeline.media import MediaFile
    from maskscan.pipeline.runner import FileOutcome, FileProcessor


class SharedPipeline:
    """The models behind a lock: one batch at a time, whichever worker it comes from."""

    def __init__(self, pipeline: FaceMaskPipeline | DeferredPipeline) -> None:
        self._pipeline = pipeline
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> object:  # names, thresholds, `loaded`: the wrapped pipeline's
        return getattr(self._pipeline, name)

    def __call__(self, images: list[np.ndarray]) -> list[FaceDetections]:
        with self._lock:
            return self._pipeline(images)


def process_in_parallel(make_processor: Callable[[threading.Event], FileProcessor], media: list[MediaFile],
                        workers: int, on_outcome: Callable[[FileOutcome], None]) -> None:
    """Process `media` with `workers` threads, files taken in order; `on_outcome` is called (on
    the worker's thread) as each file ends. The first exception that is not a file's own failure
    (an interrupt, a lost database, models that cannot load) cancels the other workers, which
    roll their files back, and is raised here once all have stopped."""
    cancel = threading.Event()
    pending = iter(list(media))
    take = threading.Lock()
    errors: list[BaseException] = []

    def work(done: threading.Event) -> None:
        try:
            take_files(make_processor(cancel))
        finally:
            done.set()

    def take_files(processor: FileProcessor) -> None:
        while not cancel.is_set():
            with take:
                item = next(pending, None)
            if item is None:
                return
            try:
                on_outcome(processor.process(item))
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                if not (isinstance(exc, KeyboardInterrupt) and cancel.is_set()):
                    errors.append(exc)
                cancel.set()
                return

    # Each worker says when it is done through an Event: a Thread.join() that an interrupt broke
    # may return at once afterwards, before the thread has rolled its file back.
    finished = [threading.Event() for _ in range(workers)]
    for i, done in enumerate(finished):
        threading.Thread(target=work, args=(done,), name=f"maskscan-file-{i}", daemon=True).start()
    try:
        for done in finished:
            while not done.wait(timeout=0.2):  # short waits, so that a signal reaches this thread at once
                pass
    except KeyboardInterrupt:
        cancel.set()
        for done in finished:
            while not done.wait(timeout=0.2):
                pass
        raise
    if errors:
        raise errors[0]
