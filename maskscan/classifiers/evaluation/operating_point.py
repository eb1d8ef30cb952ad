"""Choosing a model's threshold on labelled photos without grading it on the photos it was chosen on.

The scene validation split is the only labelled data never trained on, so a threshold tuned on
it and measured on it flatters every number. Instead the photos are dealt into folds by a hash
of their file name; each fold's threshold is chosen on the other folds and applied to its own,
and the held-out results, pooled, estimate what the selection rule gives on new photos. The
threshold to ship is the same rule applied to every photo.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

Item = TypeVar("Item")

THRESHOLD_GRID = tuple(round(0.05 * step, 2) for step in range(1, 20))
"""Candidate thresholds, 0.05 to 0.95: coarse on purpose, a finer grid only fits noise."""
DEFAULT_FOLDS = 5


def fold_of(file_name: str, folds: int) -> int:
    """The fold of a photo, from a salted SHA-1 of its file name (independent of the train/val split)."""
    digest = hashlib.sha1(b"fold:" + Path(file_name).name.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % folds


@dataclass(frozen=True)
class HeldOutFold(Generic[Item]):
    """One fold: the threshold chosen on the other folds and this fold's own items."""

    index: int
    threshold: float
    items: list[Item]


def cross_validate_threshold(items: Sequence[Item], photo_name: Callable[[Item], str], folds: int,
                             choose: Callable[[Sequence[Item]], float]) -> tuple[list[HeldOutFold[Item]], float]:
    """Each fold with the threshold `choose` picks on the other folds, and the threshold it picks on all."""
    if folds < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, not {folds}")
    assignment = [fold_of(photo_name(item), folds) for item in items]
    held_out = []
    for index in range(folds):
        own = [item for item, fold in zip(items, assignment) if fold == index]
        others = [item for item, fold in zip(items, assignment) if fold != index]
        if not own or not others:
            raise ValueError(f"fold {index} of {folds} is empty: too few photos for {folds} folds")
        held_out.append(HeldOutFold(index, choose(others), own))
    return held_out, choose(items)
