"""int8 models: OpenVINO's float32 network with int8 quantisers placed and ranged offline.

`maskscan train int8-detector` (or `int8-classifier`) calibrates a model with NNCF on training-split
data and records what NNCF did to the network: every quantiser it placed with its ranges (on an
activation, by the name of the operation whose output it quantises; on a weight, by the name of the
operation that reads it) and every bias its bias correction changed. That record, a small
`.safetensors` file shipped beside the weights, turns the same network converted from the weights
into the int8 one with OpenVINO alone, so users need neither NNCF nor the calibration data.
OpenVINO's CPU plugin then runs the quantised operations in int8 (fast with VNNI or AMX).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "maskscan-int8-ranges-1"
BOUNDS = ("input_low", "input_high", "output_low", "output_high")


class Int8RangesError(ValueError):
    """A ranges file that does not fit the network it is applied to."""


@dataclass(frozen=True)
class Quantiser:
    """A FakeQuantize as NNCF placed it.

    On an activation it sits on output `port` of `operation` and feeds all that output's readers
    (the converter names operations stably; NNCF never quantised only some readers). On a weight
    (`on_weight`) it sits on input `port` of `operation`, the convolution or matrix product that
    reads the constant: constants get no stable names."""

    operation: str
    port: int
    on_weight: bool
    levels: int
    bounds: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    """input_low, input_high, output_low, output_high."""


@dataclass(frozen=True)
class CorrectedConstant:
    """A constant NNCF's bias correction changed: input `port` of `operation` (an Add of a bias)."""

    operation: str
    port: int
    values: np.ndarray


@dataclass(frozen=True)
class Int8Ranges:
    weights: str
    """`weights_id` of the model the ranges were calibrated for."""
    openvino: str
    """The OpenVINO version whose converter named the operations."""
    quantisers: tuple[Quantiser, ...]
    corrected: tuple[CorrectedConstant, ...]
    """Biases corrected for the error quantisation adds (NNCF's bias correction)."""
    calibration: str
    """How the ranges were calibrated, in words (photos, sets, seed)."""
    by_default: bool = False
    """Whether `--precision auto` may take them: set only once their accuracy was checked against
    float32 (README, Performance); otherwise they run only when asked for (`--precision int8`)."""

    @property
    def digest(self) -> str:
        """12 hex of a hash over everything that changes the network: names the int8 model."""
        hasher = hashlib.sha256(self.weights.encode())
        for quantiser in self.quantisers:
            hasher.update(f"{quantiser.operation}:{quantiser.port}:{quantiser.on_weight}:{quantiser.levels}".encode())
            for bound in quantiser.bounds:
                hasher.update(np.ascontiguousarray(bound, dtype=np.float32).tobytes())
        for constant in self.corrected:
            hasher.update(f"{constant.operation}:{constant.port}".encode())
            hasher.update(np.ascontiguousarray(constant.values, dtype=np.float32).tobytes())
        return hasher.hexdigest()[:12]

    def save(self, path: Path) -> None:
        from safetensors.numpy import save_file

        tensors = {f"quantiser.{index}.{name}": np.ascontiguousarray(bound, dtype=np.float32)
                   for index, quantiser in enumerate(self.quantisers)
                   for name, bound in zip(BOUNDS, quantiser.bounds, strict=True)}
        tensors |= {f"corrected.{index}": np.ascontiguousarray(constant.values, dtype=np.float32)
                    for index, constant in enumerate(self.corrected)}
        layout = {"quantisers": [[q.operation, q.port, q.on_weight, q.levels] for q in self.quantisers],
                  "corrected": [[c.operation, c.port] for c in self.corrected]}
        metadata = {"format": FORMAT, "weights": self.weights, "openvino": self.openvino,
                    "calibration": self.calibration, "by_default": json.dumps(self.by_default),
                    "layout": json.dumps(layout)}
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        save_file(tensors, str(path), metadata=metadata)

    @classmethod
    def load(cls, path: Path) -> Int8Ranges:
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="numpy") as handle:
                metadata: dict[str, Any] = handle.metadata() or {}
                if metadata.get("format") != FORMAT:
                    raise Int8RangesError(f"{path}: not a maskscan int8 ranges file")
                layout = json.loads(metadata["layout"])
                quantisers = tuple(
                    Quantiser(operation, port, on_weight, levels, tuple(  # type: ignore[arg-type]
                        handle.get_tensor(f"quantiser.{index}.{name}") for name in BOUNDS))
                    for index, (operation, port, on_weight, levels) in enumerate(layout["quantisers"]))
                corrected = tuple(CorrectedConstant(operation, port, handle.get_tensor(f"corrected.{index}"))
                                  for index, (operation, port) in enumerate(layout["corrected"]))
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise Int8RangesError(f"{path}: unreadable int8 ranges file ({exc})") from exc
        # files written before the classifier had ranges name the weights `detector`
        weights = metadata.get("weights", metadata.get("detector", ""))
        return cls(weights, metadata["openvino"], quantisers, corrected, metadata.get("calibration", ""),
                   json.loads(metadata.get("by_default", "false")) is True)


def apply_int8_ranges(model: Any, ranges: Int8Ranges) -> Any:  # noqa: ANN401 (openvino.Model in and out)
    """Insert the recorded quantisers and corrected biases into a float32 OpenVINO `model` converted
    from the same weights."""
    import openvino.opset13 as opset

    operations = {operation.get_friendly_name(): operation for operation in model.get_ordered_ops()}
    named = {q.operation for q in ranges.quantisers} | {c.operation for c in ranges.corrected}
    missing = sorted(named - operations.keys())
    if missing:
        raise Int8RangesError(
            f"the ranges name {len(missing)} operation(s) this network lacks (e.g. {missing[0]!r}); they were "
            f"recorded with OpenVINO {ranges.openvino} for {ranges.weights}")
    for quantiser in ranges.quantisers:
        operation = operations[quantiser.operation]
        if quantiser.on_weight:
            readers = [operation.input(quantiser.port)]
            source = readers[0].get_source_output()
            if source.get_node().get_type_name() != "Constant":
                raise Int8RangesError(f"{quantiser.operation}: input {quantiser.port} is not a constant weight")
        else:
            source = operation.output(quantiser.port)
            readers = list(source.get_target_inputs())
        bounds = [opset.constant(np.asarray(bound, dtype=np.float32)) for bound in quantiser.bounds]
        fake_quantize = opset.fake_quantize(source, *bounds, quantiser.levels)
        for reader in readers:
            reader.replace_source_output(fake_quantize.output(0))
    for constant in ranges.corrected:
        reader = operations[constant.operation].input(constant.port)
        original = reader.get_source_output().get_node()
        if original.get_type_name() != "Constant" or tuple(original.get_output_shape(0)) != constant.values.shape:
            raise Int8RangesError(f"{constant.operation}: input {constant.port} is not a bias of the recorded shape")
        reader.replace_source_output(opset.constant(np.asarray(constant.values, dtype=np.float32)).output(0))
    model.validate_nodes_and_infer_types()
    return model
