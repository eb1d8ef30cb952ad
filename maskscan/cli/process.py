"""`maskscan process`: footage in, counts, detections and clips out."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from maskscan.classifiers.shipped import (DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE, DETECTOR_IMGSZ,
                                          CPU_PRECISIONS, PRIVACY_CONFIDENCE, SHIPPED_DETECTOR,
                                          SHIPPED_MASK_THRESHOLDS, SMALL_FACE_IMGSZ, check_small_faces,
                                          classifier_weights, detector_run_id, mask_threshold_for, weights_id)
from maskscan.classifiers.yolo_offline import require_local_weights
from maskscan.cli import interrupts
from maskscan.cli.database_option import db_option, open_engine
from maskscan.cli.errors import (EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, CommandError, debug_option,
                                 print_traceback_if_debug)
from maskscan.cli.progress import ConsoleProgress
from maskscan.pipeline.anonymize_modes import ANONYMIZE_MODES
from maskscan.pipeline.deferred import DeferredPipeline, ModelLoadError
from maskscan.pipeline.media import discover, display_path, quoted
from maskscan.pipeline.recording import time_pattern_regex

if TYPE_CHECKING:
    from maskscan.pipeline.inference import FaceMaskPipeline
    from maskscan.pipeline.runner import FileOutcome

DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?")


def _check_patterns(camera_pattern: str | None, time_pattern: str | None, zone_name: str) -> ZoneInfo:
    """Usage errors for patterns before any file is touched."""
    if camera_pattern is not None:
        try:
            re.compile(camera_pattern)
        except re.error as exc:
            raise click.BadParameter(f"not a regular expression: {exc}", param_hint="--camera-pattern") from exc
    if time_pattern is not None:
        try:
            time_pattern_regex(time_pattern)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--time-pattern") from exc
    try:
        return ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise click.BadParameter(f"unknown time zone {zone_name!r}", param_hint="--timezone") from exc


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@db_option
@click.option("--glob", "glob_pattern", metavar="PATTERN", help="Only files in folders whose name matches, e.g. '*.mp4'.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--precision", "cpu_precision", type=click.Choice(CPU_PRECISIONS), default="auto",
              show_default=True,
              help="The models' arithmetic on a CPU: int8 (needs both models' int8 ranges) or fp32; auto "
                   "takes int8, model by model, on CPUs with VNNI or AMX and only with ranges marked for "
                   "default use (see README, Performance).")
@click.option("--batch-size", type=click.IntRange(1, 512), default=16, show_default=True, help="Frames per batch.")
@click.option("--sample-fps", type=click.FloatRange(0), default=5.0, show_default=True,
              help="Frames analysed per second of footage; 0 analyses every frame.")
@click.option("--clips-dir", type=click.Path(path_type=Path), default=Path("clips"), show_default=True,
              help="Where annotated violation clips are written.")
@click.option("--no-clips", is_flag=True, help="Write no clips.")
@click.option("--pre-roll", type=click.FloatRange(0), default=2.0, show_default=True, help="Seconds before a violation.")
@click.option("--post-roll", type=click.FloatRange(0), default=2.0, show_default=True, help="Seconds after a violation.")
@click.option("--detector-weights", type=click.Path(path_type=Path), default=SHIPPED_DETECTOR,
              help="A local ultralytics YOLO face model (.pt); default: the shipped one.")
@click.option("--imgsz", "detector_imgsz", type=click.IntRange(32), default=DETECTOR_IMGSZ, show_default=True,
              help="Detector input size.")
@click.option("--small-faces", is_flag=True,
              help=f"Also run the detector at {SMALL_FACE_IMGSZ} px for faces too small at --imgsz (crowds; "
                   "several times the detector's time, see README).")
@click.option("--classifier", default=DEFAULT_CLASSIFIER, show_default=True,
              help="A shipped mask classifier by name, or a .safetensors file.")
@click.option("--face-conf", type=click.FloatRange(0, 1), default=DETECTOR_CONFIDENCE, show_default=True,
              help="Detector confidence threshold.")
@click.option("--mask-threshold", type=click.FloatRange(0, 1),
              help="P(mask) at or above which a face counts as masked; default: the shipped classifier's "
                   f"operating point ({', '.join(f'{k} {v}' for k, v in SHIPPED_MASK_THRESHOLDS.items())}), "
                   "0.5 for a weights file.")
@click.option("--force", is_flag=True, help="Process files again that are already done with the same models.")
@click.option("--claim-timeout", type=click.FloatRange(1), default=120.0, show_default=True,
              help="Seconds without a heartbeat after which another worker's file counts as abandoned.")
@click.option("--max-attempts", type=click.IntRange(1), default=3, show_default=True,
              help="Leave a file alone after this many failed (or killed) attempts, unless --force.")
@click.option("--camera-pattern", metavar="REGEX",
              help="Camera name from the file path: the group named 'camera' (else the whole match); "
                   "default: the parent folder's name.")
@click.option("--time-pattern", metavar="FORMAT",
              help="Recording start from the file name, as strptime FORMAT (e.g. '%Y%m%d_%H%M%S'); "
                   "default: container creation_time, else the file's modification time.")
@click.option("--timezone", "zone_name", default="UTC", show_default=True,
              help="IANA zone of times read from file names, e.g. Europe/London.")
@click.option("--settle", "settle_s", type=click.FloatRange(0), default=60.0, show_default=True,
              envvar="MASKSCAN_SETTLE", metavar="SECONDS",
              help="Skip files modified less than SECONDS ago (still being copied); they are processed on a "
                   "later run. Also $MASKSCAN_SETTLE.")
@click.option("--anonymize", type=click.Choice(ANONYMIZE_MODES), default="none", show_default=True,
              help="Hide faces in the clips and photos written: blur, pixelate or solid; none keeps them as "
                   "evidence.")
@click.option("--privacy-conf", type=click.FloatRange(0, 1), default=PRIVACY_CONFIDENCE, show_default=True,
              help="Detector confidence at which faces are hidden by --anonymize (lower than --face-conf: "
                   "recall first; faces between the two are hidden, not counted).")
@click.option("--decoders", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Files in flight at once, each decoded, stored and written to clips on its own thread; the "
                   "models run one batch at a time. More than 1 helps many short files (see README).")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="Only report failures.")
@debug_option
def process(paths: tuple[Path, ...], db_url: str | None, glob_pattern: str | None, device: str,
            cpu_precision: str, batch_size: int,
            sample_fps: float, clips_dir: Path, no_clips: bool, pre_roll: float, post_roll: float,
            detector_weights: Path, detector_imgsz: int, small_faces: bool, classifier: str, face_conf: float,
            mask_threshold: float | None,
            force: bool, claim_timeout: float, max_attempts: int, camera_pattern: str | None, time_pattern: str | None,
            zone_name: str, settle_s: float, anonymize: str, privacy_conf: float, decoders: int, as_json: bool,
            quiet: bool) -> None:
    """Analyse videos, images or folders of them (recursively) and store the results.

    Videos: mp4, mkv, avi, mov, ts, gif and more; images (jpg, png) count as one-frame videos.

    \b
    Example:
      maskscan process /footage/2026-11-24/ --db postgresql+psycopg://maskscan@db/cctv --sample-fps 2
    """
    zone = _check_patterns(camera_pattern, time_pattern, zone_name)
    if not DEVICE_PATTERN.fullmatch(device):
        raise CommandError(f"unsupported device {device!r} (auto, cpu, cuda or cuda:N)", EXIT_USAGE)
    try:
        if small_faces:
            check_small_faces(detector_imgsz)
        names = (detector_run_id(require_local_weights(detector_weights), detector_imgsz, small_faces),
                 weights_id(classifier_weights(classifier)))
    except (FileNotFoundError, ValueError) as exc:
        raise CommandError(str(exc), EXIT_USAGE) from exc
    media, problems = discover(list(paths), glob_pattern)
    progress = ConsoleProgress(quiet, media)
    for problem in problems:
        progress.error(f"{quoted(problem.path)}: {problem.message}")
    def load() -> FaceMaskPipeline:
        from maskscan.pipeline.loading import load_pipeline, resolve_device

        return load_pipeline(resolve_device(device), detector_weights, classifier, face_conf, threshold, detector_imgsz,
                             privacy_confidence=None if anonymize == "none" else privacy_conf,
                             cpu_precision=cpu_precision, small_faces=small_faces)

    threshold = mask_threshold_for(classifier) if mask_threshold is None else mask_threshold
    pipeline = DeferredPipeline(*names, face_conf, threshold, load)
    engine = open_engine(db_url)
    from maskscan.pipeline.runner import DatabaseUnavailable, FileProcessor, ProcessOptions
    from maskscan.storage.database import session_factory

    options = ProcessOptions(sample_fps=sample_fps, batch_size=batch_size, clips_dir=None if no_clips else clips_dir,
                             pre_roll_s=pre_roll, post_roll_s=post_roll, force=force, lease_s=claim_timeout,
                             max_attempts=max_attempts, camera_pattern=camera_pattern, time_pattern=time_pattern,
                             timezone=zone, settle_s=settle_s, anonymize=anonymize)  # type: ignore[arg-type]
    outcomes: list[FileOutcome] = []

    debug = bool(click.get_current_context().meta.get("debug"))

    def finished(outcome: FileOutcome) -> None:  # on a worker's thread with --decoders: no click context there
        print_traceback_if_debug(outcome.exception, debug)
        outcomes.append(outcome)

    interrupts.install(interrupts.interrupt_once)  # SIGTERM rolls the current file back, as Ctrl-C does
    try:
        if decoders == 1:
            processor = FileProcessor(pipeline, session_factory(engine), options, progress)
            for item in media:
                finished(processor.process(item))
        else:
            from maskscan.pipeline.parallel import SharedPipeline, process_in_parallel

            shared = SharedPipeline(pipeline)
            process_in_parallel(lambda cancel: FileProcessor(shared, session_factory(engine), options, progress,  # type: ignore[arg-type]
                                                             cancel), media, decoders, finished)
    except KeyboardInterrupt:
        in_progress = "file in progress is" if decoders == 1 else "files in progress are"
        progress.error(f"interrupted; the {in_progress} pending again ({len(outcomes)} of {len(media)} finished)")
        sys.exit(EXIT_INTERRUPTED)
    except DatabaseUnavailable as exc:
        progress.error(f"{exc} ({len(media) - len(outcomes) - 1} files not attempted)")
        sys.exit(EXIT_FAILED)
    except ModelLoadError as exc:
        raise CommandError(f"cannot load the models: {exc}", EXIT_USAGE) from exc
    order = {display_path(m.path): i for i, m in enumerate(media)}
    outcomes.sort(key=lambda o: order.get(o.path, len(order)))  # as given, whichever worker finished first
    failed = sum(o.status == "failed" for o in outcomes) + len(problems)
    database_name = engine.url.render_as_string(hide_password=True)
    progress.finish(outcomes, len(problems), database_name, None if no_clips else clips_dir.resolve())
    if as_json:
        summary = {
            "database": database_name,
            "device": str(pipeline.loaded.device) if pipeline.loaded else None,  # None: models never needed
            "detector_precision": getattr(pipeline.loaded.detector, "precision", None) if pipeline.loaded else None,
            "classifier_precision": getattr(pipeline.loaded.classifier, "precision", None) if pipeline.loaded else None,
            "detector": pipeline.detector_name,
            "classifier": pipeline.classifier_name,
            "files": [{k: v for k, v in asdict(o).items() if k != "exception"} for o in outcomes]
                     + [{"path": display_path(p.path), "status": "failed", "error": p.message} for p in problems],
            "totals": {key: sum(getattr(o, key) for o in outcomes)
                       for key in ("frames", "faces", "masked", "unmasked", "people", "people_masked",
                                   "people_unmasked", "people_unknown")}
                      | {"done": sum(o.status == "done" for o in outcomes),
                         "skipped": sum(o.status == "skipped" for o in outcomes), "failed": failed},
        }
        json.dump(summary, sys.stdout, indent=2)
        sys.stdout.write("\n")
    sys.exit(EXIT_FAILED if failed else EXIT_OK)
