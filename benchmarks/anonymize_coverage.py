"""How many faces `--anonymize` really hides, and what it costs per clip frame.

    python benchmarks/anonymize_coverage.py [--scenes ../shared/data/mask-scenes] [--split val]
                                            [--thresholds 0.45 0.2 0.1 0.05 0.02 0.01] [--precision int8] [--json]

On the labelled scene photos (validation split by default: the test split stays unread) the
shipped detector runs once at the lowest threshold; for each threshold, a ground-truth face
counts as hidden when at least 90 % of its box lies in the regions maskscan would hide
(detections at that confidence, enlarged 1.3x). Printed per threshold: the share of faces at
least 10 px wide that are hidden, the same for faces under 10 px, and the share of image area
hidden (the price: more of the scene is blurred). Then the time to anonymise one 1080p frame
with 10 faces in each mode.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from maskscan.classifiers.datasets.voc import load_scenes
from maskscan.classifiers.face_detector import YoloFaceDetector
from maskscan.classifiers.shipped import DETECTOR_IMGSZ, DETECTOR_IOU, SHIPPED_DETECTOR
from maskscan.pipeline.anonymize import ANONYMIZE_MODES, FaceAnonymizer, hidden_regions
from maskscan.pipeline.loading import detector_backend, int8_ranges

SCENES = Path(__file__).resolve().parents[2] / "shared" / "data" / "mask-scenes"
MIN_COVERED = 0.9
MIN_WIDTH = 10


def hidden_mask(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    mask = np.zeros((height, width), bool)
    for x1, y1, x2, y2 in hidden_regions(boxes, width, height):
        mask[y1:y2, x1:x2] = True
    return mask


def coverage(predictions: list, thresholds: list[float]) -> list[dict]:
    rows = []
    for threshold in thresholds:
        hidden = {"large": [0, 0], "small": [0, 0]}
        area = [0.0, 0.0]
        for photo, boxes, scores in predictions:
            mask = hidden_mask(boxes[scores >= threshold], photo.width, photo.height)
            area[0] += mask.sum()
            area[1] += mask.size
            for face in photo.faces:
                x1, y1 = max(0, int(face.x1)), max(0, int(face.y1))
                x2, y2 = min(photo.width, int(np.ceil(face.x2))), min(photo.height, int(np.ceil(face.y2)))
                if x2 <= x1 or y2 <= y1:
                    continue
                size = "large" if face.width >= MIN_WIDTH else "small"
                hidden[size][0] += mask[y1:y2, x1:x2].mean() >= MIN_COVERED
                hidden[size][1] += 1
        rows.append({"threshold": threshold,
                     "hidden_at_least_10px": hidden["large"][0] / max(hidden["large"][1], 1),
                     "faces_at_least_10px": hidden["large"][1],
                     "hidden_under_10px": hidden["small"][0] / max(hidden["small"][1], 1),
                     "faces_under_10px": hidden["small"][1],
                     "image_area_hidden": area[0] / max(area[1], 1)})
    return rows


def cost_per_frame(repeats: int = 20) -> dict[str, float]:
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (1080, 1920, 3), np.uint8)
    boxes = np.array([[100 + 170 * i, 300, 100 + 170 * i + w, 300 + w] for i, w in
                      enumerate([20, 30, 40, 60, 80, 100, 120, 140, 160, 150])], np.float32)
    costs = {}
    for mode in ANONYMIZE_MODES[1:]:
        anonymizer = FaceAnonymizer(mode)
        started = time.perf_counter()
        for _ in range(repeats):
            anonymizer.anonymize(frame, boxes)
        costs[mode] = (time.perf_counter() - started) / repeats * 1000
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=Path, default=SCENES)
    parser.add_argument("--split", choices=["val", "train", "test"], default="val",
                        help="test: only to report the chosen settings once (README says how often it was read)")
    parser.add_argument("--thresholds", nargs="+", type=float, default=[0.45, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01])
    parser.add_argument("--precision", choices=["fp32", "int8"], default="fp32",
                        help="int8: the detector with its shipped int8 ranges, as `process --precision int8`.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    device = torch.device("cpu")
    int8 = int8_ranges(device, args.precision, SHIPPED_DETECTOR)
    detector = YoloFaceDetector(SHIPPED_DETECTOR, DETECTOR_IMGSZ, min(args.thresholds), DETECTOR_IOU, device,
                                torch.float32, "openvino" if int8 else detector_backend(device, torch.float32), int8)
    predictions = []
    for photo in load_scenes(args.scenes, args.split):
        with Image.open(photo.image_path) as image:
            boxes, scores = detector.detect_image(np.array(image.convert("RGB")))
        predictions.append((photo, boxes, scores))
    rows, costs = coverage(predictions, args.thresholds), cost_per_frame()
    if args.json:
        print(json.dumps({"photos": len(predictions), "coverage": rows, "ms_per_1080p_frame_10_faces": costs},
                         indent=2))
        return
    print(f"{len(predictions)} photos ({args.split} split of {args.scenes.name}); a face is hidden when "
          f"{MIN_COVERED:.0%} of its box is")
    print(f"{'confidence':>10} {'hidden >=10px':>14} {'faces':>6} {'hidden <10px':>13} {'faces':>6} {'area hidden':>12}")
    for r in rows:
        print(f"{r['threshold']:>10g} {r['hidden_at_least_10px']:>14.3f} {r['faces_at_least_10px']:>6} "
              f"{r['hidden_under_10px']:>13.3f} {r['faces_under_10px']:>6} {r['image_area_hidden']:>12.3f}")
    print("ms to anonymise a 1080p frame with 10 faces: " + ", ".join(f"{m} {v:.1f}" for m, v in costs.items()))


if __name__ == "__main__":
    main()
