from pathlib import Path

import numpy as np
import pytest
import torch

from maskscan.classifiers.architectures import build_model
from maskscan.classifiers.crops import CropPolicy
from maskscan.classifiers.mask_classifier import MaskClassifier, save_classifier


def test_crop_policy_cuts_squares_with_margin_and_black_outside() -> None:
    image = torch.zeros(1, 3, 40, 60)
    image[:, :, 10:30, 20:40] = 1.0  # a white 20x20 face
    policy = CropPolicy(size=30, margin=0.5)  # 30 px square around it: 5 px of dark border each side
    crop = policy.crop(image, [torch.tensor([[20.0, 10.0, 40.0, 30.0]])])
    assert crop.shape == (1, 3, 30, 30)
    assert crop[0, :, 8:22, 8:22].min() > 0.99 and crop[0, :, :3].max() < 0.01
    off_frame = policy.crop(image, [torch.tensor([[-10.0, -10.0, 10.0, 10.0]])])
    assert off_frame[0, :, :5, :5].max() == 0  # outside the frame reads black


def test_crops_cut_from_uint8_patches_equal_roi_align_on_the_whole_float_frame() -> None:
    from torchvision.ops import roi_align

    generator = torch.Generator().manual_seed(0)
    frames = torch.randint(0, 256, (2, 3, 90, 160), dtype=torch.uint8, generator=generator)
    boxes = [torch.tensor([[3.2, 4.7, 20.5, 25.1], [140.0, 60.0, 160.0, 90.0], [70.3, 30.9, 81.6, 44.2]]),
             torch.tensor([[0.0, 0.0, 12.0, 15.0], [150.5, 1.0, 160.0, 9.5]])]  # corners: squares leave the frame
    policy = CropPolicy(size=24, margin=0.3)
    whole = roi_align(frames.float() / 255, [policy.square_boxes(b, 1.15) for b in boxes], output_size=(24, 24),
                      spatial_scale=1.0, sampling_ratio=-1, aligned=True)
    patches = policy.crop(frames, boxes, scale=1.15)
    assert patches.shape == (5, 3, 24, 24) and patches.dtype == torch.float32
    torch.testing.assert_close(patches, whole, rtol=0, atol=1e-6)
    assert policy.crop(frames, [torch.zeros((0, 4)), torch.zeros((0, 4))]).shape == (0, 3, 24, 24)


def test_saved_classifier_round_trips_with_its_policy(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_model("mobilenet_v2", 64).eval()
    path = tmp_path / "m.safetensors"
    save_classifier(model, "mobilenet_v2", CropPolicy(64, 0.3), path)
    loaded = MaskClassifier.load(path)
    assert (loaded.arch, loaded.policy) == ("mobilenet_v2", CropPolicy(64, 0.3))
    crops = torch.rand(3, 3, 64, 64)
    from maskscan.classifiers.crops import normalize

    with torch.inference_mode():
        expected = 1 - model(normalize(crops)).softmax(1)[:, 1].numpy()
    assert loaded.predict(crops) == pytest.approx(expected, abs=2e-3)  # fp16 weights
    arrays = [np.full((20, 30, 3), 128, np.uint8), np.zeros((64, 64, 3), np.uint8)]
    assert loaded.predict(arrays).shape == (2,)
    assert loaded.predict([]).shape == (0,)


def test_unknown_names_and_foreign_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="neither a file nor a shipped classifier"):
        MaskClassifier.load("vgg16")
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ValueError, match="not a maskscan mask classifier"):
        MaskClassifier.load(tmp_path / "other.safetensors")
