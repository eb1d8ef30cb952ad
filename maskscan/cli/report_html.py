"""A self-contained HTML compliance report: header, headline figures, charts and the worst moments.

One file with every chart and thumbnail inline, no external references, readable on a phone
(images and tables scale or scroll within the page).
"""

from __future__ import annotations

import base64
import html
import io
import os
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402 - the backend must be chosen first
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from PIL import Image  # noqa: E402
from sqlalchemy import Engine  # noqa: E402

from maskscan.detections import FaceDetections  # noqa: E402
from maskscan.pipeline.annotate import BoxAnnotator  # noqa: E402
from maskscan.pipeline.anonymize import ENLARGE, FaceAnonymizer  # noqa: E402
from maskscan.pipeline.decode import DecodeError, read_frame_at  # noqa: E402
from maskscan.pipeline.media import MediaFile, media_kind  # noqa: E402
from maskscan.storage.reports import for_people, frame_detections  # noqa: E402

STYLE = """*{box-sizing:border-box}body{font-family:system-ui,sans-serif;margin:0 auto;padding:1em;max-width:72em;
color:#222;line-height:1.4}h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.25em;margin-top:1.6em}
.meta{color:#444;font-size:.95em}.meta dt{font-weight:600;float:left;clear:left;margin-right:.5em}
.meta dd{margin:0 0 .2em 0}.warning{background:#fff4e5;border-left:4px solid #e69500;padding:.5em .8em}
.figures{display:flex;flex-wrap:wrap;gap:.8em;margin:1em 0}.figure{flex:1 1 10em;border:1px solid #ddd;
border-radius:6px;padding:.6em .8em}.figure b{display:block;font-size:1.8em}.figure span{color:#555}
.scroll{overflow-x:auto;max-width:100%}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;
padding:.3em .6em;text-align:right;white-space:nowrap}th{background:#f2f2f2}img{max-width:100%;height:auto}
.moments{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0;flex:1 1 20em;max-width:100%}
figcaption{font-size:.9em;color:#444}"""


def _png(figure: plt.Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _jpeg(image: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def time_grain(span: pd.Timedelta) -> tuple[str, str]:
    """The grain of the compliance-over-time chart for a period: (pandas period, name)."""
    if span <= pd.Timedelta(days=2):
        return "h", "hour"
    if span <= pd.Timedelta(days=60):
        return "D", "day"
    if span <= pd.Timedelta(days=366):
        return "W", "week"
    return "M", "month"


def compliance_chart(frames: pd.DataFrame) -> str:
    """Compliance (%) over recorded time at a grain that fits the period."""
    times = frames["recorded_at"].dt.tz_convert("UTC").dt.tz_localize(None)
    period, name = time_grain(times.max() - times.min())
    buckets = times.dt.to_period(period).dt.start_time
    grouped = frames.groupby(buckets)[["masked", "faces"]].sum()
    rate = 100 * grouped["masked"] / grouped["faces"].where(grouped["faces"] > 0)
    figure, axis = plt.subplots(figsize=(8, 3))
    axis.plot(rate.index, rate.values, marker="o")
    step = pd.Period(rate.index[0], period)
    axis.set_xlim(rate.index[0] - (step.end_time - step.start_time) / 2, rate.index[-1] + (step.end_time - step.start_time))
    axis.set_ylim(0, 105)
    axis.set_ylabel("compliance (% of face sightings masked)")
    axis.set_xlabel("recorded time (UTC)")
    axis.set_title(f"Compliance per {name}")
    locator = mdates.AutoDateLocator()
    axis.xaxis.set_major_locator(locator)
    axis.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    axis.grid(alpha=.3)
    return _png(figure)


def camera_chart(frames: pd.DataFrame, clips: pd.DataFrame) -> str:
    """Per camera: compliance (%) on one panel, unmasked sightings and violation clips on another."""
    cameras = frames.assign(camera=frames["camera"].fillna("(none)")).groupby("camera")[
        ["faces", "masked", "unmasked"]].sum()
    clip_counts = clips.assign(camera=clips["camera"].fillna("(none)")).groupby("camera").size() \
        if not clips.empty else pd.Series(dtype=int)
    cameras["clips"] = clip_counts.reindex(cameras.index, fill_value=0)
    compliance = 100 * cameras["masked"] / cameras["faces"].where(cameras["faces"] > 0)
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 0.6 + 0.45 * max(len(cameras), 3)), sharey=True)
    positions = np.arange(len(cameras))
    left.barh(positions, compliance.fillna(0).values, color="#2ca02c")
    left.set_xlim(0, 100)
    left.set_xlabel("compliance (%)")
    left.set_yticks(positions, cameras.index)
    left.set_title("Compliance per camera")
    right.barh(positions - 0.2, cameras["unmasked"].values, 0.4, label="unmasked sightings", color="#d62728")
    right.barh(positions + 0.2, cameras["clips"].values, 0.4, label="violation clips", color="#7f7f7f")
    right.set_xlabel("count")
    right.set_title("Violations per camera")
    right.legend(loc="lower right", fontsize="small")
    left.invert_yaxis()
    return _png(figure)


