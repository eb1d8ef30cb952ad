"""Evaluate a mask classifier on a crop folder or on the scene crops of a VOC folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from maskscan.classifiers.classifier_data import load_evaluation_crops
from maskscan.classifiers.mask_classifier import MaskClassifier
from maskscan.classifiers.metrics import BinaryMetrics
from maskscan.classifiers.scenes import Split


def evaluate_classifier(classifier: MaskClassifier, data: Path, split: Split = "val", batch_size: int = 64,
                        threshold: float = 0.5) -> BinaryMetrics:
    """Metrics with `no_mask` as the positive class; loss is the mean cross-entropy."""
    crops = load_evaluation_crops(data, classifier.policy, split)
    mask_probs = np.concatenate([
        classifier.predict(crops.images[start:start + batch_size].float() / 255)
        for start in range(0, len(crops), batch_size)
    ])
    labels = crops.labels.numpy()
    no_mask_probs = np.clip(1.0 - mask_probs, 1e-7, 1 - 1e-7)
    loss = float(-np.mean(np.where(labels == 1, np.log(no_mask_probs), np.log(1 - no_mask_probs))))
    predictions = (mask_probs < threshold).astype(np.int64)
    return BinaryMetrics.from_predictions(torch.from_numpy(labels), torch.from_numpy(predictions), loss)
