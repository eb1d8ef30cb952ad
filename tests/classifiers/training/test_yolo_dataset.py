import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from maskscan.classifiers.datasets.voc import FaceBox, ScenePhoto, parse_voc, split_of
from maskscan.classifiers.training.close_ups import faces_in_region
from maskscan.classifiers.training.yolo_dataset import (VocSet, _overlaps, background_boxes, write_yolo_dataset,
                                                        yolo_label_lines)
from tests.classifiers.datasets.test_voc import write_voc

CROWD = """<annotation><filename>{name}.jpg</filename><size><width>640</width><height>320</height></size>
<object><name>face</name><bndbox><xmin>100</xmin><ymin>100</ymin><xmax>106</xmax><ymax>107</ymax></bndbox></object>
<object><name>face</name><bndbox><xmin>300.5</xmin><ymin>50</ymin><xmax>340</xmax><ymax>95</ymax></bndbox></object>
</annotation>"""


def write_crowds(root: Path, names: list[str]) -> Path:
    """A WIDER-like set: one tiny face (6 px) and one 40-px face per photo, label `face`."""
    (root / "annotations").mkdir(parents=True)
    (root / "images").mkdir()
    for name in names:
        pixels = np.full((320, 640, 3), 60, np.uint8)
        pixels[100:107, 100:106] = (250, 200, 160)  # the tiny face
        pixels[50:95, 300:340] = (230, 180, 150)
        Image.fromarray(pixels).save(root / "images" / f"{name}.jpg", quality=98)
        (root / "annotations" / f"{name}.xml").write_text(CROWD.format(name=name))
    return root


def stems(folder: Path, pattern: str = "*.txt") -> list[str]:
    return sorted(p.stem for p in folder.glob(pattern))


def test_yolo_labels_by_hand(tmp_path: Path) -> None:
    photo = parse_voc(write_voc(tmp_path) / "annotations" / "street.xml", tmp_path / "images")
    assert yolo_label_lines(photo) == [
        "0 0.100000 0.350000 0.100000 0.300000",
        "0 0.875000 0.200000 0.250000 0.400000",
        "0 0.550000 0.700000 0.100000 0.400000",
    ]


def test_yolo_dataset_layout_follows_the_fixed_split_and_never_writes_the_test_split(tmp_path: Path) -> None:
    names = [f"photo{i}" for i in range(40)]
    for name in names:
        write_voc(tmp_path / "voc", name)
    yaml_path = write_yolo_dataset([tmp_path / "voc"], tmp_path / "yolo")
    assert "download" not in yaml_path.read_text()
    for split in ("train", "val"):
        expected = sorted(f"voc__{n}" for n in names if split_of(f"{n}.jpg") == split)
        assert stems(tmp_path / "yolo" / "labels" / split) == expected
        assert stems(tmp_path / "yolo" / "images" / split, "*.jpg") == expected
    test_photos = {f"voc__{n}" for n in names if split_of(f"{n}.jpg") == "test"}
    assert test_photos and not test_photos & set(stems(tmp_path / "yolo" / "images", "*/*.jpg"))


def test_several_sets_join_with_their_sampling_weights(tmp_path: Path) -> None:
    names = [f"photo{i}" for i in range(60)]
    for name in names:
        write_voc(tmp_path / "scenes", name)
    write_crowds(tmp_path / "crowds", [f"crowd{i}" for i in range(60)])
    write_yolo_dataset([VocSet(tmp_path / "scenes", 2.0), VocSet(tmp_path / "crowds", 0.5)], tmp_path / "yolo")
    train = stems(tmp_path / "yolo" / "labels" / "train")
    scene_train = [n for n in names if split_of(f"{n}.jpg") == "train"]
    assert sorted(s for s in train if s.startswith("scenes__")) == sorted(
        [f"scenes__{n}" for n in scene_train] + [f"scenes__{n}_repeat1" for n in scene_train])
    crowd_train = [s for s in train if s.startswith("crowds__")]
    all_crowd_train = [f"crowd{i}" for i in range(60) if split_of(f"crowd{i}.jpg") == "train"]
    assert 0.2 < len(crowd_train) / len(all_crowd_train) < 0.8  # about half, a fixed seeded share
    assert len(stems(tmp_path / "yolo" / "labels" / "val")) == sum(
        split_of(f"{n}.jpg") == "val" for n in names + [f"crowd{i}" for i in range(60)])


