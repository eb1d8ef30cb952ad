"""A pipeline whose models load on first use.

Which models a run uses (their weights' names, part of each file's key in the database) is
known at once; loading them (torch, ultralytics, OpenVINO: seconds and a gigabyte) waits for
the first file that needs work, so a nightly run that finds every file done never loads them.
This module imports no model framework.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from maskscan.detections import FaceDetections
    from maskscan.pipeline.inference import FaceMaskPipeline


class ModelLoadError(Exception):
    """The models cannot be loaded (device, weights): no file can be processed in this run."""


class DeferredPipeline:
    def __init__(self, detector_name: str, classifier_name: str, face_confidence: float, mask_threshold: float,
                 load: Callable[[], FaceMaskPipeline]) -> None:
        self.detector_name, self.classifier_name = detector_name, classifier_name
        self.face_confidence, self.mask_threshold = face_confidence, mask_threshold
        self._load = load
        self._pipeline: FaceMaskPipeline | None = None

    @property
    def loaded(self) -> FaceMaskPipeline | None:
        return self._pipeline

    def __call__(self, images: list[np.ndarray]) -> list[FaceDetections]:
        if self._pipeline is None:
            try:
                self._pipeline = self._load()
            except (FileNotFoundError, ValueError) as exc:
                raise ModelLoadError(str(exc)) from exc
        return self._pipeline(images)
