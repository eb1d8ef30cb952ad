"""What a report covers and how it groups (importable without pandas or SQLAlchemy)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Grouping = Literal["hour", "day", "week", "month", "camera", "video"]
GROUPINGS: tuple[Grouping, ...] = ("hour", "day", "week", "month", "camera", "video")


@dataclass(frozen=True)
class ReportFilter:
    since: datetime | None = None
    """Recorded time, inclusive (UTC if naive)."""
    until: datetime | None = None
    """Recorded time, exclusive."""
    cameras: Sequence[str] = field(default_factory=tuple)
    videos: Sequence[str] = field(default_factory=tuple)
    """Video ids or paths (a path matches whole components at its end, so a file name is enough)."""
