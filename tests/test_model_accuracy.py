"""The shipped models must not get worse: their metrics on the shared data, pinned.

Like norfair's accuracy check: the numbers below are what the shipped weights measured when
they were committed (README, "Results"); a change that lowers any of them by more than the
tolerance fails CI. Raise them when better weights ship. The `*_held_out` numbers are those of
the threshold-selection rule by 5-fold cross-validation over the validation photos, the honest
estimate of the shipped operating points (`maskscan evaluate ... --choose-threshold`). The
detector is measured on the validation and test splits of all three face sets, with the faces
nobody boxed ignored (`maskscan evaluate detector --ignore-unlabelled`); reading a test split
here reports it, and nothing is ever chosen on it.
"""

import functools
from collections.abc import Callable

import pytest
import torch

from maskscan.classifiers.evaluation.classifier import (ScoredCrops, cross_validate_classifier_threshold,
                                                        evaluate_classifier, score_crops)
from maskscan.classifiers.evaluation.detector import (cross_validate_detector_threshold, evaluate_detections,
                                                      mark_unlabelled_faces, predict_photos)
from maskscan.classifiers.face_detector import YoloFaceDetector
from maskscan.classifiers.mask_classifier import MaskClassifier
from maskscan.classifiers.datasets.voc import load_scenes
from maskscan.classifiers.evaluation.operating_point import DEFAULT_FOLDS
from maskscan.classifiers.shipped import (DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE, DETECTOR_IMGSZ,
                                          DETECTOR_MIN_PRECISION, SHIPPED_DETECTOR, mask_threshold_for)
from maskscan.classifiers.small_face_pass import join_photo_predictions, with_small_face_pass
from tests.conftest import needs_int8_units, shared_path

TOLERANCE = 0.005
PINNED = {
    "classifier_scenes_val": {"balanced_accuracy": 0.954, "recall": 0.946, "accuracy": 0.959},
    # a no_mask face at P(mask) 0.74 crosses the threshold in bfloat16 (measured on AVX512_BF16)
    "classifier_scenes_val_bfloat16": {"balanced_accuracy": 0.947, "recall": 0.933, "accuracy": 0.956},
    # the shipped int8 ranges (used by default on CPUs with VNNI or AMX; see mask_resnet50.int8.md)
    "classifier_scenes_val_int8": {"balanced_accuracy": 0.954, "recall": 0.946, "accuracy": 0.959},
    "classifier_scenes_held_out": {"balanced_accuracy": 0.954, "recall": 0.946},
    "classifier_facemask_test": {"f1": 0.986, "accuracy": 0.985},
    # the bias toward compliance on bare faces of sets it never trained on: recall is the share of
    # unmasked faces caught (MAFA: 113 of 144; crowds: all but 216 of 1,829 faces of 10 px or more)
    "classifier_mafa-masked_val": {"balanced_accuracy": 0.834, "recall": 0.784},
    "classifier_wider-crowds_val": {"recall": 0.881},
    # the same in int8, as `--precision auto` runs it on CPUs with VNNI or AMX (MAFA: 117 of 144; crowds: 209)
    "classifier_mafa-masked_val_int8": {"balanced_accuracy": 0.846, "recall": 0.812},
    "classifier_wider-crowds_val_int8": {"recall": 0.885},
    # `evaluate detector --ignore-unlabelled` on each face set at the shipped threshold
    "detector_mask-scenes_val": {"ap50": 0.959, "precision": 0.953, "recall": 0.922, "recall_masked": 0.929,
                                 "recall_unmasked": 0.891, "recall_64px": 1.0},
    "detector_wider-crowds_val": {"ap50": 0.621, "precision": 0.833, "recall": 0.499, "recall_64px": 0.937},
    "detector_mafa-masked_val": {"ap50": 0.96, "precision": 0.954, "recall": 0.934, "recall_masked": 0.968,
                                 "recall_unmasked": 0.866, "recall_64px": 0.963},
    "detector_mask-scenes_test": {"ap50": 0.966, "precision": 0.956, "recall": 0.94, "recall_masked": 0.958,
                                  "recall_unmasked": 0.873, "recall_64px": 0.981},
    "detector_wider-crowds_test": {"ap50": 0.623, "precision": 0.809, "recall": 0.546, "recall_64px": 0.787},
    "detector_mafa-masked_test": {"ap50": 0.962, "precision": 0.955, "recall": 0.945, "recall_masked": 0.962,
                                  "recall_unmasked": 0.907, "recall_64px": 0.951},
    "detector_scenes_held_out": {"recall": 0.92, "precision": 0.958, "recall_masked": 0.926,
                                 "recall_unmasked": 0.891},
    # the detector with its small-face pass (opt-in, `--small-faces`; docs/detector-history.md), at the same threshold
    "small_faces_mask-scenes_val": {"ap50": 0.96, "precision": 0.932, "recall": 0.927, "recall_masked": 0.932,
                                    "recall_unmasked": 0.905, "recall_64px": 1.0},
    "small_faces_wider-crowds_val": {"ap50": 0.664, "precision": 0.835, "recall": 0.583, "recall_64px": 0.937},
    "small_faces_mafa-masked_val": {"ap50": 0.96, "precision": 0.955, "recall": 0.937, "recall_masked": 0.968,
                                    "recall_unmasked": 0.873, "recall_64px": 0.963},
    "small_faces_mask-scenes_test": {"ap50": 0.968, "precision": 0.937, "recall": 0.948, "recall_masked": 0.964,
                                     "recall_unmasked": 0.885, "recall_64px": 0.981},
    "small_faces_wider-crowds_test": {"ap50": 0.657, "precision": 0.781, "recall": 0.604, "recall_64px": 0.788},
    "small_faces_mafa-masked_test": {"ap50": 0.963, "precision": 0.953, "recall": 0.946, "recall_masked": 0.963,
                                     "recall_unmasked": 0.908, "recall_64px": 0.952},
    # the shipped int8 ranges (opt-in, `--precision int8`; see face_yolo11n.int8.md)
    "detector_int8_scenes_val": {"ap50": 0.963, "precision": 0.948, "recall": 0.925, "recall_masked": 0.935,
                                 "recall_unmasked": 0.878, "recall_64px": 1.0},
}
DETECTOR_FACES = {("mask-scenes", "val"): 400, ("wider-crowds", "val"): 1829, ("mafa-masked", "val"): 427,
                  ("mask-scenes", "test"): 423, ("wider-crowds", "test"): 1456, ("mafa-masked", "test"): 388}
