from pathlib import Path

import pytest

from maskscan.classifiers.datasets.voc import TEST_PERCENT, VALIDATION_PERCENT, load_scenes, parse_voc, split_of

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


def test_split_is_a_pure_function_of_the_file_name() -> None:
    assert split_of("maksssksksss0.jpg") == split_of("/elsewhere/maksssksksss0.jpg")
    splits = [split_of(f"image{i}.jpg") for i in range(4000)]
    assert abs(splits.count("val") / 4000 - VALIDATION_PERCENT / 100) < 0.03
    assert abs(splits.count("test") / 4000 - TEST_PERCENT / 100) < 0.03


def test_splits_are_disjoint_and_cover_every_photo(tmp_path: Path) -> None:
    names = [f"photo{i}" for i in range(60)]
    for name in names:
        write_voc(tmp_path, name)
    by_split = {split: {p.image_path.stem for p in load_scenes(tmp_path, split)} for split in ("train", "val", "test")}
    assert all(by_split.values())
    assert not (by_split["train"] & by_split["val"]) and not (by_split["train"] & by_split["test"])
    assert not (by_split["val"] & by_split["test"])
    assert set().union(*by_split.values()) == set(names) == {p.image_path.stem for p in load_scenes(tmp_path)}


def test_validation_split_of_the_scene_photos_is_unchanged_by_the_test_split() -> None:
    """The validation photos chose every threshold so far: carving a test split must not move them."""
    val = [f"maksssksksss{i}.jpg" for i in range(853) if split_of(f"maksssksksss{i}.jpg") == "val"]
    # what the split gave before the test split existed
    assert len(val) == 112
    assert val[:5] == ["maksssksksss3.jpg", "maksssksksss4.jpg", "maksssksksss13.jpg", "maksssksksss36.jpg",
                       "maksssksksss45.jpg"]


def test_face_label_has_unknown_mask_state(tmp_path: Path) -> None:
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "crowd.xml").write_text(
        "<annotation><filename>crowd.jpg</filename><size><width>640</width><height>400</height></size>"
        "<object><name>face</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>9</xmax><ymax>12</ymax></bndbox></object>"
        "</annotation>")
    (face,) = parse_voc(tmp_path / "annotations" / "crowd.xml", tmp_path / "images").faces
    assert (face.mask_state, face.masked) == ("unknown", False)


def test_missing_annotations_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="annotations"):
        load_scenes(tmp_path)
