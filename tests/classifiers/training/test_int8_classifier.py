"""Calibrating the int8 classifier: what NNCF builds, maskscan rebuilds from the recorded ranges alone."""

from pathlib import Path

import numpy as np
import pytest
import torch

from maskscan.classifiers.crops import normalize
from maskscan.classifiers.int8_ranges import Int8Ranges, apply_int8_ranges
from maskscan.classifiers.mask_classifier import MaskClassifier, convert_classifier
from maskscan.classifiers.openvino_runtime import compile_on_cpu
from maskscan.classifiers.shipped import DEFAULT_CLASSIFIER
from tests.classifiers.datasets.test_voc import write_voc

pytest.importorskip("nncf", reason="calibration needs NNCF (the `train` extra)")

from maskscan.classifiers.training.int8_classifier import calibration_crops, quantise_classifier  # noqa: E402
from maskscan.classifiers.training.nncf_ranges import record_ranges  # noqa: E402


@pytest.fixture(scope="module")
def classifier() -> MaskClassifier:
    return MaskClassifier.load(DEFAULT_CLASSIFIER)


@pytest.fixture(scope="module")
def crops() -> torch.Tensor:
    return torch.randint(0, 256, (4, 3, 128, 128), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def nncf_model(classifier: MaskClassifier, crops: torch.Tensor):  # noqa: ANN201 (openvino.Model)
    return quantise_classifier(classifier, crops)


def compiled(model):  # noqa: ANN001, ANN201
    return compile_on_cpu(model, {"INFERENCE_PRECISION_HINT": "f32"})


def test_the_recorded_ranges_rebuild_nncf_s_network_exactly(classifier: MaskClassifier, crops: torch.Tensor,
                                                            nncf_model, tmp_path: Path) -> None:  # noqa: ANN001
    original = convert_classifier(classifier.model, classifier.policy.size)
    recorded = record_ranges(nncf_model, original, classifier.name, "4 noise crops")
    assert sum(q.on_weight for q in recorded.quantisers) >= 53  # every convolution's weights, and the last layer's
    recorded.save(tmp_path / "ranges.safetensors")
    loaded = Int8Ranges.load(tmp_path / "ranges.safetensors")
    assert (loaded.weights, loaded.digest) == (classifier.name, recorded.digest)

    rebuilt = compiled(apply_int8_ranges(convert_classifier(classifier.model, classifier.policy.size), loaded))
    batch = normalize(crops.float() / 255).numpy()
    expected = compiled(nncf_model)(batch)[0]
    np.testing.assert_array_equal(rebuilt(batch)[0], expected)
    assert np.abs(compiled(original)(batch)[0] - expected).max() > 0  # it is quantised, not the float network


def test_nncf_leaves_the_weights_float_behind_their_quantisers(nncf_model) -> None:  # noqa: ANN001
    """Compressed to int8 constants, the weights would not be what `record_ranges` reads, and the
    rebuilt network ran at a quarter of NNCF's speed."""
    constants = [op for op in nncf_model.get_ordered_ops() if op.get_type_name() == "Constant"]
    assert not [op for op in constants if op.get_output_element_type(0).get_type_name() in ("i8", "u8")]


def test_calibration_crops_come_from_training_splits_only(classifier: MaskClassifier, tmp_path: Path) -> None:
    from maskscan.classifiers.datasets.voc import load_scenes

    for index in range(40):
        write_voc(tmp_path, f"photo{index}")
    held_out = {p.image_path.name for split in ("val", "test") for p in load_scenes(tmp_path, split)}
    chosen = calibration_crops(classifier, [tmp_path], 1000)
    assert len(chosen) and not set(chosen.sources) & held_out
    assert set(chosen.sources) == {p.image_path.name for p in load_scenes(tmp_path, "train")}
    assert calibration_crops(classifier, [tmp_path], 5, seed=1).sources == \
        calibration_crops(classifier, [tmp_path], 5, seed=1).sources
    assert len(calibration_crops(classifier, [tmp_path], 5)) == 5


def test_weights_nncf_compressed_are_refused_rather_than_recorded_wrong(classifier: MaskClassifier,
                                                                        crops: torch.Tensor) -> None:
    from maskscan.classifiers.training.nncf_ranges import import_nncf

    nncf = import_nncf()
    original = convert_classifier(classifier.model, classifier.policy.size)
    compressed = nncf.quantize(original, nncf.Dataset([normalize(crops.float() / 255).numpy()]), subset_size=1)
    with pytest.raises(ValueError, match="compressed .* weights to int8"):
        record_ranges(compressed, convert_classifier(classifier.model, classifier.policy.size), classifier.name, "")
