"""Face detector metrics on VOC scenes: AP50, precision/recall at a threshold, recall by size and mask."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import reduce
from operator import getitem
from typing import Any

import numpy as np
from PIL import Image

from maskscan.classifiers.evaluation.operating_point import THRESHOLD_GRID, cross_validate_threshold
from maskscan.classifiers.datasets.skipped_faces import UNLABELLED_IOU, box_ious, face_boxes, with_unlabelled_faces
from maskscan.classifiers.datasets.voc import MaskState, ScenePhoto

WIDTH_BUCKETS = ((0, 16, "<16"), (16, 32, "16-32"), (32, 64, "32-64"), (64, float("inf"), ">=64"))
RECALL_GROUPS: tuple[MaskState, ...] = ("masked", "unmasked")
"""Recall by mask state; faces of unknown state (WIDER FACE) count in neither."""

Prediction = tuple[ScenePhoto, np.ndarray, np.ndarray]
"""A photo, the boxes (K, 4) and scores (K,) a detector found on it."""

DetectFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
"""RGB (H, W, 3) uint8 image -> boxes (K, 4) x1 y1 x2 y2 pixels, scores (K,)."""


@dataclass
class _Match:
    scores: list[float] = field(default_factory=list)
    true_positive: list[bool] = field(default_factory=list)
    n_faces: int = 0
    # per ground-truth face: width, mask state, best score of a prediction matched to it (or -1)
    faces: list[tuple[float, MaskState, float]] = field(default_factory=list)


def match_photo(pred_boxes: np.ndarray, pred_scores: np.ndarray, photo: ScenePhoto, min_width: float,
                iou_threshold: float = 0.5) -> _Match:
    """Greedy matching by score (VOC style). Faces narrower than `min_width` are ignored, and so are
    the photo's unlabelled faces: a prediction on one counts neither as a hit nor as a false alarm."""
    order = np.argsort(-pred_scores)
    pred_boxes, pred_scores = pred_boxes[order], pred_scores[order]
    gt = face_boxes(photo)
    ignored = np.array([f.width < min_width for f in photo.faces], bool)
    ious = box_ious(pred_boxes, gt)
    on_unlabelled = box_ious(pred_boxes, np.array(photo.unlabelled, np.float32).reshape(-1, 4)).max(1, initial=0) \
        >= UNLABELLED_IOU
    taken = np.zeros(len(gt), bool)
    matched_score = np.full(len(gt), -1.0)
    result = _Match(n_faces=int((~ignored).sum()))
    for i, score in enumerate(pred_scores):
        candidates = np.where(~taken, ious[i], -1.0) if len(gt) else np.array([])
        j = int(candidates.argmax()) if len(candidates) else -1
        if j >= 0 and candidates[j] >= iou_threshold:
            taken[j] = True
            matched_score[j] = score
            if ignored[j]:
                continue
            result.scores.append(float(score))
            result.true_positive.append(True)
        elif len(gt) and ignored.any() and ious[i][ignored].max(initial=0) >= iou_threshold:
            continue  # a second box on an ignored face
        elif on_unlabelled[i]:
            continue
        else:
            result.scores.append(float(score))
            result.true_positive.append(False)
    result.faces = [(f.width, f.mask_state, float(s)) for f, s, ig in zip(photo.faces, matched_score, ignored) if not ig]
    return result


def mark_unlabelled_faces(predictions: Sequence[Prediction], teacher: Sequence[Prediction],
                          threshold: float) -> list[Prediction]:
    """`predictions` on the same photos as `teacher`'s, each photo with the teacher's unlabelled faces."""
    marked = []
    for (photo, boxes, scores), (teacher_photo, teacher_boxes, teacher_scores) in zip(predictions, teacher,
                                                                                     strict=True):
        if teacher_photo.image_path != photo.image_path:
            raise ValueError(f"{photo.image_path}: the teacher's predictions are for another photo")
        marked.append((with_unlabelled_faces(photo, teacher_boxes, teacher_scores, threshold), boxes, scores))
    return marked


