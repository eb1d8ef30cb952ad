"""Per-file progress: a rich bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from maskscan.pipeline.decode import StreamInfo
from maskscan.pipeline.media import MediaFile, quoted
from maskscan.pipeline.runner import FileOutcome


def describe(outcome: FileOutcome) -> str:
    path = quoted(outcome.path)
    if outcome.status == "skipped":
        return f"{path}: skipped, {outcome.error}"
    if outcome.status == "failed":
        return f"{path}: {outcome.error}"
    return (f"{path}: done, {outcome.frames} frames, {outcome.faces} faces "
            f"({outcome.masked} mask, {outcome.unmasked} no mask), {len(outcome.clips)} clips, "
            f"{outcome.seconds:.1f} s")


class ConsoleProgress:
    """Reports to stderr; failures always, the rest unless quiet."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.console = Console(stderr=True)
        self.live = self.console.is_terminal and not quiet
        self._bar: Progress | None = None
        self._task = None
        self._faces = self._frames = 0
        self._started = 0.0

    def start_file(self, media: MediaFile, info: StreamInfo, expected_frames: int | None) -> None:
        self._faces = self._frames = 0
        self._started = time.monotonic()
        if not self.live:
            return
        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[rate]:.1f} fps  {task.fields[faces]} faces"),
                             TimeElapsedColumn(), console=self.console, transient=True)
        self._bar.start()
        self._task = self._bar.add_task(quoted(media.path.name), total=expected_frames, rate=0.0, faces=0)

    def advance(self, frames: int, faces: int) -> None:
        self._frames += frames
        self._faces += faces
        if self._bar is not None:
            rate = self._frames / max(1e-6, time.monotonic() - self._started)
            self._bar.update(self._task, advance=frames, rate=rate, faces=self._faces)

    def end_file(self, outcome: FileOutcome) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        if outcome.status == "failed":
            self.error(describe(outcome))
        elif not self.quiet:
            print(describe(outcome), file=sys.stderr, flush=True)

    def warn(self, message: str) -> None:
        if not self.quiet:
            print(f"maskscan: warning: {message}", file=sys.stderr, flush=True)

    def error(self, message: str) -> None:
        print(f"maskscan: error: {message}", file=sys.stderr, flush=True)
