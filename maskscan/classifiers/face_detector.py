"""The ultralytics adapter: a batch of frames on the device in, face boxes out.

Frames are letterboxed on the device (each resized, the small results padded as one batch,
no trip back to NumPy), run through the YOLO network in one forward pass, and the boxes are mapped back to
source-frame pixels. On the CPU the network can run through OpenVINO (`backend="openvino"`), in
int8 when given the detector's int8 ranges, with the same letterbox and the same non-maximum
suppression around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from maskscan.classifiers.int8_ranges import Int8Ranges, Int8RangesError
from maskscan.classifiers.shipped import weights_id
from maskscan.classifiers.yolo_offline import import_ultralytics, require_local_weights

BACKENDS = ("torch", "openvino")

LETTERBOX_FILL = 114 / 255
"""Ultralytics' grey padding."""


class YoloFaceDetector:
    def __init__(self, weights: Path, imgsz: int, confidence: float, iou: float = 0.5,
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32, backend: str = "torch",
                 int8: Int8Ranges | None = None) -> None:
        """`int8`: the detector's int8 ranges (OpenVINO backend only); they must belong to these weights."""
        if backend not in BACKENDS:
            raise ValueError(f"unknown detector backend {backend!r} (choose from {', '.join(BACKENDS)})")
        if backend == "openvino" and (torch.device(device).type != "cpu" or dtype != torch.float32):
            raise ValueError("the OpenVINO detector backend runs on the CPU in float32 only")
        if int8 is not None and backend != "openvino":
            raise ValueError("the int8 detector runs through OpenVINO only")
        ultralytics = import_ultralytics()
        path = require_local_weights(weights)
        self.weights, self.name = path, weights_id(path)
        if int8 is not None and int8.weights != self.name:
            raise Int8RangesError(f"the int8 ranges were calibrated for {int8.weights}, not {self.name}")
        self.precision = "int8" if int8 is not None else str(dtype).removeprefix("torch.")
        self.imgsz, self.confidence, self.iou = imgsz, confidence, iou
        self.device = torch.device(device)
        self.dtype = dtype
        network = ultralytics.YOLO(str(path), task="detect").model
        network = network.fuse(verbose=False) if hasattr(network, "fuse") else network
        # channels-last: about 1.2x for YOLO11n on a CPU, and the layout tensor cores want
        self.network = network.to(self.device, self.dtype, memory_format=torch.channels_last).eval()
        for parameter in self.network.parameters():
            parameter.requires_grad_(False)
        self.stride = int(max(self.network.stride)) if hasattr(self.network, "stride") else 32
        self.backend = backend
        self.openvino = None
        if backend == "openvino":
            from maskscan.classifiers.openvino_detector import convert
            from maskscan.classifiers.openvino_runtime import OpenVinoNetwork

            self.openvino = OpenVinoNetwork(self.name, lambda: convert(self.network, imgsz), torch.get_num_threads(),
                                            int8)

    def letterbox(self, frames: Sequence[torch.Tensor]) -> tuple[torch.Tensor, float, tuple[int, int]]:
        """Ultralytics' predict-time letterbox, on the device, for (3, H, W) uint8 frames of one size.

        The long side is resized to `imgsz` (bilinear, no antialiasing, as ultralytics' OpenCV
        resize) and the short side padded with grey to the stride, the padding split between
        both edges; the network sees what `YOLO.predict` would feed it. Returns the input
        (0..1, network dtype), the scale and the (left, top) padding. On the CPU the resize
        runs on the uint8 frames and only its small result is converted to float: converting
        full-size frames first costs many times more. On a GPU conversion is cheap. Frames are
        resized one by one and only the small results batched.
        """
        height, width = frames[0].shape[-2:]
        if any(frame.shape[-2:] != (height, width) for frame in frames):
            raise ValueError("the frames of one batch must share a size")
        scale = self.imgsz / max(height, width)
        new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
        on_cpu = frames[0].device.type == "cpu"
        resized = torch.cat([
            F.interpolate((frame if on_cpu else frame.to(self.dtype).div(255))[None], size=(new_h, new_w),
                          mode="bilinear", align_corners=False, antialias=False)
            for frame in frames])
        if on_cpu:
            resized = resized.to(self.dtype).div_(255)
        pad_w, pad_h = (-new_w) % self.stride / 2, (-new_h) % self.stride / 2
        left, right = round(pad_w - 0.1), round(pad_w + 0.1)
        top, bottom = round(pad_h - 0.1), round(pad_h + 0.1)
        return F.pad(resized, (left, right, top, bottom), value=LETTERBOX_FILL), scale, (left, top)

    @torch.inference_mode()
    def detect(self, frames: Sequence[torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per (3, H, W) uint8 frame of one size: boxes (K, 4) x1, y1, x2, y2 in source pixels, and scores (K,)."""
        if len(frames) == 0:
            return []
        batch, scale, offset = self.letterbox([frame.to(self.device) for frame in frames])
        if self.openvino is not None:
            predictions = self.openvino(batch.contiguous())
        else:
            predictions = self.network(batch.contiguous(memory_format=torch.channels_last))
        return self.boxes_from_network(predictions, scale, offset, frames[0].shape[-2:])

    def boxes_from_network(self, predictions: torch.Tensor, scale: float, offset: tuple[int, int],
                           size: Sequence[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The network's output for a letterboxed batch (see `letterbox`) of frames of `size` (H, W):
        per frame, the boxes kept by non-maximum suppression at the detector's confidence, in source
        pixels, and their scores."""
        from ultralytics.utils.nms import non_max_suppression

        kept = non_max_suppression(predictions, conf_thres=self.confidence, iou_thres=self.iou,
                                   max_det=300, max_time_img=2.0)
        (left, top), (height, width) = offset, size
        results = []
        for rows in kept:
            boxes = (rows[:, :4].float() - rows.new_tensor([left, top, left, top]).float()) / scale
            boxes[:, 0::2] = boxes[:, 0::2].clamp(0, width)
            boxes[:, 1::2] = boxes[:, 1::2].clamp(0, height)
            results.append((boxes, rows[:, 4].float()))
        return results

    def detect_image(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One (H, W, 3) uint8 RGB image: boxes (K, 4) and scores (K,) as arrays."""
        writable = np.require(image, requirements="W")  # arrays from PIL are read-only
        boxes, scores = self.detect(torch.from_numpy(writable).permute(2, 0, 1)[None])[0]
        return boxes.cpu().numpy(), scores.cpu().numpy()
