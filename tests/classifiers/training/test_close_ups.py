import random
from pathlib import Path

from maskscan.classifiers.datasets.voc import FaceBox, ScenePhoto
from maskscan.classifiers.training.close_ups import close_up_boxes, faces_in_region


def test_close_ups_hold_a_larger_face_at_the_photo_aspect_ratio() -> None:
    faces = (FaceBox(10, 10, 14, 14, "face"), FaceBox(500, 200, 560, 260, "face"), FaceBox(100, 20, 104, 24, "face"))
    photo = ScenePhoto(Path("crowd.jpg"), 640, 320, faces)
    boxes = close_up_boxes(photo, 20, random.Random(3))
    assert len(boxes) == 20
    for x1, y1, x2, y2 in boxes:
        assert 0 <= x1 and x2 <= 640 and 0 <= y1 and y2 <= 320
        assert abs((x2 - x1) / (y2 - y1) - 2) < 0.05
        assert 0.3 * 640 - 1 <= x2 - x1 <= 0.6 * 640 + 1
        assert x1 <= 500 and 560 <= x2 and y1 <= 200 and 260 <= y2  # the 60-px face, never only the 4-px ones


def test_a_face_cut_by_a_close_up_is_clipped_when_mostly_inside_and_painted_out_otherwise() -> None:
    faces = (FaceBox(20, 20, 40, 40, "with_mask"), FaceBox(90, 20, 110, 40, "face"), FaceBox(95, 60, 120, 80, "face"))
    kept, cut = faces_in_region(ScenePhoto(Path("p.jpg"), 200, 100, faces), (10, 10, 100, 70))
    assert kept == [FaceBox(10, 10, 30, 30, "with_mask"), FaceBox(80, 10, 90, 30, "face")]  # half of the second
    assert cut == [FaceBox(85, 50, 90, 60, "face")]  # a tenth of the third


def test_a_lower_kept_share_keeps_more_of_the_faces_a_close_up_cuts() -> None:
    faces = (FaceBox(90, 20, 110, 40, "face"), FaceBox(95, 60, 120, 80, "face"))
    kept, cut = faces_in_region(ScenePhoto(Path("p.jpg"), 200, 100, faces), (10, 10, 100, 70), kept_share=0.1)
    assert kept == [FaceBox(80, 10, 90, 30, "face"), FaceBox(85, 50, 90, 60, "face")] and cut == []
    kept, cut = faces_in_region(ScenePhoto(Path("p.jpg"), 200, 100, faces), (10, 10, 100, 70), kept_share=0.6)
    assert kept == [] and len(cut) == 2
