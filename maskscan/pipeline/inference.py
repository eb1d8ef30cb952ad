"""Frames to faces with mask probabilities: detector and classifier on one device, per batch."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from maskscan.detections import FaceDetections


class FaceDetector(Protocol):
    name: str

    def detect(self, frames: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]: ...


class FaceClassifier(Protocol):
    name: str

    def classify_faces(self, frames: torch.Tensor, boxes: list[torch.Tensor]) -> list[np.ndarray]: ...


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
        """(N, H, W, 3) uint8 frames to a float (N, 3, H, W) 0..1 tensor on the device."""
        batch = torch.from_numpy(np.stack(images)).to(self.device, non_blocking=True)
        return batch.permute(0, 3, 1, 2).float().div_(255)

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
