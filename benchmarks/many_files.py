"""Files per minute when a camera writes many short segments, by `--decoders`.

    python benchmarks/many_files.py [--files 200] [--seconds 10] [--decoders 1 2] [--sample-fps 5]
                                    [--source ../shared/data/videos/one-by-one-person-detection.mp4]
                                    [--device cpu] [--keep DIR] [--json]

Cuts `--files` segments of `--seconds` each from the source clip (each from a different start,
so every file has its own content and hash), then runs `maskscan process FOLDER` once per
`--decoders` value, each into a fresh SQLite database with clips on, exactly as a nightly job
would, and prints files per minute and frames per second for the whole run (model loading
included, as users wait for it too).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"


def cut_segments(source: Path, folder: Path, files: int, seconds: float) -> None:
    """`files` segments of `seconds`, starting every (length - seconds) / files seconds."""
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or Fraction(10)
        images = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    per_segment = round(seconds * rate)
    step = max(1, (len(images) - per_segment) // files)
    for i in range(files):
        start = (i * step) % max(1, len(images) - per_segment)
        with av.open(str(folder / f"segment_{i:04d}.mp4"), mode="w") as out:
            video = out.add_stream("libx264", rate=rate)
            video.width, video.height, video.pix_fmt = images[0].shape[1], images[0].shape[0], "yuv420p"
            video.options = {"preset": "ultrafast"}
            for n, image in enumerate(images[start:start + per_segment]):
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts = n
                out.mux(video.encode(frame))
            out.mux(video.encode(None))


def run(folder: Path, decoders: int, args: argparse.Namespace) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as work:
        command = [sys.executable, "-m", "maskscan.cli", "process", str(folder), "--db", f"sqlite:///{work}/m.db",
                   "--clips-dir", f"{work}/clips", "--sample-fps", str(args.sample_fps), "--device", args.device,
                   "--decoders", str(decoders), "--quiet", "--settle", "0"]
        started = time.perf_counter()
        subprocess.run(command, check=True, env=dict(os.environ, MASKSCAN_SETTLE="0"))
        seconds = time.perf_counter() - started
        with sqlite3.connect(f"{work}/m.db") as database:
            frames = database.execute("SELECT count(*) FROM frames").fetchone()[0]
    return seconds, frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--decoders", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--sample-fps", type=float, default=5.0)
    parser.add_argument("--source", type=Path, default=VIDEOS / "one-by-one-person-detection.mp4")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--keep", type=Path, help="Keep the segments in this folder (reused when it holds them).")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        if len(list(folder.glob("segment_*.mp4"))) != args.files:
            cut_segments(args.source, folder, args.files, args.seconds)
        rows = []
        for decoders in args.decoders:
            seconds, frames = run(folder, decoders, args)
            rows.append({"decoders": decoders, "files": args.files, "seconds": seconds, "frames": frames,
                         "files_per_min": args.files / seconds * 60, "frames_per_s": frames / seconds,
                         "sample_fps": args.sample_fps, "device": args.device})
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{args.files} files of {args.seconds:g} s from {args.source.name}, --sample-fps {args.sample_fps:g}, "
          f"{os.cpu_count()} CPUs")
    print(f"{'decoders':>8} {'seconds':>8} {'files/min':>9} {'frames/s':>9}")
    for row in rows:
        print(f"{row['decoders']:>8} {row['seconds']:>8.1f} {row['files_per_min']:>9.1f} {row['frames_per_s']:>9.1f}")


if __name__ == "__main__":
    main()
