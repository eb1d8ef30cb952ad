import numpy as np
from PIL import Image

from maskscan.classifiers.datasets.voc import FaceBox, ScenePhoto
from maskscan.classifiers.evaluation.centerface import CENTERFACE_THRESHOLD, CenterFaceDetector, centerface_teacher
from tests.conftest import shared_path


def test_centerface_teacher_marks_the_faces_of_a_real_photo_nobody_boxed() -> None:
    image_path = shared_path("mask-scenes", "images", "maksssksksss0.jpg")  # a street crowd
    mark = centerface_teacher(0.5)
    unboxed = mark(ScenePhoto(image_path, 512, 366, ()))
    assert len(unboxed.unlabelled) >= 2
    boxed = ScenePhoto(image_path, 512, 366, (FaceBox(*unboxed.unlabelled[0], "with_mask"),))
    assert len(mark(boxed).unlabelled) == len(unboxed.unlabelled) - 1  # a boxed face is no longer skipped


def test_centerface_at_its_operating_point_keeps_exactly_the_boxes_a_low_threshold_keeps_above_it() -> None:
    """The teacher asks for its own threshold (fast on crowds); its boxes must not change."""
    detector = CenterFaceDetector()
    image = np.array(Image.open(shared_path("mask-scenes", "images", "maksssksksss0.jpg")).convert("RGB"))
    low_boxes, low_scores = detector(image)
    boxes, scores = detector(image, threshold=CENTERFACE_THRESHOLD)
    above = low_scores >= CENTERFACE_THRESHOLD
    assert 2 <= len(scores) < len(low_scores)
    order, low_order = np.argsort(-scores), np.argsort(-low_scores[above])
    np.testing.assert_array_equal(boxes[order], low_boxes[above][low_order])
    np.testing.assert_array_equal(scores[order], low_scores[above][low_order])
