from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from maskscan.classifiers.training.detector import DetectorTrainingConfig, train_detector
from maskscan.classifiers.training.yolo_dataset import VocSet
from maskscan.classifiers.face_detector import YoloFaceDetector

ANNOTATION = """<annotation><filename>{name}.jpg</filename><size><width>160</width><height>128</height></size>
{objects}</annotation>"""
OBJECT = "<object><name>without_mask</name><bndbox><xmin>{}</xmin><ymin>{}</ymin><xmax>{}</xmax><ymax>{}</ymax></bndbox></object>"


def make_scenes(root: Path, count: int) -> Path:
    rng = np.random.default_rng(0)
    (root / "annotations").mkdir(parents=True)
    (root / "images").mkdir()
    for i in range(count):
        image = Image.new("RGB", (160, 128), tuple(int(v) for v in rng.integers(40, 90, 3)))
        draw = ImageDraw.Draw(image)
        objects = []
        for _ in range(2):
            x, y, side = int(rng.integers(0, 110)), int(rng.integers(0, 80)), int(rng.integers(24, 44))
            draw.ellipse((x, y, x + side, y + side), fill=(225, 180, 150))
            objects.append(OBJECT.format(x, y, x + side, y + side))
        image.save(root / "images" / f"scene{i}.jpg")
        (root / "annotations" / f"scene{i}.xml").write_text(ANNOTATION.format(name=f"scene{i}", objects="".join(objects)))
    return root


@pytest.mark.timeout(600)
@pytest.mark.parametrize("amp", [False, True], ids=["float32", "bfloat16"])
def test_tiny_training_completes_offline(tmp_path: Path, amp: bool) -> None:
    scenes = make_scenes(tmp_path / "voc", 24)
    config = DetectorTrainingConfig(voc_sets=(VocSet(scenes),), out_dir=tmp_path / "runs", init_weights=None, imgsz=128,
                                    epochs=2, batch=8, workers=0, amp=amp, background_per_photo=0.5,
                                    close_ups_per_photo=0.5, close_up_kept_share=0.3)
    best = train_detector(config)  # the session-wide socket guard fails this if anything goes online
    assert best.is_file()
    assert list((tmp_path / "runs" / "dataset" / "images" / "train").glob("*_closeup*.jpg"))
    detector = YoloFaceDetector(best, imgsz=128, confidence=0.0001)
    boxes, scores = detector.detect_image(np.asarray(Image.open(scenes / "images" / "scene0.jpg")))
    assert boxes.shape[1] == 4 and len(boxes) == len(scores)
    assert (boxes[:, 2] <= 160).all() and (boxes[:, 3] <= 128).all()


def test_bfloat16_autocast_is_allowed_on_the_cpu_only_while_training() -> None:
    import torch
    import ultralytics.engine.trainer as trainer_module

    from maskscan.classifiers.training.detector import cpu_bfloat16_allowed

    with cpu_bfloat16_allowed():
        with trainer_module.autocast(torch.bfloat16, device="cpu"):
            assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16
        with trainer_module.autocast(False, device="cpu"):
            assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32
    with pytest.raises(RuntimeError, match="bfloat16"):
        trainer_module.autocast(torch.bfloat16, device="cpu")  # ultralytics' own refusal is back

