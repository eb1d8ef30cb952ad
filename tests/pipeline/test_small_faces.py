"""`--small-faces` on real crowd footage: every face of the plain pipeline stays, and only small ones join."""

import numpy as np
import pytest
import torch
from torchvision.ops import box_iou

from maskscan.classifiers.shipped import (DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE, DETECTOR_IMGSZ, SHIPPED_DETECTOR,
                                          SMALL_FACE_BELOW, SMALL_FACE_FLOOR, SMALL_FACE_IMGSZ)
from maskscan.classifiers.small_face_pass import TwoPassFaceDetector
from maskscan.pipeline.decode import VideoSource, batched_frames
from maskscan.pipeline.loading import load_pipeline
from maskscan.pipeline.media import MediaFile
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def crowd_frames() -> list[np.ndarray]:
    crowd = MediaFile(shared_path("videos", "facenet-pytorch_examples_video.mp4"), "video")  # 1080p, many faces
    with VideoSource(crowd, sample_fps=2) as source:
        return [frame.image for batch in batched_frames(source, batch_size=4) for frame in batch]


ON_CUDA = pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA device (benchmarks/gpu_check.sh)")])


@pytest.mark.parametrize("device", ["cpu", ON_CUDA])
def test_the_small_face_pass_keeps_every_face_and_adds_only_small_confident_ones(
        crowd_frames: list[np.ndarray], device: str) -> None:
    def pipeline(small_faces: bool):
        return load_pipeline(torch.device(device), SHIPPED_DETECTOR, DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE,
                             cpu_precision="fp32", small_faces=small_faces)

    plain, both = pipeline(False), pipeline(True)
    assert isinstance(both.detector, TwoPassFaceDetector)
    assert both.detector.second.imgsz == SMALL_FACE_IMGSZ
    assert both.detector.second.backend == both.detector.first.backend
    first_scale = DETECTOR_IMGSZ / max(crowd_frames[0].shape[:2])
    added = 0
    for batch in (crowd_frames[i:i + 4] for i in range(0, len(crowd_frames), 4)):
        for alone, joined in zip(plain(batch), both(batch), strict=True):
            overlap = box_iou(torch.from_numpy(alone.boxes), torch.from_numpy(joined.boxes))
            assert len(alone.boxes) == 0 or bool((overlap.max(dim=1).values >= 0.5).all())  # none lost
            new = (overlap.max(dim=0).values < 0.5) if len(alone.boxes) else torch.ones(len(joined.boxes), dtype=bool)
            widths = joined.boxes[new.numpy(), 2] - joined.boxes[new.numpy(), 0]
            assert (widths * first_scale < SMALL_FACE_BELOW).all()
            assert (joined.face_scores[new.numpy()] >= SMALL_FACE_FLOOR).all()
            added += int(new.sum())
    assert added > 0, "the second pass found no face the first missed in a 1080p crowd"
