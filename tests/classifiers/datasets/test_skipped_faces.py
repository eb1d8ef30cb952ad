from pathlib import Path

import numpy as np

from maskscan.classifiers.datasets.skipped_faces import unlabelled_as_faces, with_unlabelled_faces
from maskscan.classifiers.datasets.voc import FaceBox, ScenePhoto


def test_a_teachers_confident_box_on_no_labelled_face_becomes_an_unlabelled_face() -> None:
    photo = ScenePhoto(Path("a.jpg"), 200, 100, (FaceBox(0, 0, 20, 20, "without_mask"),))
    teacher_boxes = np.array([[1, 1, 21, 21], [100, 10, 130, 40], [150, 10, 180, 40]], np.float32)
    teacher_scores = np.array([0.9, 0.8, 0.3], np.float32)
    marked = with_unlabelled_faces(photo, teacher_boxes, teacher_scores, threshold=0.5)
    # the first box is the labelled face, the last is below the teacher's threshold
    assert marked.unlabelled == ((100.0, 10.0, 130.0, 40.0),)
    assert marked.faces == photo.faces


def test_unlabelled_faces_become_faces_of_unknown_state_clipped_to_the_image() -> None:
    labelled = FaceBox(0, 0, 20, 20, "without_mask")
    photo = ScenePhoto(Path("a.jpg"), 200, 100, (labelled,),
                       unlabelled=((100.0, 10.0, 130.0, 40.0), (190.0, 90.0, 215.0, 120.0), (205.0, 0.0, 230.0, 9.0)))
    taught = unlabelled_as_faces(photo)
    # the last region lies wholly outside the image: nothing is left of it
    assert taught.faces == (labelled, FaceBox(100.0, 10.0, 130.0, 40.0, "face"), FaceBox(190.0, 90.0, 200.0, 100.0, "face"))
    assert [f.mask_state for f in taught.faces] == ["unmasked", "unknown", "unknown"]
    assert taught.unlabelled == ()