"""Faces at least 10 px wide per set and split."""
MASK_THRESHOLD = mask_threshold_for(DEFAULT_CLASSIFIER)


def assert_not_below(measured: dict, pinned: dict) -> None:
    for key, floor in pinned.items():
        assert measured[key] >= floor - TOLERANCE, f"{key}: {measured[key]:.4f} < pinned {floor:.4f}"


def detector_metrics(metrics: dict) -> dict:
    """The metrics with the recalls of masked and unmasked faces, and of faces at least 64 px wide, at the top."""
    return {**metrics, "recall_masked": metrics["masked"]["recall"], "recall_unmasked": metrics["unmasked"]["recall"],
            "recall_64px": metrics["recall_by_width"][">=64"]["recall"]}


@pytest.fixture(scope="module")
def scored_scene_crops() -> ScoredCrops:
    return score_crops(MaskClassifier.load(DEFAULT_CLASSIFIER), shared_path("mask-scenes"), "val")


def shipped_classifier(precision: str) -> MaskClassifier:
    """The shipped classifier in float32, bfloat16 or int8 (its shipped int8 ranges, through OpenVINO)."""
    if precision != "int8":
        return MaskClassifier.load(DEFAULT_CLASSIFIER, dtype=getattr(torch, precision))
    from maskscan.classifiers.int8_ranges import Int8Ranges
    from maskscan.classifiers.shipped import classifier_weights, int8_ranges_path

    weights = classifier_weights(DEFAULT_CLASSIFIER)
    return MaskClassifier.load(weights, int8=Int8Ranges.load(int8_ranges_path(weights)))


@pytest.mark.parametrize(("precision", "pinned"), [("float32", "classifier_scenes_val"),
                                                   ("bfloat16", "classifier_scenes_val_bfloat16"),
                                                   pytest.param("int8", "classifier_scenes_val_int8",
                                                                marks=needs_int8_units)])
def test_classifier_on_scene_validation_crops(precision: str, pinned: str) -> None:
    """bfloat16 and int8 too: the pipeline runs the classifier in one of them on CPUs with AMX,
    AVX512_BF16 or VNNI."""
    metrics = evaluate_classifier(shipped_classifier(precision), shared_path("mask-scenes"), "val",
                                  threshold=MASK_THRESHOLD).as_dict()
    assert metrics["n"] == 417
    assert_not_below(metrics, PINNED[pinned])


@needs_int8_units
@pytest.mark.parametrize(("data", "split"), [(("mask-scenes",), "test"), (("facemask12k", "Test"), "val")],
                         ids=["mask-scenes-test", "facemask12k-test"])
def test_the_int8_classifier_holds_float32_balanced_accuracy_on_the_test_sets(data: tuple[str, ...],
                                                                               split: str) -> None:
    """The rule that lets `--precision auto` take the int8 classifier: balanced accuracy on the
    test sets within 0.5 points of float32's (mask-scenes test 0.965 against 0.969: two more masked
    faces called unmasked; recall of unmasked faces unchanged)."""
    float32, int8 = (evaluate_classifier(shipped_classifier(precision), shared_path(*data), split,  # type: ignore[arg-type]
                                         threshold=MASK_THRESHOLD) for precision in ("float32", "int8"))
    assert int8.balanced_accuracy >= float32.balanced_accuracy - 0.005
    assert int8.recall >= float32.recall


