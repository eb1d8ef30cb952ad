"""Measure a run-time idea for the detector: a second pass at a larger input, kept for small faces.

    python scripts/two_scale_detector.py ../shared/data/mask-scenes ../shared/data/wider-crowds \
        ../shared/data/mafa-masked --large-imgsz 960 --small-below 32 --floor 0.5 [--json]

The shipped detector runs at its own input size; a second pass at `--large-imgsz` adds its
boxes narrower than `--small-below` source pixels that score at least `--floor`, and the union
goes through non-maximum suppression (IoU 0.5). Each set's validation split is graded as
`maskscan evaluate detector --ignore-unlabelled` grades it, at the shipped threshold, for the
shipped detector alone and for the two passes together. Validation only: this is a lead for a
future option, and the test splits stay unread.
"""

from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path

import numpy as np
import torch
from torchvision.ops import nms

from maskscan.classifiers.datasets.voc import load_scenes
from maskscan.classifiers.evaluation.centerface import CENTERFACE_THRESHOLD, CenterFaceDetector
from maskscan.classifiers.evaluation.detector import evaluate_detections, mark_unlabelled_faces, predict_photos
from maskscan.classifiers.face_detector import YoloFaceDetector
from maskscan.classifiers.shipped import DETECTOR_CONFIDENCE, DETECTOR_IMGSZ, DETECTOR_IOU, SHIPPED_DETECTOR

Boxes = tuple[np.ndarray, np.ndarray]


def add_small_faces(base: Boxes, large: Boxes, small_below: float, floor: float) -> Boxes:
    """`base`'s boxes and the large pass's boxes narrower than `small_below` scoring at least `floor`, after NMS."""
    (base_boxes, base_scores), (large_boxes, large_scores) = base, large
    kept = ((large_boxes[:, 2] - large_boxes[:, 0]) < small_below) & (large_scores >= floor)
    boxes = np.concatenate([base_boxes, large_boxes[kept]])
    scores = np.concatenate([base_scores, large_scores[kept]])
    keep = nms(torch.from_numpy(boxes).float(), torch.from_numpy(scores).float(), DETECTOR_IOU).numpy()
    return boxes[keep], scores[keep]


def summary(metrics: dict) -> dict[str, float | str]:
    return {"precision": metrics["precision"], "recall": metrics["recall"], "ap50": metrics["ap50"],
            "recall_masked": metrics["masked"]["recall"], "recall_unmasked": metrics["unmasked"]["recall"],
            "found_64px": f"{metrics['recall_by_width']['>=64']['found']}/{metrics['recall_by_width']['>=64']['faces']}",
            "recall_under_16px": metrics["recall_by_width"]["<16"]["recall"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("voc", type=Path, nargs="+", help="VOC face sets (their validation splits).")
    parser.add_argument("--large-imgsz", type=int, default=960)
    parser.add_argument("--small-below", type=float, default=32.0, help="Source pixels.")
    parser.add_argument("--floor", type=float, default=0.5, help="Lowest score a large-pass box may have.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    base = YoloFaceDetector(SHIPPED_DETECTOR, DETECTOR_IMGSZ, confidence=0.001)
    large = YoloFaceDetector(SHIPPED_DETECTOR, args.large_imgsz, confidence=0.001)
    teacher = functools.partial(CenterFaceDetector(), threshold=CENTERFACE_THRESHOLD)
    report = {}
    for folder in args.voc:
        photos = load_scenes(folder, "val")
        taught = list(predict_photos(photos, teacher))
        alone = list(predict_photos(photos, base.detect_image))
        both = [(photo, *add_small_faces((boxes, scores), (large_boxes, large_scores), args.small_below, args.floor))
                for (photo, boxes, scores), (_, large_boxes, large_scores)
                in zip(alone, predict_photos(photos, large.detect_image), strict=True)]
        report[folder.name] = {
            name: summary(evaluate_detections(mark_unlabelled_faces(predictions, taught, CENTERFACE_THRESHOLD),
                                              DETECTOR_CONFIDENCE))
            for name, predictions in ((f"{DETECTOR_IMGSZ}", alone),
                                      (f"{DETECTOR_IMGSZ}+{args.large_imgsz}<{args.small_below:g}@{args.floor:g}", both))}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for set_name, rows in report.items():
        for name, row in rows.items():
            print(f"{set_name:13} {name:18} " + " ".join(
                f"{key} {value:.3f}" if isinstance(value, float) else f"{key} {value}" for key, value in row.items()))


if __name__ == "__main__":
    main()
