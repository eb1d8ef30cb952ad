"""People counted by maskscan's tracker on real clips, against the truth where it is known.

    python benchmarks/tracking.py [CLIP ...] [--rates 2 5 10] [--people ../shared/data/videos/people.json]
                                  [--reach 3.0] [--lost 3.0] [--iou] [--device cpu] [--tracks] [--json]

For each clip and sampling rate the shipped models run once (maskscan's own decoding and
pipeline); then the tracker and the vote run over the analysed frames. Printed per clip and
rate: people found (labelled mask / no_mask, and unknown tracks), the truth from
`people.json` where the clip is listed, face sightings, and the tracker's cost per analysed
frame beside the models' own. `--iou` matches by box overlap (ByteTrack's own rule, at
its default threshold 0.1) instead of maskscan's centre distance, for comparison. Without CLIP arguments: the clips that `people.json` lists,
plus `one-by-one-person-detection.mp4` (people enter, leave and come back; no truth file).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from maskscan.classifiers.shipped import DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE, SHIPPED_DETECTOR
from maskscan.pipeline.decode import VideoSource, batched_frames
from maskscan.pipeline.loading import load_pipeline, resolve_device
from maskscan.pipeline.media import MediaFile, media_kind, open_media
from maskscan.pipeline.people import PeopleTally, UNKNOWN
from maskscan.pipeline.tracking import FaceTracker, TrackerSettings

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"


def analysed_frames(pipeline, path: Path, rate: float) -> tuple[list, float]:  # noqa: ANN001
    """(timestamp, faces) of every analysed frame, and the models' seconds per frame."""
    media = MediaFile(path, media_kind(path))
    frames, model_s = [], 0.0
    with open_media(path) as handle, VideoSource(media, rate, 0, handle) as source:
        for batch in batched_frames(source, 16):
            started = time.perf_counter()
            found = pipeline([f.image for f in batch])
            model_s += time.perf_counter() - started
            frames += [(f.timestamp_s, faces) for f, faces in zip(batch, found)]
    return frames, model_s / max(len(frames), 1)


def count_people(frames: list, settings: TrackerSettings, rate: float) -> tuple[dict, float]:
    tracker, tally = FaceTracker(settings, rate), PeopleTally(rate)
    started = time.perf_counter()
    for timestamp_s, faces in frames:
        tally.add(timestamp_s, tracker.assign(timestamp_s, faces))
    per_frame = (time.perf_counter() - started) / max(len(frames), 1)
    labels = [tally.label(person) for person in tally.people]
    return {"people": sum(label != UNKNOWN for label in labels), "masked": labels.count("mask"),
            "unmasked": labels.count("no_mask"), "unknown": labels.count(UNKNOWN),
            "sightings": sum(len(faces) for _, faces in frames),
            "tracks": [(round(p.first_s, 1), round(p.last_s, 1), p.detections, label)
                       for p, label in zip(tally.people.values(), labels)]}, per_frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clips", nargs="*", type=Path)
    parser.add_argument("--rates", nargs="+", type=float, default=[2, 5, 10])
    parser.add_argument("--people", type=Path, default=VIDEOS / "people.json")
    parser.add_argument("--reach", type=float, default=TrackerSettings.reach_widths)
    parser.add_argument("--lost", type=float, default=TrackerSettings.lost_s)
    parser.add_argument("--iou", action="store_true", help="ByteTrack's box-overlap matching instead.")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tracks", action="store_true", help="Also list each track (first s, last s, sightings, label).")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    truth = json.loads(args.people.read_text()) if args.people.is_file() else {}
    clips = args.clips or [args.people.parent / name for name in truth] + [VIDEOS / "one-by-one-person-detection.mp4"]
    settings = (TrackerSettings(lost_s=args.lost, association="iou", min_similarity=0.1) if args.iou
                else TrackerSettings(reach_widths=args.reach, lost_s=args.lost))
    pipeline = load_pipeline(resolve_device(args.device), SHIPPED_DETECTOR, DEFAULT_CLASSIFIER, DETECTOR_CONFIDENCE)
    rows = []
    for clip in clips:
        for rate in args.rates:
            frames, model_s = analysed_frames(pipeline, clip, rate)
            found, tracker_s = count_people(frames, settings, rate)
            known = truth.get(clip.name, {})
            rows.append({"clip": clip.name, "sample_fps": rate, "frames": len(frames), **found,
                         "true_people": known.get("people"), "true_masked": known.get("masked"),
                         "tracker_ms_per_frame": tracker_s * 1000, "models_ms_per_frame": model_s * 1000})
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"tracker: {settings.describe()}")
    print(f"{'clip':34} {'fps':>4} {'frames':>6} {'faces':>6} {'people':>6} {'truth':>5} {'masked':>6} "
          f"{'truth':>5} {'unknown':>7} {'tracker ms/f':>12} {'models ms/f':>11}")
    for r in rows:
        print(f"{r['clip']:34} {r['sample_fps']:>4g} {r['frames']:>6} {r['sightings']:>6} {r['people']:>6} "
              f"{'-' if r['true_people'] is None else r['true_people']:>5} {r['masked']:>6} "
              f"{'-' if r['true_masked'] is None else r['true_masked']:>5} {r['unknown']:>7} "
              f"{r['tracker_ms_per_frame']:>12.2f} {r['models_ms_per_frame']:>11.1f}")
        if args.tracks:
            print("    " + "; ".join(f"{a}-{b}s x{n} {label}" for a, b, n, label in r["tracks"]))


if __name__ == "__main__":
    main()