def test_classifier_threshold_rule_held_out(scored_scene_crops: ScoredCrops) -> None:
    report = cross_validate_classifier_threshold(scored_scene_crops, DEFAULT_FOLDS)
    assert report["chosen_threshold"] == MASK_THRESHOLD, "the shipped threshold is what the rule picks"
    assert_not_below(report["held_out"], PINNED["classifier_scenes_held_out"])


def test_classifier_on_facemask12k_test() -> None:
    classifier = MaskClassifier.load(DEFAULT_CLASSIFIER)
    metrics = evaluate_classifier(classifier, shared_path("facemask12k", "Test"), threshold=MASK_THRESHOLD).as_dict()
    assert metrics["n"] == 992
    assert_not_below(metrics, PINNED["classifier_facemask_test"])


@pytest.mark.parametrize("precision", ["float32", pytest.param("int8", marks=needs_int8_units)])
@pytest.mark.parametrize(("data", "faces"), [("mafa-masked", 429), ("wider-crowds", 1829)])
def test_classifier_on_the_bare_faces_of_other_sets(data: str, faces: int, precision: str) -> None:
    """Every unmasked face called masked is a violation counted as compliance. WIDER FACE's faces
    carry no mask label; its photos predate 2020, so they count as unmasked (faces of 10 px or more)."""
    scored = score_crops(shipped_classifier(precision), shared_path(data), "val",
                         unlabelled_as_no_mask=data == "wider-crowds")
    metrics = scored.metrics(MASK_THRESHOLD).as_dict()
    assert metrics["n"] == faces
    suffix = "_int8" if precision == "int8" else ""
    assert_not_below(metrics, PINNED[f"classifier_{data}_val{suffix}"])


DETECTOR_SETS = ("mask-scenes", "wider-crowds", "mafa-masked")


@pytest.fixture(scope="module")
def teacher_predictions() -> Callable[[str, str], list]:
    """CenterFace's predictions on one split of one face set, computed once: the teacher that
    marks the faces nobody boxed (`evaluate detector --ignore-unlabelled`)."""
    from maskscan.classifiers.evaluation.centerface import CENTERFACE_THRESHOLD, CenterFaceDetector

    teacher = functools.partial(CenterFaceDetector(), threshold=CENTERFACE_THRESHOLD)

    @functools.cache
    def predictions(set_name: str, split: str) -> list:
        return list(predict_photos(load_scenes(shared_path(set_name), split), teacher))  # type: ignore[arg-type]

    return predictions


def marked_predictions(detector: YoloFaceDetector, teacher_predictions: Callable[[str, str], list],
                       set_name: str, split: str) -> list:
    from maskscan.classifiers.evaluation.centerface import CENTERFACE_THRESHOLD

    photos = load_scenes(shared_path(set_name), split)  # type: ignore[arg-type]
    return mark_unlabelled_faces(list(predict_photos(photos, detector.detect_image)),
                                 teacher_predictions(set_name, split), CENTERFACE_THRESHOLD)


@pytest.fixture(scope="module")
def detector_predictions(teacher_predictions: Callable[[str, str], list]) -> Callable[[str, str], list]:
    """The shipped detector's predictions on one split of one face set, unlabelled faces marked."""
    detector = YoloFaceDetector(SHIPPED_DETECTOR, DETECTOR_IMGSZ, confidence=0.001)
    return functools.cache(lambda set_name, split: marked_predictions(detector, teacher_predictions, set_name, split))


@pytest.mark.parametrize("split", ["val", "test"])
@pytest.mark.parametrize("set_name", DETECTOR_SETS)
def test_detector_on_each_face_set(detector_predictions: Callable[[str, str], list], set_name: str,
                                   split: str) -> None:
    """The test splits are read here to report, never to choose (README, Results)."""
    metrics = evaluate_detections(detector_predictions(set_name, split), DETECTOR_CONFIDENCE, min_width=10)
    assert metrics["faces"] == DETECTOR_FACES[set_name, split]
    assert_not_below(detector_metrics(metrics), PINNED[f"detector_{set_name}_{split}"])


def test_detector_targets_on_mask_scenes_validation(detector_predictions: Callable[[str, str], list]) -> None:
    """The project's first detector targets, whatever is pinned."""
    metrics = evaluate_detections(detector_predictions("mask-scenes", "val"), DETECTOR_CONFIDENCE, min_width=10)
    assert metrics["ap50"] >= 0.88 and metrics["recall"] >= 0.85 and metrics["precision"] >= 0.90
    assert abs(metrics["masked"]["recall"] - metrics["unmasked"]["recall"]) <= 0.05


