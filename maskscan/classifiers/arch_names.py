"""The mask classifier architectures by name, importable without torch (the CLI lists them)."""

from typing import Literal

Arch = Literal["resnet50", "mobilenet_v2", "simple_cnn"]
ARCHS: tuple[Arch, ...] = ("resnet50", "mobilenet_v2", "simple_cnn")
