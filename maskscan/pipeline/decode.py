"""Decoding with PyAV: sampled RGB frames, timestamps from pts, rotation applied.

Decoding runs in a background thread that hands batches of frames to the consumer over a
bounded queue, so decoding overlaps with inference and memory stays bounded.
"""

from __future__ import annotations

import itertools
import math
import queue
import threading
import warnings
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import BinaryIO

import av
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from maskscan.pipeline.media import MediaFile, open_media

MAX_IMAGE_PIXELS = 150_000_000
"""Larger images fail with a clear error instead of being decoded (a 150-MP RGB image is 450 MB)."""
MAX_TIMESTAMP_GAP_S = 10.0
"""Consecutive frames further apart than this (or going back in time) are a timestamp
discontinuity, e.g. concatenated MPEG-TS segments: the timeline continues from decoded time."""
INCOMPLETE_TOLERANCE_S = 2.0
"""Decoding that ends more than this (or 10 % of the stated duration, if more) before the
duration the file states means the file is incomplete: still being copied, or truncated."""


class DecodeError(Exception):
    """The file cannot be decoded; the message names the problem in a few words."""


@dataclass(frozen=True)
class StreamInfo:
    duration_s: float | None
    fps: float | None
    width: int
    height: int
    rotation: int = 0
    creation_time: str | None = None
    """The container's (or stream's) `creation_time` metadata, as written."""


@dataclass
class DecodedFrame:
    index: int
    """Position of the frame among all decoded frames of the file (0-based)."""
    timestamp_s: float
    """Seconds from the start of the stream, from the frame's pts."""
    image: np.ndarray
    """(H, W, 3) uint8 RGB, rotated as the file asks to be displayed."""


@dataclass
class Timeline:
    """Seconds from the start of the stream, continuous through timestamp discontinuities."""

    offset: float | None = None
    last: float | None = None
    interval: float = 0.04
    """The latest step between two frames, used to bridge a discontinuity."""
    jumps: list[str] = field(default_factory=list)
    """One note per discontinuity, for the log."""

    def place(self, raw_s: float, frame_index: int) -> float:
        if self.offset is None or self.last is None:  # the first frame (both are set together)
            self.offset, self.last = -raw_s, 0.0
            return 0.0
        timestamp = raw_s + self.offset
        step = timestamp - self.last
        if step < -0.5 or step > MAX_TIMESTAMP_GAP_S:
            bridged = self.last + self.interval
            self.jumps.append(f"timestamps jump {'back' if step < 0 else 'ahead'} by {abs(step):.2f} s at frame "
                              f"{frame_index}; continuing from decoded time ({bridged:.2f} s)")
            self.offset = bridged - raw_s
            timestamp = bridged
        elif step > 0:
            self.interval = step
        self.last = max(self.last, timestamp)
        return self.last


class FrameSampler:
    """Keeps about `sample_fps` frames per second of footage by timestamp (variable frame rate safe).

    `sample_fps` 0 keeps every frame.
    """

    def __init__(self, sample_fps: float) -> None:
        if sample_fps < 0:
            raise ValueError("sample_fps must be >= 0")
        self.step = 1.0 / sample_fps if sample_fps else 0.0
        self.next_time: float | None = None

    def keep(self, timestamp_s: float) -> bool:
        if not self.step:
            return True
        if self.next_time is None:
            self.next_time = timestamp_s
        if timestamp_s + 1e-6 < self.next_time:
            return False
        skipped = math.floor((timestamp_s - self.next_time) / self.step + 1e-9)
        self.next_time += (skipped + 1) * self.step
        return True


def _rotate(image: np.ndarray, rotation: int) -> np.ndarray:
    """Apply a display-matrix rotation (degrees counter-clockwise, as FFmpeg reports it)."""
    turns = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(image, k=turns)) if turns else image


