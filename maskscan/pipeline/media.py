"""Which inputs are media, and which kind: videos are decoded, images are one-frame videos."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mkv", ".avi", ".mov", ".ts", ".mts", ".webm", ".gif", ".mpg", ".mpeg", ".wmv", ".flv"})
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


@dataclass(frozen=True)
class MediaFile:
    path: Path
    kind: Literal["video", "image"]


@dataclass(frozen=True)
class InputProblem:
    """A command-line path that yields nothing to process."""

    path: Path
    message: str


def media_kind(path: Path) -> Literal["video", "image"] | None:
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if suffix in IMAGE_SUFFIXES:
        return "image"
    return None


def discover(paths: list[Path], glob: str | None = None) -> tuple[list[MediaFile], list[InputProblem]]:
    """Expand files and folders (recursively, sorted) into media files; each path once.

    `glob` filters files found in folders by name (for example `*.mp4` or `cam4_*`).
    """
    found: dict[Path, MediaFile] = {}
    problems: list[InputProblem] = []
    for path in paths:
        if not path.exists():
            problems.append(InputProblem(path, "no such file or folder"))
        elif path.is_dir():
            matches = [p for p in sorted(path.rglob("*")) if p.is_file() and media_kind(p)
                       and (glob is None or fnmatch.fnmatch(p.name, glob))]
            if not matches:
                problems.append(InputProblem(path, "folder holds no video or image files"
                                             + (f" matching {glob!r}" if glob else "")))
            for match in matches:
                found.setdefault(match.resolve(), MediaFile(match, media_kind(match)))  # type: ignore[arg-type]
        else:
            kind = media_kind(path)
            if kind is None:
                problems.append(InputProblem(path, f"unsupported file type {path.suffix or '(none)'!r}"))
            else:
                found.setdefault(path.resolve(), MediaFile(path, kind))
    return list(found.values()), problems
