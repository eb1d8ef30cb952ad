"""Calibrating the int8 detector: what NNCF builds, maskscan rebuilds from the recorded ranges alone."""

from pathlib import Path

import numpy as np
import pytest
import torch

from maskscan.classifiers.face_detector import YoloFaceDetector
from maskscan.classifiers.int8_ranges import Int8Ranges, apply_int8_ranges
from maskscan.classifiers.openvino_detector import convert
from maskscan.classifiers.openvino_runtime import compile_on_cpu
from maskscan.classifiers.shipped import DETECTOR_IMGSZ, SHIPPED_DETECTOR
from tests.classifiers.datasets.test_voc import write_voc

pytest.importorskip("nncf", reason="calibration needs NNCF (the `train` extra)")

from maskscan.classifiers.training.int8_calibration import (  # noqa: E402
    ValidationPhoto, calibration_photos, face_scores, letterboxed, quantise_with_accuracy_control, quantise_with_nncf,
    worst_drop)
from maskscan.classifiers.training.nncf_ranges import record_ranges  # noqa: E402


@pytest.fixture(scope="module")
def detector() -> YoloFaceDetector:
    return YoloFaceDetector(SHIPPED_DETECTOR, DETECTOR_IMGSZ, confidence=0.45)


@pytest.fixture(scope="module")
def inputs() -> list[np.ndarray]:
    generator = np.random.default_rng(0)
    return [generator.random((1, 3, 288, 512), dtype=np.float32) for _ in range(3)]


@pytest.fixture(scope="module")
def nncf_model(detector: YoloFaceDetector, inputs: list[np.ndarray]):  # noqa: ANN201 (openvino.Model)
    return quantise_with_nncf(detector, inputs)


def compiled(model):  # noqa: ANN001, ANN201
    return compile_on_cpu(model, {"INFERENCE_PRECISION_HINT": "f32"})


def test_the_recorded_ranges_rebuild_nncf_s_network_exactly(detector: YoloFaceDetector, inputs: list[np.ndarray],
                                                            nncf_model, tmp_path: Path) -> None:  # noqa: ANN001
    recorded = record_ranges(nncf_model, convert(detector.network, detector.imgsz), detector.name, "3 noise images")
    assert sum(q.on_weight for q in recorded.quantisers) > 50  # the convolutions' weights
    assert sum(not q.on_weight for q in recorded.quantisers) > 50  # their inputs
    assert len(recorded.corrected) > 50  # the convolutions' biases
    recorded.save(tmp_path / "ranges.safetensors")
    loaded = Int8Ranges.load(tmp_path / "ranges.safetensors")
    assert (loaded.weights, loaded.calibration, loaded.digest) == (detector.name, "3 noise images", recorded.digest)
    assert not loaded.by_default  # auto takes ranges only once their accuracy is established

    rebuilt = apply_int8_ranges(convert(detector.network, detector.imgsz), loaded)
    float32 = compiled(convert(detector.network, detector.imgsz))
    for batch in inputs:
        expected = compiled(nncf_model)(batch)[0]
        np.testing.assert_array_equal(compiled(rebuilt)(batch)[0], expected)
        assert np.abs(float32(batch)[0] - expected).max() > 0  # it is quantised, not the float network


def test_calibration_photos_come_from_training_splits_only(tmp_path: Path) -> None:
    from maskscan.classifiers.datasets.voc import load_scenes

    for index in range(40):
        write_voc(tmp_path, f"photo{index}")

    held_out = {p.image_path for split in ("val", "test") for p in load_scenes(tmp_path, split)}
    chosen = calibration_photos([tmp_path], 100)
    assert chosen and not set(chosen) & held_out
    assert calibration_photos([tmp_path], 5, seed=1) == calibration_photos([tmp_path], 5, seed=1)
    assert len(calibration_photos([tmp_path], 5)) == 5


def test_the_cached_int8_network_is_reused(detector: YoloFaceDetector, nncf_model,  # noqa: ANN001
                                           monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from maskscan.classifiers import openvino_detector

    monkeypatch.setenv("MASKSCAN_CACHE", str(tmp_path))
    ranges = record_ranges(nncf_model, convert(detector.network, detector.imgsz), detector.name, "")
    first = YoloFaceDetector(SHIPPED_DETECTOR, DETECTOR_IMGSZ, 0.45, backend="openvino", int8=ranges)
    assert first.precision == "int8"
    assert len(list(tmp_path.glob(f"openvino/*/*+int8-{ranges.digest}.xml"))) == 1

    def no_second_conversion(*_: object) -> None:
        raise AssertionError("converted again")

    monkeypatch.setattr(openvino_detector, "convert", no_second_conversion)
    again = YoloFaceDetector(SHIPPED_DETECTOR, DETECTOR_IMGSZ, 0.45, backend="openvino", int8=ranges)
    frame = torch.zeros((1, 3, 288, 512), dtype=torch.uint8)
    assert len(again.detect(frame)) == 1


def test_accuracy_control_ranks_by_the_scores_that_detection_reports(detector: YoloFaceDetector) -> None:
    from maskscan.classifiers.datasets.voc import load_scenes
    from tests.conftest import shared_path

    photo = load_scenes(shared_path("mafa-masked"), "val")[0]
    network_input = letterboxed(detector, photo.image_path)
    output = compiled(convert(detector.network, detector.imgsz))(network_input.pixels)[0]
    ((_, scores),) = detector.boxes_from_network(torch.from_numpy(output), network_input.scale,
                                                 network_input.offset, network_input.size)
    ranked = face_scores(output)
    assert ranked.shape == (1, 1, output.shape[2])
    assert len(scores) >= 1 and float(ranked.max()) == pytest.approx(float(scores.max()))


def test_the_worst_drop_is_the_largest_fall_of_any_precision_or_recall() -> None:
    reference = {"a precision": 0.95, "a recall": 0.90, "b precision": 0.80, "b recall": 0.50}
    assert worst_drop(reference, reference) == 0.0
    assert worst_drop(reference, {"a precision": 0.96, "a recall": 0.89, "b precision": 0.78, "b recall": 0.6}) \
        == pytest.approx(0.02)
    assert worst_drop(reference, {"a precision": 0.99}) == 0.0  # a rise is no drop


def test_accuracy_control_returns_operations_to_float32_and_the_ranges_still_rebuild_exactly(
        detector: YoloFaceDetector, inputs: list[np.ndarray], nncf_model) -> None:  # noqa: ANN001
    from maskscan.classifiers.datasets.voc import load_scenes
    from tests.conftest import shared_path

    photos = load_scenes(shared_path("mafa-masked"), "val")[:4]
    validation = [ValidationPhoto("mafa-masked", photo, letterboxed(detector, photo.image_path)) for photo in photos]
    controlled = quantise_with_accuracy_control(detector, inputs, validation, max_drop=1e-9, ranking_photos=4)
    original = convert(detector.network, detector.imgsz)
    plain = record_ranges(nncf_model, original, detector.name, "")
    recorded = record_ranges(controlled, original, detector.name, "")
    # noise calibration: quantised, the photos' precision or recall falls, so groups go back to float32
    assert 0 < len(recorded.quantisers) < len(plain.quantisers)
    rebuilt = compiled(apply_int8_ranges(convert(detector.network, detector.imgsz), recorded))
    for item in validation:
        np.testing.assert_array_equal(rebuilt(item.network_input.pixels)[0],
                                      compiled(controlled)(item.network_input.pixels)[0])