def heat_map(frames: pd.DataFrame) -> str | None:
    """Unmasked sightings per camera and hour of day (UTC); None when too few hours or cameras."""
    table = frames.assign(camera=frames["camera"].fillna("(none)"), hour=frames["recorded_at"].dt.hour)
    counts = table.pivot_table(index="camera", columns="hour", values="unmasked", aggfunc="sum", fill_value=0)
    if counts.shape[1] < 3 and counts.shape[0] < 2:
        return None
    counts = counts.reindex(columns=range(24), fill_value=0)
    figure, axis = plt.subplots(figsize=(9, 0.8 + 0.4 * len(counts)))
    shown = axis.imshow(counts.values, aspect="auto", cmap="Reds")
    axis.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
    axis.set_yticks(range(len(counts)), counts.index)
    axis.set_xlabel("hour of day (UTC)")
    axis.set_title("Unmasked sightings by camera and hour of day")
    figure.colorbar(shown, ax=axis, label="unmasked sightings")
    return _png(figure)


PAST_TENSE = {"blur": "blurred", "pixelate": "pixelated", "solid": "covered"}


@dataclass(frozen=True)
class ThumbnailPrivacy:
    """How thumbnails hide faces: the stored faces and every face `find_faces` sees (the detector
    at the privacy confidence), through the same anonymizer as `process --anonymize`."""

    anonymizer: FaceAnonymizer
    find_faces: Callable[[np.ndarray], np.ndarray]
    confidence: float

    def hide(self, image: np.ndarray, stored_boxes: np.ndarray) -> np.ndarray:
        return self.anonymizer.anonymize(image, np.concatenate([stored_boxes, self.find_faces(image)]))

    def wording(self) -> str:
        return (f"Faces detected at confidence ≥ {self.confidence:g} were {PAST_TENSE[self.anonymizer.mode]}, "
                f"in regions {ENLARGE:g}× their boxes; a face the detector did not find at all would still show.")


def thumbnail(engine: Engine, row: pd.Series, privacy: ThumbnailPrivacy | None) -> str | None:
    """The frame of a violation moment with its stored boxes and labels, or None when the footage is gone."""
    path = Path(row["path"])
    kind = media_kind(path)
    if kind is None or not path.is_file():
        return None
    try:
        image = read_frame_at(MediaFile(path, kind), float(row["timestamp_s"]))
    except DecodeError:
        return None
    found = frame_detections(engine, int(row["id"]))
    probabilities = found["mask_prob"].to_numpy(np.float32)
    masked = (found["label"] == "mask").to_numpy()
    # the stored labels decide the colours: a threshold between this frame's two labelled groups
    threshold = float(probabilities[masked].min()) if masked.any() else float("inf")
    faces = FaceDetections(found[["x1", "y1", "x2", "y2"]].to_numpy(np.float32), found["face_score"].to_numpy(),
                           probabilities, threshold)
    if privacy is not None:
        image = privacy.hide(image, faces.boxes)
    annotated = BoxAnnotator().annotate(image, faces)
    scale = 640 / max(annotated.shape[:2])
    if scale < 1:
        annotated = np.asarray(Image.fromarray(annotated).resize(
            (round(annotated.shape[1] * scale), round(annotated.shape[0] * scale))))
    return _jpeg(annotated)


