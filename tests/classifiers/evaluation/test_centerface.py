from maskscan.classifiers.datasets.voc import FaceBox, ScenePhoto
from maskscan.classifiers.evaluation.centerface import centerface_teacher
from tests.conftest import shared_path


def test_centerface_teacher_marks_the_faces_of_a_real_photo_nobody_boxed() -> None:
    image_path = shared_path("mask-scenes", "images", "maksssksksss0.jpg")  # a street crowd
    mark = centerface_teacher(0.5)
    unboxed = mark(ScenePhoto(image_path, 512, 366, ()))
    assert len(unboxed.unlabelled) >= 2
    boxed = ScenePhoto(image_path, 512, 366, (FaceBox(*unboxed.unlabelled[0], "with_mask"),))
    assert len(mark(boxed).unlabelled) == len(unboxed.unlabelled) - 1  # a boxed face is no longer skipped
