"""Choosing int8 ranges and refusing ranges that do not belong to the weights (no NNCF needed)."""

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from maskscan.classifiers.face_detector import YoloFaceDetector
from maskscan.classifiers.int8_ranges import Int8Ranges, Int8RangesError, Quantiser
from maskscan.classifiers.openvino_runtime import openvino_available
from maskscan.classifiers.shipped import (DEFAULT_CLASSIFIER, DETECTOR_IMGSZ, SHIPPED_DETECTOR, classifier_weights,
                                          int8_ranges_path, weights_id)
from maskscan.pipeline import loading
from maskscan.pipeline.loading import int8_ranges

if not openvino_available():
    pytest.skip("openvino is not installed", allow_module_level=True)

CPU = torch.device("cpu")


def input_only_ranges(detector: str, operation: str = "x.1", by_default: bool = True) -> Int8Ranges:
    """Ranges with one quantiser, on the network's input (named `x.1` by the converter)."""
    bounds = tuple(np.array(v, dtype=np.float32) for v in (0.0, 1.0, 0.0, 1.0))
    return Int8Ranges(detector, "test", (Quantiser(operation, 0, False, 256, bounds),), (), "by hand",  # type: ignore[arg-type]
                      by_default)


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    """The shipped detector under another name, with no int8 ranges beside it."""
    return Path(shutil.copy(SHIPPED_DETECTOR, tmp_path / "detector.pt"))


@pytest.fixture
def int8_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loading, "cpu_int8_units", lambda: "AMX")


def test_fp32_and_auto_without_ranges_run_float32(weights: Path, int8_cpu: None) -> None:
    assert int8_ranges(CPU, "fp32", weights) is None
    assert int8_ranges(CPU, "auto", weights) is None


def test_int8_without_ranges_or_off_the_cpu_is_refused_by_name(weights: Path) -> None:
    with pytest.raises(ValueError, match=r"detector\.int8\.safetensors: no int8 ranges"):
        int8_ranges(CPU, "int8", weights)
    input_only_ranges(weights_id(weights)).save(int8_ranges_path(weights))
    with pytest.raises(ValueError, match="CPU only"):
        int8_ranges(torch.device("cuda"), "int8", weights)
    assert int8_ranges(torch.device("cuda"), "auto", weights) is None


def test_auto_takes_ranges_only_on_cpus_with_int8_instructions(weights: Path, monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    input_only_ranges(weights_id(weights)).save(int8_ranges_path(weights))
    monkeypatch.setattr(loading, "cpu_int8_units", lambda: None)
    assert int8_ranges(CPU, "auto", weights) is None
    with caplog.at_level(logging.WARNING):
        assert int8_ranges(CPU, "int8", weights) is not None  # asked for: runs anyway, with a warning
    assert "int8 detector on a CPU without VNNI or AMX" in caplog.text
    monkeypatch.setattr(loading, "cpu_int8_units", lambda: "AVX512_VNNI")
    assert int8_ranges(CPU, "auto", weights).weights == weights_id(weights)  # type: ignore[union-attr]


def test_auto_leaves_ranges_not_marked_for_default_use_alone(weights: Path, int8_cpu: None) -> None:
    input_only_ranges(weights_id(weights), by_default=False).save(int8_ranges_path(weights))
    assert Int8Ranges.load(int8_ranges_path(weights)).by_default is False
    assert int8_ranges(CPU, "auto", weights) is None
    assert int8_ranges(CPU, "int8", weights) is not None


def test_ranges_of_other_weights_are_refused(weights: Path, int8_cpu: None, caplog: pytest.LogCaptureFixture) -> None:
    input_only_ranges("face_yolo11n:000000000000").save(int8_ranges_path(weights))
    with pytest.raises(ValueError, match="calibrated for face_yolo11n:000000000000"):
        int8_ranges(CPU, "int8", weights)
    with caplog.at_level(logging.WARNING):
        assert int8_ranges(CPU, "auto", weights) is None
    assert "running the detector without them" in caplog.text
    with pytest.raises(Int8RangesError):
        YoloFaceDetector(weights, DETECTOR_IMGSZ, 0.45, backend="openvino",
                         int8=input_only_ranges("face_yolo11n:000000000000"))


def test_a_file_that_is_not_ranges_is_one_clear_error(weights: Path) -> None:
    shutil.copy(classifier_weights(DEFAULT_CLASSIFIER), int8_ranges_path(weights))
    with pytest.raises(ValueError, match="not a maskscan int8 ranges file"):
        int8_ranges(CPU, "int8", weights)


def test_ranges_that_do_not_fit_the_network_fall_back_to_float32_under_auto(
        weights: Path, int8_cpu: None, caplog: pytest.LogCaptureFixture) -> None:
    input_only_ranges(weights_id(weights), operation="no/such/Operation").save(int8_ranges_path(weights))
    with caplog.at_level(logging.WARNING):
        pipeline = loading.load_pipeline(CPU, weights, "resnet50", 0.45)
    assert pipeline.detector.precision == "float32"
    assert "no/such/Operation" in caplog.text
    with pytest.raises(Int8RangesError, match="lacks"):
        loading.load_pipeline(CPU, weights, "resnet50", 0.45, cpu_precision="int8")


def test_ranges_that_fit_are_applied(weights: Path) -> None:
    """A quantiser on the input rounds it to 256 levels: outputs move, but only a little."""
    batch = torch.rand((2, 3, 288, 512), generator=torch.Generator().manual_seed(0))
    quantised = YoloFaceDetector(weights, DETECTOR_IMGSZ, 0.001, backend="openvino",
                                 int8=input_only_ranges(weights_id(weights)))
    plain = YoloFaceDetector(weights, DETECTOR_IMGSZ, 0.001, backend="openvino")
    assert quantised.precision == "int8" and plain.precision == "float32"
    moved, expected = quantised.openvino(batch), plain.openvino(batch)  # type: ignore[misc]
    assert not torch.equal(moved, expected)
    torch.testing.assert_close(moved[:, 4], expected[:, 4], atol=0.02, rtol=0)  # face scores
