"""The speed-ups change no result: the pipeline finds the unoptimised path's faces and labels them alike."""

import numpy as np
import pytest
import torch

from maskscan.classifiers.openvino_runtime import openvino_available
from maskscan.classifiers.shipped import DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE, SHIPPED_DETECTOR, mask_threshold_for
from maskscan.detections import FaceDetections
from maskscan.pipeline.decode import VideoSource, batched_frames
from maskscan.pipeline.loading import Precision, load_pipeline
from maskscan.pipeline.media import MediaFile
from maskscan.pipeline.reference import ReferenceLoop
from tests.conftest import needs_int8_units, shared_path

MASK_THRESHOLD = mask_threshold_for(DEFAULT_CLASSIFIER)
PROBABILITY_TOLERANCE = 0.12
BORDERLINE_MARGIN = 0.05
"""Faces whose reference P(mask) is this close to the threshold may take either label."""
SCORE_MARGIN = 0.01
"""Faces whose reference detector score is this close to the confidence threshold may be found or not:
float rounding differs between backends by far less, but it can tip a face sitting on the threshold."""
BOX_TOLERANCE = 3
"""The same face, to a few pixels of 1920."""
INT8_SCORE_MARGIN = 0.07
INT8_BOX_TOLERANCE = 6
INT8_PROBABILITY_TOLERANCE = 0.35
"""The int8 detector moves a face's score by up to about 0.06 and its box by up to 4.6 px of 1920
on this clip (detector v2 with its accuracy-controlled ranges; 11.4 px with the first ones), and
even so small a move changes the P(mask) of an ambiguous face by up to 0.32 (0.36 against 0.67,
both below the 0.75 mask threshold; labels clear of the threshold must still agree); its accuracy
is pinned on the validation split (tests/test_model_accuracy.py)."""
INT8_CLASSIFIER_PROBABILITY_TOLERANCE = 0.2
"""The int8 classifier moves P(mask) by up to 0.16 on this clip: the same ambiguous face, 0.47 against
0.63, below the mask threshold either way; the rest by up to 0.06. Its balanced accuracy is pinned
on the validation crops and held to float32's on the test sets (tests/test_model_accuracy.py)."""


@pytest.fixture(scope="module")
def crowd_batches() -> list[list[np.ndarray]]:
    crowd = MediaFile(shared_path("videos", "facenet-pytorch_examples_video.mp4"), "video")  # 1080p, many faces
    with VideoSource(crowd, sample_fps=2) as source:
        return [[frame.image for frame in batch] for batch in batched_frames(source, batch_size=4)]


def reference_faces(crowd_batches: list[list[np.ndarray]], score_margin: float) -> list[FaceDetections]:
    """The reference loop's faces down to `score_margin` below the threshold (greedy NMS keeps the
    same faces above it: a weaker box never suppresses a stronger one)."""
    reference = ReferenceLoop(SHIPPED_DETECTOR, DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE - score_margin, MASK_THRESHOLD)
    return [reference(image) for batch in crowd_batches for image in batch]


@pytest.fixture(scope="module")
def unoptimised(crowd_batches: list[list[np.ndarray]]) -> list[FaceDetections]:
    return reference_faces(crowd_batches, SCORE_MARGIN)


def match_faces(ours: np.ndarray, theirs: np.ndarray, tolerance: float = BOX_TOLERANCE) -> list[tuple[int, int]]:
    """Pairs (our index, their index) of boxes within `tolerance` pixels on every side, closest first."""
    if not len(ours) or not len(theirs):
        return []
    distance = np.abs(ours[:, None, :] - theirs[None, :, :]).max(axis=2)
    pairs, used_ours, used_theirs = [], set(), set()
    for flat in np.argsort(distance, axis=None):
        i, j = np.unravel_index(flat, distance.shape)
        if distance[i, j] > tolerance:
            break
        if i not in used_ours and j not in used_theirs:
            pairs.append((int(i), int(j)))
            used_ours.add(i)
            used_theirs.add(j)
    return pairs


@pytest.mark.parametrize(("backend", "classifier_dtype"), [
    ("torch", torch.float32), ("openvino", torch.float32), ("openvino", torch.bfloat16)],
    ids=["torch-float32", "openvino-float32", "openvino-bfloat16"])
def test_batched_pipeline_finds_and_labels_the_faces_of_the_reference_loop_on_real_footage(
        crowd_batches: list[list[np.ndarray]], unoptimised: list[FaceDetections], backend: str,
        classifier_dtype: torch.dtype) -> None:
    """OpenVINO runs the detector on CPUs, and bfloat16 the classifier on CPUs with AMX or AVX512_BF16
    (see `load_pipeline`)."""
    if backend == "openvino" and not openvino_available():
        pytest.skip("openvino is not installed")
    pipeline = load_pipeline(torch.device("cpu"), SHIPPED_DETECTOR, DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE,
                             MASK_THRESHOLD, precision=Precision(torch.float32, classifier_dtype), backend=backend,
                             cpu_precision="fp32")
    optimised = [detections for batch in crowd_batches for detections in pipeline(batch)]
    assert_agrees_with_reference(optimised, unoptimised, SCORE_MARGIN)


