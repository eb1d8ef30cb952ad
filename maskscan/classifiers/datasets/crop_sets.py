"""Face crops for the mask classifier, held in memory as uint8 tensors.

Two sources: ImageFolder-style crop folders (Face Mask 12K: `WithMask|WithoutMask`, or
`with_mask|without_mask`) and the faces of VOC scene photos, cut with the pipeline's
:class:`~maskscan.classifiers.crops.CropPolicy`. Label 0 is `mask`, 1 is `no_mask`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from maskscan.classifiers.crops import CropPolicy
from maskscan.classifiers.datasets.voc import UNLABELLED_MIN_WIDTH, Split, load_scenes

_FOLDER_LABELS = {"withmask": 0, "with_mask": 0, "withoutmask": 1, "without_mask": 1}
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


@dataclass
class CropSet:
    """Crops (N, 3, S, S) uint8, labels (N,) int64 and, per crop, the file name it was cut from."""

    images: torch.Tensor
    labels: torch.Tensor
    sources: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    @staticmethod
    def concat(parts: list["CropSet"]) -> "CropSet":
        return CropSet(torch.cat([p.images for p in parts]), torch.cat([p.labels for p in parts]),
                       tuple(source for p in parts for source in p.sources))


def _to_tensor(image: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.uint8).copy()).permute(2, 0, 1)


def load_crop_folder(root: Path, size: int) -> CropSet:
    """Every image under `root/<class>/`, resized to `size` x `size` (the crops are near square)."""
    root = Path(root)
    images, labels, sources = [], [], []
    class_dirs = [d for d in sorted(root.iterdir()) if d.is_dir() and d.name.lower() in _FOLDER_LABELS]
    if not class_dirs:
        raise FileNotFoundError(f"{root}: no WithMask/WithoutMask (or with_mask/without_mask) folders")
    for class_dir in class_dirs:
        label = _FOLDER_LABELS[class_dir.name.lower()]
        for path in sorted(class_dir.iterdir()):
            if path.suffix.lower() not in _IMAGE_SUFFIXES:
                continue
            with Image.open(path) as image:
                images.append(_to_tensor(image.convert("RGB").resize((size, size), Image.BILINEAR)))
            labels.append(label)
            sources.append(path.name)
    return CropSet(torch.stack(images), torch.tensor(labels, dtype=torch.int64), tuple(sources))


def load_scene_crops(voc_root: Path, split: Split, policy: CropPolicy, scale: float = 1.0,
                     size: int | None = None, unlabelled_as_no_mask: bool = False,
                     unlabelled_min_width: float = UNLABELLED_MIN_WIDTH) -> CropSet:
    """The faces of the scene photos of one split whose mask state is labelled, cut with the
    pipeline's crop policy.

    `scale` > 1 cuts a wider square (room for random-crop jitter in training).
    `unlabelled_as_no_mask` also takes the faces whose mask state was not labelled, at least
    `unlabelled_min_width` pixels wide, as `no_mask`: right for WIDER FACE, whose photos predate
    2020 (nearly nobody in them wears a mask).
    """
    images, labels, sources = [], [], []
    for photo in load_scenes(voc_root, split):
        faces = [f for f in photo.faces if f.mask_state != "unknown"
                 or (unlabelled_as_no_mask and f.width >= unlabelled_min_width)]
        if not faces:
            continue
        with Image.open(photo.image_path) as image:
            frame = _to_tensor(image).unsqueeze(0)
        boxes = torch.tensor([[f.x1, f.y1, f.x2, f.y2] for f in faces], dtype=torch.float32)
        crops = policy.crop(frame, [boxes], scale=scale, size=size)
        images.append((crops * 255).round().clamp(0, 255).to(torch.uint8))
        labels += [0 if f.masked else 1 for f in faces]
        sources += [photo.image_path.name] * len(faces)
    if not images:
        raise FileNotFoundError(f"{voc_root}: no annotated faces in the {split} split")
    return CropSet(torch.cat(images), torch.tensor(labels, dtype=torch.int64), tuple(sources))


def load_evaluation_crops(path: Path, policy: CropPolicy, split: Split = "val", unlabelled_as_no_mask: bool = False,
                          unlabelled_min_width: float = UNLABELLED_MIN_WIDTH) -> CropSet:
    """An ImageFolder-style crop folder, or the scene crops of a VOC folder (`annotations/`; see
    `load_scene_crops` for the two options)."""
    path = Path(path)
    if (path / "annotations").is_dir():
        return load_scene_crops(path, split, policy, unlabelled_as_no_mask=unlabelled_as_no_mask,
                                unlabelled_min_width=unlabelled_min_width)
    return load_crop_folder(path, policy.size)
