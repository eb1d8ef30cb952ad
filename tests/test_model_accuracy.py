"""The shipped models must not get worse: their metrics on the shared data, pinned.

Like norfair's accuracy check: the numbers below are what the shipped weights measured when
they were committed (README, "Results"); a change that lowers any of them by more than the
tolerance fails CI. Raise them when better weights ship.
"""

import pytest
import torch

from maskscan.classifiers.classifier_evaluation import evaluate_classifier
from maskscan.classifiers.detector_evaluation import evaluate_detections, predict_photos
from maskscan.classifiers.face_detector import YoloFaceDetector
from maskscan.classifiers.mask_classifier import MaskClassifier
from maskscan.classifiers.scenes import load_scenes
from maskscan.classifiers.shipped import DETECTOR_CONFIDENCE, DETECTOR_IMGSZ, SHIPPED_DETECTOR
from tests.conftest import shared_path

TOLERANCE = 0.005
PINNED = {
    "classifier_scenes_val": {"balanced_accuracy": 0.923, "recall": 0.866, "accuracy": 0.959},
    "classifier_facemask_test": {"f1": 0.989, "accuracy": 0.988},
    "detector_scenes_val": {"ap50": 0.957, "recall": 0.935, "precision": 0.928, "recall_masked": 0.944,
                            "recall_unmasked": 0.891},
}


def assert_not_below(measured: dict, pinned: dict) -> None:
    for key, floor in pinned.items():
        assert measured[key] >= floor - TOLERANCE, f"{key}: {measured[key]:.4f} < pinned {floor:.4f}"


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["float32", "bfloat16"])
def test_classifier_on_scene_validation_crops(dtype: torch.dtype) -> None:
    """bfloat16 too: the pipeline runs the classifier in it on CPUs with AMX."""
    classifier = MaskClassifier.load("resnet50", dtype=dtype)
    metrics = evaluate_classifier(classifier, shared_path("mask-scenes"), "val").as_dict()
    assert metrics["n"] == 417
    assert_not_below(metrics, PINNED["classifier_scenes_val"])


def test_classifier_on_facemask12k_test() -> None:
    classifier = MaskClassifier.load("resnet50")
    metrics = evaluate_classifier(classifier, shared_path("facemask12k", "Test")).as_dict()
    assert metrics["n"] == 992
    assert_not_below(metrics, PINNED["classifier_facemask_test"])


def test_detector_on_scene_validation_photos() -> None:
    photos = load_scenes(shared_path("mask-scenes"), "val")
    detector = YoloFaceDetector(SHIPPED_DETECTOR, DETECTOR_IMGSZ, confidence=0.001)

    metrics = evaluate_detections(predict_photos(photos, detector.detect_image), DETECTOR_CONFIDENCE, min_width=10)
    assert metrics["faces"] == 400
    metrics.update(recall_masked=metrics["masked"]["recall"], recall_unmasked=metrics["unmasked"]["recall"])
    assert_not_below(metrics, PINNED["detector_scenes_val"])
