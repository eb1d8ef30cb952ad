"""The YOLO face network through OpenVINO on the CPU: 1.1-1.2x PyTorch's frames per second on a quiet
machine, 2-3x when other work competes for the cores (README, Performance); with shipped int8
ranges (`maskscan.classifiers.int8_detector`) faster again on CPUs with VNNI or AMX.

The network is converted once per weights file (and ranges file; a few seconds) and the result
kept in maskscan's cache folder. Whatever is not quantised runs in float32: on CPUs with AMX
OpenVINO would pick bfloat16, which loses faces (see `maskscan.pipeline.loading.inference_precision`).
"""

from __future__ import annotations

import copy
import importlib.util
import os
import tempfile
import warnings
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

from maskscan.classifiers.int8_detector import Int8Ranges, apply_int8_ranges
from maskscan.classifiers.signal_stack import keep_own_signal_stack
from maskscan.classifiers.yolo_offline import maskscan_cache_dir


def openvino_available() -> bool:
    return importlib.util.find_spec("openvino") is not None


def import_openvino() -> ModuleType:
    """OpenVINO, with its model converter's usage telemetry off.

    The converter sends usage events to Google Analytics unless a consent file in the home
    folder says no; maskscan opens no connection of its own accord, so its modules get the
    silent stub they fall back to when the telemetry package is missing.
    """
    import openvino
    from openvino.tools.ovc import convert_impl, telemetry_stub, telemetry_utils, utils

    for module in (convert_impl, telemetry_utils, utils):
        module.tm = telemetry_stub  # type: ignore[attr-defined]
    return openvino


def openvino_release() -> str:
    """OpenVINO's version without its build suffix, e.g. `2026.4.1`."""
    return import_openvino().__version__.split("-")[0]


def compile_on_cpu(model, config: dict[str, object]):  # noqa: ANN001, ANN201 (openvino.Model, CompiledModel)
    """OpenVINO's compiled model for the CPU, with this thread's signal stack kept valid
    (`maskscan.classifiers.signal_stack`)."""
    compiled = import_openvino().Core().compile_model(model, "CPU", config)
    keep_own_signal_stack()
    return compiled


def _export_mode(network: torch.nn.Module) -> torch.nn.Module:
    """A copy whose detection head returns only its decoded boxes and scores, with anchors computed
    from the input size on every call (what ultralytics' own exporter sets)."""
    exported = copy.deepcopy(network).float().eval()
    for module in exported.modules():
        if hasattr(module, "export") and hasattr(module, "dynamic"):
            module.export, module.dynamic, module.format = True, True, "openvino"
    return exported


def convert(network: torch.nn.Module, imgsz: int):  # noqa: ANN202 (openvino.Model)
    openvino = import_openvino()
    example = torch.zeros((1, 3, imgsz, imgsz))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.trace's deprecation and tracer warnings
        traced = torch.jit.trace(_export_mode(network), example, strict=False, check_trace=False)
    return openvino.convert_model(traced, example_input=example)


def _cached_model(network: torch.nn.Module, imgsz: int, key: str, int8: Int8Ranges | None):  # noqa: ANN202
    """The converted network (int8 when given ranges), from the cache when an earlier run converted the same."""
    openvino = import_openvino()
    folder = maskscan_cache_dir() / "openvino" / openvino_release()
    if int8 is not None:
        key = f"{key}+int8-{int8.digest}"
    xml = folder / f"{key.replace(':', '-')}.xml"
    if xml.is_file():
        return openvino.Core().read_model(str(xml))
    model = convert(network, imgsz)
    if int8 is not None:
        model = apply_int8_ranges(model, int8)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as scratch:  # concurrent workers: rename into place
            staged = Path(scratch) / xml.name
            openvino.save_model(model, str(staged), compress_to_fp16=False)
            os.replace(staged.with_suffix(".bin"), xml.with_suffix(".bin"))
            os.replace(staged, xml)
    except OSError:
        pass  # a read-only cache only costs the conversion next time
    return model


class OpenVinoNetwork:
    """Callable like the torch network on a float (N, 3, H, W) batch; returns (N, 4 + classes, anchors)."""

    def __init__(self, network: torch.nn.Module, imgsz: int, key: str, threads: int,
                 int8: Int8Ranges | None = None) -> None:
        self.compiled = compile_on_cpu(
            _cached_model(network, imgsz, key, int8),
            {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads})

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        outputs = self.compiled(np.ascontiguousarray(batch.float().numpy()))
        return torch.from_numpy(outputs[0])
