"""Annotated violation clips: H.264 MP4 (yuv420p) around every stretch with an unmasked face."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from maskscan.atomic import atomic_output, put_in_place, temporary_path
from maskscan.detections import FaceDetections
from maskscan.pipeline.annotate import BoxAnnotator


@dataclass(frozen=True)
class ClipRecord:
    start_s: float
    end_s: float
    path: Path
    reason: str = "no_mask"
    people: frozenset[int] = frozenset()
    """The person numbers (`FaceDetections.track_ids`) seen without a mask in the clip."""


def _even(image: np.ndarray) -> np.ndarray:
    """yuv420p needs even sides: drop a last odd row or column."""
    height, width = image.shape[:2]
    return image[: height - height % 2, : width - width % 2]


class _Mp4Writer:
    """An H.264 MP4 written under a temporary name; `close` puts it in place, `abort` drops it."""

    def __init__(self, path: Path, rate: Fraction, width: int, height: int) -> None:
        self.path, self.temporary = path, temporary_path(path)
        self.container = av.open(str(self.temporary), mode="w", format="mp4")
        self.stream = self.container.add_stream("libx264", rate=rate)
        self.stream.width, self.stream.height = width, height
        self.stream.pix_fmt = "yuv420p"
        self.stream.options = {"crf": "23", "preset": "veryfast", "movflags": "+faststart"}
        self.frames = 0

    def write(self, image: np.ndarray) -> None:
        frame = av.VideoFrame.from_ndarray(_even(image), format="rgb24")
        frame.pts = self.frames
        self.frames += 1
        self.container.mux(self.stream.encode(frame))

    def close(self) -> None:
        try:
            self.container.mux(self.stream.encode(None))
            self.container.close()
            put_in_place(self.temporary, self.path)
        finally:
            self.temporary.unlink(missing_ok=True)

    def abort(self) -> None:
        try:
            self.container.close()
        finally:
            self.temporary.unlink(missing_ok=True)


class ViolationClipWriter:
    """Streams analysed frames; writes a clip per violation stretch with pre- and post-roll.

    Frames are the analysed ones, so clips play at the analysis rate. Stretches closer than
    the post-roll join into one clip. Only frames that end up in a clip are annotated.
    `on_clip` is called once each clip is closed on disk.
    """

    def __init__(self, out_dir: Path, stem: str, rate: float, pre_roll_s: float, post_roll_s: float,
                 on_clip: Callable[[ClipRecord], None], annotator: BoxAnnotator | None = None) -> None:
        self.out_dir, self.stem = out_dir, stem
        self.annotator = annotator or BoxAnnotator()
        self.rate = Fraction(rate).limit_denominator(1001) if rate > 0 else Fraction(5)
        self.pre_roll_s, self.post_roll_s = pre_roll_s, post_roll_s
        self.on_clip = on_clip
        self._recent: deque[tuple[float, np.ndarray, FaceDetections]] = deque()
        self._writer: _Mp4Writer | None = None
        self._path: Path | None = None
        self._people: set[int] = set()
        self._start_s = self._last_violation_s = self._last_s = 0.0

    def __enter__(self) -> "ViolationClipWriter":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is None:
            self.close()
        elif self._writer is not None:  # failed file: leave no half clip behind
            self._writer.abort()
            self._writer = None

    def add(self, timestamp_s: float, image: np.ndarray, faces: FaceDetections) -> None:
        self._last_s = timestamp_s
        violation = faces.unmasked_count > 0
        if self._writer is None:
            self._recent.append((timestamp_s, image, faces))
            while self._recent and self._recent[0][0] < timestamp_s - self.pre_roll_s:
                self._recent.popleft()
            if violation:
                self._open()
        else:
            self._write(image, faces)
        if violation:
            self._last_violation_s = timestamp_s
        elif self._writer is not None and timestamp_s - self._last_violation_s >= self.post_roll_s:
            self._finish(timestamp_s)

    def close(self) -> None:
        if self._writer is not None:
            self._finish(self._last_s)

    def _open(self) -> None:
        first_s, first, _ = self._recent[0]
        height, width = _even(first).shape[:2]
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._start_s = first_s
        self._path = self.out_dir / f"{self.stem}_{round(first_s * 1000):08d}ms.mp4"
        self._writer = _Mp4Writer(self._path, self.rate, width, height)
        for _, image, faces in self._recent:
            self._write(image, faces)
        self._recent.clear()

    def _write(self, image: np.ndarray, faces: FaceDetections) -> None:
        assert self._writer is not None
        self._writer.write(self.annotator.annotate(image, faces))
        self._people.update(int(p) for p, masked in zip(faces.track_ids, faces.masked) if p >= 0 and not masked)

    def _finish(self, end_s: float) -> None:
        assert self._writer is not None and self._path is not None
        self._writer.close()
        self._writer = None
        people, self._people = frozenset(self._people), set()
        self.on_clip(ClipRecord(self._start_s, end_s, self._path, people=people))


def write_annotated_image(path: Path, annotated: np.ndarray) -> None:
    with atomic_output(path) as temporary:
        Image.fromarray(annotated).save(temporary, format="JPEG", quality=90)
