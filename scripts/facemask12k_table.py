"""The report's three-model table on Face Mask 12K, from trained classifiers.

    python scripts/facemask12k_table.py ../shared/data/facemask12k \
        resnet50=runs/fm-resnet50.safetensors mobilenet_v2=runs/fm-mobilenet.safetensors \
        simple_cnn=runs/fm-cnn.safetensors [--json]

Evaluates each exported classifier (`maskscan train classifier ... --export FILE`) on the
Train, Validation and Test folders and prints loss and accuracy per split and test F1, next
to the report's test F1.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from maskscan.classifiers.evaluation.classifier import evaluate_classifier
from maskscan.classifiers.mask_classifier import MaskClassifier

REPORT_TEST_F1 = {"resnet50": 0.9992, "mobilenet_v2": 0.9975, "simple_cnn": 0.9915}
SPLITS = ("Train", "Validation", "Test")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("facemask", type=Path, help="Face Mask 12K root (Train/, Validation/, Test/).")
    parser.add_argument("models", nargs="+", metavar="ARCH=FILE")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for item in args.models:
        arch, _, path = item.partition("=")
        classifier = MaskClassifier.load(Path(path))
        row: dict[str, object] = {"arch": arch, "file": path, "input_size": classifier.policy.size}
        for split in SPLITS:
            metrics = evaluate_classifier(classifier, args.facemask / split)
            row[split] = {"loss": metrics.loss, "accuracy": metrics.accuracy, "f1": metrics.f1, "n": metrics.total}
        row["report_test_f1"] = REPORT_TEST_F1.get(arch)
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print("| model | input | train loss / acc | validation loss / acc | test loss / acc | test F1 | report's test F1 |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        cells = [f"{row[s]['loss']:.4f} / {row[s]['accuracy']:.4f}" for s in SPLITS]  # type: ignore[index]
        report = row["report_test_f1"]
        print(f"| {row['arch']} | {row['input_size']} px | " + " | ".join(cells)
              + f" | {row['Test']['f1']:.4f} | {report if report is not None else '-'} |")  # type: ignore[index]


if __name__ == "__main__":
    main()
