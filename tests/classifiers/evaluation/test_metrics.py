from pathlib import Path

import numpy as np
import pytest
import torch

from maskscan.classifiers.evaluation.detector import average_precision, evaluate_detections, mark_unlabelled_faces
from maskscan.classifiers.evaluation.metrics import BinaryMetrics
from maskscan.classifiers.datasets.voc import FaceBox, ScenePhoto


def test_binary_metrics_against_a_hand_computed_confusion_matrix() -> None:
    # truth:      mask x6, no_mask x4 ; predictions: 5 of 6 masks right, 3 of 4 no_masks right
    labels = torch.tensor([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    predictions = torch.tensor([0, 0, 0, 0, 0, 1, 1, 1, 1, 0])
    metrics = BinaryMetrics.from_predictions(labels, predictions)
    assert metrics.confusion_matrix() == [[5, 1], [1, 3]]
    assert metrics.accuracy == pytest.approx(0.8)
    assert metrics.precision == pytest.approx(3 / 4)
    assert metrics.recall == pytest.approx(3 / 4)
    assert metrics.f1 == pytest.approx(0.75)
    assert metrics.balanced_accuracy == pytest.approx((3 / 4 + 5 / 6) / 2)


def test_average_precision_by_hand() -> None:
    # 3 faces; ranked hits: TP, FP, TP  -> precision envelope 1.0 @ r=1/3, 2/3 @ r=2/3, recall stops there
    assert average_precision([0.9, 0.8, 0.7], [True, False, True], 3) == pytest.approx(1 / 3 + (1 / 3) * (2 / 3))


def test_detector_metrics_ignore_tiny_faces_and_split_by_mask() -> None:
    faces = (FaceBox(0, 0, 20, 20, "with_mask"), FaceBox(50, 0, 90, 40, "without_mask"),
             FaceBox(100, 0, 105, 5, "with_mask"))  # the last is 5 px wide: ignored
    photo = ScenePhoto(None, 200, 100, faces)  # type: ignore[arg-type]
    boxes = np.array([[0, 0, 20, 20], [100, 0, 105, 5], [150, 50, 170, 70]], np.float32)
    scores = np.array([0.9, 0.8, 0.6], np.float32)
    metrics = evaluate_detections([(photo, boxes, scores)], threshold=0.5, min_width=10)
    assert metrics["faces"] == 2
    assert metrics["precision"] == pytest.approx(1 / 2)  # the box on the ignored face is not a false alarm
    assert metrics["recall"] == pytest.approx(1 / 2)
    assert (metrics["true_positives"], metrics["detections"]) == (1, 2)
    assert metrics["masked"] == {"faces": 1, "found": 1, "recall": 1.0}
    assert metrics["unmasked"] == {"faces": 1, "found": 0, "recall": 0.0}
    assert metrics["recall_by_width"]["16-32"] == {"faces": 1, "found": 1, "recall": 1.0}
    assert metrics["recall_by_width"]["32-64"] == {"faces": 1, "found": 0, "recall": 0.0}


def test_a_prediction_on_an_unlabelled_face_is_neither_hit_nor_false_alarm() -> None:
    photo = ScenePhoto(Path("a.jpg"), 200, 100, (FaceBox(0, 0, 20, 20, "without_mask"),))
    boxes = np.array([[0, 0, 20, 20], [98, 12, 128, 44], [150, 50, 170, 70]], np.float32)
    scores = np.array([0.9, 0.8, 0.6], np.float32)
    plain = evaluate_detections([(photo, boxes, scores)], threshold=0.5)
    teacher = [(photo, np.array([[100, 10, 130, 40]], np.float32), np.array([0.7], np.float32))]
    marked = mark_unlabelled_faces([(photo, boxes, scores)], teacher, threshold=0.5)
    ignoring = evaluate_detections(marked, threshold=0.5)
    assert (plain["true_positives"], plain["detections"]) == (1, 3)
    assert (ignoring["true_positives"], ignoring["detections"]) == (1, 2)  # the box at (150, 50) stays false
    assert ignoring["faces"] == plain["faces"] == 1 and ignoring["unlabelled_faces"] == 1
    assert ignoring["ap50"] == pytest.approx(1.0) and plain["ap50"] == pytest.approx(1.0)


def test_teacher_predictions_must_be_for_the_same_photos() -> None:
    photo = ScenePhoto(Path("a.jpg"), 200, 100, ())
    other = ScenePhoto(Path("b.jpg"), 200, 100, ())
    empty = np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
    with pytest.raises(ValueError, match="another photo"):
        mark_unlabelled_faces([(photo, *empty)], [(other, *empty)], threshold=0.5)


def test_pooled_metrics_add_counts_not_rates() -> None:
    assert BinaryMetrics(1, 2, 3, 4, loss=0.1) + BinaryMetrics(10, 0, 1, 5) == BinaryMetrics(11, 2, 4, 9)
