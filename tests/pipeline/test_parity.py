"""The speed-ups change no result: the pipeline's counts equal the unoptimised path's."""

import numpy as np
import torch

from maskscan.classifiers.shipped import DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE, MASK_THRESHOLD, SHIPPED_DETECTOR
from maskscan.pipeline.decode import VideoSource, batched_frames
from maskscan.pipeline.loading import load_pipeline
from maskscan.pipeline.media import MediaFile
from maskscan.pipeline.reference import ReferenceLoop
from tests.conftest import shared_path


def test_batched_pipeline_counts_equal_the_reference_loop_on_real_footage() -> None:
    crowd = MediaFile(shared_path("videos", "facenet-pytorch_examples_video.mp4"), "video")  # 1080p, many faces
    pipeline = load_pipeline(torch.device("cpu"), SHIPPED_DETECTOR, DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE,
                             MASK_THRESHOLD)
    reference = ReferenceLoop(SHIPPED_DETECTOR, DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE, MASK_THRESHOLD)
    with VideoSource(crowd, sample_fps=2) as source:
        batches = list(batched_frames(source, batch_size=4))
    optimised, unoptimised = [], []
    for batch in batches:
        images = [frame.image for frame in batch]
        optimised += pipeline(images)
        unoptimised += map(reference, images)
    counts = [(len(d), int(d.masked.sum())) for d in optimised]
    assert len(counts) == 9 and sum(faces for faces, _ in counts) >= 20
    assert counts == [(len(d), int(d.masked.sum())) for d in unoptimised]
    for ours, theirs in zip(optimised, unoptimised):  # the same faces, to a pixel or two of 1920
        np.testing.assert_allclose(ours.boxes[np.argsort(ours.boxes[:, 0])],
                                   theirs.boxes[np.argsort(theirs.boxes[:, 0])], atol=3)
