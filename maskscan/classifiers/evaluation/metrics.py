"""Binary classification metrics with `no_mask` as the positive class."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch


@dataclass(frozen=True)
class BinaryMetrics:
    """Counts and scores; the positive class is `no_mask` (label 1), the one that matters."""

    true_mask: int  # mask predicted mask
    false_no_mask: int  # mask predicted no_mask
    false_mask: int  # no_mask predicted mask
    true_no_mask: int  # no_mask predicted no_mask
    loss: float | None = None

    @classmethod
    def from_predictions(cls, labels: torch.Tensor, predictions: torch.Tensor, loss: float | None = None) -> "BinaryMetrics":
        labels, predictions = labels.long().cpu(), predictions.long().cpu()
        return cls(
            true_mask=int(((labels == 0) & (predictions == 0)).sum()),
            false_no_mask=int(((labels == 0) & (predictions == 1)).sum()),
            false_mask=int(((labels == 1) & (predictions == 0)).sum()),
            true_no_mask=int(((labels == 1) & (predictions == 1)).sum()),
            loss=loss,
        )

    def __add__(self, other: "BinaryMetrics") -> "BinaryMetrics":
        """Pooled counts of two disjoint sets of crops (the loss is not poolable from means and is dropped)."""
        return BinaryMetrics(self.true_mask + other.true_mask, self.false_no_mask + other.false_no_mask,
                             self.false_mask + other.false_mask, self.true_no_mask + other.true_no_mask)

    @property
    def total(self) -> int:
        return self.true_mask + self.false_no_mask + self.false_mask + self.true_no_mask

    @property
    def accuracy(self) -> float:
        return (self.true_mask + self.true_no_mask) / self.total if self.total else 0.0

    @property
    def precision(self) -> float:
        predicted = self.true_no_mask + self.false_no_mask
        return self.true_no_mask / predicted if predicted else 0.0

    @property
    def recall(self) -> float:
        """`no_mask` recall: the share of unmasked faces caught."""
        actual = self.true_no_mask + self.false_mask
        return self.true_no_mask / actual if actual else 0.0

    @property
    def mask_recall(self) -> float:
        actual = self.true_mask + self.false_no_mask
        return self.true_mask / actual if actual else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def balanced_accuracy(self) -> float:
        return (self.recall + self.mask_recall) / 2

    def confusion_matrix(self) -> list[list[int]]:
        """Rows: true mask, no_mask; columns: predicted mask, no_mask."""
        return [[self.true_mask, self.false_no_mask], [self.false_mask, self.true_no_mask]]

    def as_dict(self) -> dict[str, object]:
        return {
            **{k: v for k, v in asdict(self).items()},
            "n": self.total,
            "accuracy": self.accuracy,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "balanced_accuracy": self.balanced_accuracy,
            "confusion_matrix": self.confusion_matrix(),
        }
