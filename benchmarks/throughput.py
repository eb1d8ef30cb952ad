"""Throughput of maskscan's pipeline against decoding alone and against the naive loop.

    python benchmarks/throughput.py VIDEO [--sample-fps 5] [--device cpu] [--batch-size 16] [--repeats 3]
                                          [--float32] [--torch-detector] [--precision auto|fp32|int8]
                                          [--clips [--anonymize MODE]] [--small-faces] [--json]

Each mode runs in its own process (so peak memory is its own), `--repeats` times (the median
run is reported), on the same file, with the same sampling and the same shipped models:

  decode  PyAV decoding and RGB conversion of the sampled frames
  noop    maskscan's pipeline (decode thread, batching, storage in in-memory SQLite) with
          both models replaced by no-ops: the pipeline's own overhead
  full    maskscan's pipeline with the shipped models, at the device's inference precision
          and detector backend, as `maskscan process` runs them (`--precision` as there:
          auto takes each model's int8 ranges only on CPUs with VNNI or AMX and only ranges marked
          for default use, int8 whenever it can; `--float32` forces float32
          for both models, `--torch-detector` PyTorch for the float32 detector,
          `--small-faces` the detector's second pass)
  naive   what users write by hand (maskscan.pipeline.reference): per frame, ultralytics
          `predict`, then each face cut and classified alone (batch 1 everywhere)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from maskscan.pipeline.inference import Frames
from maskscan.pipeline.loading import Precision, inference_precision

from machine import describe_device, dtype_name  # benchmarks/machine.py

MODES = ("decode", "noop", "full", "naive")


class _NoopDetector:
    name = "noop"

    def detect(self, frames: Frames) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return [(torch.zeros((0, 4)), torch.zeros((0,))) for _ in frames]


class _NoopClassifier:
    name = "noop"

    def classify_faces(self, frames: Frames, boxes: list[torch.Tensor]) -> list[np.ndarray]:
        return [np.zeros((len(b),), np.float32) for b in boxes]


class _Silent:
    def start_file(self, *_: object) -> None: ...
    def advance(self, *_: object) -> None: ...
    def warn(self, *_: object) -> None: ...
    def end_file(self, *_: object) -> None: ...


def _decode(media, args) -> int:  # noqa: ANN001
    from maskscan.pipeline.decode import VideoSource

    with VideoSource(media, args.sample_fps) as source:
        return sum(1 for _ in source.frames())


def _precision(args: argparse.Namespace) -> Precision:
    return Precision(torch.float32, torch.float32) if args.float32 else inference_precision(torch.device(args.device))


def _backend(args: argparse.Namespace) -> str | None:
    """PyTorch when asked; else None: `load_pipeline` chooses, as for `maskscan process`."""
    return "torch" if args.torch_detector else None


def _cpu_precision(args: argparse.Namespace) -> str:
    return "fp32" if args.float32 or args.torch_detector else args.precision


def _pipeline(media, args, noop: bool) -> int:  # noqa: ANN001
    from maskscan.classifiers.shipped import DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE, SHIPPED_DETECTOR
    from maskscan.pipeline.inference import FaceMaskPipeline
    from maskscan.pipeline.loading import load_pipeline
    from maskscan.pipeline.runner import FileProcessor, ProcessOptions
    from maskscan.storage import database

    device = torch.device(args.device)
    if noop:
        pipeline = FaceMaskPipeline(_NoopDetector(), _NoopClassifier(), device, 0.5)
    else:
        pipeline = load_pipeline(device, SHIPPED_DETECTOR, DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE,
                                 precision=_precision(args), backend=_backend(args),
                                 cpu_precision=_cpu_precision(args), small_faces=args.small_faces)
        args.detector_precision_used = f"{pipeline.detector.precision} ({pipeline.detector.backend})"
        args.classifier_precision_used = pipeline.classifier.precision
    engine = database.create_db_engine("sqlite://")
    database.ensure_schema(engine)
    clips_dir = Path(tempfile.mkdtemp(prefix="maskscan-bench-clips-")) if args.clips else None
    options = ProcessOptions(sample_fps=args.sample_fps, batch_size=args.batch_size, clips_dir=clips_dir,
                             anonymize=args.anonymize)
    processor = FileProcessor(pipeline, database.session_factory(engine), options, _Silent())
    args.started = time.perf_counter()  # loading the models and libraries is not timed, as for the naive loop
    outcome = processor.process(media)
    if outcome.status != "done":
        raise SystemExit(f"pipeline failed: {outcome.error}")
    return outcome.frames


def _naive(media, args) -> int:
    from maskscan.classifiers.shipped import DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE, SHIPPED_DETECTOR, mask_threshold_for
    from maskscan.pipeline.decode import VideoSource
    from maskscan.pipeline.reference import ReferenceLoop

    loop = ReferenceLoop(SHIPPED_DETECTOR, DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE, mask_threshold_for(DEFAULT_CLASSIFIER),
                         args.device)
    frames = 0
    args.started = time.perf_counter()
    with VideoSource(media, args.sample_fps) as source:
        for frame in source.frames():
            loop(frame.image)
            frames += 1
    return frames


def run_mode(args: argparse.Namespace) -> dict[str, object]:
    from maskscan.pipeline.decode import VideoSource
    from maskscan.pipeline.media import MediaFile

    media = MediaFile(Path(args.video), "video")
    with VideoSource(media, args.sample_fps) as source:
        duration = source.info.duration_s
    args.started = time.perf_counter()
    frames = {"decode": _decode, "naive": _naive}.get(args.mode, None)
    if frames is not None:
        count = frames(media, args)
    else:
        count = _pipeline(media, args, noop=args.mode == "noop")
    seconds = time.perf_counter() - args.started
    return {"mode": args.mode, "frames": count, "seconds": seconds, "fps": count / seconds,
            "detector_precision": getattr(args, "detector_precision_used", None),
            "classifier_precision": getattr(args, "classifier_precision_used", None),
            "realtime_factor": (duration or 0) / seconds,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video")
    parser.add_argument("--sample-fps", type=float, default=5.0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--clips", action="store_true",
                        help="Pipeline modes also write violation clips (to a temporary folder), as `process` does.")
    parser.add_argument("--anonymize", choices=["none", "blur", "pixelate", "solid"], default="none",
                        help="With --clips: hide faces in them.")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--repeats", type=int, default=3, help="Runs per mode; the median run is reported.")
    parser.add_argument("--float32", action="store_true", help="Run the full pipeline in float32 on any device.")
    parser.add_argument("--torch-detector", action="store_true", help="Run the full pipeline's detector in PyTorch.")
    parser.add_argument("--precision", choices=["auto", "fp32", "int8"], default="auto",
                        help="The full pipeline's models' precision on a CPU, as `maskscan process --precision`.")
    parser.add_argument("--small-faces", action="store_true", help="The full pipeline with `--small-faces`.")
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.mode:
        print(json.dumps(run_mode(args)))
        return
    rows = {}
    for mode in args.modes.split(","):
        command = [sys.executable, __file__, args.video, "--sample-fps", str(args.sample_fps), "--device", args.device,
                   "--batch-size", str(args.batch_size), "--mode", mode]
        command += [flag for flag, on in (("--float32", args.float32), ("--torch-detector", args.torch_detector),
                                          ("--clips", args.clips), ("--small-faces", args.small_faces)) if on]
        command += ["--anonymize", args.anonymize, "--precision", args.precision]
        runs = sorted((json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
                       for _ in range(args.repeats)), key=lambda run: run["seconds"])
        rows[mode] = runs[len(runs) // 2]
    summary = {
        "video": args.video, "sample_fps": args.sample_fps, "device": args.device, "batch_size": args.batch_size,
        "repeats": args.repeats, "small_faces": args.small_faces,
        "machine": describe_device(torch.device(args.device)), "cpu_threads": torch.get_num_threads(), "modes": rows,
        "precision": {model: dtype_name(dtype) for model, dtype in vars(_precision(args)).items()}
                     | ({"detector": rows["full"]["detector_precision"], "classifier": rows["full"]["classifier_precision"]}
                        if "full" in rows else {}),
    }
    if "full" in rows and "naive" in rows:
        summary["full_over_naive"] = rows["full"]["fps"] / rows["naive"]["fps"]
    if "noop" in rows and "decode" in rows:
        summary["noop_over_decode"] = rows["noop"]["fps"] / rows["decode"]["fps"]
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"{args.video}: sample {args.sample_fps} fps, device {args.device} ({summary['machine']}), "
          f"batch {args.batch_size}, pipeline precision {summary['precision']}")
    print(f"{'mode':<8} {'frames':>7} {'seconds':>8} {'fps':>8} {'x realtime':>10} {'peak RSS MB':>12}")
    for row in rows.values():
        print(f"{row['mode']:<8} {row['frames']:>7} {row['seconds']:>8.2f} {row['fps']:>8.2f} "
              f"{row['realtime_factor']:>10.2f} {row['peak_rss_mb']:>12.0f}")
    for key in ("full_over_naive", "noop_over_decode"):
        if key in summary:
            print(f"{key.replace('_', ' ')}: {summary[key]:.2f}")


if __name__ == "__main__":
    main()
