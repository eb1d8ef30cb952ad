"""Progress of a run: a rich display on a terminal, plain log lines otherwise, one line at the end.

On a terminal a run shows one bar for the whole run (files done of all, with an ETA from the
bytes still to go) and, for each video, a bar of its frames; images advance the run's bar
only, so a folder of many images is one bar, not one per image.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from maskscan.pipeline.media import MediaFile, display_path, quoted

if TYPE_CHECKING:
    from pathlib import Path

    from maskscan.pipeline.decode import StreamInfo
    from maskscan.pipeline.runner import FileOutcome


def describe(outcome: FileOutcome) -> str:
    path = quoted(outcome.path)
    if outcome.status == "skipped":
        return f"{path}: skipped, {outcome.error}"
    if outcome.status == "failed":
        return f"{path}: {outcome.error}"
    return (f"{path}: done, {outcome.frames} frames, {outcome.people} people ({outcome.people_masked} mask, "
            f"{outcome.people_unmasked} no mask, {outcome.people_unknown} unknown), {outcome.faces} face sightings "
            f"({outcome.masked} mask, {outcome.unmasked} no mask), {len(outcome.clips)} clips, "
            f"{outcome.seconds:.1f} s")


def _size(media: MediaFile) -> int:
    try:
        return media.path.stat().st_size
    except OSError:
        return 0


def summary_line(outcomes: list[FileOutcome], problems: int, seconds: float, database: str,
                 clips_dir: Path | None) -> str:
    """The run in one line: files by outcome, what was found, and where the results are."""
    count = {status: sum(o.status == status for o in outcomes) for status in ("done", "skipped", "failed")}
    frames, faces = sum(o.frames for o in outcomes), sum(o.faces for o in outcomes)
    unmasked, clips = sum(o.unmasked for o in outcomes), sum(len(o.clips) for o in outcomes)
    people, unmasked_people = sum(o.people for o in outcomes), sum(o.people_unmasked for o in outcomes)
    where = f"results in {database}" + (f", clips in {clips_dir}" if clips_dir is not None and clips else "")
    return (f"{len(outcomes) + problems} inputs: {count['done']} done, {count['skipped']} skipped, "
            f"{count['failed'] + problems} failed; {frames} frames, {people} people ({unmasked_people} no mask), "
            f"{faces} face sightings ({unmasked} no mask), {clips} clips in {seconds:.0f} s; {where}")


@dataclass
class _FileBar:
    task: TaskID | None
    started: float
    frames: int = 0
    faces: int = 0


class ConsoleProgress:
    """Reports to stderr; failures always, the rest unless quiet."""

    def __init__(self, quiet: bool = False, media: list[MediaFile] | None = None) -> None:
        self.quiet = quiet
        self.console = Console(stderr=True)
        self.live = self.console.is_terminal and not quiet
        self.media = media or []
        self._started_run = time.monotonic()
        self._display: Progress | None = None
        self._run_task: TaskID | None = None
        self._files: dict[str, _FileBar] = {}  # the files in flight by displayed path (several with --decoders)
        self._lock = threading.Lock()
        self._finished = 0
        self._sizes = {display_path(m.path): _size(m) for m in self.media}
        if self.live and self.media:
            self._display = Progress(TextColumn("{task.description}"), BarColumn(),
                                     TextColumn("{task.fields[detail]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                                     console=self.console, transient=True)
            self._display.start()
            self._run_task = self._display.add_task("files", total=sum(_size(m) for m in self.media) or None,
                                                    detail=f"0 of {len(self.media)}")

    def start_file(self, media: MediaFile, info: StreamInfo, expected_frames: int | None) -> None:
        task = None
        if self._display is not None and media.kind == "video":
            task = self._display.add_task(quoted(media.path.name), total=expected_frames, detail="")
        with self._lock:
            self._files[display_path(media.path)] = _FileBar(task, time.monotonic())

    def advance(self, media: MediaFile, frames: int, faces: int) -> None:
        bar = self._files.get(display_path(media.path))
        if bar is None:
            return
        bar.frames += frames
        bar.faces += faces
        if self._display is not None and bar.task is not None:
            rate = bar.frames / max(1e-6, time.monotonic() - bar.started)
            total = self._display.tasks[bar.task].total
            self._display.update(bar.task, advance=frames, detail=f"{bar.frames}/{total or '?'} frames, "
                                                                  f"{rate:.1f} fps, {bar.faces} faces")

    def end_file(self, outcome: FileOutcome) -> None:
        with self._lock:
            self._finished += 1
            finished = self._finished
            bar = self._files.pop(outcome.path, None)
        if self._display is not None:
            if bar is not None and bar.task is not None:
                self._display.remove_task(bar.task)
            self._display.update(self._run_task, advance=self._sizes.get(outcome.path, 0),  # type: ignore[arg-type]
                                 detail=f"{finished} of {len(self.media)}")
        if outcome.status == "failed":
            self.error(describe(outcome))
        elif not self.quiet:
            self._print(describe(outcome))

    def finish(self, outcomes: list[FileOutcome], problems: int, database: str, clips_dir: Path | None) -> None:
        if self._display is not None:
            self._display.stop()
            self._display = None
        if not self.quiet:
            self._print(summary_line(outcomes, problems, time.monotonic() - self._started_run, database, clips_dir))

    def _print(self, message: str) -> None:
        if self._display is not None:
            self._display.console.print(message, markup=False, highlight=False, soft_wrap=True)
        else:
            print(message, file=sys.stderr, flush=True)

    def warn(self, message: str) -> None:
        if not self.quiet:
            self._print(f"maskscan: warning: {message}")

    def error(self, message: str) -> None:
        self._print(f"maskscan: error: {message}")
