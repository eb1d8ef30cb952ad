from pathlib import Path

import pytest

from maskscan.classifiers.training.yolo_dataset import write_yolo_dataset, yolo_label_lines
from maskscan.classifiers.datasets.voc import VALIDATION_PERCENT, load_scenes, parse_voc, split_of

VOC = """<annotation>
  <filename>street.jpg</filename>
  <size><width>200</width><height>100</height><depth>3</depth></size>
  <object><name>with_mask</name><bndbox><xmin>10</xmin><ymin>20</ymin><xmax>30</xmax><ymax>50</ymax></bndbox></object>
  <object><name>mask_weared_incorrect</name><bndbox><xmin>150</xmin><ymin>-5</ymin><xmax>210</xmax><ymax>40</ymax></bndbox></object>
  <object><name>without_mask</name><bndbox><xmin>100</xmin><ymin>50</ymin><xmax>120</xmax><ymax>90</ymax></bndbox></object>
</annotation>
"""


def write_voc(root: Path, name: str = "street") -> Path:
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    (root / "images").mkdir(exist_ok=True)
    (root / "annotations" / f"{name}.xml").write_text(VOC.replace("street.jpg", f"{name}.jpg"))
    from PIL import Image

    Image.new("RGB", (200, 100)).save(root / "images" / f"{name}.jpg")
    return root


def test_voc_parsing_clips_boxes_and_maps_labels(tmp_path: Path) -> None:
    photo = parse_voc(write_voc(tmp_path) / "annotations" / "street.xml", tmp_path / "images")
    assert (photo.width, photo.height) == (200, 100)
    assert [(f.x1, f.y1, f.x2, f.y2) for f in photo.faces] == [(10, 20, 30, 50), (150, 0, 200, 40), (100, 50, 120, 90)]
    assert [f.masked for f in photo.faces] == [True, False, False]  # worn incorrectly is not compliant


def test_yolo_labels_by_hand(tmp_path: Path) -> None:
    photo = parse_voc(write_voc(tmp_path) / "annotations" / "street.xml", tmp_path / "images")
    assert yolo_label_lines(photo) == [
        "0 0.100000 0.350000 0.100000 0.300000",
        "0 0.875000 0.200000 0.250000 0.400000",
        "0 0.550000 0.700000 0.100000 0.400000",
    ]


def test_yolo_dataset_layout_follows_the_fixed_split(tmp_path: Path) -> None:
    names = [f"photo{i}" for i in range(40)]
    for name in names:
        write_voc(tmp_path / "voc", name)
    yaml_path = write_yolo_dataset(tmp_path / "voc", tmp_path / "yolo")
    assert "download" not in yaml_path.read_text()
    for split in ("train", "val"):
        expected = sorted(n for n in names if split_of(f"{n}.jpg") == split)
        assert sorted(p.stem for p in (tmp_path / "yolo" / "labels" / split).glob("*.txt")) == expected
        assert sorted(p.stem for p in (tmp_path / "yolo" / "images" / split).glob("*.jpg")) == expected


def test_training_extras_are_face_free_backgrounds_and_repeated_unmasked_photos(tmp_path: Path) -> None:
    names = [f"photo{i}" for i in range(40)]
    for name in names:
        write_voc(tmp_path / "voc", name)
    write_yolo_dataset(tmp_path / "voc", tmp_path / "yolo", background_per_photo=2, unmasked_repeat=3)
    train = sorted(n for n in names if split_of(f"{n}.jpg") == "train")
    labels = tmp_path / "yolo" / "labels"
    assert sorted(p.stem for p in labels.glob("train/*_repeat*.txt")) == sorted(
        f"{n}_repeat{k}" for n in train for k in (1, 2))
    backgrounds = sorted(labels.glob("train/*_background*.txt"))
    assert backgrounds and all(p.read_text() == "" for p in backgrounds)
    assert not list(labels.glob("val/*_repeat*")) and not list(labels.glob("val/*_background*"))


def test_negative_images_join_the_train_split_with_empty_labels(tmp_path: Path) -> None:
    write_voc(tmp_path / "voc")
    from PIL import Image

    negatives = []
    for i in range(3):
        negatives.append(tmp_path / f"empty_car_park_{i}.jpg")
        Image.new("RGB", (64, 48), (90, 90, 90)).save(negatives[-1])
    write_yolo_dataset(tmp_path / "voc", tmp_path / "yolo", negative_images=negatives)
    train_images = sorted((tmp_path / "yolo" / "images" / "train").glob("negative*"))
    assert [p.name for p in train_images] == [f"negative{i:05d}_empty_car_park_{i}.jpg" for i in range(3)]
    labels = [tmp_path / "yolo" / "labels" / "train" / f"{p.stem}.txt" for p in train_images]
    assert all(label.read_text() == "" for label in labels)
    assert not list((tmp_path / "yolo" / "images" / "val").glob("negative*"))


def test_background_boxes_touch_no_face(tmp_path: Path) -> None:
    import random

    from maskscan.classifiers.training.yolo_dataset import _overlaps, background_boxes

    photo = parse_voc(write_voc(tmp_path) / "annotations" / "street.xml", tmp_path / "images")
    boxes = background_boxes(photo, 5, random.Random(1), min_share=0.2)
    assert boxes
    for box in boxes:
        assert not any(_overlaps(box, face, 0.2) for face in photo.faces)
        assert 0 <= box[0] < box[2] <= 200 and 0 <= box[1] < box[3] <= 100


def test_split_is_a_pure_function_of_the_file_name() -> None:
    assert split_of("maksssksksss0.jpg") == split_of("/elsewhere/maksssksksss0.jpg")
    shares = [split_of(f"image{i}.jpg") == "val" for i in range(2000)]
    assert abs(sum(shares) / 2000 - VALIDATION_PERCENT / 100) < 0.03


def test_missing_annotations_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="annotations"):
        load_scenes(tmp_path)
