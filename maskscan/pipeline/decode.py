"""Decoding with PyAV: sampled RGB frames, timestamps from pts, rotation applied.

Decoding runs in a background thread that hands batches of frames to the consumer over a
bounded queue, so decoding overlaps with inference and memory stays bounded.
"""

from __future__ import annotations

import itertools
import math
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from maskscan.pipeline.media import MediaFile


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

    def __init__(self, media: MediaFile, sample_fps: float, decoder_threads: int = 0) -> None:
        self.media = media
        self.sample_fps = sample_fps
        self.decoder_threads = decoder_threads
        self._container: av.container.InputContainer | None = None
        self._decoded: Iterator[av.VideoFrame] = iter(())
        self._pending: av.VideoFrame | None = None
        self.info = StreamInfo(None, None, 0, 0)

    def __enter__(self) -> "VideoSource":
        if self.media.kind == "image":
            self.info = self._image_info()
            return self
        try:
            self._container = av.open(str(self.media.path), mode="r")
        except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
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

    def _image_info(self) -> StreamInfo:
        try:
            with Image.open(self.media.path) as image:
                width, height = ImageOps.exif_transpose(image).size
        except (UnidentifiedImageError, OSError) as exc:
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
        index = -1
        decoded = itertools.chain([self._pending] if self._pending is not None else [], self._decoded)
        self._pending = None
        try:
            for frame in decoded:
                index += 1
                if frame.time is None:
                    continue
                if start is None:
                    start = frame.time
                timestamp = max(0.0, frame.time - start)
                if not sampler.keep(timestamp):
                    continue
                image = _rotate(frame.to_ndarray(format="rgb24"), int(getattr(frame, "rotation", 0) or 0))
                yield DecodedFrame(index, timestamp, image)
        except av.FFmpegError as exc:
            raise DecodeError(f"decoding failed after {index} frames ({_ffmpeg_message(exc)})") from exc
        if index < 0:
            raise DecodeError("no decodable video frames")

    def _image_frame(self) -> DecodedFrame:
        try:
            with Image.open(self.media.path) as image:
                rgb = np.array(ImageOps.exif_transpose(image).convert("RGB"))  # writable, as decoded video frames are
        except (UnidentifiedImageError, OSError) as exc:
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
        worker.join(timeout=5)


def read_frame_at(media: MediaFile, timestamp_s: float) -> np.ndarray:
    """The displayed frame at `timestamp_s` seconds from the stream start (seeks, then decodes forward)."""
    if media.kind == "image":
        return VideoSource(media, 0)._image_frame().image
    try:
        with av.open(str(media.path)) as container:
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
