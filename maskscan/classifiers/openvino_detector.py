"""The YOLO face network converted for OpenVINO (`maskscan.classifiers.openvino_runtime` runs it):
1.1-1.2x PyTorch's frames per second on a quiet machine, 2-3x when other work competes for the
cores (README, Performance); with shipped int8 ranges faster again on CPUs with VNNI or AMX."""

from __future__ import annotations

import copy
import warnings

import torch

from maskscan.classifiers.openvino_runtime import import_openvino


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
