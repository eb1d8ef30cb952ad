"""The small-face pass (`--small-faces`): which second-pass boxes join the first pass's, and on what scale."""

from types import SimpleNamespace

import pytest
import torch

from maskscan.classifiers.shipped import SMALL_FACE_BELOW, SMALL_FACE_FLOOR
from maskscan.classifiers.small_face_pass import TwoPassFaceDetector, add_small_faces


def boxes(*rows: tuple[float, float, float, float]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32).reshape(-1, 4)


def test_only_small_confident_second_pass_boxes_join_and_a_face_both_find_is_kept_once() -> None:
    first = boxes((100, 100, 180, 190), (10, 40, 30, 60)), torch.tensor([0.9, 0.4])
    second = (boxes((10, 10, 20, 22),      # small, confident: joins
                    (30, 10, 40, 22),      # small, under the floor: dropped
                    (200, 200, 300, 310),  # confident but large at the first size: the first pass's job
                    (11, 41, 31, 61),      # the first pass's small face again, scored higher: replaces it
                    (50, 10, 60, 22)),     # small, at the floor exactly: joins
              torch.tensor([0.8, 0.49, 0.95, 0.7, 0.5]))
    found, scores = add_small_faces(first, second, first_scale=1.0, below=24, floor=0.5)
    assert found.tolist() == [[100, 100, 180, 190], [10, 10, 20, 22], [11, 41, 31, 61], [50, 10, 60, 22]]
    assert scores.tolist() == pytest.approx([0.9, 0.8, 0.7, 0.5])


def test_the_width_cut_is_measured_at_the_first_pass_size() -> None:
    """A 60-px face in a 1920-px frame is 16 px at 512: small. In a 640-px photo it is 48 px: not small."""
    first = boxes(), torch.empty(0)
    second = boxes((0, 0, 60, 60)), torch.tensor([0.9])
    assert len(add_small_faces(first, second, first_scale=512 / 1920, below=24, floor=0.5)[0]) == 1
    assert len(add_small_faces(first, second, first_scale=512 / 640, below=24, floor=0.5)[0]) == 0


class FixedDetector(SimpleNamespace):
    """Answers every frame with the same boxes."""

    def detect(self, frames: list[torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return [self.found for _ in frames]


def test_two_passes_join_per_frame_at_the_frames_own_scale() -> None:
    first = FixedDetector(name="face:abc", confidence=0.3, precision="float32", backend="torch", imgsz=512, iou=0.5,
                          found=(boxes((500, 500, 700, 700)), torch.tensor([0.9])))
    # 80 px of 1920 is 21 px at 512 (joins); 100 px is 27 px (does not)
    second = FixedDetector(name="face:abc", imgsz=960,
                           found=(boxes((0, 0, 80, 80), (1000, 0, 1100, 100)), torch.tensor([0.7, 0.7])))
    detector = TwoPassFaceDetector(first, second, below=24, floor=0.5)  # type: ignore[arg-type]
    frames = [torch.zeros(3, 1080, 1920, dtype=torch.uint8)] * 2
    results = detector.detect(frames)
    assert len(results) == 2
    for found, scores in results:
        assert found.tolist() == [[500, 500, 700, 700], [0, 0, 80, 80]]
    assert detector.detect([]) == []
    defaults = TwoPassFaceDetector(first, second)  # type: ignore[arg-type]
    assert (defaults.below, defaults.floor) == (SMALL_FACE_BELOW, SMALL_FACE_FLOOR)
    assert (detector.name, detector.confidence) == ("face:abc", 0.3)


def test_both_passes_must_run_the_same_weights() -> None:
    with pytest.raises(ValueError, match="same weights"):
        TwoPassFaceDetector(FixedDetector(name="face:abc"),  # type: ignore[arg-type]
                            FixedDetector(name="other:def"))  # type: ignore[arg-type]
