"""Calibrating the int8 detector with NNCF (offline; `pip install nncf`), recorded as an `Int8Ranges`
file (`maskscan.classifiers.training.nncf_ranges`).

NNCF's post-training quantisation runs the float32 OpenVINO network on calibration photos, places
FakeQuantize operations with ranges from what it saw, and corrects biases for the shift that
quantisation adds (MAFA validation recall against float32: -1.4 points without the correction, -0.7
with it and 600 photos).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from maskscan.classifiers.datasets.voc import ScenePhoto, load_scenes
from maskscan.classifiers.evaluation.detector import evaluate_detections
from maskscan.classifiers.face_detector import YoloFaceDetector
from maskscan.classifiers.int8_ranges import Int8Ranges
from maskscan.classifiers.openvino_detector import convert
from maskscan.classifiers.openvino_runtime import compile_on_cpu
from maskscan.classifiers.signal_stack import keep_own_signal_stack
from maskscan.classifiers.training.nncf_ranges import import_nncf, record_ranges, recordable_parameters


def calibration_photos(voc_roots: Sequence[Path], count: int, seed: int = 0) -> list[Path]:
    """`count` photos drawn (seeded) from the training splits of the VOC sets, never validation or test."""
    photos = [photo.image_path for root in voc_roots for photo in load_scenes(root, "train")]
    if not photos:
        raise ValueError("the sets have no training photos to calibrate on")
    return sorted(random.Random(seed).sample(photos, min(count, len(photos))))


@dataclass(frozen=True)
class NetworkInput:
    """A photo as the detector's network sees it (letterboxed, 0..1, NCHW float32), and how to map
    boxes back onto it."""

    pixels: np.ndarray
    scale: float
    offset: tuple[int, int]
    size: tuple[int, int]


def letterboxed(detector: YoloFaceDetector, image_path: Path) -> NetworkInput:
    with Image.open(image_path) as image:
        pixels = np.array(image.convert("RGB"))
    batch, scale, offset = detector.letterbox([torch.from_numpy(pixels).permute(2, 0, 1)])
    return NetworkInput(np.ascontiguousarray(batch.float().numpy()), scale, offset, pixels.shape[:2])


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
    quantised = nncf.quantize(
        model, nncf.Dataset(list(inputs)), preset=nncf.QuantizationPreset.MIXED, subset_size=len(inputs),
        ignored_scope=nncf.IgnoredScope(names=head_scope(model)),
        advanced_parameters=recordable_parameters(nncf))
    keep_own_signal_stack()  # NNCF compiled models of its own
    return quantised


@dataclass(frozen=True)
class ValidationPhoto:
    """A validation photo (its unlabelled faces marked) of one set, letterboxed."""

    set_name: str
    photo: ScenePhoto
    network_input: NetworkInput


def accuracy(detector: YoloFaceDetector, run_network: Callable[[np.ndarray], np.ndarray],
             photos: Iterable[ValidationPhoto], min_width: float = 10.0) -> tuple[dict[str, float], list[np.ndarray]]:
    """Precision and recall per set at the detector's confidence (`<set> precision`, `<set> recall`)
    of the network `run_network` stands for, and its raw output on each photo."""
    per_set: dict[str, list] = {}
    outputs = []
    for item in photos:
        output = run_network(item.network_input.pixels)
        outputs.append(output)
        ((boxes, scores),) = detector.boxes_from_network(torch.from_numpy(output), item.network_input.scale,
                                                         item.network_input.offset, item.network_input.size)
        per_set.setdefault(item.set_name, []).append((item.photo, boxes.numpy(), scores.numpy()))
    components = {}
    for set_name, predictions in per_set.items():
        metrics = evaluate_detections(predictions, detector.confidence, min_width)
        components[f"{set_name} precision"] = metrics["precision"]
        components[f"{set_name} recall"] = metrics["recall"]
    return components, outputs


def validation_photos(detector: YoloFaceDetector, voc_roots: Sequence[Path],
                      mark_skipped_faces: Callable[[ScenePhoto], ScenePhoto]) -> list[ValidationPhoto]:
    """The validation splits of the sets, their skipped faces marked (as `evaluate detector
    --ignore-unlabelled` does), letterboxed for the detector."""
    return [ValidationPhoto(Path(root).name, mark_skipped_faces(photo), letterboxed(detector, photo.image_path))
            for root in voc_roots for photo in load_scenes(root, "val")]


def face_scores(output: np.ndarray) -> np.ndarray:
    """The face-score row of the network's raw output (batch, 4 box coordinates + 1 score, anchors)."""
    return np.ascontiguousarray(output[:, 4:])


