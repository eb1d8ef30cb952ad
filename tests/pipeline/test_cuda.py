"""The CUDA path (run by benchmarks/gpu_check.sh on a GPU machine; skipped elsewhere).

float16 for both models on the GPU must agree with the reference loop as the CPU path does,
frames must go to the GPU once with no trip back to the host between detector and classifier,
and the peak GPU memory is reported.
"""

import numpy as np
import pytest
import torch

from maskscan.classifiers.shipped import DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE, SHIPPED_DETECTOR
from maskscan.detections import FaceDetections
from maskscan.pipeline.loading import inference_precision, load_pipeline
from tests.pipeline.test_parity import (MASK_THRESHOLD, assert_agrees_with_reference, crowd_batches,  # noqa: F401
                                        reference_faces)

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device (benchmarks/gpu_check.sh)")]

FLOAT16_SCORE_MARGIN = 0.03
"""float16 moves detector scores by more than float32 backends do: faces this close to the threshold may tip."""


@pytest.fixture(scope="module")
def cuda_pipeline():  # noqa: ANN201
    device = torch.device("cuda")
    assert inference_precision(device).detector == torch.float16
    return load_pipeline(device, SHIPPED_DETECTOR, DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE, MASK_THRESHOLD)


def test_float16_on_the_gpu_agrees_with_the_reference_loop(cuda_pipeline, crowd_batches) -> None:  # noqa: ANN001
    unoptimised = reference_faces(crowd_batches, FLOAT16_SCORE_MARGIN)
    optimised = [faces for batch in crowd_batches for faces in cuda_pipeline(batch)]
    assert_agrees_with_reference(optimised, unoptimised, FLOAT16_SCORE_MARGIN)


def test_frames_cross_to_the_gpu_once_and_faces_stay_there(cuda_pipeline, crowd_batches,  # noqa: ANN001
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []
    classify = cuda_pipeline.classifier.classify_faces

    def checked(frames, boxes):  # noqa: ANN001, ANN202
        seen.append((frames[0].device.type, {b.device.type for b in boxes}))
        return classify(frames, boxes)

    monkeypatch.setattr(cuda_pipeline.classifier, "classify_faces", checked)
    found: list[FaceDetections] = cuda_pipeline(crowd_batches[0])
    assert seen == [("cuda", {"cuda"})]  # the classifier cut its faces from the frames on the GPU, at GPU boxes
    assert sum(len(f) for f in found) > 0 and all(np.isfinite(f.mask_probs).all() for f in found)


def test_peak_gpu_memory_is_reported(cuda_pipeline, crowd_batches) -> None:  # noqa: ANN001
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    for batch in crowd_batches:
        cuda_pipeline(batch)
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() / 2**20
    print(f"peak GPU memory, 1080p batches of 4 in float16: {peak:.0f} MiB")
    assert 0 < peak < 8192
