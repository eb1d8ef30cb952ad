"""The models that ship inside the package, their operating points, and how any model's weights
are named in the database (without loading them)."""

from __future__ import annotations

import hashlib
from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"

SHIPPED_CLASSIFIERS = {"resnet50": "mask_resnet50.safetensors"}
DEFAULT_CLASSIFIER = "resnet50"
SHIPPED_MASK_THRESHOLDS = {"resnet50": 0.75}
"""P(mask) below which a face counts as unmasked: each shipped classifier's operating point, chosen by
cross-validation over the scene validation photos (`maskscan evaluate classifier --choose-threshold`)."""
UNTUNED_MASK_THRESHOLD = 0.5

SHIPPED_DETECTOR = WEIGHTS_DIR / "face_yolo11n.pt"
DETECTOR_IMGSZ = 512
INT8_SUFFIX = ".int8.safetensors"
CPU_PRECISIONS = ("auto", "fp32", "int8")
"""`--precision`: the models' arithmetic on a CPU (see `maskscan.pipeline.loading.int8_ranges`)."""
DETECTOR_CONFIDENCE = 0.30
"""The shipped operating point (see the detector's model card for how it was chosen)."""
DETECTOR_MIN_PRECISION = 0.95
"""The detector's threshold rule: the lowest confidence whose precision reaches this."""
DETECTOR_IOU = 0.5
SMALL_FACE_IMGSZ = 768
"""`--small-faces`: the input size of the detector's second pass (`maskscan.classifiers.small_face_pass`)."""
SMALL_FACE_BELOW = 32.0
"""A second-pass box is kept when narrower than this many pixels at the first pass's input size..."""
SMALL_FACE_FLOOR = 0.4
"""...and scoring at least this: below it, the larger pass's small boxes are mostly not faces."""
PRIVACY_CONFIDENCE = 0.01
"""Detector confidence at which faces are hidden by `--anonymize` (recall first; chosen with
benchmarks/anonymize_coverage.py on the mask-scenes validation split, README "Privacy")."""


def int8_ranges_path(detector_weights: Path) -> Path:
    """Where a detector's int8 ranges live: beside its weights, as `<stem>.int8.safetensors`."""
    path = Path(detector_weights)
    return path.with_name(path.stem + INT8_SUFFIX)


def mask_threshold_for(classifier: str) -> float:
    """The operating point of a shipped classifier named `classifier`; 0.5 for a weights file."""
    if Path(classifier).is_file():
        return UNTUNED_MASK_THRESHOLD
    return SHIPPED_MASK_THRESHOLDS.get(classifier, UNTUNED_MASK_THRESHOLD)


def shipped_classifier_path(name: str) -> Path:
    if name not in SHIPPED_CLASSIFIERS:
        raise FileNotFoundError(
            f"{name!r} is neither a file nor a shipped classifier ({', '.join(SHIPPED_CLASSIFIERS)})")
    path = WEIGHTS_DIR / SHIPPED_CLASSIFIERS[name]
    if not path.is_file():
        raise FileNotFoundError(f"{path}: shipped classifier weights are missing from this installation")
    return path


def classifier_weights(name_or_path: str | Path) -> Path:
    """The weights file a `--classifier` choice means: a file, or a shipped classifier's name."""
    path = Path(name_or_path)
    return path if path.is_file() else shipped_classifier_path(str(name_or_path))


def detector_run_id(weights: Path, imgsz: int, small_faces: bool) -> str:
    """How a detector run is named in the database: its weights (:func:`weights_id`), then `@<imgsz>`
    when the input size is not the shipped one and `+small-faces@<size>` with the second pass, as
    either changes which faces are found."""
    size = "" if imgsz == DETECTOR_IMGSZ else f"@{imgsz}"
    second = f"+small-faces@{SMALL_FACE_IMGSZ}" if small_faces else ""
    return weights_id(weights) + size + second


def check_small_faces(imgsz: int) -> None:
    """ValueError unless the detector's first pass (at `imgsz`) is smaller than the `--small-faces` one."""
    if imgsz >= SMALL_FACE_IMGSZ:
        raise ValueError(f"--small-faces runs a second pass at {SMALL_FACE_IMGSZ} px, so it needs --imgsz below that")


def weights_id(path: Path) -> str:
    """`<file stem>:<first 12 hex of its sha256>`: names the exact weights in the database."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return f"{Path(path).stem}:{digest[:12]}"
