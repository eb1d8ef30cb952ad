"""Choose the settings of the small-face pass (`--small-faces`) on the validation splits.

    python scripts/small_face_grid.py ../shared/data/mask-scenes ../shared/data/wider-crowds \
        ../shared/data/mafa-masked [--json]

Detector v2 at its own size and threshold, alone and with a second pass at each `--sizes`,
keeping that pass's boxes narrower than each `--below` (pixels at the first pass's input size)
that score at least each `--floors`; each set's validation split graded as `maskscan evaluate
detector --ignore-unlabelled` grades it. Each pass runs once per photo; the grid reuses them.
The rule that picks from the grid is in docs/detector-history.md. Validation only.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
from pathlib import Path

from maskscan.classifiers.datasets.voc import load_scenes
from maskscan.classifiers.evaluation.centerface import CENTERFACE_THRESHOLD, CenterFaceDetector
from maskscan.classifiers.evaluation.detector import evaluate_detections, mark_unlabelled_faces, predict_photos
from maskscan.classifiers.face_detector import YoloFaceDetector
from maskscan.classifiers.shipped import DETECTOR_CONFIDENCE, DETECTOR_IMGSZ, DETECTOR_IOU, SHIPPED_DETECTOR
from maskscan.classifiers.small_face_pass import join_photo_predictions


def summary(metrics: dict) -> dict[str, float | int]:
    large = metrics["recall_by_width"][">=64"]
    return {"precision": metrics["precision"], "recall": metrics["recall"], "ap50": metrics["ap50"],
            "recall_masked": metrics["masked"]["recall"], "recall_unmasked": metrics["unmasked"]["recall"],
            "recall_under_16px": metrics["recall_by_width"]["<16"]["recall"],
            "found_64px": large["found"], "faces_64px": large["faces"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("voc", type=Path, nargs="+", help="VOC face sets (their validation splits).")
    parser.add_argument("--sizes", type=int, nargs="+", default=[768, 960])
    parser.add_argument("--below", type=float, nargs="+", default=[16.0, 24.0, 32.0])
    parser.add_argument("--floors", type=float, nargs="+", default=[0.4, 0.5, 0.6])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    first = YoloFaceDetector(SHIPPED_DETECTOR, DETECTOR_IMGSZ, confidence=0.001)
    seconds = {size: YoloFaceDetector(SHIPPED_DETECTOR, size, confidence=min(args.floors)) for size in args.sizes}
    teacher = functools.partial(CenterFaceDetector(), threshold=CENTERFACE_THRESHOLD)
    report: dict[str, dict[str, dict]] = {}
    for folder in args.voc:
        photos = load_scenes(folder, "val")
        taught = list(predict_photos(photos, teacher))
        alone = list(predict_photos(photos, first.detect_image))
        grid = {"alone": alone}
        for size, second in seconds.items():
            extra = list(predict_photos(photos, second.detect_image))
            for below, floor in itertools.product(args.below, args.floors):
                grid[f"{size} <{below:g} >={floor:g}"] = join_photo_predictions(alone, extra, DETECTOR_IMGSZ, below,
                                                                                floor, DETECTOR_IOU)
        report[folder.name] = {
            name: summary(evaluate_detections(mark_unlabelled_faces(predictions, taught, CENTERFACE_THRESHOLD),
                                              DETECTOR_CONFIDENCE))
            for name, predictions in grid.items()}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for set_name, rows in report.items():
        for name, row in rows.items():
            print(f"{set_name:13} {name:16} " + " ".join(
                f"{key} {value:.3f}" if isinstance(value, float) else f"{key} {value}" for key, value in row.items()))


if __name__ == "__main__":
    main()