@needs_int8_units
def test_the_int8_classifier_labels_the_faces_of_the_reference_loop_within_its_tolerance(
        crowd_batches: list[list[np.ndarray]], unoptimised: list[FaceDetections],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """What `--precision auto` runs on CPUs with VNNI or AMX: the float32 detector, the int8 classifier."""
    if not openvino_available():
        pytest.skip("openvino is not installed")
    from maskscan.pipeline import loading

    monkeypatch.setattr(loading, "cpu_int8_units", lambda: "AVX512_VNNI")
    pipeline = load_pipeline(torch.device("cpu"), SHIPPED_DETECTOR, DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE,
                             MASK_THRESHOLD, precision=Precision(torch.float32, torch.float32), cpu_precision="auto")
    assert (pipeline.detector.precision, pipeline.classifier.precision) == ("float32", "int8")
    optimised = [detections for batch in crowd_batches for detections in pipeline(batch)]
    assert_agrees_with_reference(optimised, unoptimised, SCORE_MARGIN,
                                 probability_tolerance=INT8_CLASSIFIER_PROBABILITY_TOLERANCE)


@needs_int8_units
def test_the_int8_models_find_the_faces_of_the_reference_loop_within_their_tolerance(
        crowd_batches: list[list[np.ndarray]]) -> None:
    if not openvino_available():
        pytest.skip("openvino is not installed")
    pipeline = load_pipeline(torch.device("cpu"), SHIPPED_DETECTOR, DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE,
                             MASK_THRESHOLD, precision=Precision(torch.float32, torch.float32),
                             cpu_precision="int8")
    assert (pipeline.detector.precision, pipeline.classifier.precision) == ("int8", "int8")
    optimised = [detections for batch in crowd_batches for detections in pipeline(batch)]
    assert_agrees_with_reference(optimised, reference_faces(crowd_batches, INT8_SCORE_MARGIN), INT8_SCORE_MARGIN,
                                 INT8_BOX_TOLERANCE, INT8_PROBABILITY_TOLERANCE, max_borderline=6)


def assert_agrees_with_reference(optimised: list[FaceDetections], unoptimised: list[FaceDetections],
                                 score_margin: float, box_tolerance: float = BOX_TOLERANCE,
                                 probability_tolerance: float = PROBABILITY_TOLERANCE, max_borderline: int = 2) -> None:
    """The same faces (but for those within `score_margin` of the threshold, where precision
    may tip them either way) with the same P(mask) and labels as the reference loop; the
    reference must have been run down to `score_margin` below the threshold. At most
    `max_borderline` faces may be too close to a threshold to compare."""
    assert len(optimised) == 9 and sum(len(d) for d in optimised) >= 20
    borderline = 0
    for ours, theirs in zip(optimised, unoptimised):
        pairs = match_faces(ours.boxes, theirs.boxes, box_tolerance)
        assert len(pairs) == len(ours), "the pipeline found a face the reference loop did not"
        near_threshold = np.abs(theirs.face_scores - DETECTOR_CONFIDENCE) < score_margin
        found = np.zeros(len(theirs), bool)
        found[[j for _, j in pairs]] = True
        expected = theirs.face_scores >= DETECTOR_CONFIDENCE
        assert (found == expected)[~near_threshold].all(), "a face clear of the threshold was found by one path only"
        borderline += int((found != expected).sum())
        mine, reference = np.array([i for i, _ in pairs], int), np.array([j for _, j in pairs], int)
        # a box a pixel or two off moves the P(mask) of a 30-px face by up to about 0.1
        np.testing.assert_allclose(ours.mask_probs[mine], theirs.mask_probs[reference], atol=probability_tolerance)
        clear = np.abs(theirs.mask_probs[reference] - MASK_THRESHOLD) > BORDERLINE_MARGIN
        assert (ours.masked[mine][clear] == theirs.masked[reference][clear]).all()
        borderline += int((~clear).sum())
    assert borderline <= max_borderline, "too few faces left to compare on"


def test_anonymising_runs_the_detector_lower_but_counts_the_same_faces(crowd_batches: list[list[np.ndarray]]) -> None:
    """With --anonymize the detector runs at the privacy confidence; the faces counted and
    classified are exactly those found at the counting confidence, and more are hidden."""
    from maskscan.classifiers.shipped import PRIVACY_CONFIDENCE

    def load(privacy: float | None):  # noqa: ANN202
        return load_pipeline(torch.device("cpu"), SHIPPED_DETECTOR, DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE,
                             MASK_THRESHOLD, precision=Precision(torch.float32, torch.float32), backend="openvino",
                             privacy_confidence=privacy)

    counting, private = load(None), load(PRIVACY_CONFIDENCE)
    assert private.face_confidence == DETECTOR_CONFIDENCE and private.privacy_confidence == PRIVACY_CONFIDENCE
    hidden = counted = 0
    for batch in crowd_batches[:3]:
        for plain, anonymising in zip(counting(batch), private(batch)):
            assert np.allclose(plain.boxes, anonymising.boxes, atol=1e-3)
            assert np.allclose(plain.mask_probs, anonymising.mask_probs, atol=1e-4)
            counted += len(plain)
            hidden += len(anonymising.privacy_boxes)
    assert hidden > counted > 0
