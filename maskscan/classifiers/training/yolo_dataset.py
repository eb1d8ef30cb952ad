"""PASCAL VOC scenes to an ultralytics YOLO data set (one class: face)."""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from maskscan.classifiers.datasets.voc import FaceBox, ScenePhoto, load_scenes


def yolo_label_lines(photo: ScenePhoto) -> list[str]:
    """`class cx cy w h` lines, normalised to the image size, for every face of a photo."""
    if photo.width <= 0 or photo.height <= 0:
        raise ValueError(f"{photo.image_path}: annotation has no image size")
    lines = []
    for face in photo.faces:
        cx = (face.x1 + face.x2) / 2 / photo.width
        cy = (face.y1 + face.y2) / 2 / photo.height
        w = (face.x2 - face.x1) / photo.width
        h = (face.y2 - face.y1) / photo.height
        lines.append(f"0 {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
    return lines


def _link(source: Path, target: Path) -> None:
    if target.is_symlink() or target.exists():
        target.unlink()
    try:
        os.symlink(source.resolve(), target)
    except OSError:  # file systems without symlinks
        target.write_bytes(source.read_bytes())


def _overlaps(box: tuple[float, float, float, float], face: FaceBox, margin: float) -> bool:
    grow = margin * max(face.x2 - face.x1, face.y2 - face.y1)
    return not (box[2] <= face.x1 - grow or box[0] >= face.x2 + grow or box[3] <= face.y1 - grow
                or box[1] >= face.y2 + grow)


def background_boxes(photo: ScenePhoto, count: int, rng: random.Random, min_share: float = 0.3,
                     tries: int = 50) -> list[tuple[float, float, float, float]]:
    """Up to `count` regions of the photo, with its aspect ratio, that touch no face.

    Upscaled to full size they show street, cars and crowds at scales where the detector
    otherwise sees only faces: hard negatives that need no extra data.
    """
    boxes: list[tuple[float, float, float, float]] = []
    for _ in range(tries):
        if len(boxes) == count:
            break
        share = rng.uniform(min_share, 0.6)
        w, h = photo.width * share, photo.height * share
        x, y = rng.uniform(0, photo.width - w), rng.uniform(0, photo.height - h)
        box = (x, y, x + w, y + h)
        if not any(_overlaps(box, face, 0.2) for face in photo.faces):
            boxes.append(box)
    return boxes


def write_yolo_dataset(voc_root: Path, out_dir: Path, background_per_photo: float = 0.0, unmasked_repeat: int = 1,
                       seed: int = 0, negative_images: Sequence[Path] = ()) -> Path:
    """Lay out `images/{train,val}` (links to the photos) and `labels/{train,val}`.

    The split is the scenes' fixed file-name-hash split. Only the train split gets extras:
    `background_per_photo` face-free crops on average (empty labels; a fraction is a
    probability), photos with an unmasked face `unmasked_repeat` times (unmasked faces are
    the minority), and `negative_images`: pictures known to show no face (for example frames
    of a camera's empty footage), with empty labels. Returns the data set YAML,
    which has no `download:` key, so ultralytics never tries to fetch anything.
    """
    out_dir = Path(out_dir).resolve()
    rng = random.Random(seed)
    for split in ("train", "val"):
        images_dir = out_dir / "images" / split
        labels_dir = out_dir / "labels" / split
        images_dir.mkdir(parents=True, exist_ok=True)
        labels_dir.mkdir(parents=True, exist_ok=True)
        for photo in load_scenes(voc_root, split):
            if not photo.image_path.is_file():
                raise FileNotFoundError(f"{photo.image_path}: image named by its annotation is missing")
            labels = "\n".join(yolo_label_lines(photo)) + "\n"
            copies = unmasked_repeat if split == "train" and any(not f.masked for f in photo.faces) else 1
            for copy in range(copies):
                stem = photo.image_path.stem + (f"_repeat{copy}" if copy else "")
                _link(photo.image_path, images_dir / f"{stem}{photo.image_path.suffix}")
                (labels_dir / f"{stem}.txt").write_text(labels)
            if split == "train" and background_per_photo:
                whole = int(background_per_photo)
                count = whole + (rng.random() < background_per_photo - whole)
                _write_backgrounds(photo, images_dir, labels_dir, count, rng)
    for index, image_path in enumerate(negative_images):
        stem = f"negative{index:05d}_{Path(image_path).stem}"
        _link(Path(image_path), out_dir / "images" / "train" / f"{stem}{Path(image_path).suffix}")
        (out_dir / "labels" / "train" / f"{stem}.txt").write_text("")
    yaml_path = out_dir / "faces.yaml"
    yaml_path.write_text(
        f"path: {out_dir}\ntrain: images/train\nval: images/val\nnames:\n  0: face\n"
    )
    return yaml_path


def _write_backgrounds(photo: ScenePhoto, images_dir: Path, labels_dir: Path, count: int, rng: random.Random) -> None:
    boxes = background_boxes(photo, count, rng) if count else []
    if not boxes:
        return
    with Image.open(photo.image_path) as image:
        rgb = image.convert("RGB")
        for index, box in enumerate(boxes):
            stem = f"{photo.image_path.stem}_background{index}"
            rgb.crop(tuple(round(v) for v in box)).resize((photo.width, photo.height), Image.BILINEAR).save(
                images_dir / f"{stem}.jpg", quality=92)
            (labels_dir / f"{stem}.txt").write_text("")
