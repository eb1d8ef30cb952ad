from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from maskscan.classifiers.evaluation.classifier import evaluate_classifier
from maskscan.classifiers.training.classifier import (
    ClassifierTrainingConfig,
    export_checkpoint,
    initial_state,
    train_classifier,
)
from maskscan.classifiers.mask_classifier import MaskClassifier


def make_crop_folder(root: Path, per_class: int, seed: int) -> Path:
    """Faces as skin-coloured squares; a mask is a blue-green lower half."""
    rng = np.random.default_rng(seed)
    for folder, masked in (("WithMask", True), ("WithoutMask", False)):
        (root / folder).mkdir(parents=True)
        for i in range(per_class):
            image = np.empty((40, 40, 3), np.uint8)
            image[:] = rng.integers(170, 230, 3)
            if masked:
                image[22:] = rng.integers(0, 80, 3) + np.array([0, 120, 120])
            image = np.clip(image + rng.normal(0, 12, image.shape), 0, 255).astype(np.uint8)
            Image.fromarray(image).save(root / folder / f"{i}.jpg")
    return root


@pytest.fixture(scope="module")
def crops(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("facemask")
    make_crop_folder(root / "Train", 48, seed=0)
    make_crop_folder(root / "Validation", 16, seed=1)
    return root


def config(crops: Path, out: Path, epochs: int) -> ClassifierTrainingConfig:
    return ClassifierTrainingConfig(arch="simple_cnn", out_dir=out, facemask_root=crops, epochs=epochs, input_size=32,
                                    batch_size=16, lr=2e-3, low_res_prob=0.0, threads=1, log_every=1000)


def test_training_runs_end_to_end_and_learns(crops: Path, tmp_path: Path) -> None:
    checkpoint = torch.load(train_classifier(config(crops, tmp_path / "run", epochs=6)), weights_only=False)
    history = checkpoint["history"]
    assert history[-1]["train_loss"] < history[0]["train_loss"] * 0.7
    assert history[-1]["facemask12k_val"]["accuracy"] >= 0.9
    assert checkpoint["config"]["arch"] == "simple_cnn" and checkpoint["config"]["input_size"] == 32

    export_checkpoint(tmp_path / "run" / "checkpoint.pt", tmp_path / "model.safetensors")
    classifier = MaskClassifier.load(tmp_path / "model.safetensors")
    assert (classifier.arch, classifier.policy.size) == ("simple_cnn", 32)
    metrics = evaluate_classifier(classifier, crops / "Validation")
    assert metrics.accuracy >= 0.9 and metrics.total == 32

    from dataclasses import replace

    from safetensors.torch import load_file

    restarted = initial_state(replace(config(crops, tmp_path / "again", 1), init=str(tmp_path / "model.safetensors")))
    for key, value in load_file(str(tmp_path / "model.safetensors")).items():
        assert torch.equal(restarted.state_dict()[key], value.float()), key


def test_bfloat16_autocast_training_learns_and_keeps_float32_weights(crops: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    checkpoint = torch.load(train_classifier(replace(config(crops, tmp_path / "amp", epochs=6), amp=True)),
                            weights_only=False)
    assert checkpoint["config"]["amp"] is True
    assert all(v.dtype == torch.float32 for v in checkpoint["model"].values() if v.is_floating_point())
    assert checkpoint["history"][-1]["facemask12k_val"]["accuracy"] >= 0.9


def test_resume_continues_to_the_same_result(crops: Path, tmp_path: Path) -> None:
    full = torch.load(train_classifier(config(crops, tmp_path / "full", epochs=2)), weights_only=False)
    resumed_path = train_classifier(config(crops, tmp_path / "full", epochs=2),
                                    resume=tmp_path / "full" / "checkpoint_epoch1.pt")
    resumed = torch.load(resumed_path, weights_only=False)
    assert resumed["epoch"] == 1
    for key, value in full["model"].items():
        assert torch.equal(value, resumed["model"][key]), key


def test_mobilenet_v2_imagenet_init_is_torchvisions_file_offline(tmp_path: Path) -> None:
    from maskscan.classifiers.pretrained_files import mobilenet_v2_imagenet_path

    try:
        reference = torch.load(mobilenet_v2_imagenet_path(), map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    model = initial_state(ClassifierTrainingConfig(arch="mobilenet_v2", out_dir=tmp_path, init="imagenet"))
    state = model.state_dict()
    backbone = [k for k in reference if not k.startswith("classifier.")]
    assert len(backbone) > 300 and all(torch.equal(state[k], reference[k]) for k in backbone)
    assert state["classifier.1.weight"].shape == (2, 1280)  # a fresh two-class head


def test_scene_sets_are_drawn_by_weight_and_unmasked_crops_repeated(tmp_path: Path) -> None:
    from maskscan.classifiers.datasets.crop_sets import CropSet
    from maskscan.classifiers.training.classifier import SceneSet, epoch_order

    def crop_set(labels: list[int]) -> CropSet:
        return CropSet(torch.zeros((len(labels), 3, 4, 4), dtype=torch.uint8), torch.tensor(labels), ("x",) * len(labels))

    whole, share = crop_set([0, 1] * 5), crop_set([1] * 2000)
    settings = ClassifierTrainingConfig(arch="simple_cnn", out_dir=tmp_path, scene_repeat=2, scene_no_mask_repeat=3,
                                        scene_sets=(SceneSet(tmp_path / "a", 1.0), SceneSet(tmp_path / "b", 0.05)))
    order = epoch_order(settings, None, [whole, share], torch.Generator().manual_seed(0))
    first = [i for source, i in order if source == "scenes0"]
    assert sorted(first) == sorted([i for i in range(10) for _ in range(2 if i % 2 == 0 else 6)])
    drawn = [i for source, i in order if source == "scenes1"]  # 0.05 x 2 x 3 = 0.3 copies each
    assert len(set(drawn)) == len(drawn) and 500 <= len(drawn) <= 700


def test_checkpoints_from_before_several_scene_sets_still_load(tmp_path: Path) -> None:
    from maskscan.classifiers.training.classifier import SceneSet

    legacy = {"arch": "resnet50", "out_dir": str(tmp_path), "facemask_root": None, "scenes_root": "/data/mask-scenes",
              "scene_repeat": 2}
    loaded = ClassifierTrainingConfig.from_dict(legacy)
    assert loaded.scene_sets == (SceneSet(Path("/data/mask-scenes"), 1.0),) and loaded.scene_repeat == 2
    again = ClassifierTrainingConfig.from_dict(loaded.to_dict())
    assert again == loaded
