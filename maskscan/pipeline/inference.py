"""Frames to faces with mask probabilities: detector and classifier on one device, per batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch

from maskscan.detections import FaceDetections

Frames = Sequence[torch.Tensor]
"""A batch of (3, H, W) uint8 RGB frames of one size, on one device; an (N, 3, H, W) tensor is one too."""


class FaceDetector(Protocol):
    name: str

    def detect(self, frames: Frames) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Frames in; per frame, pixel boxes (K, 4) and scores (K,)."""


class FaceClassifier(Protocol):
    name: str

    def classify_faces(self, frames: Frames, boxes: list[torch.Tensor]) -> list[np.ndarray]:
        """Frames and their boxes in; P(mask) per face, per frame."""


class FaceMaskPipeline:
    """One batch of RGB frames in, one :class:`FaceDetections` per frame out.

    Each frame crosses to the device once; the detector and the classifier both read it
    there, and all face crops of the batch go through the classifier in one forward pass.
    """

    def __init__(self, detector: FaceDetector, classifier: FaceClassifier, device: torch.device | str,
                 mask_threshold: float, counting_confidence: float | None = None) -> None:
        """`counting_confidence`: when the detector runs at a lower, privacy confidence, the
        faces at or above this one are counted and classified; all of them are hidden."""
        self.detector, self.classifier = detector, classifier
        self.device = torch.device(device)
        self.mask_threshold = mask_threshold
        self.counting_confidence = counting_confidence

    @property
    def detector_name(self) -> str:
        return self.detector.name

    @property
    def classifier_name(self) -> str:
        return self.classifier.name

    @property
    def face_confidence(self) -> float | None:
        """The confidence faces are counted at: the detector's own, unless it runs lower for privacy."""
        return self.counting_confidence if self.counting_confidence is not None else \
            getattr(self.detector, "confidence", None)

    @property
    def privacy_confidence(self) -> float | None:
        """The confidence faces are hidden at, when it is below the counting one."""
        return getattr(self.detector, "confidence", None) if self.counting_confidence is not None else None

    def frames_to_device(self, images: list[np.ndarray]) -> list[torch.Tensor]:
        """(H, W, 3) uint8 frames to (3, H, W) uint8 views on the device.

        No batch is assembled from full frames: on the CPU the models read the decoded arrays
        in place (copying 16 full-HD frames into one batch cost a tenth of the pipeline's own
        time), and each model converts only what it reads, the detector its downscaled input,
        the classifier its faces.
        """
        return [torch.from_numpy(image).to(self.device, non_blocking=True).permute(2, 0, 1) for image in images]

    @torch.inference_mode()
    def __call__(self, images: list[np.ndarray]) -> list[FaceDetections]:
        if not images:
            return []
        frames = self.frames_to_device(images)
        found = self.detector.detect(frames)
        hidden = None
        if self.counting_confidence is not None:
            hidden = [b.cpu().numpy() for b, _ in found]
            found = [(b[s >= self.counting_confidence], s[s >= self.counting_confidence]) for b, s in found]
        boxes = [b for b, _ in found]
        probabilities = self.classifier.classify_faces(frames, boxes)
        return [
            FaceDetections(b.cpu().numpy(), s.cpu().numpy(), p, self.mask_threshold,
                           privacy_boxes=None if hidden is None else hidden[i])
            for i, ((b, s), p) in enumerate(zip(found, probabilities))
        ]