def test_tiny_faces_are_painted_out_and_left_unlabelled(tmp_path: Path) -> None:
    names = [f"crowd{i}" for i in range(30)]
    write_crowds(tmp_path / "crowds", names)
    write_yolo_dataset([tmp_path / "crowds"], tmp_path / "yolo", imgsz=512, ignore_below=6)
    name = next(n for n in names if split_of(f"{n}.jpg") == "train")
    labels = (tmp_path / "yolo" / "labels" / "train" / f"crowds__{name}.txt").read_text().split("\n")
    assert labels == ["0 0.500391 0.226562 0.061719 0.140625", ""]  # only the 40-px face (4.8 px tiny at 512)
    painted = np.asarray(Image.open(tmp_path / "yolo" / "images" / "train" / f"crowds__{name}.jpg"))
    tiny = painted[101:106, 101:105].astype(int)
    assert np.abs(tiny - tiny.mean(axis=(0, 1))).max() <= 6  # one flat colour now
    assert np.abs(painted[60:90, 305:335].astype(int) - (230, 180, 150)).max() <= 8  # the labelled face kept
    original = tmp_path / "crowds" / "images" / f"{name}.jpg"
    assert np.asarray(Image.open(original))[103, 103].tolist() != painted[103, 103].tolist()

    write_yolo_dataset([tmp_path / "crowds"], tmp_path / "unpainted", imgsz=512, ignore_below=0)
    kept = (tmp_path / "unpainted" / "labels" / "train" / f"crowds__{name}.txt").read_text().split("\n")
    assert len(kept) == 3  # both faces when nothing is ignored


def test_training_extras_are_face_free_backgrounds_and_repeated_unmasked_photos(tmp_path: Path) -> None:
    names = [f"photo{i}" for i in range(40)]
    for name in names:
        write_voc(tmp_path / "voc", name)
    write_yolo_dataset([tmp_path / "voc"], tmp_path / "yolo", background_per_photo=2, unmasked_repeat=3)
    train = sorted(n for n in names if split_of(f"{n}.jpg") == "train")
    labels = tmp_path / "yolo" / "labels"
    assert sorted(p.stem for p in labels.glob("train/*_repeat*.txt")) == sorted(
        f"voc__{n}_repeat{k}" for n in train for k in (1, 2))
    backgrounds = sorted(labels.glob("train/*_background*.txt"))
    assert backgrounds and all(p.read_text() == "" for p in backgrounds)
    assert not list(labels.glob("val/*_repeat*")) and not list(labels.glob("val/*_background*"))


def test_negative_images_join_the_train_split_with_empty_labels(tmp_path: Path) -> None:
    write_voc(tmp_path / "voc")
    negatives = []
    for i in range(3):
        negatives.append(tmp_path / f"empty_car_park_{i}.jpg")
        Image.new("RGB", (64, 48), (90, 90, 90)).save(negatives[-1])
    write_yolo_dataset([tmp_path / "voc"], tmp_path / "yolo", negative_images=negatives)
    train_images = sorted((tmp_path / "yolo" / "images" / "train").glob("negative*"))
    assert [p.name for p in train_images] == [f"negative{i:05d}_empty_car_park_{i}.jpg" for i in range(3)]
    labels = [tmp_path / "yolo" / "labels" / "train" / f"{p.stem}.txt" for p in train_images]
    assert all(label.read_text() == "" for label in labels)
    assert not list((tmp_path / "yolo" / "images" / "val").glob("negative*"))


