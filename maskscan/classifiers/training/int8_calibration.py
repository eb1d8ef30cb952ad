"""Calibrating the int8 detector with NNCF (offline; `pip install nncf`), recorded as an `Int8Ranges` file.

NNCF's post-training quantisation runs the float32 OpenVINO network on calibration photos, places
FakeQuantize operations with ranges from what it saw, and corrects biases for the shift that
quantisation adds (MAFA validation recall against float32: -1.4 points without the correction, -0.7
with it and 600 photos).
Weights are left as float32 behind their FakeQuantize (not stored as int8 here): `record_ranges`
keeps every quantiser and every changed bias, and `apply_int8_ranges` rebuilds the same network
from the `.pt` at run time; OpenVINO's CPU plugin stores the weights in int8 itself.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

import numpy as np
import torch
from PIL import Image

from maskscan.classifiers.datasets.voc import load_scenes
from maskscan.classifiers.face_detector import YoloFaceDetector
from maskscan.classifiers.int8_detector import CorrectedConstant, Int8Ranges, Quantiser
from maskscan.classifiers.openvino_detector import convert, openvino_release


def import_nncf() -> ModuleType:
    """NNCF with its usage telemetry stubbed out (maskscan opens no connection of its own accord) and
    its per-operation INFO messages off."""
    import nncf
    import nncf.telemetry.decorator
    import nncf.telemetry.wrapper

    nncf.set_log_level(logging.WARNING)
    nncf.telemetry.wrapper.telemetry = mock.MagicMock()
    nncf.telemetry.decorator.telemetry = mock.MagicMock()  # type: ignore[attr-defined]
    return nncf


def calibration_photos(voc_roots: Sequence[Path], count: int, seed: int = 0) -> list[Path]:
    """`count` photos drawn (seeded) from the training splits of the VOC sets, never validation or test."""
    photos = [photo.image_path for root in voc_roots for photo in load_scenes(root, "train")]
    if not photos:
        raise ValueError("the sets have no training photos to calibrate on")
    return sorted(random.Random(seed).sample(photos, min(count, len(photos))))


def network_input(detector: YoloFaceDetector, image_path: Path) -> np.ndarray:
    """A photo as the detector's network sees it (letterboxed, 0..1, NCHW float32)."""
    with Image.open(image_path) as image:
        pixels = np.array(image.convert("RGB"))
    batch, _, _ = detector.letterbox([torch.from_numpy(pixels).permute(2, 0, 1)])
    return np.ascontiguousarray(batch.float().numpy())


def head_scope(model: Any) -> list[str]:  # noqa: ANN401 (openvino.Model)
    """The detection head's box decoding (distribution focal loss, anchors, sigmoid), left in float32:
    ultralytics' own ignored scope for int8 exports."""
    operations = model.get_ordered_ops()
    sigmoids = [op.get_friendly_name() for op in operations if op.get_type_name() == "Sigmoid"]
    head = sigmoids[-1].split("/", 1)[0]
    return [op.get_friendly_name() for op in operations
            if op.get_type_name() == "Sigmoid" or op.get_friendly_name().startswith((f"{head}/", f"{head}.dfl"))]


def quantise_with_nncf(detector: YoloFaceDetector, inputs: Sequence[np.ndarray]) -> Any:  # noqa: ANN401
    """NNCF's int8 version of the detector's OpenVINO network, calibrated on `inputs`."""
    nncf = import_nncf()
    model = convert(detector.network, detector.imgsz)
    return nncf.quantize(
        model, nncf.Dataset(list(inputs)), preset=nncf.QuantizationPreset.MIXED, subset_size=len(inputs),
        ignored_scope=nncf.IgnoredScope(names=head_scope(model)),
        advanced_parameters=nncf.AdvancedQuantizationParameters(backend_params={"compress_weights": False}))


def record_ranges(quantised: Any, original: Any, detector: str, calibration: str) -> Int8Ranges:  # noqa: ANN401
    """Every FakeQuantize NNCF placed in `quantised` (weights left uncompressed) with its ranges, and
    every constant input it changed against the `original` float32 network."""
    quantisers = []
    for operation in quantised.get_ordered_ops():
        if operation.get_type_name() != "FakeQuantize":
            continue
        source = operation.input_value(0)
        bounds = tuple(operation.input_value(i).get_node().get_data().astype(np.float32) for i in range(1, 5))
        levels = int(operation.get_attributes()["levels"])
        if source.get_node().get_type_name() == "Constant":
            readers = list(operation.output(0).get_target_inputs())
            if len(readers) != 1:
                raise ValueError(f"{operation.get_friendly_name()}: a quantised weight read by {len(readers)} operations")
            reader = readers[0]
            quantisers.append(Quantiser(reader.get_node().get_friendly_name(), reader.get_index(), True, levels,
                                        bounds))  # type: ignore[arg-type]
        else:
            quantisers.append(Quantiser(source.get_node().get_friendly_name(), source.get_index(), False, levels,
                                        bounds))  # type: ignore[arg-type]
    return Int8Ranges(detector, openvino_release(), tuple(quantisers),
                      corrected_constants(quantised, original), calibration)


def corrected_constants(quantised: Any, original: Any) -> tuple[CorrectedConstant, ...]:  # noqa: ANN401
    """Constant inputs (biases) of `quantised` that differ from the same operation's in `original`."""
    before = {operation.get_friendly_name(): operation for operation in original.get_ordered_ops()}
    corrected = []
    for operation in quantised.get_ordered_ops():
        counterpart = before.get(operation.get_friendly_name())
        if counterpart is None or operation.get_type_name() == "FakeQuantize":
            continue
        for port in range(operation.get_input_size()):
            node = operation.input_value(port).get_node()
            if node.get_type_name() != "Constant" or port >= counterpart.get_input_size():
                continue
            was = counterpart.input_value(port).get_node()
            if was.get_type_name() != "Constant":
                continue
            values, old = node.get_data(), was.get_data()
            if values.shape != old.shape or not np.array_equal(values, old):
                corrected.append(CorrectedConstant(operation.get_friendly_name(), port, values.astype(np.float32)))
    return tuple(corrected)


def calibrate_int8(detector: YoloFaceDetector, photos: Sequence[Path], description: str) -> Int8Ranges:
    """Quantise the detector with NNCF on `photos` and record the result."""
    quantised = quantise_with_nncf(detector, [network_input(detector, path) for path in photos])
    return record_ranges(quantised, convert(detector.network, detector.imgsz), detector.name, description)
