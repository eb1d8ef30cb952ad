"""Files written whole or not at all: a temporary name beside the target, renamed when complete."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def temporary_path(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.{os.getpid()}.part")


def put_in_place(temporary: Path, path: Path) -> None:
    with temporary.open("rb") as written:
        os.fsync(written.fileno())
    os.replace(temporary, path)


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """A temporary path beside `path`, renamed to it only once the block completes and the
    data is on disk: a crash or a full disk never leaves a truncated file under the real name."""
    temporary = temporary_path(path)
    try:
        yield temporary
        put_in_place(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