def test_close_up_crops_are_upscaled_with_their_faces_labelled(tmp_path: Path) -> None:
    names = [f"crowd{i}" for i in range(12)]
    write_crowds(tmp_path / "crowds", names)
    write_yolo_dataset([tmp_path / "crowds"], tmp_path / "yolo", imgsz=640, ignore_below=6, close_ups_per_photo=2)
    train = [n for n in names if split_of(f"{n}.jpg") == "train"]
    labels = tmp_path / "yolo" / "labels"
    close_ups = sorted(labels.glob("train/*_closeup*.txt"))
    assert sorted(p.stem for p in close_ups) == sorted(f"crowds__{n}_closeup{k}" for n in train for k in (0, 1))
    assert not list(labels.glob("val/*_closeup*"))
    for label in close_ups:
        image = Image.open(tmp_path / "yolo" / "images" / "train" / f"{label.stem}.jpg")
        assert image.size == (640, 320)
        lines = [line.split() for line in label.read_text().split("\n") if line]
        _, cx, cy, w, h = (float(v) for v in lines[-1])  # the 40-px face, now 67-133 px wide
        assert 1 / 0.6 * 40 - 2 <= w * 640 <= 1 / 0.3 * 40 + 2
        face = np.asarray(image)[round(cy * 320), round(cx * 640)].astype(int)
        assert np.abs(face - (230, 180, 150)).max() <= 12


def test_background_boxes_touch_no_face(tmp_path: Path) -> None:
    photo = parse_voc(write_voc(tmp_path) / "annotations" / "street.xml", tmp_path / "images")
    boxes = background_boxes(photo, 5, random.Random(1), min_share=0.2)
    assert boxes
    for box in boxes:
        assert not any(_overlaps(box, face, 0.2) for face in photo.faces)
        assert 0 <= box[0] < box[2] <= 200 and 0 <= box[1] < box[3] <= 100


def test_faces_a_teacher_marks_as_skipped_are_labelled_and_kept_out_of_backgrounds(tmp_path: Path) -> None:
    names = [f"crowd{i}" for i in range(30)]
    write_crowds(tmp_path / "crowds", names)
    for name in names:  # an unlabelled face, pure blue to find it in the background crops
        image_path = tmp_path / "crowds" / "images" / f"{name}.jpg"
        pixels = np.asarray(Image.open(image_path)).copy()
        pixels[200:250, 500:540] = (0, 0, 255)
        Image.fromarray(pixels).save(image_path, quality=98)
    skipped = (500.0, 200.0, 540.0, 250.0)

    def teacher(photo: ScenePhoto) -> ScenePhoto:
        return replace(photo, unlabelled=(skipped,))

    def backgrounds_showing_the_skipped_face(yolo: Path) -> int:
        crops = [np.asarray(Image.open(p)).astype(int) for p in (yolo / "images" / "train").glob("*_background*.jpg")]
        assert crops
        return sum(bool(((crop[..., 2] > 200) & (crop[..., 0] < 60)).any()) for crop in crops)

    write_yolo_dataset([tmp_path / "crowds"], tmp_path / "yolo", background_per_photo=3, ignore_below=6,
                       mark_skipped_faces=teacher)
    for split in ("train", "val"):
        name = next(n for n in names if split_of(f"{n}.jpg") == split)
        labels = (tmp_path / "yolo" / "labels" / split / f"crowds__{name}.txt").read_text().split("\n")
        assert labels == ["0 0.500391 0.226562 0.061719 0.140625", "0 0.812500 0.703125 0.062500 0.156250", ""]
    assert backgrounds_showing_the_skipped_face(tmp_path / "yolo") == 0

    write_yolo_dataset([tmp_path / "crowds"], tmp_path / "untaught", background_per_photo=3, ignore_below=6)
    assert backgrounds_showing_the_skipped_face(tmp_path / "untaught") > 0


def test_close_ups_use_the_kept_share_asked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import maskscan.classifiers.training.yolo_dataset as yolo_dataset

    shares = []

    def recording(photo: ScenePhoto, region: tuple[int, int, int, int], kept_share: float):
        shares.append(kept_share)
        return faces_in_region(photo, region, kept_share)

    monkeypatch.setattr(yolo_dataset, "faces_in_region", recording)
    write_crowds(tmp_path / "crowds", [f"crowd{i}" for i in range(12)])
    write_yolo_dataset([tmp_path / "crowds"], tmp_path / "yolo", close_ups_per_photo=1, close_up_kept_share=0.25)
    assert shares and set(shares) == {0.25}
