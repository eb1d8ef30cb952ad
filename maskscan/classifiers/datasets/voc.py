"""PASCAL VOC face sets (mask-scenes, wider-crowds, mafa-masked): photos with every face boxed.

Both models are trained, validated and tested on them, so the split lives here, in one place:
a hash of a photo's file name puts it in the validation split (choices: thresholds, stages),
the test split (read only to report, never to choose) or the training split, which keeps
the splits fixed whatever files are added or removed around them.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Split = Literal["train", "val", "test", "all"]
MaskState = Literal["masked", "unmasked", "unknown"]

VALIDATION_PERCENT = 15
"""Share of photos held back for validation (by file-name hash); never trained on."""
TEST_PERCENT = 15
"""Share of photos held back for the final test: never trained on, never used to choose anything."""

MASKED_LABELS = frozenset({"with_mask"})
"""VOC labels that count as compliant. `mask_weared_incorrect` is *not* compliant."""
UNMASKED_LABELS = frozenset({"without_mask", "mask_weared_incorrect"})
UNKNOWN_STATE_LABELS = frozenset({"face"})
"""A face whose mask state was not labelled (WIDER FACE): detector data, unless a classifier is told
to take it as unmasked (WIDER FACE predates 2020)."""
UNLABELLED_MIN_WIDTH = 10.0
"""Narrowest face of unknown mask state a classifier takes as `no_mask` (pixels): the project's evaluation
floor; WIDER FACE boxes faces a few pixels wide, where no mask can be seen."""

KNOWN_LABELS = MASKED_LABELS | UNMASKED_LABELS | UNKNOWN_STATE_LABELS


@dataclass(frozen=True)
class FaceBox:
    x1: float
    y1: float
    x2: float
    y2: float
    label: str

    @property
    def masked(self) -> bool:
        return self.label in MASKED_LABELS

    @property
    def mask_state(self) -> MaskState:
        if self.label in MASKED_LABELS:
            return "masked"
        return "unknown" if self.label in UNKNOWN_STATE_LABELS else "unmasked"

    @property
    def width(self) -> float:
        return self.x2 - self.x1


Region = tuple[float, float, float, float]
"""x1, y1, x2, y2 in pixels."""


@dataclass(frozen=True)
class ScenePhoto:
    image_path: Path
    width: int
    height: int
    faces: tuple[FaceBox, ...]
    unlabelled: tuple[Region, ...] = ()
    """Faces nobody boxed, found by a teacher detector (evaluation only): neither hits nor false alarms."""


def split_of(file_name: str) -> Literal["train", "val", "test"]:
    """The fixed split of a photo, from the SHA-1 of its file name (not its path).

    The validation buckets are the ones they always were; the test buckets were carved out
    of the former training split (so models trained before it existed have seen those photos)."""
    digest = hashlib.sha1(Path(file_name).name.encode("utf-8")).digest()
    bucket = int.from_bytes(digest[:4], "big") % 100
    if bucket < VALIDATION_PERCENT:
        return "val"
    return "test" if bucket < VALIDATION_PERCENT + TEST_PERCENT else "train"


def parse_voc(xml_path: Path, images_dir: Path) -> ScenePhoto:
    """Read one VOC annotation; boxes are clipped to the image."""
    root = ET.parse(xml_path).getroot()
    file_name = root.findtext("filename") or (xml_path.stem + ".jpg")
    width = int(float(root.findtext("size/width") or 0))
    height = int(float(root.findtext("size/height") or 0))
    faces = []
    for obj in root.iter("object"):
        label = (obj.findtext("name") or "").strip()
        if label not in KNOWN_LABELS:
            raise ValueError(f"{xml_path}: unknown label {label!r}")
        box = [float(obj.findtext(f"bndbox/{k}") or 0) for k in ("xmin", "ymin", "xmax", "ymax")]
        x1, y1, x2, y2 = box
        if width and height:
            x1, x2 = max(0.0, x1), min(float(width), x2)
            y1, y2 = max(0.0, y1), min(float(height), y2)
        if x2 > x1 and y2 > y1:
            faces.append(FaceBox(x1, y1, x2, y2, label))
    return ScenePhoto(images_dir / file_name, width, height, tuple(faces))


def load_scenes(root: Path, split: Split = "all") -> list[ScenePhoto]:
    """All photos of a VOC folder (`annotations/*.xml` beside `images/`) in one split."""
    root = Path(root)
    annotations = root / "annotations"
    if not annotations.is_dir():
        raise FileNotFoundError(f"{root}: no annotations/ folder (expected a PASCAL VOC layout)")
    photos = []
    for xml_path in sorted(annotations.glob("*.xml")):
        photo = parse_voc(xml_path, root / "images")
        if split == "all" or split_of(photo.image_path.name) == split:
            photos.append(photo)
    return photos
