"""The OpenVINO detector backend: the same faces as PyTorch, converted once, no telemetry."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from maskscan.classifiers import openvino_detector, openvino_runtime
from maskscan.classifiers.openvino_runtime import openvino_available
from maskscan.classifiers.face_detector import YoloFaceDetector
from maskscan.classifiers.shipped import DETECTOR_IMGSZ, SHIPPED_DETECTOR
from tests.conftest import shared_path

if not openvino_available():
    pytest.skip("openvino is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return np.array(Image.open(shared_path("mask-scenes", "images", "maksssksksss0.jpg")).convert("RGB"))


def by_x(boxes: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(boxes[:, 0])
    return boxes[order], scores[order]


def test_openvino_finds_the_faces_pytorch_finds_at_any_frame_shape(photo: np.ndarray) -> None:
    pytorch = YoloFaceDetector(SHIPPED_DETECTOR, DETECTOR_IMGSZ, confidence=0.2)
    openvino = YoloFaceDetector(SHIPPED_DETECTOR, DETECTOR_IMGSZ, confidence=0.2, backend="openvino")
    portrait = np.ascontiguousarray(photo[:, : photo.shape[0] * 3 // 4])
    for image in (photo, portrait):  # landscape and portrait: different network input sizes
        expected_boxes, expected_scores = by_x(*pytorch.detect_image(image))
        boxes, scores = by_x(*openvino.detect_image(image))
        assert len(expected_boxes) >= 1
        np.testing.assert_allclose(boxes, expected_boxes, atol=0.5)
        np.testing.assert_allclose(scores, expected_scores, atol=1e-3)
    frames = torch.from_numpy(np.stack([photo, photo[::-1].copy()])).permute(0, 3, 1, 2)
    assert [len(b) for b, _ in openvino.detect(frames)] == [len(b) for b, _ in pytorch.detect(frames)]


def test_the_conversion_is_cached_and_reused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MASKSCAN_CACHE", str(tmp_path))
    YoloFaceDetector(SHIPPED_DETECTOR, DETECTOR_IMGSZ, confidence=0.35, backend="openvino")
    assert len(list(tmp_path.glob("openvino/*/face_yolo11n-*.xml"))) == 1

    def no_second_conversion(*_: object) -> None:
        raise AssertionError("converted again")

    monkeypatch.setattr(openvino_detector, "convert", no_second_conversion)
    YoloFaceDetector(SHIPPED_DETECTOR, DETECTOR_IMGSZ, confidence=0.35, backend="openvino")


def test_the_converter_sends_no_telemetry() -> None:
    openvino_runtime.import_openvino()
    from openvino.tools.ovc import convert_impl, telemetry_utils, utils

    for module in (convert_impl, telemetry_utils, utils):
        assert module.tm.__name__.endswith("telemetry_stub"), module.__name__


@pytest.mark.parametrize(("device", "dtype"), [("cpu", torch.bfloat16), ("meta", torch.float32)])
def test_openvino_is_refused_off_the_cpu_or_below_float32(device: str, dtype: torch.dtype) -> None:
    with pytest.raises(ValueError, match="CPU in float32"):
        YoloFaceDetector(SHIPPED_DETECTOR, DETECTOR_IMGSZ, 0.35, device=device, dtype=dtype, backend="openvino")


def test_weights_openvino_cannot_convert_fall_back_to_pytorch(monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    from maskscan.pipeline.loading import Precision, load_pipeline

    def unconvertible(*_: object) -> None:
        raise RuntimeError("unsupported operation")

    monkeypatch.setattr(openvino_runtime, "OpenVinoNetwork", unconvertible)
    pipeline = load_pipeline(torch.device("cpu"), SHIPPED_DETECTOR, "resnet50", 0.35, 0.75,
                             precision=Precision(torch.float32, torch.float32))
    assert pipeline.detector.backend == "torch"
    assert "running it in PyTorch" in caplog.text
    with pytest.raises(RuntimeError, match="unsupported operation"):  # asked for by name: no silent fallback
        load_pipeline(torch.device("cpu"), SHIPPED_DETECTOR, "resnet50", 0.35, 0.75,
                      precision=Precision(torch.float32, torch.float32), backend="openvino")
