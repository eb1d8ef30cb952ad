"""Recording what NNCF's post-training quantisation did to an OpenVINO network, as an `Int8Ranges`
file (offline; `pip install nncf`).

Weights are left as float32 behind their FakeQuantize (not stored as int8 here): `record_ranges`
keeps every quantiser and every changed bias, and `apply_int8_ranges` rebuilds the same network
from the weights at run time; OpenVINO's CPU plugin stores the weights in int8 itself.
"""

from __future__ import annotations

import logging
from types import ModuleType
from typing import Any
from unittest import mock

import numpy as np

from maskscan.classifiers.int8_ranges import CorrectedConstant, Int8Ranges, Quantiser
from maskscan.classifiers.openvino_runtime import openvino_release


def import_nncf() -> ModuleType:
    """NNCF with its usage telemetry stubbed out (maskscan opens no connection of its own accord) and
    its per-operation INFO messages off.

    NNCF imports torch's C++-extension helper, which logs a warning when a CUDA build of torch finds
    no GPU ("No CUDA runtime is found"): noise on every CPU-only machine, so it is silenced."""
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
    import nncf
    import nncf.telemetry.decorator
    import nncf.telemetry.wrapper

    nncf.set_log_level(logging.WARNING)
    nncf.telemetry.wrapper.telemetry = mock.MagicMock()
    nncf.telemetry.decorator.telemetry = mock.MagicMock()  # type: ignore[attr-defined]
    return nncf


def recordable_parameters(nncf: ModuleType) -> Any:  # noqa: ANN401 (nncf.AdvancedQuantizationParameters)
    """NNCF's advanced quantisation parameters that keep the weights float32 behind their
    FakeQuantize, the form `record_ranges` reads. Compressed to int8 constants by NNCF, the weights
    lose their quantisers, and a network rebuilt from the record runs at a quarter of the speed."""
    return nncf.AdvancedQuantizationParameters(backend_params={"compress_weights": False})


def record_ranges(quantised: Any, original: Any, weights: str, calibration: str) -> Int8Ranges:  # noqa: ANN401
    """Every FakeQuantize NNCF placed in `quantised` (quantised with `recordable_parameters`) with its
    ranges, and every constant input it changed against the `original` float32 network."""
    compressed = [op.get_friendly_name() for op in quantised.get_ordered_ops()
                  if op.get_type_name() == "Constant" and op.get_output_element_type(0).get_type_name() in ("i8", "u8")]
    if compressed:
        raise ValueError(f"NNCF compressed {len(compressed)} weights to int8 (e.g. {compressed[0]!r}): quantise "
                         "with `recordable_parameters` so that they can be recorded")
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
    return Int8Ranges(weights, openvino_release(), tuple(quantisers),
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
