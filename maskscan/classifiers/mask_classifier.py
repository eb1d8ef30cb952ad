"""The mask classifier's stable API: load shipped or user weights, predict mask probabilities.

Weights are fp16 safetensors whose metadata carries the architecture and crop policy, so a
file is all it takes to classify faces the way the model was trained.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch.fx.experimental.optimization import fuse as fuse_conv_bn

from maskscan.classifiers.arch_names import ARCHS
from maskscan.classifiers.architectures import NO_MASK_INDEX, build_model
from maskscan.classifiers.crops import CropPolicy, normalize
from maskscan.classifiers.int8_ranges import Int8Ranges, Int8RangesError
from maskscan.classifiers.shipped import classifier_weights, weights_id

FORMAT = "maskscan-mask-classifier/1"


def save_classifier(model: torch.nn.Module, arch: str, policy: CropPolicy, path: Path,
                    extra: dict[str, str] | None = None) -> None:
    """Write fp16 weights with the metadata :func:`MaskClassifier.load` needs."""
    state = {k: v.detach().to(torch.float16).contiguous() if v.is_floating_point() else v.contiguous()
             for k, v in model.state_dict().items()}
    metadata = {"format": FORMAT, "arch": arch, "input_size": str(policy.size), "margin": str(policy.margin),
                "classes": "mask,no_mask", **(extra or {})}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata=metadata)


def convert_classifier(model: torch.nn.Module, size: int):  # noqa: ANN201 (openvino.Model)
    """The classifier network as an OpenVINO model (any batch size)."""
    from maskscan.classifiers.openvino_runtime import import_openvino

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the converter's torch.jit tracing warns of its deprecation
        return import_openvino().convert_model(model, example_input=torch.zeros((1, 3, size, size)))


class MaskClassifier:
    """Mask probabilities for face crops; one forward pass per batch."""

    def __init__(self, model: torch.nn.Module, arch: str, policy: CropPolicy, name: str,
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                 optimize: bool = True, int8: Int8Ranges | None = None) -> None:
        """`optimize` folds batch norm into the convolutions and runs channels-last (about 1.5x
        on a CPU for ResNet50, outputs equal to 1e-5); the reference loop turns it off. `int8`: the
        classifier's int8 ranges, run through OpenVINO on the CPU (`maskscan.classifiers.int8_ranges`)."""
        self.device = torch.device(device)
        self.dtype = dtype
        self.model = model.eval()
        self.memory_format = torch.channels_last if optimize else torch.contiguous_format
        if optimize:
            self.model = fuse_conv_bn(self.model)
        self.model = self.model.to(self.device, self.dtype, memory_format=self.memory_format)
        self.arch, self.policy, self.name = arch, policy, name
        self.precision = "int8" if int8 is not None else str(dtype).removeprefix("torch.")
        self.openvino = None
        if int8 is not None:
            if self.device.type != "cpu" or dtype != torch.float32:
                raise ValueError("the int8 classifier runs on the CPU, from float32 weights")
            if int8.weights != name:
                raise Int8RangesError(f"the int8 ranges were calibrated for {int8.weights}, not {name}")
            from maskscan.classifiers.openvino_runtime import OpenVinoNetwork

            self.openvino = OpenVinoNetwork(name, lambda: convert_classifier(self.model, policy.size),
                                            torch.get_num_threads(), int8)

    @classmethod
    def load(cls, name_or_path: str | Path, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
             optimize: bool = True, int8: Int8Ranges | None = None) -> "MaskClassifier":
        """A shipped classifier by name (`resnet50`) or a `.safetensors` file written by maskscan."""
        path = classifier_weights(name_or_path)
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        if metadata.get("format") != FORMAT or metadata.get("arch") not in ARCHS:
            raise ValueError(f"{path}: not a maskscan mask classifier (missing or unknown metadata)")
        policy = CropPolicy(int(metadata["input_size"]), float(metadata["margin"]))
        model = build_model(metadata["arch"], policy.size)  # type: ignore[arg-type]
        state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(path)).items()}
        model.load_state_dict(state)
        return cls(model, metadata["arch"], policy, weights_id(path), device, dtype, optimize, int8)

    @torch.inference_mode()
    def predict(self, crops: torch.Tensor | Sequence[np.ndarray]) -> np.ndarray:
        """P(mask) per crop.

        crops: a float (K, 3, S, S) 0..1 RGB tensor already cut to the policy, or a list
        of (H, W, 3) uint8 RGB face crops of any size (resized here).
        """
        if not isinstance(crops, torch.Tensor):
            crops = self._from_arrays(crops)
        if len(crops) == 0:
            return np.zeros((0,), np.float32)
        inputs = normalize(crops.to(self.device, self.dtype)).contiguous(memory_format=self.memory_format)
        logits = self.openvino(inputs) if self.openvino is not None else self.model(inputs)
        probabilities = logits.float().softmax(dim=1)
        return (1.0 - probabilities[:, NO_MASK_INDEX]).cpu().numpy().astype(np.float32)

    def classify_faces(self, frames: Sequence[torch.Tensor], boxes: list[torch.Tensor]) -> list[np.ndarray]:
        """P(mask) for every face of (3, H, W) uint8 frames: crops cut on the device, one forward pass."""
        crops = self.policy.crop([frame.to(self.device) for frame in frames], boxes, dtype=self.dtype)
        probabilities = self.predict(crops)
        splits = np.cumsum([len(b) for b in boxes])[:-1]
        return np.split(probabilities, splits)

    def _from_arrays(self, arrays: Sequence[np.ndarray]) -> torch.Tensor:
        if len(arrays) == 0:
            return torch.zeros((0, 3, self.policy.size, self.policy.size))
        size = (self.policy.size, self.policy.size)
        return torch.cat([
            torch.nn.functional.interpolate(
                torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].float() / 255,
                size=size, mode="bilinear", antialias=True, align_corners=False)
            for a in arrays
        ])
