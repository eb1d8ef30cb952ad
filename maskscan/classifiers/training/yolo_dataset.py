"""PASCAL VOC face sets to one ultralytics YOLO data set (one class: face)."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from maskscan.classifiers.datasets.skipped_faces import unlabelled_as_faces
from maskscan.classifiers.datasets.voc import FaceBox, ScenePhoto, load_scenes
from maskscan.classifiers.training.close_ups import CLOSE_UP_KEPT_SHARE, close_up_boxes, faces_in_region


@dataclass(frozen=True)
class VocSet:
    """A VOC folder and how often each of its training photos appears per epoch (on average).

    A weight below 1 keeps a fixed, seeded share of the photos; 2.5 means every photo twice and
    half of them a third time."""

    root: Path
    weight: float = 1.0

    @property
    def name(self) -> str:
        return Path(self.root).name


def yolo_label_lines(photo: ScenePhoto, faces: Sequence[FaceBox] | None = None) -> list[str]:
    """`class cx cy w h` lines, normalised to the image size, for the faces of a photo (default: all)."""
    if photo.width <= 0 or photo.height <= 0:
        raise ValueError(f"{photo.image_path}: annotation has no image size")
    lines = []
    for face in photo.faces if faces is None else faces:
        cx = (face.x1 + face.x2) / 2 / photo.width
        cy = (face.y1 + face.y2) / 2 / photo.height
        w = (face.x2 - face.x1) / photo.width
        h = (face.y2 - face.y1) / photo.height
        lines.append(f"0 {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
    return lines


def tiny_faces(photo: ScenePhoto, imgsz: int, min_width: float) -> list[FaceBox]:
    """Faces narrower than `min_width` pixels once the photo is letterboxed to `imgsz`."""
    scale = imgsz / max(photo.width, photo.height)
    return [face for face in photo.faces if face.width * scale < min_width]


def paint_out(image: Image.Image, faces: Sequence[FaceBox]) -> Image.Image:
    """The image with each face's box filled with that box's mean colour.

    How tiny faces are ignored: left labelled they teach the detector boxes it cannot
    localise; left unlabelled they teach it that faces are background."""
    pixels = np.array(image.convert("RGB"))
    for face in faces:
        x1, y1 = int(np.floor(face.x1)), int(np.floor(face.y1))
        x2, y2 = int(np.ceil(face.x2)), int(np.ceil(face.y2))
        region = pixels[y1:y2, x1:x2]
        if region.size:
            region[...] = region.reshape(-1, 3).mean(axis=0).round().astype(np.uint8)
    return Image.fromarray(pixels)


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


def _copies(weight: float, rng: random.Random) -> int:
    whole = int(weight)
    return whole + (rng.random() < weight - whole)


def write_yolo_dataset(voc_sets: Sequence[VocSet | Path], out_dir: Path, background_per_photo: float = 0.0,
                       unmasked_repeat: int = 1, seed: int = 0, negative_images: Sequence[Path] = (),
                       imgsz: int = 512, ignore_below: float = 0.0,
                       mark_skipped_faces: Callable[[ScenePhoto], ScenePhoto] | None = None,
                       close_ups_per_photo: float = 0.0, close_up_kept_share: float = CLOSE_UP_KEPT_SHARE) -> Path:
    """Lay out `images/{train,val}` and `labels/{train,val}` from one or more VOC sets.

    Each set keeps its fixed file-name-hash split (its test split is never written). File
    stems are `<set>__<photo>`. Only the train split gets extras: each set's sampling weight,
    `background_per_photo` face-free crops on average (empty labels), photos with an
    unmasked face `unmasked_repeat` times (unmasked faces are the minority), and
    `negative_images`: pictures known to show no face (for example frames of a camera's empty
    footage), with empty labels; `close_ups_per_photo` crops around a photo's larger faces, upscaled
    to the photo's size, on average (see `close_up_boxes`), keeping a face their border cuts as a label
    when at least `close_up_kept_share` of it is inside (see `faces_in_region`). Faces narrower than
    `ignore_below` pixels at `imgsz` are painted out in both splits (see `paint_out`).
    `mark_skipped_faces` (a teacher) finds the faces the annotators skipped as a photo's `unlabelled`
    regions; they are then labelled as faces in both splits, so neither the photo nor its background
    crops teach that they are background. Returns the data set YAML, which has no `download:` key, so
    ultralytics never tries to fetch anything.
    """
    out_dir = Path(out_dir).resolve()
    rng = random.Random(seed)
    sets = [s if isinstance(s, VocSet) else VocSet(Path(s)) for s in voc_sets]
    for split in ("train", "val"):
        images_dir = out_dir / "images" / split
        labels_dir = out_dir / "labels" / split
        images_dir.mkdir(parents=True, exist_ok=True)
        labels_dir.mkdir(parents=True, exist_ok=True)
        for voc_set in sets:
            for photo in load_scenes(voc_set.root, split):
                if not photo.image_path.is_file():
                    raise FileNotFoundError(f"{photo.image_path}: image named by its annotation is missing")
                if mark_skipped_faces is not None:
                    photo = unlabelled_as_faces(mark_skipped_faces(photo))
                copies = 1
                if split == "train":
                    copies = _copies(voc_set.weight, rng)
                    if any(f.mask_state == "unmasked" for f in photo.faces):
                        copies *= unmasked_repeat
                if copies:
                    _write_photo(photo, f"{voc_set.name}__{photo.image_path.stem}", copies, images_dir,
                                 labels_dir, tiny_faces(photo, imgsz, ignore_below) if ignore_below else [])
                if split == "train":
                    stem = f"{voc_set.name}__{photo.image_path.stem}"
                    backgrounds = _copies(background_per_photo, rng) if background_per_photo else 0
                    _write_crops(photo, stem, "background", background_boxes(photo, backgrounds, rng), images_dir,
                                 labels_dir, imgsz, ignore_below)
                    close_ups = _copies(close_ups_per_photo, rng) if close_ups_per_photo else 0
                    _write_crops(photo, stem, "closeup", close_up_boxes(photo, close_ups, rng), images_dir,
                                 labels_dir, imgsz, ignore_below, close_up_kept_share)
    for index, image_path in enumerate(negative_images):
        stem = f"negative{index:05d}_{Path(image_path).stem}"
        _link(Path(image_path), out_dir / "images" / "train" / f"{stem}{Path(image_path).suffix}")
        (out_dir / "labels" / "train" / f"{stem}.txt").write_text("")
    yaml_path = out_dir / "faces.yaml"
    yaml_path.write_text(
        f"path: {out_dir}\ntrain: images/train\nval: images/val\nnames:\n  0: face\n"
    )
    return yaml_path


def _write_photo(photo: ScenePhoto, stem: str, copies: int, images_dir: Path, labels_dir: Path,
                 ignored: list[FaceBox]) -> None:
    labels = "\n".join(yolo_label_lines(photo, [f for f in photo.faces if f not in ignored])) + "\n"
    for copy in range(copies):
        copy_stem = stem + (f"_repeat{copy}" if copy else "")
        image_path = images_dir / f"{copy_stem}.jpg"
        if ignored and copy == 0:
            with Image.open(photo.image_path) as image:
                paint_out(image, ignored).save(image_path, quality=95)
        elif ignored:
            _link(images_dir / f"{stem}.jpg", image_path)
        else:
            _link(photo.image_path, images_dir / f"{copy_stem}{photo.image_path.suffix}")
        (labels_dir / f"{copy_stem}.txt").write_text(labels)


def _write_crops(photo: ScenePhoto, stem: str, kind: str, regions: Sequence[tuple[float, float, float, float]],
                 images_dir: Path, labels_dir: Path, imgsz: int, ignore_below: float,
                 kept_share: float = CLOSE_UP_KEPT_SHARE) -> None:
    """Each region of the photo upscaled to the photo's size, as `<stem>_<kind><index>`, with the faces
    inside it labelled (see `faces_in_region`; tiny ones painted out as in `write_yolo_dataset`)."""
    if not regions:
        return
    with Image.open(photo.image_path) as image:
        rgb = image.convert("RGB")
        for index, region in enumerate(regions):
            whole_pixels = (round(region[0]), round(region[1]), round(region[2]), round(region[3]))
            kept, cut = faces_in_region(photo, whole_pixels, kept_share)
            crop = ScenePhoto(photo.image_path, whole_pixels[2] - whole_pixels[0], whole_pixels[3] - whole_pixels[1],
                              tuple(kept))
            tiny = tiny_faces(crop, imgsz, ignore_below) if ignore_below else []
            labelled = [face for face in kept if face not in tiny]
            paint_out(rgb.crop(whole_pixels), cut + tiny).resize((photo.width, photo.height), Image.BILINEAR).save(
                images_dir / f"{stem}_{kind}{index}.jpg", quality=92)
            (labels_dir / f"{stem}_{kind}{index}.txt").write_text(
                "".join(line + "\n" for line in yolo_label_lines(crop, labelled)))
