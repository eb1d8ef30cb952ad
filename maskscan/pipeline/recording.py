"""Which camera a file comes from and when its recording started.

Reports group by recorded time, not processing time, so each file gets a `recorded_at`: a
time in its file name when the user gave a `--time-pattern` (an explicit choice beats
metadata that recorders often get wrong), else the container's `creation_time`, else the
file's modification time. The source used is stored beside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Literal

TimeSource = Literal["metadata", "filename", "mtime"]

_DIRECTIVES = {"%Y": r"\d{4}", "%m": r"\d{2}", "%d": r"\d{2}", "%H": r"\d{2}", "%M": r"\d{2}", "%S": r"\d{2}",
               "%y": r"\d{2}", "%j": r"\d{3}", "%f": r"\d{1,6}", "%%": "%"}


@dataclass(frozen=True)
class Recording:
    camera: str
    recorded_at: datetime
    source: TimeSource


def time_pattern_regex(pattern: str) -> re.Pattern[str]:
    """A regex that finds text in `strptime` format `pattern` anywhere in a file name."""
    parts = re.split(r"(%.)", pattern)
    regex = ""
    for part in parts:
        if part.startswith("%") and len(part) == 2:
            if part not in _DIRECTIVES:
                raise ValueError(f"time pattern {pattern!r}: {part} is not supported "
                                 f"(use {' '.join(k for k in _DIRECTIVES if k != '%%')})")
            regex += _DIRECTIVES[part]
        else:
            regex += re.escape(part)
    return re.compile(regex)


def time_from_name(name: str, pattern: str, zone: tzinfo) -> datetime | None:
    match = time_pattern_regex(pattern).search(name)
    if match is None:
        return None
    try:
        return datetime.strptime(match.group(0), pattern).replace(tzinfo=zone)
    except ValueError:
        return None


def time_from_metadata(creation_time: str | None) -> datetime | None:
    """Container `creation_time` (ISO 8601, usually UTC with a Z); epoch-zero placeholders are ignored."""
    if not creation_time:
        return None
    try:
        moment = datetime.fromisoformat(creation_time.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return None if moment.year < 1980 else moment


def camera_of(path: Path, pattern: str | None) -> str:
    """The parent folder's name, or the `camera` group (else the whole match) of `pattern` in the path."""
    if pattern is None:
        return path.resolve().parent.name
    match = re.search(pattern, str(path))
    if match is None:
        return path.resolve().parent.name
    return match.groupdict().get("camera") or match.group(0)


def recording_of(path: Path, creation_time: str | None, camera_pattern: str | None, time_pattern: str | None,
                 zone: tzinfo) -> Recording:
    camera = camera_of(path, camera_pattern)
    if time_pattern is not None:
        moment = time_from_name(path.name, time_pattern, zone)
        if moment is not None:
            return Recording(camera, moment, "filename")
    moment = time_from_metadata(creation_time)
    if moment is not None:
        return Recording(camera, moment, "metadata")
    return Recording(camera, datetime.fromtimestamp(path.stat().st_mtime, timezone.utc), "mtime")