def clip_link(clip_path: str, report_path: Path) -> str:
    """The clip's address as seen from the report: relative when it sits beside or below it."""
    clip, folder = Path(clip_path).resolve(), report_path.resolve().parent
    if clip.is_relative_to(folder):
        return os.path.relpath(clip, folder)
    return clip.as_uri()


def _when(moment: Any) -> str:
    return "unknown" if moment is None or pd.isna(moment) else pd.Timestamp(moment).strftime("%Y-%m-%d %H:%M:%S")


def _header(header: dict[str, Any], summary: str) -> list[str]:
    models = "; ".join(
        f"detector {m['detector']} at confidence {_number(m['face_conf'])}, classifier {m['classifier']} "
        f"labelling P(mask) ≥ {_number(m['mask_threshold'])} as masked, {_sampling(m['sample_fps'])}"
        for m in header["models"]) or "none"
    rows = [("Period", f"{_when(header['first_recorded'])} to {_when(header['last_recorded'])} (UTC, recorded time)"),
            ("Filters", summary), ("Cameras", ", ".join(header["cameras"]) or "none"),
            ("Footage", f"{header['files']} files, {_duration(header['footage_hours'] * 3600)} of footage"),
            ("Models", models),
            ("Made", f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} UTC by maskscan {version('maskscan')}")]
    parts = ["<dl class='meta'>"] + [f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in rows]
    parts.append("</dl>")
    if header["files_timed_by_mtime"]:
        parts.append(f"<p class='warning'>{header['files_timed_by_mtime']} of {header['files']} files have no "
                     "recording time in their name or metadata: their times are the files' modification times, "
                     "which may be when they were copied, not recorded. Use <code>--time-pattern</code> when "
                     "processing to read times from file names.</p>")
    return parts


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} hours"


def _number(value: float | None) -> str:
    return "(not recorded)" if value is None else f"{value:g}"


def _sampling(sample_fps: float | None) -> str:
    if sample_fps is None:
        return "sampling rate not recorded"
    return "every frame analysed" if sample_fps == 0 else f"{sample_fps:g} frames analysed a second"


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "–"


def _headline(frames: pd.DataFrame, clips: pd.DataFrame, tracks: pd.DataFrame) -> str:
    """People first (when any footage was tracked), then face sightings."""
    faces, masked, unmasked = int(frames["faces"].sum()), int(frames["masked"].sum()), int(frames["unmasked"].sum())
    figures = []
    if frames["tracked"].any():
        labels = tracks["label"].value_counts()
        people_masked, people_unmasked = int(labels.get("mask", 0)), int(labels.get("no_mask", 0))
        people = people_masked + people_unmasked
        figures += [(_percent(people_masked, people), "compliance (masked people)"), (f"{people:,}", "people"),
                    (f"{people_unmasked:,}", "people without a mask")]
    figures += [(_percent(masked, faces), "compliance (masked face sightings)"), (f"{faces:,}", "face sightings"),
                (f"{unmasked:,}", "unmasked sightings (violations)"), (f"{len(clips):,}", "violation clips")]
    return "<div class='figures'>" + "".join(
        f"<div class='figure'><b>{html.escape(value)}</b><span>{html.escape(label)}</span></div>"
        for value, label in figures) + "</div>"


