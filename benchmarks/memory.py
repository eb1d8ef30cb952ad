"""Peak memory of `maskscan process` against footage length (1 minute vs 10 minutes).

    python benchmarks/memory.py VIDEO [--sample-fps 5] [--decoders 1] [--json]

Loops VIDEO (re-encoded, same size and frame rate) into a 1-minute and a 10-minute file in a
temporary folder, runs the real command on each in its own process (SQLite database, clips
on) and prints each run's peak resident memory and their ratio. Target: ratio <= 1.2. With
`--decoders N`, each length is N files (each looped from its own start, so each has its own
content), processed N at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av


def loop_video(source: Path, target: Path, seconds: float, start: int = 0) -> Path:
    """`source` played over and over, from its frame `start`, until `seconds` of footage are written to `target`."""
    with av.open(str(source)) as reader:
        stream = reader.streams.video[0]
        rate = Fraction(stream.average_rate or 25).limit_denominator(1000)
        frames = [frame.to_ndarray(format="rgb24") for frame in reader.decode(stream)]
    height, width = frames[0].shape[:2]
    with av.open(str(target), mode="w") as writer:
        out = writer.add_stream("libx264", rate=rate)
        out.width, out.height, out.pix_fmt = width, height, "yuv420p"
        for index in range(round(seconds * rate)):
            frame = av.VideoFrame.from_ndarray(frames[(start + index) % len(frames)], format="rgb24")
            frame.pts = index
            writer.mux(out.encode(frame))
        writer.mux(out.encode(None))
    return target


def measured_run(command: list[str], cwd: Path) -> dict[str, float]:
    """Run a command to its end; its wall-clock seconds and peak resident memory (MB)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}")
    return {"seconds": time.perf_counter() - started, "peak_rss_mb": usage.ru_maxrss / 1024}


def peak_rss_of_run(footage: Path, workdir: Path, sample_fps: float, decoders: int = 1) -> dict[str, float]:
    return measured_run([sys.executable, "-m", "maskscan.cli", "process", str(footage), "--db",
                         f"sqlite:///{workdir / 'm.db'}", "--clips-dir", str(workdir / "clips"), "--sample-fps",
                         str(sample_fps), "--device", "cpu", "--quiet", "--settle", "0", "--decoders", str(decoders)],
                        workdir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", type=Path)
    parser.add_argument("--sample-fps", type=float, default=5.0)
    parser.add_argument("--decoders", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        for minutes in (1, 10):
            workdir = Path(folder) / f"{minutes}min"
            (workdir / "footage").mkdir(parents=True)
            for i in range(args.decoders):
                loop_video(args.video, workdir / "footage" / f"{args.video.stem}_{minutes}min_{i}.mp4", minutes * 60,
                           start=7 * i)
            rows[f"{minutes} min"] = peak_rss_of_run(workdir / "footage", workdir, args.sample_fps, args.decoders)
    summary = {"video": str(args.video), "sample_fps": args.sample_fps, "decoders": args.decoders, "runs": rows,
               "ratio_10_over_1": rows["10 min"]["peak_rss_mb"] / rows["1 min"]["peak_rss_mb"]}
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    for name, row in rows.items():
        print(f"{name:>7}: peak RSS {row['peak_rss_mb']:7.0f} MB in {row['seconds']:6.0f} s")
    print(f"10 min / 1 min peak RSS: {summary['ratio_10_over_1']:.2f} (target <= 1.2)")


if __name__ == "__main__":
    main()
