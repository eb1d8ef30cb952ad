"""Inference speed of the shipped models: classifier crops/s (batch 32) and detector frames/s.

    python benchmarks/model_speed.py [--device cpu] [--repeats 5] [--json]

Synthetic inputs of the shipped sizes; speed does not depend on the pixels. Prints a table and,
with --json, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from maskscan.classifiers.face_detector import YoloFaceDetector
from maskscan.classifiers.mask_classifier import MaskClassifier
from maskscan.classifiers.shipped import (DETECTOR_CONFIDENCE, DETECTOR_IMGSZ, SHIPPED_CLASSIFIERS, SHIPPED_DETECTOR,
                                         classifier_weights)
from maskscan.pipeline.loading import detector_backend, int8_ranges, inference_precision

from machine import describe_device  # benchmarks/machine.py


def _rate(call, items: int, repeats: int, device: torch.device) -> float:
    call()  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(repeats):
        call()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return items * repeats / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    device = torch.device(args.device)
    precision = inference_precision(device)
    results: dict[str, object] = {"device": describe_device(device), "threads": torch.get_num_threads(), "rows": []}
    rows: list[dict[str, object]] = results["rows"]  # type: ignore[assignment]
    for name in SHIPPED_CLASSIFIERS:
        classifiers = [MaskClassifier.load(name, device, dtype)  # float32, and what the pipeline uses
                       for dtype in dict.fromkeys([torch.float32, precision.classifier])]
        if device.type == "cpu":
            try:  # the shipped int8 ranges, as `--precision int8` runs them
                weights = classifier_weights(name)
                classifiers.append(MaskClassifier.load(weights, device, int8=int8_ranges(device, "int8", weights,
                                                                                          "classifier")))
            except ValueError as exc:
                print(f"no int8 classifier row: {exc}")
        for classifier in classifiers:
            crops = torch.rand(32, 3, classifier.policy.size, classifier.policy.size, device=device)
            rate = _rate(lambda: classifier.predict(crops), 32, args.repeats, device)
            rows.append({"model": f"classifier {name}", "input": f"{classifier.policy.size} px", "batch": 32,
                         "dtype": classifier.precision, "per_second": rate, "unit": "crops/s"})
    variants = [(backend, None) for backend in dict.fromkeys(["torch", detector_backend(device, precision.detector)])]
    if device.type == "cpu":
        try:  # the shipped int8 ranges, as `--precision int8` runs them
            variants.append(("openvino", int8_ranges(device, "int8", SHIPPED_DETECTOR)))
        except ValueError as exc:
            print(f"no int8 row: {exc}")
    for backend, ranges in variants:
        detector = YoloFaceDetector(SHIPPED_DETECTOR, DETECTOR_IMGSZ, DETECTOR_CONFIDENCE, device=device,
                                    dtype=precision.detector, backend=backend, int8=ranges)
        for batch in (1, 16):
            frames = torch.randint(0, 256, (batch, 3, DETECTOR_IMGSZ * 9 // 16, DETECTOR_IMGSZ), dtype=torch.uint8,
                                   device=device)
            rate = _rate(lambda: detector.detect(frames), batch, args.repeats, device)
            rows.append({"model": f"detector yolo11n ({backend})", "input": f"{DETECTOR_IMGSZ} px (16:9)",
                         "batch": batch, "dtype": detector.precision, "per_second": rate,
                         "unit": "frames/s"})
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"device: {results['device']}")
    print(f"{'model':<29} {'input':<16} {'batch':>5} {'dtype':<9} {'speed':>12}")
    for row in rows:
        print(f"{row['model']:<29} {row['input']:<16} {row['batch']:>5} {row['dtype']:<9} "
              f"{row['per_second']:>8.1f} {row['unit']}")


if __name__ == "__main__":
    main()