def _unmasked_people(people: pd.DataFrame, total: int, report_path: Path) -> list[str]:
    shown = f" (the {len(people)} seen longest of {total})" if total > len(people) else ""
    parts = [f"<h2>People without a mask{html.escape(shown)}</h2><div class='scroll'><table><thead><tr>"
             "<th>First seen (UTC)</th><th>Camera</th><th>File</th><th>Seen (s)</th><th>Sightings</th>"
             "<th>Clips</th></tr></thead><tbody>"]
    for _, person in people.iterrows():
        links = " ".join(f"<a href='{html.escape(clip_link(c, report_path))}'>clip</a>" for c in person["clips"])
        parts.append(f"<tr><td>{html.escape(_when(person['recorded_at']))}</td>"
                     f"<td>{html.escape(person['camera'] or '(none)')}</td>"
                     f"<td>{html.escape(Path(person['path']).name)}</td>"
                     f"<td>{person['first_s']:.1f}–{person['last_s']:.1f}</td><td>{int(person['detections'])}</td>"
                     f"<td>{links or '–'}</td></tr>")
    parts.append("</tbody></table></div>")
    return parts


def render_html(title: str, summary: str, header: dict[str, Any], report: pd.DataFrame, frames: pd.DataFrame,
                clips: pd.DataFrame, worst: pd.DataFrame, tracks: pd.DataFrame, people: pd.DataFrame,
                engine: Engine, privacy: ThumbnailPrivacy | None, report_path: Path) -> str:
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
             "<meta name='viewport' content='width=device-width, initial-scale=1'>",
             f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>", *_header(header, summary)]
    if frames.empty:
        parts.append("<p>No analysed footage matches.</p></body></html>")
        return "\n".join(parts)
    parts.append(_headline(frames, clips, tracks))
    if frames["tracked"].any() and not frames["tracked"].all():
        parts.append("<p class='warning'>Part of this footage was processed before maskscan tracked people: "
                     "its people are not counted (see the untracked footage column).</p>")
    parts.append("<div class='scroll'>" + for_people(report).to_html(index=False, float_format=lambda v: f"{v:.3f}",
                                                            na_rep="–", border=0) + "</div>")
    parts.append(f"<h2>Compliance over time</h2><img alt='compliance over time' src='{compliance_chart(frames)}'>")
    parts.append(f"<h2>Cameras</h2><img alt='compliance and violations per camera' "
                 f"src='{camera_chart(frames, clips)}'>")
    heat = heat_map(frames)
    if heat is not None:
        parts.append(f"<h2>When violations happen</h2><img alt='unmasked sightings by camera and hour' src='{heat}'>")
    if not people.empty:
        parts += _unmasked_people(people, int((tracks["label"] == "no_mask").sum()), report_path)
    if not worst.empty:
        parts.append("<h2>Worst violation moments</h2>")
        if privacy is not None:
            parts.append(f"<p>{html.escape(privacy.wording())}</p>")
        parts.append("<div class='moments'>")
        for _, row in worst.iterrows():
            parts.append(_moment(engine, row, privacy, report_path))
        parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _moment(engine: Engine, row: pd.Series, privacy: ThumbnailPrivacy | None, report_path: Path) -> str:
    source = thumbnail(engine, row, privacy)
    body = f"<img alt='violation' src='{source}'>" if source else "<p>(footage no longer available)</p>"
    caption = html.escape(f"{row['unmasked']} unmasked of {row['faces']} faces, camera {row['camera'] or '(none)'}, "
                          f"{_when(row['recorded_at'])} UTC, {Path(row['path']).name} at {row['timestamp_s']:.1f} s")
    if isinstance(row.get("clip_path"), str):
        caption += f" · <a href='{html.escape(clip_link(row['clip_path'], report_path))}'>clip</a>"
    return f"<figure>{body}<figcaption>{caption}</figcaption></figure>"
