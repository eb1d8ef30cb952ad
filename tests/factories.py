"""Synthetic media and stand-in models whose answers are known exactly.

The frames show coloured squares on a dark background: a green square is a masked face,
a red one an unmasked face. The stand-in detector finds the squares and the stand-in
classifier reads their colour, so every count the pipeline stores can be checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

from maskscan.pipeline.inference import Frames

GREEN = (0, 220, 0)
RED = (220, 0, 0)

# codec and pixel format per container
CONTAINERS = {
    ".mp4": ("libx264", "yuv420p"),
    ".mkv": ("libx264", "yuv420p"),
    ".mov": ("libx264", "yuv420p"),
    ".ts": ("libx264", "yuv420p"),
    ".avi": ("mpeg4", "yuv420p"),
    ".gif": ("gif", "rgb8"),
}


def square_frame(width: int, height: int, squares: Sequence[tuple[int, int, int, tuple[int, int, int]]]) -> np.ndarray:
    """A dark frame with (x, y, side, colour) squares."""
    frame = np.full((height, width, 3), 20, np.uint8)
    for x, y, side, colour in squares:
        frame[y:y + side, x:x + side] = colour
    return frame


def scripted_frames(count: int, width: int = 160, height: int = 96) -> list[np.ndarray]:
    """Frame i shows a green square, plus a red one while i is in the middle third."""
    frames = []
    for i in range(count):
        squares = [(10 + i % 20, 20, 32, GREEN)]
        if count // 3 <= i < 2 * count // 3:
            squares.append((100, 40, 32, RED))
        frames.append(square_frame(width, height, squares))
    return frames


def write_video(path: Path, frames: Sequence[np.ndarray], fps: float = 10, rotation: int = 0,
                timestamps: Sequence[float] | None = None) -> Path:
    """Encode RGB frames; `timestamps` (seconds) gives a variable frame rate."""
    codec, pix_fmt = CONTAINERS[path.suffix]
    height, width = frames[0].shape[:2]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if timestamps is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        if rotation:
            stream.set_display_rotation(rotation)
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            if timestamps is not None:
                frame.pts, frame.time_base = round(timestamps[i] * 1000), Fraction(1, 1000)
            else:
                frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def _components(mask: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Bounding boxes of the square blobs of a boolean mask (squares never touch here)."""
    boxes = []
    remaining = mask.copy()
    while remaining.any():
        ys, xs = np.nonzero(remaining)
        y0, x0 = ys[0], xs[np.argmax(ys == ys[0])]
        row = remaining[y0]
        x1 = x0
        while x1 + 1 < row.size and row[x1 + 1]:
            x1 += 1
        y1 = y0
        while y1 + 1 < remaining.shape[0] and remaining[y1 + 1, x0]:
            y1 += 1
        boxes.append((int(x0), int(y0), int(x1) + 1, int(y1) + 1))
        remaining[y0:y1 + 1, x0:x1 + 1] = False
    return boxes


class ColourSquareDetector:
    """Finds bright squares; score 0.9."""

    name = "colour-squares"

    def detect(self, frames: Frames) -> list[tuple[torch.Tensor, torch.Tensor]]:
        results = []
        for frame in frames:
            bright = (frame.max(dim=0).values > 127).cpu().numpy()
            boxes = torch.tensor(_components(bright), dtype=torch.float32).reshape(-1, 4)
            results.append((boxes, torch.full((len(boxes),), 0.9)))
        return results


class ColourSquareClassifier:
    """P(mask) is the green share of the square's colour."""

    name = "colour-classifier"

    def classify_faces(self, frames: Frames, boxes: list[torch.Tensor]) -> list[np.ndarray]:
        out = []
        for frame, frame_boxes in zip(frames, boxes):
            probabilities = []
            for x1, y1, x2, y2 in frame_boxes.round().int().tolist():
                colour = frame[:, y1:y2, x1:x2].float().mean(dim=(1, 2))
                probabilities.append(float(colour[1] / (colour[0] + colour[1] + 1e-6)))
            out.append(np.array(probabilities, np.float32))
        return out
