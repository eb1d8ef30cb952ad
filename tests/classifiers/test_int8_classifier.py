"""When the pipeline runs the mask classifier in int8, and what it refuses (no NNCF needed)."""

import logging
import shutil
from pathlib import Path

import pytest
import torch

from maskscan.classifiers.int8_ranges import Int8Ranges, Int8RangesError
from maskscan.classifiers.mask_classifier import MaskClassifier
from maskscan.classifiers.openvino_runtime import openvino_available
from maskscan.classifiers.shipped import (DEFAULT_CLASSIFIER, SHIPPED_DETECTOR, classifier_weights, int8_ranges_path,
                                          weights_id)
from maskscan.pipeline import loading

if not openvino_available():
    pytest.skip("openvino is not installed", allow_module_level=True)

CPU = torch.device("cpu")
SHIPPED_WEIGHTS = classifier_weights(DEFAULT_CLASSIFIER)


def shipped_ranges() -> Int8Ranges:
    return Int8Ranges.load(int8_ranges_path(SHIPPED_WEIGHTS))


@pytest.mark.parametrize("units, expected", [("AVX512_VNNI", "int8"), ("AMX", "int8"), (None, "not int8")])
def test_auto_runs_the_shipped_int8_classifier_on_cpus_with_int8_instructions(
        monkeypatch: pytest.MonkeyPatch, units: str | None, expected: str) -> None:
    assert shipped_ranges().by_default  # its accuracy held on the test sets (README, Performance)
    monkeypatch.setattr(loading, "cpu_int8_units", lambda: units)
    pipeline = loading.load_pipeline(CPU, SHIPPED_DETECTOR, DEFAULT_CLASSIFIER, 0.45, cpu_precision="auto")
    assert (pipeline.classifier.precision == "int8") == (expected == "int8")
    assert pipeline.detector.precision == "float32"  # the detector's ranges are opt-in


def test_fp32_or_pytorch_keeps_the_classifier_out_of_int8(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loading, "cpu_int8_units", lambda: "AMX")
    for options in ({"cpu_precision": "fp32"}, {"backend": "torch"}):
        pipeline = loading.load_pipeline(CPU, SHIPPED_DETECTOR, DEFAULT_CLASSIFIER, 0.45, **options)  # type: ignore[arg-type]
        assert pipeline.classifier.precision != "int8"


def test_int8_for_a_classifier_without_ranges_names_the_missing_file(tmp_path: Path) -> None:
    weights = Path(shutil.copy(SHIPPED_WEIGHTS, tmp_path / "own.safetensors"))
    with pytest.raises(ValueError, match=r"own\.int8\.safetensors: no int8 ranges for this classifier"):
        loading.load_pipeline(CPU, SHIPPED_DETECTOR, str(weights), 0.45, cpu_precision="int8")


def test_ranges_of_other_weights_are_refused_or_skipped_with_a_warning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(loading, "cpu_int8_units", lambda: "AMX")
    with pytest.raises(Int8RangesError, match="calibrated for"):
        MaskClassifier.load(SHIPPED_WEIGHTS, int8=Int8Ranges("mask_resnet50:000000000000", "test", (), (), ""))
    weights = Path(shutil.copy(SHIPPED_WEIGHTS, tmp_path / "own.safetensors"))  # its id names the file too
    shutil.copy(int8_ranges_path(SHIPPED_WEIGHTS), int8_ranges_path(weights))
    with caplog.at_level(logging.WARNING):
        assert loading.int8_ranges(CPU, "auto", weights, "classifier") is None
    assert f"calibrated for {weights_id(SHIPPED_WEIGHTS)}, not {weights_id(weights)}" in caplog.text
    assert "running the classifier without them" in caplog.text
    with pytest.raises(ValueError, match="calibrated for"):
        loading.int8_ranges(CPU, "int8", weights, "classifier")


def test_the_int8_classifier_runs_only_from_float32_on_the_cpu() -> None:
    with pytest.raises(ValueError, match="CPU, from float32"):
        MaskClassifier.load(SHIPPED_WEIGHTS, dtype=torch.bfloat16, int8=shipped_ranges())
