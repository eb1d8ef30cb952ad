"""Faces the annotators skipped, found by a teacher detector.

Annotators skip faces (partly hidden ones in crowds, blurred ones at the edge). Evaluation ignores
them (a detector that finds one is neither charged nor credited); training labels them as faces,
so that the detector is not taught that a bare background face is background.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from torchvision.ops import box_iou

from maskscan.classifiers.datasets.voc import FaceBox, ScenePhoto

UNLABELLED_IOU = 0.3
"""A teacher's box overlapping no labelled face this much is an unlabelled face, and a prediction
overlapping that region this much is ignored (looser than the 0.5 of a hit: teacher and annotators
draw faces differently)."""

SKIPPED_FACE_LABEL = "face"
"""Skipped faces are trained on with the label of faces whose mask state is unknown."""


def box_ious(boxes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of each of `boxes` (K, 4) with each of `others` (M, 4): (K, M), empty-safe."""
    if not len(boxes) or not len(others):
        return np.zeros((len(boxes), len(others)))
    return box_iou(torch.from_numpy(boxes.astype(np.float32)), torch.from_numpy(others.astype(np.float32))).numpy()


def face_boxes(photo: ScenePhoto) -> np.ndarray:
    """The photo's labelled faces as (K, 4) x1 y1 x2 y2."""
    return np.array([[f.x1, f.y1, f.x2, f.y2] for f in photo.faces], np.float32).reshape(-1, 4)


def with_unlabelled_faces(photo: ScenePhoto, teacher_boxes: np.ndarray, teacher_scores: np.ndarray,
                          threshold: float) -> ScenePhoto:
    """The photo with the teacher's boxes at `threshold` or above that overlap no labelled face as
    its unlabelled faces."""
    confident = teacher_boxes[teacher_scores >= threshold].reshape(-1, 4)
    unlabelled = confident[box_ious(confident, face_boxes(photo)).max(1, initial=0) < UNLABELLED_IOU]
    return replace(photo, unlabelled=tuple(tuple(float(v) for v in box) for box in unlabelled))


def unlabelled_as_faces(photo: ScenePhoto) -> ScenePhoto:
    """The photo with its unlabelled faces turned into labelled faces of unknown mask state, each
    clipped to the image."""
    def clipped(region: tuple[float, float, float, float]) -> FaceBox:
        x1, y1, x2, y2 = region
        return FaceBox(max(0.0, x1), max(0.0, y1), min(float(photo.width), x2), min(float(photo.height), y2),
                       SKIPPED_FACE_LABEL)

    skipped = tuple(clipped(region) for region in photo.unlabelled)
    return replace(photo, faces=photo.faces + tuple(f for f in skipped if f.x2 > f.x1 and f.y2 > f.y1),
                   unlabelled=())
