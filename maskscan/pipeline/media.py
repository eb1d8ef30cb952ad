"""Which inputs are media, and which kind: videos are decoded, images are one-frame videos.

Also how a media file is opened and named. FFmpeg treats a file name as a URL (`concat:`,
`file:`, `http:`, `subfile,`...), so maskscan never hands it a name: it opens the file itself
and passes the open file. Names that are not valid UTF-8 are shown and stored with each
undecodable byte as `\\xNN`, and names with control characters are quoted in messages.
"""

from __future__ import annotations

import fcntl
import fnmatch
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mkv", ".avi", ".mov", ".ts", ".mts", ".webm", ".gif", ".mpg", ".mpeg", ".wmv", ".flv"})
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


@dataclass(frozen=True)
class MediaFile:
    path: Path
    kind: Literal["video", "image"]


@dataclass(frozen=True)
class InputProblem:
    """A command-line path (or a folder below one) that yields nothing to process."""

    path: Path
    message: str


class NotRegularFile(OSError):
    """A FIFO, device or socket where a media file was expected (reading it could block forever)."""


def display_path(path: Path | str) -> str:
    """The path as text that any database and terminal accepts: undecodable bytes become `\\xNN`."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def quoted(path: Path | str) -> str:
    """`display_path`, quoted when it holds a newline or other control character (one line per message)."""
    text = display_path(path)
    return text if text.isprintable() else repr(text)


def media_kind(path: Path) -> Literal["video", "image"] | None:
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if suffix in IMAGE_SUFFIXES:
        return "image"
    return None


def open_media(path: Path) -> BinaryIO:
    """Open a media file for reading without following it anywhere FFmpeg would.

    Opened non-blocking first, so that a FIFO cannot hang the batch, and refused unless it
    is a regular file. Raises OSError (PermissionError, NotRegularFile, ...)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile("not a regular file")
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _walk(folder: Path, problems: list[InputProblem]) -> list[Path]:
    """Every regular file below `folder`, sorted; unreadable subfolders become problems."""
    files: list[Path] = []

    def unreadable(exc: OSError) -> None:
        problems.append(InputProblem(Path(exc.filename), f"cannot read folder ({exc.strerror or exc})"))

    for root, dirs, names in os.walk(folder, onerror=unreadable):
        dirs.sort()
        for name in names:
            path = Path(root) / name
            try:
                if stat.S_ISREG(path.stat().st_mode):
                    files.append(path)
            except OSError:
                continue  # a dangling link or a file removed meanwhile
    return sorted(files)


def discover(paths: list[Path], glob: str | None = None) -> tuple[list[MediaFile], list[InputProblem]]:
    """Expand files and folders (recursively, sorted) into media files; each path once.

    `glob` filters files found in folders by name (for example `*.mp4` or `cam4_*`). Files
    found in folders that are not regular files (FIFOs, sockets) are passed over; named
    directly they are a problem.
    """
    found: dict[Path, MediaFile] = {}
    problems: list[InputProblem] = []
    for path in paths:
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            problems.append(InputProblem(path, "no such file or folder"))
            continue
        except OSError as exc:
            problems.append(InputProblem(path, f"cannot read ({exc.strerror or exc})"))
            continue
        if stat.S_ISDIR(mode):
            before = len(problems)
            matches = [p for p in _walk(path, problems) if media_kind(p) and (glob is None or fnmatch.fnmatch(p.name, glob))]
            if not matches and len(problems) == before:
                problems.append(InputProblem(path, "folder holds no video or image files"
                                             + (f" matching {glob!r}" if glob else "")))
            for match in matches:
                found.setdefault(match.resolve(), MediaFile(match, media_kind(match)))  # type: ignore[arg-type]
        elif not stat.S_ISREG(mode):
            problems.append(InputProblem(path, "not a regular file (a FIFO, device or socket)"))
        else:
            kind = media_kind(path)
            if kind is None:
                problems.append(InputProblem(path, f"unsupported file type {path.suffix or '(none)'!r}"))
            else:
                found.setdefault(path.resolve(), MediaFile(path, kind))
    return list(found.values()), problems
