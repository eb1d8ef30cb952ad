"""The one value type that flows from the detector, through the classifier, to storage."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

MASK = "mask"
NO_MASK = "no_mask"


@dataclass
class FaceDetections:
    """The faces of one frame.

    boxes: (K, 4) float32 x1, y1, x2, y2 in pixels of the source frame (after rotation).
    face_scores: (K,) detector confidence. mask_probs: (K,) probability that a mask is worn,
    NaN until the classifier has run. `mask_threshold` decides the label. track_ids: (K,) the
    person each face belongs to within its file (see `maskscan.pipeline.tracking`), -1 untracked.
    privacy_boxes: (P, 4) every region to hide when anonymising (the faces found at the lower
    privacy confidence, held over recent frames); None: the counted faces only.
    """

    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    face_scores: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.float32))
    mask_probs: np.ndarray | None = None
    mask_threshold: float = 0.5
    track_ids: np.ndarray | None = None
    privacy_boxes: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.boxes = np.asarray(self.boxes, np.float32).reshape(-1, 4)
        self.face_scores = np.asarray(self.face_scores, np.float32).reshape(-1)
        if self.mask_probs is None:
            self.mask_probs = np.full(len(self.boxes), np.nan, np.float32)
        self.mask_probs = np.asarray(self.mask_probs, np.float32).reshape(-1)
        if self.track_ids is None:
            self.track_ids = np.full(len(self.boxes), -1, np.int64)
        self.track_ids = np.asarray(self.track_ids, np.int64).reshape(-1)
        if not len(self.boxes) == len(self.face_scores) == len(self.mask_probs) == len(self.track_ids):
            raise ValueError("boxes, face_scores, mask_probs and track_ids must have one row per face")
        if self.privacy_boxes is not None:
            self.privacy_boxes = np.asarray(self.privacy_boxes, np.float32).reshape(-1, 4)

    def __len__(self) -> int:
        return len(self.boxes)

    @property
    def masked(self) -> np.ndarray:
        """Boolean per face: mask worn (NaN probabilities count as not masked)."""
        return np.nan_to_num(self.mask_probs, nan=0.0) >= self.mask_threshold

    @property
    def labels(self) -> list[str]:
        return [MASK if m else NO_MASK for m in self.masked]

    @property
    def masked_count(self) -> int:
        return int(self.masked.sum())

    @property
    def unmasked_count(self) -> int:
        return len(self) - self.masked_count

    @property
    def regions_to_hide(self) -> np.ndarray:
        return self.boxes if self.privacy_boxes is None else self.privacy_boxes

    def with_mask_probs(self, mask_probs: np.ndarray) -> "FaceDetections":
        return replace(self, mask_probs=mask_probs)

    def with_track_ids(self, track_ids: np.ndarray) -> "FaceDetections":
        return replace(self, track_ids=track_ids)

    def with_privacy_boxes(self, privacy_boxes: np.ndarray) -> "FaceDetections":
        return replace(self, privacy_boxes=privacy_boxes)
