"""PASCAL VOC scenes to an ultralytics YOLO data set (one class: face)."""

from __future__ import annotations

import os
from pathlib import Path

from maskscan.classifiers.scenes import ScenePhoto, load_scenes


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


def write_yolo_dataset(voc_root: Path, out_dir: Path) -> Path:
    """Lay out `images/{train,val}` (links to the photos) and `labels/{train,val}`.

    The split is the scenes' fixed file-name-hash split. Returns the data set YAML, which
    has no `download:` key, so ultralytics never tries to fetch anything.
    """
    out_dir = Path(out_dir).resolve()
    for split in ("train", "val"):
        images_dir = out_dir / "images" / split
        labels_dir = out_dir / "labels" / split
        images_dir.mkdir(parents=True, exist_ok=True)
        labels_dir.mkdir(parents=True, exist_ok=True)
        for photo in load_scenes(voc_root, split):
            if not photo.image_path.is_file():
                raise FileNotFoundError(f"{photo.image_path}: image named by its annotation is missing")
            _link(photo.image_path, images_dir / photo.image_path.name)
            label_file = labels_dir / (photo.image_path.stem + ".txt")
            label_file.write_text("\n".join(yolo_label_lines(photo)) + "\n")
    yaml_path = out_dir / "faces.yaml"
    yaml_path.write_text(
        f"path: {out_dir}\ntrain: images/train\nval: images/val\nnames:\n  0: face\n"
    )
    return yaml_path
