from pathlib import Path

from PIL import Image

from maskscan.classifiers.crops import CropPolicy
from maskscan.classifiers.datasets.crop_sets import load_evaluation_crops, load_scene_crops

CROWD = """<annotation><filename>crowd.jpg</filename><size><width>200</width><height>100</height></size>
  <object><name>with_mask</name><bndbox><xmin>10</xmin><ymin>20</ymin><xmax>30</xmax><ymax>50</ymax></bndbox></object>
  <object><name>face</name><bndbox><xmin>100</xmin><ymin>20</ymin><xmax>130</xmax><ymax>60</ymax></bndbox></object>
  <object><name>face</name><bndbox><xmin>150</xmin><ymin>20</ymin><xmax>156</xmax><ymax>28</ymax></bndbox></object>
</annotation>"""


def crowd_folder(root: Path) -> Path:
    (root / "annotations").mkdir(parents=True)
    (root / "images").mkdir()
    (root / "annotations" / "crowd.xml").write_text(CROWD)
    Image.new("RGB", (200, 100), (200, 160, 140)).save(root / "images" / "crowd.jpg")
    return root


def test_faces_of_unknown_mask_state_are_left_out_unless_asked_for(tmp_path: Path) -> None:
    crops = load_scene_crops(crowd_folder(tmp_path), "all", CropPolicy(32))
    assert crops.labels.tolist() == [0] and crops.images.shape == (1, 3, 32, 32)


def test_unlabelled_faces_as_no_mask_keep_only_those_wide_enough(tmp_path: Path) -> None:
    root = crowd_folder(tmp_path)
    crops = load_scene_crops(root, "all", CropPolicy(32), unlabelled_as_no_mask=True, unlabelled_min_width=10)
    assert crops.labels.tolist() == [0, 1]  # the 6-px face is left out; the labelled face is kept
    every = load_evaluation_crops(root, CropPolicy(32), "all", unlabelled_as_no_mask=True, unlabelled_min_width=0)
    assert every.labels.tolist() == [0, 1, 1] and every.sources == ("crowd.jpg",) * 3