def test_detector_v2_targets_met_on_the_test_splits(detector_predictions: Callable[[str, str], list]) -> None:
    """The detector issue's targets this detector meets. Not met yet, so not asserted: masked and
    unmasked mask-scenes recall each >= 0.90 within 3 points, wider-crowds recall >= 0.85 at
    precision >= 0.90, mafa-masked recall >= 0.95, faces >= 64 px found >= 0.98 on every set."""
    scenes = evaluate_detections(detector_predictions("mask-scenes", "test"), DETECTOR_CONFIDENCE, min_width=10)
    assert scenes["recall"] >= 0.92 and scenes["precision"] >= 0.92
    assert scenes["recall_by_width"][">=64"]["recall"] >= 0.98


def test_detector_threshold_rule_held_out(detector_predictions: Callable[[str, str], list]) -> None:
    report = cross_validate_detector_threshold(detector_predictions("mask-scenes", "val"), DEFAULT_FOLDS,
                                               DETECTOR_MIN_PRECISION, min_width=10)
    assert report["chosen_threshold"] == DETECTOR_CONFIDENCE, "the shipped threshold is what the rule picks"
    assert_not_below(detector_metrics(report["held_out"]), PINNED["detector_scenes_held_out"])


@pytest.fixture(scope="module")
def small_face_predictions(detector_predictions: Callable[[str, str], list]) -> Callable[[str, str], list]:
    """The detector with its small-face pass (`--small-faces`), unlabelled faces marked: the first
    pass's predictions reused, joined by the second pass's as `TwoPassFaceDetector` joins them."""
    second = with_small_face_pass(YoloFaceDetector(SHIPPED_DETECTOR, DETECTOR_IMGSZ, confidence=0.001)).second

    @functools.cache
    def predictions(set_name: str, split: str) -> list:
        first = detector_predictions(set_name, split)
        return join_photo_predictions(first, list(predict_photos([photo for photo, _, _ in first], second.detect_image)),
                                      DETECTOR_IMGSZ)

    return predictions


@pytest.mark.parametrize("split", ["val", "test"])
@pytest.mark.parametrize("set_name", DETECTOR_SETS)
def test_small_face_pass_on_each_face_set(small_face_predictions: Callable[[str, str], list], set_name: str,
                                          split: str) -> None:
    metrics = evaluate_detections(small_face_predictions(set_name, split), DETECTOR_CONFIDENCE, min_width=10)
    assert metrics["faces"] == DETECTOR_FACES[set_name, split]
    assert_not_below(detector_metrics(metrics), PINNED[f"small_faces_{set_name}_{split}"])


def test_small_face_pass_keeps_the_rule_that_chose_it(small_face_predictions: Callable[[str, str], list],
                                                      detector_predictions: Callable[[str, str], list]) -> None:
    """On validation, against the detector alone: crowd precision no lower, mask-scenes precision at least
    0.93, mask-scenes and MAFA recall at most half a point lower, no face of 64 px or more lost."""
    def measured(predictions: Callable[[str, str], list], set_name: str) -> dict:
        return detector_metrics(evaluate_detections(predictions(set_name, "val"), DETECTOR_CONFIDENCE, min_width=10))

    both = {name: measured(small_face_predictions, name) for name in DETECTOR_SETS}
    alone = {name: measured(detector_predictions, name) for name in DETECTOR_SETS}
    assert both["wider-crowds"]["precision"] >= alone["wider-crowds"]["precision"]
    assert both["wider-crowds"]["recall"] > alone["wider-crowds"]["recall"]
    assert both["mask-scenes"]["precision"] >= 0.93
    for name in ("mask-scenes", "mafa-masked"):
        assert both[name]["recall"] >= alone[name]["recall"] - 0.005
    for name in DETECTOR_SETS:
        assert both[name]["recall_64px"] >= alone[name]["recall_64px"]


@needs_int8_units
def test_int8_detector_on_scene_validation_photos(teacher_predictions: Callable[[str, str], list]) -> None:
    from maskscan.classifiers.int8_ranges import Int8Ranges
    from maskscan.classifiers.shipped import int8_ranges_path

    detector = YoloFaceDetector(SHIPPED_DETECTOR, DETECTOR_IMGSZ, confidence=0.001, backend="openvino",
                                int8=Int8Ranges.load(int8_ranges_path(SHIPPED_DETECTOR)))
    metrics = evaluate_detections(marked_predictions(detector, teacher_predictions, "mask-scenes", "val"),
                                  DETECTOR_CONFIDENCE, min_width=10)
    assert metrics["faces"] == DETECTOR_FACES["mask-scenes", "val"]
    assert_not_below(detector_metrics(metrics), PINNED["detector_int8_scenes_val"])
