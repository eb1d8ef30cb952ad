"""Running maskscan's networks through OpenVINO on the CPU.

A network is converted once per weights file (and int8 ranges file; a few seconds) and the result
kept in maskscan's cache folder. Whatever is not quantised runs in float32: on CPUs with AMX
OpenVINO would pick bfloat16, which loses faces (see `maskscan.pipeline.loading.inference_precision`).
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch

from maskscan.classifiers.int8_ranges import Int8Ranges, apply_int8_ranges
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


def cached_model(key: str, convert: Callable[[], Any], int8: Int8Ranges | None):  # noqa: ANN202 (openvino.Model)
    """The network `convert` gives (int8 when given ranges), from the cache when an earlier run
    converted the same `key` (the weights' id)."""
    openvino = import_openvino()
    folder = maskscan_cache_dir() / "openvino" / openvino_release()
    if int8 is not None:
        key = f"{key}+int8-{int8.digest}"
    xml = folder / f"{key.replace(':', '-')}.xml"
    if xml.is_file():
        return openvino.Core().read_model(str(xml))
    model = convert()
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
    """Callable like the torch network it was converted from, on a float (N, 3, H, W) batch; returns
    the network's first output."""

    def __init__(self, key: str, convert: Callable[[], Any], threads: int, int8: Int8Ranges | None = None) -> None:
        self.compiled = compile_on_cpu(
            cached_model(key, convert, int8),
            {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads})

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        outputs = self.compiled(np.ascontiguousarray(batch.float().numpy()))
        return torch.from_numpy(outputs[0])
