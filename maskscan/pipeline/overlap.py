"""Running the work that follows inference (tracking, storage, clip encoding) beside it.

Inference hands each batch's results to one background thread through a bounded queue: the
database writes and the H.264 encoding of clips (both release the GIL in their C code) overlap
the next batch's forward pass, and when they fall behind by `max_pending` batches, inference
waits (back-pressure: memory stays bounded). Items are handled in the order given, so a file's
frames are tracked and stored in time order, exactly as before.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

_END = object()


class OrderedWorker:
    """Calls `handle(*item)` for each submitted item, in order, on one thread, at most
    `max_pending` items behind the submitter. The first error `handle` raises is raised again
    in the submitting thread (at the next `submit`, or on leaving the `with` block), and the
    items after it are dropped. Leaving the block on an error of the submitter's own (an
    interrupt) lets the item in progress finish and drops the rest."""

    def __init__(self, handle: Callable[..., None], max_pending: int = 2) -> None:
        self._handle = handle
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, max_pending))
        self._error: BaseException | None = None
        self._stopping = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="maskscan-results", daemon=True)

    def __enter__(self) -> OrderedWorker:
        self._thread.start()
        return self

    def submit(self, *item: object) -> None:
        self._put(item)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if exc_type is not None:
            self._stopping.set()
        try:
            self._put(_END, even_if_failed=True)
            self._wait()
        except KeyboardInterrupt:  # while waiting for the last batches: they are dropped, as on any interrupt
            self._stopping.set()
            self._put(_END, even_if_failed=True)
            self._wait()
            raise
        if exc_type is None and self._error is not None:
            raise self._error

    def _wait(self) -> None:
        """Until the thread is done; an Event, because a Thread.join() broken by an interrupt may
        later return before the thread has finished."""
        while not self._done.wait(timeout=0.2):
            pass

    def _put(self, item: object, even_if_failed: bool = False) -> None:
        while True:
            if self._error is not None and not even_if_failed:
                raise self._error
            try:
                self._queue.put(item, timeout=0.05)
                return
            except queue.Full:
                if self._done.is_set():
                    return

    def _run(self) -> None:
        try:
            while True:
                item = self._queue.get()
                if item is _END:
                    return
                if self._stopping.is_set():
                    continue
                try:
                    self._handle(*item)
                except BaseException as exc:  # noqa: BLE001 - handed to the submitting thread
                    self._error = exc
                    self._stopping.set()
        finally:
            self._done.set()