def _ffmpeg_message(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(": '")[0].strip() or type(exc).__name__


class VideoSource:
    """A media file opened for sampled decoding; use as a context manager."""

    def __init__(self, media: MediaFile, sample_fps: float, decoder_threads: int = 0,
                 handle: BinaryIO | None = None) -> None:
        """`handle`: the file already opened (with `open_media`); read from its start. By
        default the source opens the file itself."""
        self.media = media
        self.sample_fps = sample_fps
        self.decoder_threads = decoder_threads
        self._handle = handle
        self._owned = ExitStack()
        self._container: av.container.InputContainer | None = None
        self._decoded: Iterator[av.VideoFrame] = iter(())
        self._pending: av.VideoFrame | None = None
        self.info = StreamInfo(None, None, 0, 0)
        self.timeline = Timeline()

    def _file(self) -> BinaryIO:
        if self._handle is None:
            try:
                self._handle = self._owned.enter_context(open_media(self.media.path))
            except OSError as exc:
                raise DecodeError(f"cannot read file ({exc.strerror or exc})") from exc
        self._handle.seek(0)
        return self._handle

    def __enter__(self) -> "VideoSource":
        if self.media.kind == "image":
            self.info = self._image_info()
            return self
        try:
            self._container = av.open(self._file(), mode="r")
        except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
            self._owned.close()
            raise DecodeError(f"not a readable video ({_ffmpeg_message(exc)})") from exc
        if not self._container.streams.video:
            self._container.close()
            raise DecodeError("no video stream")
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        if self.decoder_threads:
            stream.codec_context.thread_count = self.decoder_threads
        rate = stream.average_rate or stream.guessed_rate
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif self._container.duration is not None:
            duration = self._container.duration / av.time_base
        # The first frame tells the rotation, hence the displayed size; it is decoded again below.
        self._decoded = self._container.decode(stream)
        first = self._first_frame()
        rotation = int(getattr(first, "rotation", 0) or 0) if first is not None else 0
        width, height = stream.codec_context.width, stream.codec_context.height
        if round(rotation / 90) % 2:
            width, height = height, width
        creation_time = self._container.metadata.get("creation_time") or stream.metadata.get("creation_time")
        self.info = StreamInfo(duration, float(rate) if rate else None, width, height, rotation, creation_time)
        self._pending = first
        return self

    def _first_frame(self) -> av.VideoFrame | None:
        try:
            return next(self._decoded, None)
        except av.FFmpegError as exc:
            self.__exit__()
            raise DecodeError(f"no decodable video frames ({_ffmpeg_message(exc)})") from exc

    def __exit__(self, *_exc: object) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None
        self._owned.close()

    def _open_image(self) -> Image.Image:
        """The image, opened lazily (header only) and checked against MAX_IMAGE_PIXELS."""
        try:
            with warnings.catch_warnings():  # maskscan's own limit replaces Pillow's warning
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image = Image.open(self._file())
        except Image.DecompressionBombError as exc:
            raise DecodeError(f"image too large (limit {MAX_IMAGE_PIXELS / 1e6:g} megapixels)") from exc
        except (UnidentifiedImageError, OSError) as exc:
            raise DecodeError(f"not a readable image ({exc.__class__.__name__})") from exc
        if image.width * image.height > MAX_IMAGE_PIXELS:
            image.close()
            raise DecodeError(f"image too large ({image.width}x{image.height}, "
                              f"limit {MAX_IMAGE_PIXELS / 1e6:g} megapixels)")
        return image

    def _image_info(self) -> StreamInfo:
        try:
            with self._open_image() as image:
                width, height = ImageOps.exif_transpose(image).size
        except OSError as exc:
            raise DecodeError(f"not a readable image ({exc.__class__.__name__})") from exc
        return StreamInfo(None, None, width, height)

    def frames(self) -> Iterator[DecodedFrame]:
        """The sampled frames, in order."""
        if self.media.kind == "image":
            yield self._image_frame()
            return
        assert self._container is not None, "use VideoSource as a context manager"
        stream = self._container.streams.video[0]
        sampler = FrameSampler(self.sample_fps)
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None else None
        if start is not None:
            self.timeline.place(start, 0)
        index = -1
        decoded = itertools.chain([self._pending] if self._pending is not None else [], self._decoded)
        self._pending = None
        try:
            for frame in decoded:
                index += 1
                if frame.time is None:
                    continue
                timestamp = self.timeline.place(frame.time, index)
                if not sampler.keep(timestamp):
                    continue
                image = _rotate(frame.to_ndarray(format="rgb24"), int(getattr(frame, "rotation", 0) or 0))
                yield DecodedFrame(index, timestamp, image)
        except av.FFmpegError as exc:
            raise DecodeError(f"decoding failed after {index} frames ({_ffmpeg_message(exc)})") from exc
        if index < 0:
            raise DecodeError("no decodable video frames")
        self._check_complete()

    def _check_complete(self) -> None:
        stated, decoded = self.info.duration_s, self.timeline.last
        if stated is None or decoded is None:
            return
        frame_s = 1 / self.info.fps if self.info.fps else 0.0
        if decoded + frame_s + max(INCOMPLETE_TOLERANCE_S, 0.1 * stated) < stated:
            raise DecodeError(f"incomplete file: frames end at {decoded + frame_s:.1f} s of the {stated:.1f} s it "
                              "states (still being written, or truncated)")

    def _image_frame(self) -> DecodedFrame:
        try:
            with self._open_image() as image:
                rgb = np.array(ImageOps.exif_transpose(image).convert("RGB"))  # writable, as decoded video frames are
        except OSError as exc:
            raise DecodeError(f"not a readable image ({exc.__class__.__name__})") from exc
        return DecodedFrame(0, 0.0, rgb)


def batched_frames(source: VideoSource, batch_size: int, prefetch_batches: int = 2) -> Iterator[list[DecodedFrame]]:
    """Batches of same-size frames, decoded in a background thread (errors re-raised here)."""
    handoff: queue.Queue[list[DecodedFrame] | BaseException | None] = queue.Queue(maxsize=prefetch_batches)
    stop = threading.Event()

    def put(item: list[DecodedFrame] | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        batch: list[DecodedFrame] = []
        try:
            for frame in source.frames():
                if batch and (len(batch) == batch_size or frame.image.shape != batch[0].image.shape):
                    if not put(batch):
                        return
                    batch = []
                batch.append(frame)
            if batch:
                put(batch)
            put(None)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(exc)

    worker = threading.Thread(target=produce, name=f"decode:{source.media.path.name}", daemon=True)
    worker.start()
    try:
        while True:
            item = handoff.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        # wait for the decoder to let go of the container before the caller closes it:
        # closing it under a decoding thread can crash the process (seen on a double Ctrl-C)
        worker.join()


def read_frame_at(media: MediaFile, timestamp_s: float) -> np.ndarray:
    """The displayed frame at `timestamp_s` seconds from the stream start (seeks, then decodes forward)."""
    if media.kind == "image":
        with VideoSource(media, 0) as source:
            return source._image_frame().image
    try:
        with open_media(media.path) as handle, av.open(handle) as container:
            stream = container.streams.video[0]
            start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
            target = start + timestamp_s
            container.seek(int(target / stream.time_base), stream=stream, backward=True)
            chosen = None
            for frame in container.decode(stream):
                if frame.time is None:
                    continue
                chosen = frame
                if frame.time >= target - 1e-3:
                    break
    except (av.FFmpegError, OSError, IndexError) as exc:
        raise DecodeError(f"cannot read a frame at {timestamp_s:.2f} s ({_ffmpeg_message(exc)})") from exc
    if chosen is None:
        raise DecodeError(f"no frame at {timestamp_s:.2f} s")
    return _rotate(chosen.to_ndarray(format="rgb24"), int(getattr(chosen, "rotation", 0) or 0))
