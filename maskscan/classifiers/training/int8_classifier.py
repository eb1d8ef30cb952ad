"""Calibrating the int8 mask classifier with NNCF (offline), recorded as an `Int8Ranges` file.

The classifier is calibrated on face crops cut from the training split of VOC scene sets with the
pipeline's own crop policy (what it sees at run time), never on validation or test crops. NNCF's full
bias correction is used, not its fast one: on the mask-scenes validation crops the fast one turned
3 of 417 labels (three unmasked faces) against float32, the full one none (README, Performance).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from maskscan.classifiers.crops import normalize
from maskscan.classifiers.datasets.crop_sets import CropSet, load_scene_crops
from maskscan.classifiers.int8_ranges import Int8Ranges
from maskscan.classifiers.mask_classifier import MaskClassifier, convert_classifier
from maskscan.classifiers.signal_stack import keep_own_signal_stack
from maskscan.classifiers.training.nncf_ranges import import_nncf, record_ranges, recordable_parameters


def calibration_crops(classifier: MaskClassifier, voc_roots: Sequence[Path], count: int, seed: int = 0) -> CropSet:
    """`count` face crops drawn (seeded) from the training splits of the VOC sets."""
    crops = CropSet.concat([load_scene_crops(root, "train", classifier.policy) for root in voc_roots])
    chosen = sorted(random.Random(seed).sample(range(len(crops)), min(count, len(crops))))
    return CropSet(crops.images[chosen], crops.labels[chosen], tuple(crops.sources[i] for i in chosen))


def quantise_classifier(classifier: MaskClassifier, crops: torch.Tensor) -> Any:  # noqa: ANN401 (openvino.Model)
    """NNCF's int8 version of the classifier's OpenVINO network, calibrated on (N, 3, S, S) uint8 `crops`."""
    nncf = import_nncf()
    inputs = [normalize(crop[None].float() / 255).numpy() for crop in crops]
    quantised = nncf.quantize(
        convert_classifier(classifier.model, classifier.policy.size), nncf.Dataset(inputs), subset_size=len(inputs),
        fast_bias_correction=False, advanced_parameters=recordable_parameters(nncf))
    keep_own_signal_stack()  # NNCF compiled models of its own
    return quantised


def calibrate_int8_classifier(classifier: MaskClassifier, crops: torch.Tensor, description: str) -> Int8Ranges:
    """Quantise the classifier with NNCF on `crops` and record the result."""
    quantised = quantise_classifier(classifier, crops)
    return record_ranges(quantised, convert_classifier(classifier.model, classifier.policy.size), classifier.name,
                         description)