def average_precision(scores: list[float], true_positive: list[bool], n_faces: int) -> float:
    """All-point interpolated AP (the area under the precision envelope)."""
    if n_faces == 0:
        return 0.0
    order = np.argsort(-np.asarray(scores))
    hits = np.asarray(true_positive, bool)[order]
    tp, fp = np.cumsum(hits), np.cumsum(~hits)
    recall = np.concatenate([[0.0], tp / n_faces, [1.0]])
    precision = np.concatenate([[1.0], tp / np.maximum(tp + fp, 1), [0.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.where(recall[1:] != recall[:-1])[0]
    return float(np.sum((recall[steps + 1] - recall[steps]) * precision[steps + 1]))


def evaluate_detections(predictions: Iterable[Prediction], threshold: float,
                        min_width: float = 10.0) -> dict[str, Any]:
    """Metrics from (photo, boxes, scores) triples; boxes should include low scores for AP."""
    scores: list[float] = []
    hits: list[bool] = []
    faces: list[tuple[float, MaskState, float]] = []
    n_faces = photos = unlabelled = 0
    for photo, boxes, box_scores in predictions:
        match = match_photo(boxes, box_scores, photo, min_width)
        scores += match.scores
        hits += match.true_positive
        faces += match.faces
        n_faces += match.n_faces
        photos += 1
        unlabelled += len(photo.unlabelled)
    above = np.asarray(scores) >= threshold
    tp = int(np.sum(np.asarray(hits, bool) & above))
    predicted = int(above.sum())

    def recall_of(selected: list[tuple[float, MaskState, float]]) -> dict[str, float | int]:
        return _recall(sum(score >= threshold for _, _, score in selected), len(selected))

    return {
        "photos": photos,
        "faces": n_faces,
        "unlabelled_faces": unlabelled,
        "min_face_width": min_width,
        "threshold": threshold,
        "ap50": average_precision(scores, hits, n_faces),
        "true_positives": tp,
        "detections": predicted,
        "precision": tp / predicted if predicted else 0.0,
        "recall": tp / n_faces if n_faces else 0.0,
        "recall_by_width": {name: recall_of([f for f in faces if lo <= f[0] < hi]) for lo, hi, name in WIDTH_BUCKETS},
        **{group: recall_of([f for f in faces if f[1] == group]) for group in RECALL_GROUPS},
    }


def _recall(found: int, faces: int) -> dict[str, float | int]:
    return {"faces": faces, "found": found, "recall": found / faces if faces else float("nan")}


def pool_held_out(fold_metrics: list[dict[str, Any]]) -> dict[str, Any]:
    """Precision and recalls over several folds, each evaluated at its own threshold, from their counts.

    AP50 does not depend on the threshold and is left out: measure it on the whole split."""
    def total(*path: str) -> int:
        return sum(reduce(getitem, path, metrics) for metrics in fold_metrics)

    def pooled_recall(*path: str) -> dict[str, float | int]:
        return _recall(total(*path, "found"), total(*path, "faces"))

    tp, detections, faces = total("true_positives"), total("detections"), total("faces")
    return {
        "photos": total("photos"),
        "faces": faces,
        "true_positives": tp,
        "detections": detections,
        "precision": tp / detections if detections else 0.0,
        "recall": tp / faces if faces else 0.0,
        "recall_by_width": {name: pooled_recall("recall_by_width", name) for _, _, name in WIDTH_BUCKETS},
        **{group: pooled_recall(group) for group in RECALL_GROUPS},
    }


def lowest_threshold_with_precision(predictions: Sequence[Prediction],
                                    min_precision: float, min_width: float = 10.0) -> float:
    """The detector's selection rule: the lowest grid threshold whose precision reaches
    `min_precision` (the most recall that precision allows); the grid's top when none does."""
    for threshold in THRESHOLD_GRID:
        if evaluate_detections(predictions, threshold, min_width)["precision"] >= min_precision:
            return threshold
    return THRESHOLD_GRID[-1]


def cross_validate_detector_threshold(predictions: Sequence[Prediction], folds: int,
                                      min_precision: float, min_width: float = 10.0) -> dict[str, Any]:
    """Held-out metrics of `lowest_threshold_with_precision` by k-fold cross-validation over photos,
    and the threshold the rule picks on all of them (see `operating_point`)."""
    held_out, chosen = cross_validate_threshold(
        predictions, lambda prediction: prediction[0].image_path.name, folds,
        lambda selection: lowest_threshold_with_precision(selection, min_precision, min_width))
    fold_metrics = [evaluate_detections(fold.items, fold.threshold, min_width) for fold in held_out]
    return {"folds": folds, "min_precision": min_precision, "thresholds": [fold.threshold for fold in held_out],
            "chosen_threshold": chosen, "held_out": pool_held_out(fold_metrics)}


def predict_photos(photos: list[ScenePhoto], detect: DetectFn) -> Iterable[Prediction]:
    for photo in photos:
        with Image.open(photo.image_path) as image:
            rgb = np.array(image.convert("RGB"))
        boxes, scores = detect(rgb)
        yield photo, boxes, scores
