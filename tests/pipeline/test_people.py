"""The vote that gives each tracked person a label."""

import numpy as np
import pytest

from maskscan.detections import FaceDetections
from maskscan.pipeline.people import MASK, NO_MASK, UNKNOWN, PeopleTally, min_votes, person_label, vote


def sightings(probs: list[float], scores: list[float] | None = None, person: int = 0) -> list[FaceDetections]:
    scores = scores or [0.9] * len(probs)
    return [FaceDetections(np.array([[0, 0, 10, 10]], np.float32), np.array([s], np.float32),
                           np.array([p], np.float32), 0.75, np.array([person])) for p, s in zip(probs, scores)]


def label_of(probs: list[float], rate: float, scores: list[float] | None = None) -> str:
    tally = PeopleTally(rate)
    for i, faces in enumerate(sightings(probs, scores)):
        tally.add(i / rate, faces)
    return tally.label(0)


def test_votes_needed_follow_the_sampling_rate() -> None:
    assert [min_votes(r) for r in (0.0, 1.0, 2.0, 5.0, 10.0, 25.0)] == [1, 1, 1, 2, 4, 10]


def test_only_confident_sightings_vote() -> None:
    assert vote(0.9, 0.99, 0.75) == MASK and vote(0.9, 0.1, 0.75) == NO_MASK
    assert vote(0.9, 0.6, 0.75) is None  # the classifier is unsure near its threshold
    assert vote(0.46, 0.99, 0.75) is None  # the detector is unsure it is a face


def test_ties_are_violations_and_too_few_votes_are_unknown() -> None:
    assert person_label(2, 2, 2) == NO_MASK
    assert person_label(3, 2, 2) == MASK
    assert person_label(1, 0, 2) == UNKNOWN


@pytest.mark.parametrize(("probs", "rate", "label"), [
    ([0.99, 0.98, 0.97], 5.0, MASK),
    ([0.99, 0.02, 0.03], 5.0, NO_MASK),  # one glimpse of a mask does not make a masked person
    ([0.99], 5.0, UNKNOWN),  # one sighting among five a second is not enough
    ([0.99], 1.0, MASK),  # at one frame a second it is all there is
    ([0.7, 0.8, 0.6, 0.9], 5.0, UNKNOWN),  # every sighting too close to the threshold to vote
])
def test_person_labels(probs: list[float], rate: float, label: str) -> None:
    assert label_of(probs, rate) == label


def test_a_tally_keeps_first_and_last_sighting_and_mean_probability() -> None:
    tally = PeopleTally(2.0)
    for t, faces in zip([0.5, 1.0, 3.0], sightings([0.1, 0.2, 0.99])):
        tally.add(t, faces)
    person = tally.people[0]
    assert (person.first_s, person.last_s, person.detections, person.mask_votes, person.no_mask_votes) == \
        (0.5, 3.0, 3, 1, 2)
    assert person.mask_prob == pytest.approx(1.29 / 3)
