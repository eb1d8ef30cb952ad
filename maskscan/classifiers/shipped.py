"""The models that ship inside the package, and their operating points."""

from __future__ import annotations

from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"

SHIPPED_CLASSIFIERS = {"resnet50": "mask_resnet50.safetensors"}
DEFAULT_CLASSIFIER = "resnet50"

SHIPPED_DETECTOR = WEIGHTS_DIR / "face_yolo11n.pt"
DETECTOR_IMGSZ = 512
DETECTOR_CONFIDENCE = 0.35
"""The shipped operating point (see the detector's model card for how it was chosen)."""
DETECTOR_IOU = 0.5
MASK_THRESHOLD = 0.5


def shipped_classifier_path(name: str) -> Path:
    if name not in SHIPPED_CLASSIFIERS:
        raise FileNotFoundError(
            f"{name!r} is neither a file nor a shipped classifier ({', '.join(SHIPPED_CLASSIFIERS)})")
    path = WEIGHTS_DIR / SHIPPED_CLASSIFIERS[name]
    if not path.is_file():
        raise FileNotFoundError(f"{path}: shipped classifier weights are missing from this installation")
    return path
