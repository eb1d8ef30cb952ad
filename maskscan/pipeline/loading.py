"""Building the inference pipeline from the user's choices of device and models."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from maskscan.classifiers.face_detector import YoloFaceDetector
from maskscan.classifiers.int8_ranges import Int8Ranges, Int8RangesError
from maskscan.classifiers.mask_classifier import MaskClassifier
from maskscan.classifiers.openvino_runtime import openvino_available
from maskscan.classifiers.shipped import (DETECTOR_IMGSZ, DETECTOR_IOU, CPU_PRECISIONS, classifier_weights,
                                         int8_ranges_path, mask_threshold_for, weights_id)
from maskscan.classifiers.small_face_pass import with_small_face_pass
from maskscan.pipeline.inference import FaceMaskPipeline

log = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    """`auto` (CUDA when present), `cpu`, `cuda` or `cuda:N`; refuses CUDA that is not there."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"unsupported device {name!r} (auto, cpu, cuda or cuda:N)") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {name!r} requested but no CUDA device is available")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"device {name!r}: only {torch.cuda.device_count()} CUDA device(s)")
    elif device.type != "cpu":
        raise ValueError(f"unsupported device {name!r} (auto, cpu, cuda or cuda:N)")
    return device


@dataclass(frozen=True)
class Precision:
    detector: torch.dtype
    classifier: torch.dtype


def cpu_bfloat16_units() -> str | None:
    """`AMX` (Intel Xeon since Sapphire Rapids) or `AVX512_BF16` (also AMD EPYC since Zen 4) when
    this CPU computes bfloat16 matrices natively, else None."""
    for name, probe in (("AMX", "_is_amx_tile_supported"), ("AVX512_BF16", "_is_avx512_bf16_supported")):
        supported = getattr(torch.cpu, probe, None)  # no public API yet
        if supported is not None and supported():
            return name
    return None


def inference_precision(device: torch.device) -> Precision:
    """float16 for both models on CUDA. On a CPU with native bfloat16 the classifier runs in
    bfloat16 (3.4x the crops per second with AMX, 2.1x with AVX512_BF16; one borderline scene
    validation face of 417 changes label); the detector stays float32 there, as everywhere else
    on a CPU: in bfloat16 it loses faces."""
    if device.type == "cuda":
        return Precision(torch.float16, torch.float16)
    if cpu_bfloat16_units():
        return Precision(torch.float32, torch.bfloat16)
    return Precision(torch.float32, torch.float32)


def detector_backend(device: torch.device, dtype: torch.dtype) -> str:
    """OpenVINO for the float32 detector on a CPU, when installed (faster than PyTorch there); else PyTorch."""
    return "openvino" if device.type == "cpu" and dtype == torch.float32 and openvino_available() else "torch"


def cpu_int8_units() -> str | None:
    """`AMX` or `AVX512_VNNI` when this CPU has int8 dot-product instructions (where int8 pays), else None."""
    for name, probe in (("AMX", "_is_amx_tile_supported"), ("AVX512_VNNI", "_is_vnni_supported")):
        supported = getattr(torch.cpu, probe, None)  # no public API yet
        if supported is not None and supported():
            return name
    return None


def int8_ranges(device: torch.device, choice: str, weights: Path, model: str = "detector") -> Int8Ranges | None:
    """The int8 ranges a model (the `detector` or `classifier`, by its `weights`) runs with under
    `--precision` `choice` (auto, fp32 or int8).

    `auto` takes them on a CPU with VNNI or AMX when they are usable (see `_usable_int8_ranges`)
    and marked for use by default (`Int8Ranges.by_default`), and otherwise runs float32, with a
    warning when a ranges file is there but unusable; `int8` insists (ValueError)."""
    if choice not in CPU_PRECISIONS:
        raise ValueError(f"unknown precision {choice!r} (choose from {', '.join(CPU_PRECISIONS)})")
    if choice == "fp32":
        return None
    ranges, problem = _usable_int8_ranges(device, weights, model)
    if choice == "int8":
        if problem is not None:
            raise ValueError(problem)
        if cpu_int8_units() is None:
            log.warning("int8 %s on a CPU without VNNI or AMX: slower than float32 here, and less accurate than "
                        "measured (on an AVX2-only CPU the int8 classifier flagged 4 more masked faces of the 443 "
                        "mask-scenes test faces)", model)
        return ranges
    if problem is not None and device.type == "cpu" and int8_ranges_path(weights).is_file():
        log.warning("%s; running the %s without them", problem, model)
    if ranges is None or not ranges.by_default or cpu_int8_units() is None:
        return None  # accuracy not established, or no int8 instructions
    return ranges


