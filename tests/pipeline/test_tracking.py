"""The tracker contract on generated detections: faces of known people moving along known paths."""

import numpy as np
import pytest

from maskscan.detections import FaceDetections
from maskscan.pipeline.tracking import UNTRACKED, FaceTracker, TrackerSettings


def frame_of(*faces: tuple[float, float, float, float]) -> FaceDetections:
    """Faces given as (centre x, centre y, width, score)."""
    boxes = [(x - w / 2, y - w / 2, x + w / 2, y + w / 2) for x, y, w, _ in faces]
    return FaceDetections(np.array(boxes, np.float32).reshape(-1, 4), np.array([f[3] for f in faces], np.float32),
                          np.full(len(faces), 0.1, np.float32))


def run(frames: list[tuple[float, FaceDetections]], rate: float) -> list[list[int]]:
    tracker = FaceTracker(TrackerSettings(), rate)
    return [tracker.assign(t, faces).track_ids.tolist() for t, faces in frames]


def walking(rate: float, seconds: float, start_x: float, speed: float, y: float = 200, width: float = 30,
            score: float = 0.8) -> list[tuple[float, tuple[float, float, float, float]]]:
    """A face walking across the frame at `speed` pixels a second, sampled at `rate`."""
    times = np.arange(0, seconds, 1 / rate)
    return [(float(t), (start_x + speed * t, y, width, score)) for t in times]


@pytest.mark.parametrize("rate", [1.0, 2.0, 5.0, 10.0])
def test_one_person_walking_is_one_person_at_any_rate(rate: float) -> None:
    # 60 px a second is two face widths: between samples at 1 fps the boxes do not even overlap
    frames = [(t, frame_of(face)) for t, face in walking(rate, 6, 50, 60)]
    ids = run(frames, rate)
    assert {i for frame in ids for i in frame} == {0}


@pytest.mark.parametrize("rate", [2.0, 5.0, 10.0])
def test_two_people_crossing_keep_their_numbers(rate: float) -> None:
    # a walks right along y=200, b walks left along y=240: their paths cross at t=2.5 s
    a, b = walking(rate, 5, 100, 40), walking(rate, 5, 300, -40, y=240)
    ids = run([(t, frame_of(fa, fb)) for (t, fa), (_, fb) in zip(a, b)], rate)
    assert all(frame == [0, 1] for frame in ids)


def test_a_person_missed_for_a_few_samples_stays_one_person() -> None:
    samples = walking(5.0, 6, 50, 30)
    frames = [(t, frame_of(face) if not 2.0 <= t < 3.0 else frame_of()) for t, face in samples]  # 5 misses
    ids = [i for frame in run(frames, 5.0) for i in frame]
    assert set(ids) == {0} and len(ids) == len(samples) - 5


def test_a_person_away_longer_than_the_lost_time_comes_back_as_a_new_person() -> None:
    lost_s = TrackerSettings().lost_s
    frames = [(t, frame_of((100, 200, 30, 0.8))) for t in np.arange(0, 2, 0.5)]
    frames += [(2 + lost_s + 1 + t, frame_of((100, 200, 30, 0.8))) for t in np.arange(0, 2, 0.5)]
    ids = [frame[0] for frame in run(frames, 2.0)]
    assert ids == [0] * 4 + [1] * 4


def test_every_sighting_carries_its_number_from_the_first_and_weak_faces_start_nobody() -> None:
    strong, weak = (100, 200, 30, 0.8), (400, 200, 30, 0.2)
    ids = run([(0.0, frame_of(strong, weak)), (0.2, frame_of(strong, weak))], 5.0)
    assert ids == [[0, UNTRACKED], [0, UNTRACKED]]


def test_faces_of_very_different_sizes_are_different_people() -> None:
    ids = run([(0.0, frame_of((100, 200, 20, 0.8))), (0.5, frame_of((100, 200, 80, 0.8)))], 2.0)
    assert ids == [[0], [1]]