def worst_drop(reference: dict[str, float], measured: dict[str, float]) -> float:
    """The largest fall of any measured precision or recall below the reference's (0 when none fell)."""
    return max([reference[key] - value for key, value in measured.items()] + [0.0])


def quantise_with_accuracy_control(detector: YoloFaceDetector, inputs: Sequence[np.ndarray],
                                   validation: Sequence[ValidationPhoto], max_drop: float,
                                   ranking_photos: int = 100) -> Any:  # noqa: ANN401 (openvino.Model)
    """Like `quantise_with_nncf`, then NNCF returns the quantised operations that hurt most to float32,
    one group at a time, until no set's precision or recall on `validation` is more than `max_drop`
    below the float32 network's. Groups are ranked by how far their removal brings the network's
    face scores towards float32's on `ranking_photos` of the validation photos: the scores, not the
    box coordinates, because NNCF ranks by normalised squared error and coordinates in pixels would
    drown scores of 0..1, while it is scores crossing the threshold that move precision and recall."""
    nncf = import_nncf()
    model = convert(detector.network, detector.imgsz)
    model.outputs[0].get_tensor().set_names({"predictions"})  # NNCF's ranking collects outputs by name
    float32 = compile_on_cpu(model, {"INFERENCE_PRECISION_HINT": "f32"})
    reference, _ = accuracy(detector, lambda pixels: float32(pixels)[0], validation)

    def validate(compiled: Any, items: Iterable[ValidationPhoto]) -> tuple[float, list[list[np.ndarray]]]:  # noqa: ANN401
        keep_own_signal_stack()  # NNCF compiled `compiled`
        measured, outputs = accuracy(detector, lambda pixels: compiled(pixels)[0], items)
        # 1 for the float32 network itself: NNCF's absolute drop is then the worst drop
        return 1.0 - worst_drop(reference, measured), [[face_scores(output)] for output in outputs]

    quantised = nncf.quantize_with_accuracy_control(
        model, nncf.Dataset(list(inputs)), nncf.Dataset(list(validation), lambda item: item.network_input.pixels),
        validate, max_drop=max_drop, preset=nncf.QuantizationPreset.MIXED, subset_size=len(inputs),
        ignored_scope=nncf.IgnoredScope(names=head_scope(model)),
        advanced_quantization_parameters=recordable_parameters(nncf),
        advanced_accuracy_restorer_parameters=nncf.AdvancedAccuracyRestorerParameters(
            ranking_subset_size=min(ranking_photos, len(validation))))
    keep_own_signal_stack()
    return quantised


def calibrate_int8(detector: YoloFaceDetector, photos: Sequence[Path], description: str,
                   validation: Sequence[ValidationPhoto] = (), max_drop: float | None = None) -> Int8Ranges:
    """Quantise the detector with NNCF on `photos` and record the result; with a `max_drop`, under
    accuracy control on the `validation` photos (see `quantise_with_accuracy_control`)."""
    inputs = [letterboxed(detector, path).pixels for path in photos]
    quantised = (quantise_with_nncf(detector, inputs) if max_drop is None
                 else quantise_with_accuracy_control(detector, inputs, validation, max_drop))
    return record_ranges(quantised, convert(detector.network, detector.imgsz), detector.name, description)