def _usable_int8_ranges(device: torch.device, weights: Path, model: str) -> tuple[Int8Ranges | None, str | None]:
    """The model's int8 ranges, or why it has none that can run here."""
    path = int8_ranges_path(weights)
    if device.type != "cpu":
        return None, "int8 runs on the CPU only"
    if not openvino_available():
        return None, "int8 needs OpenVINO, which is not installed"
    if not path.is_file():
        return None, f"{path}: no int8 ranges for this {model} (`maskscan train int8-{model}` makes them)"
    try:
        ranges = Int8Ranges.load(path)
    except Int8RangesError as exc:
        return None, str(exc)
    if ranges.weights != weights_id(weights):
        return None, f"{path}: calibrated for {ranges.weights}, not {weights_id(weights)}"
    return ranges, None


def load_pipeline(device: torch.device, detector_weights: Path, classifier: str, face_confidence: float,
                  mask_threshold: float | None = None, detector_imgsz: int = DETECTOR_IMGSZ,
                  precision: Precision | None = None, backend: str | None = None,
                  privacy_confidence: float | None = None, cpu_precision: str = "auto",
                  small_faces: bool = False) -> FaceMaskPipeline:
    """Both models on one device, by default at :func:`inference_precision`, the detector through
    :func:`detector_backend`, faces labelled at the classifier's own operating point unless
    `mask_threshold` is given. With a `privacy_confidence` below `face_confidence` the detector
    runs at it: faces between the two are hidden when anonymising, never counted (non-maximum
    suppression never lets a weaker box remove a stronger one, so the counted faces are the
    same). Each model runs in int8 as :func:`int8_ranges` decides for `cpu_precision` (neither
    when `backend` asks for PyTorch); int8 ranges that do not fit the network (another OpenVINO
    version) fall back to float32 with a warning under `auto`. Weights that OpenVINO cannot convert (a
    user's unusual model) fall back to PyTorch with a warning, unless `backend` asked for OpenVINO.
    `small_faces` adds the second detector pass (:func:`with_small_face_pass`)."""
    precision = precision or inference_precision(device)
    if backend == "torch" and cpu_precision == "int8":
        raise ValueError("the int8 models run through OpenVINO, not PyTorch")
    int8 = None if backend == "torch" else int8_ranges(device, cpu_precision, detector_weights)
    chosen = "openvino" if int8 is not None else backend or detector_backend(device, precision.detector)

    lowered = privacy_confidence is not None and privacy_confidence < face_confidence

    def detector_on(backend_name: str, ranges: Int8Ranges | None = None) -> YoloFaceDetector:
        return YoloFaceDetector(detector_weights, detector_imgsz, privacy_confidence if lowered else face_confidence,
                                DETECTOR_IOU, device, precision.detector, backend_name, ranges)

    try:
        try:
            detector = detector_on(chosen, int8)
        except Int8RangesError as exc:
            if cpu_precision == "int8":
                raise
            log.warning("%s: %s; running the detector without them", detector_weights, exc)
            detector = detector_on(chosen)
    except (FileNotFoundError, ValueError):
        raise
    except Exception as exc:  # noqa: BLE001 (any conversion failure: the PyTorch path still works)
        if backend is not None or chosen != "openvino":
            raise
        log.warning("%s: OpenVINO could not convert the detector (%s: %s); running it in PyTorch",
                    detector_weights, type(exc).__name__, exc)
        detector = detector_on("torch")
    if small_faces:
        detector = with_small_face_pass(detector)
    mask_classifier = _load_classifier(classifier, device, precision.classifier,
                                       "fp32" if backend == "torch" else cpu_precision)
    threshold = mask_threshold_for(classifier) if mask_threshold is None else mask_threshold
    return FaceMaskPipeline(detector, mask_classifier, device, threshold, face_confidence if lowered else None)


def _load_classifier(classifier: str, device: torch.device, dtype: torch.dtype, cpu_precision: str) -> MaskClassifier:
    """The classifier in int8 when :func:`int8_ranges` says so, else in `dtype`. Under `auto`, ranges
    that do not fit the network or a failed conversion fall back to `dtype` with a warning."""
    weights = classifier_weights(classifier)
    int8 = int8_ranges(device, cpu_precision, weights, "classifier")
    if int8 is None:
        return MaskClassifier.load(weights, device, dtype)
    try:
        return MaskClassifier.load(weights, device, torch.float32, int8=int8)
    except Exception as exc:  # noqa: BLE001 (whatever stops OpenVINO, PyTorch still runs the classifier)
        if cpu_precision == "int8":
            raise
        log.warning("%s: the int8 classifier could not be built (%s: %s); running it without its int8 ranges",
                    weights, type(exc).__name__, exc)
        return MaskClassifier.load(weights, device, dtype)
