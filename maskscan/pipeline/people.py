"""Each tracked person's mask state, by a vote over their sightings.

The rule (after maskcam's): a sighting votes only when the detector is sure it is a face
(score >= VOTE_FACE_SCORE) and the classifier is sure of its label (P(mask) at least
VOTE_MARGIN away from the mask threshold). A person needs votes worth VOTE_SECONDS of footage
at the sampling rate (`min_votes`: one at 1-3 analysed frames a second, two at 5, four at 10),
so that one stray sighting among many frames is `unknown` while at sparse rates a person seen
once still counts; with fewer votes a person is `unknown`; otherwise `mask` needs more mask votes than no-mask votes: a tie is a violation,
so that doubt never reads as compliance. An incorrectly worn mask is classified as no mask
already, so it votes `no_mask`.
"""

from __future__ import annotations

from dataclasses import dataclass

from maskscan.detections import MASK, NO_MASK, FaceDetections

UNKNOWN = "unknown"
PERSON_LABELS = (MASK, NO_MASK, UNKNOWN)
VOTE_FACE_SCORE = 0.5
VOTE_MARGIN = 0.2
VOTE_SECONDS = 0.4


def min_votes(sample_fps: float) -> int:
    """Votes a person needs at `sample_fps` analysed frames a second."""
    return max(1, round(VOTE_SECONDS * sample_fps))


@dataclass
class PersonTally:
    """One track's sightings so far."""

    first_s: float
    last_s: float
    detections: int = 0
    mask_votes: int = 0
    no_mask_votes: int = 0
    mask_prob_sum: float = 0.0

    @property
    def mask_prob(self) -> float:
        return self.mask_prob_sum / self.detections if self.detections else float("nan")

    def label(self, needed_votes: int) -> str:
        return person_label(self.mask_votes, self.no_mask_votes, needed_votes)


def person_label(mask_votes: int, no_mask_votes: int, needed_votes: int) -> str:
    if mask_votes + no_mask_votes < needed_votes:
        return UNKNOWN
    return MASK if mask_votes > no_mask_votes else NO_MASK


def vote(face_score: float, mask_prob: float, mask_threshold: float) -> str | None:
    """A sighting's vote: MASK, NO_MASK, or None when it is too doubtful to vote."""
    if face_score < VOTE_FACE_SCORE or abs(mask_prob - mask_threshold) < VOTE_MARGIN:
        return None
    return MASK if mask_prob >= mask_threshold else NO_MASK


class PeopleTally:
    """The tallies of one file's people, fed the tracked faces of every analysed frame."""

    def __init__(self, sample_fps: float) -> None:
        self.people: dict[int, PersonTally] = {}
        self.needed_votes = min_votes(sample_fps)

    def label(self, person: int) -> str:
        return self.people[person].label(self.needed_votes)

    def add(self, timestamp_s: float, faces: FaceDetections) -> None:
        for person, score, prob in zip(faces.track_ids, faces.face_scores, faces.mask_probs):
            if person < 0:
                continue
            tally = self.people.setdefault(int(person), PersonTally(timestamp_s, timestamp_s))
            tally.first_s, tally.last_s = min(tally.first_s, timestamp_s), max(tally.last_s, timestamp_s)
            tally.detections += 1
            tally.mask_prob_sum += float(prob)
            choice = vote(float(score), float(prob), faces.mask_threshold)
            tally.mask_votes += choice == MASK
            tally.no_mask_votes += choice == NO_MASK
