"""The three mask classifier architectures of the report, each with two outputs.

Output index 0 is `mask`, index 1 is `no_mask` (see :data:`CLASS_NAMES`).
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision import models

from maskscan.classifiers.arch_names import ARCHS, Arch

CLASS_NAMES = ("mask", "no_mask")
NO_MASK_INDEX = 1


class SimpleCNN(nn.Module):
    """The report's benchmark CNN: four conv layers (5x5 then 3x3) with pooling, then 512-256-2."""

    def __init__(self, num_classes: int = 2, input_size: int = 224) -> None:
        super().__init__()

        def block(cin: int, cout: int, kernel: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, kernel, padding=kernel // 2), nn.ReLU(inplace=True), nn.MaxPool2d(2)
            )

        self.features = nn.Sequential(block(3, 32, 5), block(32, 64, 3), block(64, 128, 3), block(128, 64, 3))
        side = input_size // 16
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64 * side * side, 512),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(512, 256),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(256, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def build_model(arch: Arch, input_size: int, imagenet_weights: bool = False) -> nn.Module:
    """A fresh two-class model.

    `imagenet_weights` uses torchvision's own ImageNet weights (downloaded by torchvision
    unless already in torch hub's cache); it is off by default because maskscan runs offline.
    """
    if arch == "resnet50":
        model = models.resnet50(weights=models.ResNet50_Weights.IMAGENET1K_V2 if imagenet_weights else None)
        model.fc = nn.Linear(model.fc.in_features, len(CLASS_NAMES))
        return model
    if arch == "mobilenet_v2":
        model = models.mobilenet_v2(weights=models.MobileNet_V2_Weights.IMAGENET1K_V1 if imagenet_weights else None)
        model.classifier[1] = nn.Linear(model.classifier[1].in_features, len(CLASS_NAMES))
        return model
    if arch == "simple_cnn":
        if imagenet_weights:
            raise ValueError("simple_cnn has no ImageNet weights; it is trained from scratch")
        return SimpleCNN(len(CLASS_NAMES), input_size)
    raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}")
