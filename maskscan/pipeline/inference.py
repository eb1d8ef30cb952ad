"""Frames to faces with mask probabilities: detector and classifier on one device, per batch."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from maskscan.detections import FaceDetections


class FaceDetector(Protocol):
    name: str

    def detect(self, frames: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(N, 3, H, W) uint8 frames in; per frame, pixel boxes (K, 4) and scores (K,)."""


class FaceClassifier(Protocol):
    name: str

    def classify_faces(self, frames: torch.Tensor, boxes: list[torch.Tensor]) -> list[np.ndarray]:
        """(N, 3, H, W) uint8 frames and their boxes in; P(mask) per face, per frame."""


class FaceMaskPipeline:
    """One batch of RGB frames in, one :class:`FaceDetections` per frame out.

    The batch crosses to the device once; the detector and the classifier both read it
    there, and all face crops of the batch go through the classifier in one forward pass.
    """

    def __init__(self, detector: FaceDetector, classifier: FaceClassifier, device: torch.device | str,
                 mask_threshold: float) -> None:
        self.detector, self.classifier = detector, classifier
        self.device = torch.device(device)
        self.mask_threshold = mask_threshold

    def frames_to_device(self, images: list[np.ndarray]) -> torch.Tensor:
        """(H, W, 3) uint8 frames to one (N, 3, H, W) uint8 tensor on the device.

        The frames stay uint8 (a channels-last view, no copy on the CPU): each model converts
        only what it reads, the detector its downscaled input and the classifier its faces.
        """
        batch = torch.from_numpy(np.stack(images)).to(self.device, non_blocking=True)
        return batch.permute(0, 3, 1, 2)

    @torch.inference_mode()
    def __call__(self, images: list[np.ndarray]) -> list[FaceDetections]:
        if not images:
            return []
        frames = self.frames_to_device(images)
        found = self.detector.detect(frames)
        boxes = [b for b, _ in found]
        probabilities = self.classifier.classify_faces(frames, boxes)
        return [
            FaceDetections(b.cpu().numpy(), s.cpu().numpy(), p, self.mask_threshold)
            for (b, s), p in zip(found, probabilities)
        ]
