"""Thresholds chosen by cross-validation: never graded on the photos they were chosen on."""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from maskscan.classifiers.evaluation.classifier import (ScoredCrops, best_balanced_threshold,
                                                        cross_validate_classifier_threshold)
from maskscan.classifiers.evaluation.detector import cross_validate_detector_threshold, lowest_threshold_with_precision
from maskscan.classifiers.evaluation.operating_point import cross_validate_threshold, fold_of
from maskscan.classifiers.datasets.voc import FaceBox, ScenePhoto


def test_folds_come_from_the_file_name_alone_and_are_even() -> None:
    assert fold_of("/data/a/photo7.png", 5) == fold_of("photo7.png", 5)
    sizes = Counter(fold_of(f"photo{i}.png", 5) for i in range(1000))
    assert sorted(sizes) == [0, 1, 2, 3, 4] and min(sizes.values()) > 150


def test_each_fold_threshold_is_chosen_on_the_other_folds_only() -> None:
    names = [f"photo{i}.png" for i in range(40)]
    seen: dict[float, set[str]] = {}

    def choose(selection: list[str]) -> float:
        threshold = len(seen) / 10
        seen[threshold] = set(selection)
        return threshold

    held_out, chosen = cross_validate_threshold(names, lambda name: name, 4, choose)
    assert sorted(name for fold in held_out for name in fold.items) == sorted(names)
    for fold in held_out:
        assert seen[fold.threshold] == set(names) - set(fold.items)
    assert seen[chosen] == set(names)


def test_too_few_photos_for_the_folds_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        cross_validate_threshold(["one.png", "two.png"], lambda name: name, 5, lambda selection: 0.5)
    with pytest.raises(ValueError, match="at least 2"):
        cross_validate_threshold(["one.png", "two.png"], lambda name: name, 1, lambda selection: 0.5)


def _photo(index: int) -> tuple[ScenePhoto, np.ndarray, np.ndarray]:
    """One unmasked face found at 0.9, and a false alarm at 0.4 elsewhere in the photo."""
    photo = ScenePhoto(Path(f"photo{index}.png"), 200, 100, (FaceBox(0, 0, 20, 20, "without_mask"),))
    boxes = np.array([[0, 0, 20, 20], [150, 50, 170, 70]], np.float32)
    return photo, boxes, np.array([0.9, 0.4], np.float32)


def test_the_detector_rule_takes_the_lowest_threshold_that_reaches_the_precision() -> None:
    predictions = [_photo(i) for i in range(20)]
    assert lowest_threshold_with_precision(predictions, 0.92) == 0.45  # at 0.40 half the boxes are false alarms
    assert lowest_threshold_with_precision(predictions, 0.5) == 0.05

    report = cross_validate_detector_threshold(predictions, folds=4, min_precision=0.92)
    assert report["thresholds"] == [0.45] * 4 and report["chosen_threshold"] == 0.45
    held_out = report["held_out"]
    assert (held_out["photos"], held_out["faces"], held_out["true_positives"], held_out["detections"]) == (20, 20, 20, 20)
    assert held_out["unmasked"] == {"faces": 20, "found": 20, "recall": 1.0}
    assert held_out["masked"]["faces"] == 0


def test_the_classifier_rule_maximises_balanced_accuracy_and_breaks_ties_towards_one_half() -> None:
    scored = ScoredCrops(np.array([0.9, 0.8, 0.7, 0.6, 0.2], np.float32), np.array([0, 0, 0, 1, 1]),
                         ("a.png", "b.png", "c.png", "d.png", "e.png"))
    # 0.65 and 0.70 both separate the classes perfectly; 0.65 is nearer the untuned 0.5
    assert best_balanced_threshold(scored, range(5)) == 0.65
    report = cross_validate_classifier_threshold(scored, folds=2)
    assert report["held_out"]["n"] == 5 and len(report["thresholds"]) == 2
