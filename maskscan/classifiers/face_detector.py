"""The ultralytics adapter: a batch of frames on the device in, face boxes out.

Frames are letterboxed on the device (one resize and pad per batch, no trip back to
NumPy), run through the YOLO network in one forward pass, and the boxes are mapped back to
source-frame pixels.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import torch
import torch.nn.functional as F

from maskscan.classifiers.yolo_offline import import_ultralytics, require_local_weights

LETTERBOX_FILL = 114 / 255
"""Ultralytics' grey padding."""


def weights_id(path: Path) -> str:
    """`<file stem>:<first 12 hex of its sha256>`: names the exact weights in the database."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return f"{Path(path).stem}:{digest[:12]}"


class YoloFaceDetector:
    def __init__(self, weights: Path, imgsz: int, confidence: float, iou: float = 0.5,
                 device: torch.device | str = "cpu", half: bool = False) -> None:
        ultralytics = import_ultralytics()
        path = require_local_weights(weights)
        self.name = weights_id(path)
        self.imgsz, self.confidence, self.iou = imgsz, confidence, iou
        self.device = torch.device(device)
        self.dtype = torch.float16 if half else torch.float32
        network = ultralytics.YOLO(str(path), task="detect").model
        network = network.fuse(verbose=False) if hasattr(network, "fuse") else network
        self.network = network.to(self.device, self.dtype).eval()
        for parameter in self.network.parameters():
            parameter.requires_grad_(False)
        self.stride = int(max(self.network.stride)) if hasattr(self.network, "stride") else 32

    def letterbox(self, frames: torch.Tensor) -> tuple[torch.Tensor, float]:
        """Resize (N, 3, H, W) 0..1 frames so the long side is `imgsz`, pad to the stride."""
        height, width = frames.shape[-2:]
        scale = self.imgsz / max(height, width)
        new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
        resized = F.interpolate(frames, size=(new_h, new_w), mode="bilinear", align_corners=False,
                                antialias=scale < 1 and frames.device.type == "cpu")
        pad_h = math.ceil(new_h / self.stride) * self.stride - new_h
        pad_w = math.ceil(new_w / self.stride) * self.stride - new_w
        return F.pad(resized, (0, pad_w, 0, pad_h), value=LETTERBOX_FILL), scale

    @torch.inference_mode()
    def detect(self, frames: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per frame: boxes (K, 4) x1, y1, x2, y2 in source pixels, and scores (K,)."""
        from ultralytics.utils.nms import non_max_suppression

        if len(frames) == 0:
            return []
        batch, scale = self.letterbox(frames.to(self.device, self.dtype))
        predictions = self.network(batch)
        kept = non_max_suppression(predictions, conf_thres=self.confidence, iou_thres=self.iou,
                                   max_det=300, max_time_img=2.0)
        height, width = frames.shape[-2:]
        results = []
        for rows in kept:
            boxes = (rows[:, :4].float() / scale)
            boxes[:, 0::2] = boxes[:, 0::2].clamp(0, width)
            boxes[:, 1::2] = boxes[:, 1::2].clamp(0, height)
            results.append((boxes, rows[:, 4].float()))
        return results
