"""An opt-in second detector pass for crowds: the same weights at a larger input, kept for small faces.

At its own input size (512 px) the detector sees a crowd's faces only a few pixels wide and
misses most of them; run on the whole frame at a larger size, the same network finds them but
loses close-ups. So the larger pass only adds the faces that are small at the detector's own
size and that it scores confidently; both passes' boxes then go through one non-maximum
suppression, so a face both find is kept once. How the settings were chosen is in
docs/detector-history.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torchvision.ops import nms

from maskscan.classifiers.face_detector import YoloFaceDetector
from maskscan.classifiers.shipped import SMALL_FACE_BELOW, SMALL_FACE_FLOOR, SMALL_FACE_IMGSZ, check_small_faces

if TYPE_CHECKING:
    from maskscan.classifiers.datasets.voc import ScenePhoto


def add_small_faces(first: tuple[torch.Tensor, torch.Tensor], second: tuple[torch.Tensor, torch.Tensor],
                    first_scale: float, below: float = SMALL_FACE_BELOW, floor: float = SMALL_FACE_FLOOR,
                    iou: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """One frame's boxes (source pixels) and scores from the first pass, joined by the second
    pass's boxes narrower than `below` first-pass input pixels (`first_scale`: first-pass input
    pixels per source pixel) that score at least `floor`, after non-maximum suppression at `iou`,
    strongest first."""
    (boxes, scores), (extra_boxes, extra_scores) = first, second
    small = ((extra_boxes[:, 2] - extra_boxes[:, 0]) * first_scale < below) & (extra_scores >= floor)
    boxes = torch.cat([boxes, extra_boxes[small].to(boxes)])
    scores = torch.cat([scores, extra_scores[small].to(scores)])
    keep = nms(boxes.float(), scores.float(), iou)
    return boxes[keep], scores[keep]


Prediction = tuple["ScenePhoto", np.ndarray, np.ndarray]


def join_photo_predictions(first: Sequence[Prediction], second: Sequence[Prediction], first_imgsz: int,
                           below: float = SMALL_FACE_BELOW, floor: float = SMALL_FACE_FLOOR,
                           iou: float = 0.5) -> list[Prediction]:
    """Photo by photo, (photo, boxes, scores) of both passes joined as :class:`TwoPassFaceDetector`
    joins them (the photos are the first pass's): for grading the pass from predictions computed
    once per pass."""
    joined = []
    for (photo, boxes, scores), (_, more, more_scores) in zip(first, second, strict=True):
        found = add_small_faces((torch.from_numpy(boxes), torch.from_numpy(scores)),
                                (torch.from_numpy(more), torch.from_numpy(more_scores)),
                                first_imgsz / max(photo.width, photo.height), below, floor, iou)
        joined.append((photo, found[0].numpy(), found[1].numpy()))
    return joined


class TwoPassFaceDetector:
    """A :class:`YoloFaceDetector` at its own input size, plus the same weights at `second.imgsz`
    for faces that are small at the first size (see :func:`add_small_faces`)."""

    def __init__(self, first: YoloFaceDetector, second: YoloFaceDetector, below: float = SMALL_FACE_BELOW,
                 floor: float = SMALL_FACE_FLOOR) -> None:
        if first.name != second.name:
            raise ValueError(f"both passes must run the same weights, not {first.name} and {second.name}")
        self.first, self.second = first, second
        self.below, self.floor = below, floor
        self.name, self.confidence, self.precision, self.backend = (first.name, first.confidence, first.precision,
                                                                    first.backend)

    @torch.inference_mode()
    def detect(self, frames: Sequence[torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per (3, H, W) uint8 frame of one size: boxes (K, 4) in source pixels and scores (K,)."""
        if len(frames) == 0:
            return []
        first_scale = self.first.imgsz / max(frames[0].shape[-2:])
        return [add_small_faces(found, extra, first_scale, self.below, self.floor, self.first.iou)
                for found, extra in zip(self.first.detect(frames), self.second.detect(frames), strict=True)]

    detect_image = YoloFaceDetector.detect_image


def with_small_face_pass(first: YoloFaceDetector) -> TwoPassFaceDetector:
    """`first` with the `--small-faces` pass: its weights at `SMALL_FACE_IMGSZ`, on its device, dtype
    and backend, never in int8 (int8 ranges are calibrated at the first pass's size)."""
    check_small_faces(first.imgsz)
    second = YoloFaceDetector(first.weights, SMALL_FACE_IMGSZ, SMALL_FACE_FLOOR, first.iou, first.device, first.dtype,
                              first.backend)
    return TwoPassFaceDetector(first, second)
