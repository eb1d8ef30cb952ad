"""The unoptimised path: what users write by hand around the same two models.

Per frame, ultralytics' own `YOLO.predict` (its letterbox runs in NumPy/OpenCV), then every
face cut with the classifier's crop policy and classified alone (batch 1), by the model as
loaded, without maskscan's batch-norm folding and channels-last layout. maskscan's
pipeline must give the same counts (checked by a test) and beat it (benchmarks/throughput.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from maskscan.classifiers.mask_classifier import MaskClassifier
from maskscan.classifiers.shipped import DETECTOR_IMGSZ, DETECTOR_IOU
from maskscan.classifiers.yolo_offline import import_ultralytics, require_local_weights
from maskscan.detections import FaceDetections


class ReferenceLoop:
    def __init__(self, detector_weights: Path, classifier: str | Path, face_confidence: float,
                 mask_threshold: float, device: torch.device | str = "cpu", detector_imgsz: int = DETECTOR_IMGSZ) -> None:
        self.yolo = import_ultralytics().YOLO(str(require_local_weights(detector_weights)), task="detect")
        self.classifier = MaskClassifier.load(classifier, device, optimize=False)
        self.device = torch.device(device)
        self.face_confidence, self.mask_threshold, self.imgsz = face_confidence, mask_threshold, detector_imgsz

    @torch.inference_mode()
    def __call__(self, image: np.ndarray) -> FaceDetections:
        """One (H, W, 3) uint8 RGB frame."""
        result = self.yolo.predict(np.ascontiguousarray(image[:, :, ::-1]), imgsz=self.imgsz, conf=self.face_confidence,
                                   iou=DETECTOR_IOU, device=str(self.device), verbose=False)[0]
        boxes, scores = result.boxes.xyxy.float(), result.boxes.conf.float()
        frame = torch.from_numpy(image).permute(2, 0, 1)[None]
        probabilities = [self.classifier.classify_faces(frame, [box[None]])[0] for box in boxes]
        return FaceDetections(boxes.cpu().numpy(), scores.cpu().numpy(),
                              np.concatenate(probabilities) if probabilities else None, self.mask_threshold)
