"""Evaluate a mask classifier on a crop folder or on the scene crops of a VOC folder."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from operator import add
from pathlib import Path
from typing import Any

import numpy as np
import torch

from maskscan.classifiers.datasets.crop_sets import load_evaluation_crops
from maskscan.classifiers.mask_classifier import MaskClassifier
from maskscan.classifiers.evaluation.metrics import BinaryMetrics
from maskscan.classifiers.evaluation.operating_point import THRESHOLD_GRID, cross_validate_threshold
from maskscan.classifiers.datasets.voc import UNLABELLED_MIN_WIDTH, Split


@dataclass(frozen=True)
class ScoredCrops:
    """A classifier's P(mask) for labelled crops, with the file each crop came from."""

    mask_probs: np.ndarray
    labels: np.ndarray
    sources: tuple[str, ...]

    def metrics(self, threshold: float, indices: Sequence[int] | None = None) -> BinaryMetrics:
        """Metrics with `no_mask` (P(mask) < threshold) as the positive class; loss is the mean cross-entropy."""
        selected = slice(None) if indices is None else np.asarray(indices, np.int64)
        mask_probs, labels = self.mask_probs[selected], self.labels[selected]
        no_mask_probs = np.clip(1.0 - mask_probs, 1e-7, 1 - 1e-7)
        loss = float(-np.mean(np.where(labels == 1, np.log(no_mask_probs), np.log(1 - no_mask_probs))))
        predictions = (mask_probs < threshold).astype(np.int64)
        return BinaryMetrics.from_predictions(torch.from_numpy(labels), torch.from_numpy(predictions), loss)


def score_crops(classifier: MaskClassifier, data: Path, split: Split = "val", batch_size: int = 64,
                unlabelled_as_no_mask: bool = False,
                unlabelled_min_width: float = UNLABELLED_MIN_WIDTH) -> ScoredCrops:
    """P(mask) for every crop of `data` (see `load_evaluation_crops` for the options)."""
    crops = load_evaluation_crops(data, classifier.policy, split, unlabelled_as_no_mask, unlabelled_min_width)
    mask_probs = np.concatenate([
        classifier.predict(crops.images[start:start + batch_size].float() / 255)
        for start in range(0, len(crops), batch_size)
    ])
    return ScoredCrops(mask_probs, crops.labels.numpy(), crops.sources)


def evaluate_classifier(classifier: MaskClassifier, data: Path, split: Split = "val", batch_size: int = 64,
                        threshold: float = 0.5) -> BinaryMetrics:
    return score_crops(classifier, data, split, batch_size).metrics(threshold)


def best_balanced_threshold(scored: ScoredCrops, indices: Sequence[int]) -> float:
    """The classifier's selection rule: the grid threshold with the best balanced accuracy on the
    crops; ties go to the one nearest 0.5, the untuned default."""
    return max(THRESHOLD_GRID, key=lambda t: (scored.metrics(t, indices).balanced_accuracy, -abs(t - 0.5)))


def cross_validate_classifier_threshold(scored: ScoredCrops, folds: int) -> dict[str, Any]:
    """Held-out metrics of `best_balanced_threshold` by k-fold cross-validation over the source photos
    (every face of a photo in the same fold), and the threshold the rule picks on all crops."""
    held_out, chosen = cross_validate_threshold(
        range(len(scored.labels)), lambda index: scored.sources[index], folds,
        lambda selection: best_balanced_threshold(scored, selection))
    pooled = reduce(add, (scored.metrics(fold.threshold, fold.items) for fold in held_out))
    return {"folds": folds, "thresholds": [fold.threshold for fold in held_out], "chosen_threshold": chosen,
            "held_out": {key: value for key, value in pooled.as_dict().items() if key != "loss"}}
