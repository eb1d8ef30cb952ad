"""The speed-ups change no result: the pipeline's counts equal the unoptimised path's."""

import numpy as np
import pytest
import torch

from maskscan.classifiers.shipped import DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE, SHIPPED_DETECTOR, mask_threshold_for
from maskscan.detections import FaceDetections
from maskscan.pipeline.decode import VideoSource, batched_frames
from maskscan.pipeline.loading import Precision, load_pipeline
from maskscan.pipeline.media import MediaFile
from maskscan.pipeline.reference import ReferenceLoop
from tests.conftest import shared_path

MASK_THRESHOLD = mask_threshold_for(DEFAULT_CLASSIFIER)


@pytest.fixture(scope="module")
def crowd_batches() -> list[list[np.ndarray]]:
    crowd = MediaFile(shared_path("videos", "facenet-pytorch_examples_video.mp4"), "video")  # 1080p, many faces
    with VideoSource(crowd, sample_fps=2) as source:
        return [[frame.image for frame in batch] for batch in batched_frames(source, batch_size=4)]


@pytest.fixture(scope="module")
def unoptimised(crowd_batches: list[list[np.ndarray]]) -> list[FaceDetections]:
    reference = ReferenceLoop(SHIPPED_DETECTOR, DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE, MASK_THRESHOLD)
    return [reference(image) for batch in crowd_batches for image in batch]


@pytest.mark.parametrize("classifier_dtype", [torch.float32, torch.bfloat16], ids=["float32", "bfloat16"])
def test_batched_pipeline_counts_equal_the_reference_loop_on_real_footage(
        crowd_batches: list[list[np.ndarray]], unoptimised: list[FaceDetections], classifier_dtype: torch.dtype) -> None:
    """bfloat16 is what CPUs with AMX run the classifier in (see `inference_precision`)."""
    pipeline = load_pipeline(torch.device("cpu"), SHIPPED_DETECTOR, DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE,
                             MASK_THRESHOLD, precision=Precision(torch.float32, classifier_dtype))
    optimised = [detections for batch in crowd_batches for detections in pipeline(batch)]
    counts = [(len(d), int(d.masked.sum())) for d in optimised]
    assert len(counts) == 9 and sum(faces for faces, _ in counts) >= 20
    assert counts == [(len(d), int(d.masked.sum())) for d in unoptimised]
    for ours, theirs in zip(optimised, unoptimised):  # the same faces, to a pixel or two of 1920
        np.testing.assert_allclose(ours.boxes[np.argsort(ours.boxes[:, 0])],
                                   theirs.boxes[np.argsort(theirs.boxes[:, 0])], atol=3)
