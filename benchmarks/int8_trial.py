"""A trial of the int8 detector (#17): post-training quantisation with OpenVINO's NNCF, against
the float32 OpenVINO detector maskscan runs on CPUs today. Nothing here is shipped.

    pip install nncf   # not a maskscan dependency
    python benchmarks/int8_trial.py [--calibration 300] [--weights maskscan/weights/face_yolo11n.pt] [--json]

Calibrates on `--calibration` photos drawn (seeded) from the *training* splits of mask-scenes,
wider-crowds and mafa-masked (never validation or test), with ultralytics' own ignored scope
for the detection head; then prints, for float32 and int8: AP50, precision and recall at the
shipped threshold on each validation split (faces >= 10 px), and detector frames/s on a 16:9
512-px batch of 16 and of 1 on this CPU.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from maskscan.classifiers.datasets.voc import load_scenes
from maskscan.classifiers.evaluation.detector import evaluate_detections
from maskscan.classifiers.face_detector import YoloFaceDetector
from maskscan.classifiers.openvino_detector import _convert, import_openvino
from maskscan.classifiers.shipped import DETECTOR_CONFIDENCE, DETECTOR_IMGSZ, SHIPPED_DETECTOR

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SETS = ("mask-scenes", "wider-crowds", "mafa-masked")


def rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.array(image.convert("RGB"))


def letterboxed(detector: YoloFaceDetector, image: np.ndarray) -> np.ndarray:
    batch, _, _ = detector.letterbox([torch.from_numpy(image).permute(2, 0, 1)])
    return np.ascontiguousarray(batch.float().numpy())


def quantised(detector: YoloFaceDetector, calibration: list[np.ndarray]):  # noqa: ANN201 (openvino.CompiledModel)
    import nncf

    model = _convert(detector.network, detector.imgsz)
    operations = model.get_ordered_ops()
    sigmoids = [op.get_friendly_name() for op in operations if op.get_type_name() == "Sigmoid"]
    head = sigmoids[-1].split("/", 1)[0]
    ignored = nncf.IgnoredScope(names=[op.get_friendly_name() for op in operations
                                       if op.get_type_name() == "Sigmoid"
                                       or op.get_friendly_name().startswith((f"{head}/", f"{head}.dfl"))])
    int8 = nncf.quantize(model, nncf.Dataset(calibration), preset=nncf.QuantizationPreset.MIXED,
                         subset_size=len(calibration), ignored_scope=ignored)
    return import_openvino().Core().compile_model(
        int8, "CPU", {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": torch.get_num_threads()})


def validation_metrics(detector: YoloFaceDetector) -> dict[str, dict]:
    metrics = {}
    for name in SETS:
        photos = load_scenes(DATA / name, "val")
        predictions = [(photo, *detector.detect_image(rgb(photo.image_path))) for photo in photos]
        found = evaluate_detections(predictions, DETECTOR_CONFIDENCE)
        metrics[name] = {k: found[k] for k in ("faces", "ap50", "precision", "recall")}
    return metrics


def frames_per_second(detector: YoloFaceDetector, batch: int, repeats: int = 5) -> float:
    frames = [torch.zeros((3, 1080, 1920), dtype=torch.uint8) for _ in range(batch)]
    detector.detect(frames)  # warm-up
    started = time.perf_counter()
    for _ in range(repeats):
        detector.detect(frames)
    return batch * repeats / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calibration", type=int, default=300)
    parser.add_argument("--weights", type=Path, default=SHIPPED_DETECTOR)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    detector = YoloFaceDetector(args.weights, DETECTOR_IMGSZ, 0.001, backend="openvino")
    training = [photo for name in SETS for photo in load_scenes(DATA / name, "train")]
    chosen = random.Random(0).sample(training, min(args.calibration, len(training)))
    started = time.perf_counter()
    compiled = quantised(detector, [letterboxed(detector, rgb(photo.image_path)) for photo in chosen])
    quantise_s = time.perf_counter() - started
    rows = {"float32": {"validation": validation_metrics(detector),
                        "fps_batch16": frames_per_second(detector, 16), "fps_batch1": frames_per_second(detector, 1)}}
    detector.openvino.compiled = compiled  # the same letterbox and NMS around the int8 network
    rows["int8"] = {"validation": validation_metrics(detector),
                    "fps_batch16": frames_per_second(detector, 16), "fps_batch1": frames_per_second(detector, 1)}
    if args.json:
        print(json.dumps({"calibration_photos": len(chosen), "quantise_s": quantise_s, **rows}, indent=2))
        return
    print(f"int8 calibrated on {len(chosen)} training-split photos in {quantise_s:.0f} s; validation splits, "
          f"threshold {DETECTOR_CONFIDENCE}, faces >= 10 px")
    print(f"{'precision':<9} {'set':<14} {'faces':>6} {'AP50':>6} {'P':>6} {'R':>6}")
    for precision, row in rows.items():
        for name, m in row["validation"].items():
            print(f"{precision:<9} {name:<14} {m['faces']:>6} {m['ap50']:>6.3f} {m['precision']:>6.3f} "
                  f"{m['recall']:>6.3f}")
    for precision, row in rows.items():
        print(f"{precision}: detector {row['fps_batch16']:.1f} frames/s at batch 16, {row['fps_batch1']:.1f} at batch 1")


if __name__ == "__main__":
    main()
