"""Faces to people: one multi-object tracker per file, fed every analysed frame in time order.

The tracker is ByteTrack from Roboflow's `trackers` package (Apache-2.0), driven by real
timestamps, so its motion model and its lost-track budget work in seconds whatever the
sampling rate. Faces are small and, at 1-5 analysed frames a second, move further than their
own width between samples, where box overlap (IoU) is zero; association therefore uses
`CentreSimilarity`, a centre distance measured in face widths. Choices and constants were
measured with `benchmarks/tracking.py` (README, "People").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from maskscan.detections import FaceDetections

UNTRACKED = -1
MIN_SIZE_RATIO = 0.5
"""Faces whose widths differ by more than this factor between samples are never the same person."""


@dataclass(frozen=True)
class TrackerSettings:
    reach_widths: float = 3.0
    """A face may be matched to a track whose predicted centre is less than this many face widths away."""
    lost_s: float = 3.0
    """A track unmatched for this long ends; a face seen again later is a new person."""
    high_score: float = 0.6
    """ByteTrack's two stages: faces at or above this are matched first and may start a person;
    weaker ones (down to the counting threshold) only extend people already seen. Starting
    people from them too (0.45) made false people: a masked one in the crowd clip at 1-2 analysed
    frames a second, where nobody wears a mask."""
    min_similarity: float = 0.05
    association: Literal["centre", "iou"] = "centre"
    """`iou`: ByteTrack's own box overlap (min_similarity 0.1 is its default), kept for comparison."""

    def describe(self) -> str:
        """What goes into `videos.tracker`: the implementation and these settings."""
        from importlib.metadata import version

        matching = f"reach {self.reach_widths:g} widths" if self.association == "centre" else \
            f"iou >= {self.min_similarity:g}"
        return f"bytetrack(trackers {version('trackers')}) {matching}, lost {self.lost_s:g} s"


def _centre_similarity(predicted: np.ndarray, found: np.ndarray, reach_widths: float) -> np.ndarray:
    """(N, M): 1 where centres coincide, falling to 0 at `reach_widths` face widths apart, scaled
    by how alike the two sizes are, down to 0 at MIN_SIZE_RATIO (a face does not halve or
    double between samples)."""
    centre_p = (predicted[:, None, :2] + predicted[:, None, 2:]) / 2
    centre_f = (found[None, :, :2] + found[None, :, 2:]) / 2
    width_p = np.maximum(predicted[:, None, 2] - predicted[:, None, 0], 1e-3)
    width_f = np.maximum(found[None, :, 2] - found[None, :, 0], 1e-3)
    distance = np.linalg.norm(centre_p - centre_f, axis=-1) / ((width_p + width_f) / 2)
    closeness = np.clip(1.0 - distance / reach_widths, 0.0, 1.0)
    ratio = np.minimum(width_p, width_f) / np.maximum(width_p, width_f)
    return closeness * np.clip((ratio - MIN_SIZE_RATIO) / (1 - MIN_SIZE_RATIO), 0.0, 1.0)


def import_tracker_library() -> None:
    """Import ByteTrack's library now. It brings supervision and scipy (about a second), which
    `maskscan --help` should not wait for, but a run over files should pay once, before its first
    file is claimed and timed, not inside it."""
    import trackers  # noqa: F401


def _similarity_class(reach_widths: float) -> type:
    from trackers.utils.iou import BaseIoU

    class CentreSimilarity(BaseIoU):
        def _compute(self, boxes_1: np.ndarray, boxes_2: np.ndarray) -> np.ndarray:
            return _centre_similarity(np.asarray(boxes_1, np.float64), np.asarray(boxes_2, np.float64),
                                      reach_widths)

    return CentreSimilarity


class FaceTracker:
    """One file's tracker: `assign` gives each face of a frame its person number (0, 1, ...).

    ByteTrack names a track only from its second sighting on; the face that started it is
    found again here (the new track's box is that face's box) so that every sighting of a
    person, the first included, carries its number. A face that starts no track (a weak one
    matched to nobody) stays UNTRACKED.
    """

    def __init__(self, settings: TrackerSettings, frame_rate: float) -> None:
        from trackers import ByteTrackTracker

        self.settings = settings
        self._tracker = ByteTrackTracker(
            lost_track_buffer=max(1, round(settings.lost_s * 30)),  # counted in 30-fps frames
            frame_rate=frame_rate if frame_rate > 0 else 5.0,
            track_activation_threshold=settings.high_score,
            minimum_consecutive_frames=1,
            minimum_iou_threshold=settings.min_similarity,
            high_conf_det_threshold=settings.high_score,
            iou=_similarity_class(settings.reach_widths)() if settings.association == "centre" else None,
        )
        self._person_of: dict[object, int] = {}  # tracklet -> person number
        self.people = 0

    def assign(self, timestamp_s: float, faces: FaceDetections) -> FaceDetections:
        """The faces with their person numbers; frames must come in increasing time."""
        import supervision as sv

        before = set(map(id, self._tracker.tracks))
        detections = sv.Detections(xyxy=faces.boxes.astype(np.float64), confidence=faces.face_scores.astype(np.float64),
                                   data={"face": np.arange(len(faces))})
        tracked = self._tracker.update(detections, timestamp=float(timestamp_s))
        by_tracker_id = {t.tracker_id: t for t in self._tracker.tracks if t.tracker_id != UNTRACKED}
        started = [t for t in self._tracker.tracks if id(t) not in before]
        track_ids = np.full(len(faces), UNTRACKED, np.int64)
        for face, tracker_id in zip(tracked.data.get("face", []), tracked.tracker_id):
            tracklet = by_tracker_id.get(int(tracker_id)) if tracker_id != UNTRACKED else \
                self._started_by(faces.boxes[face], started)
            if tracklet is not None:
                track_ids[face] = self._person(tracklet)
        alive = {id(t) for t in self._tracker.tracks}
        self._person_of = {k: v for k, v in self._person_of.items() if id(k) in alive}
        return faces.with_track_ids(track_ids)

    @staticmethod
    def _started_by(box: np.ndarray, started: list) -> object | None:
        for tracklet in started:
            if np.allclose(tracklet.get_state_bbox(), box, atol=1e-3):
                started.remove(tracklet)
                return tracklet
        return None

    def _person(self, tracklet: object) -> int:
        if tracklet not in self._person_of:
            self._person_of[tracklet] = self.people
            self.people += 1
        return self._person_of[tracklet]
