"""A self-contained HTML compliance report: tables, charts and thumbnails, all inline."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402
from sqlalchemy import Engine  # noqa: E402

from maskscan.detections import FaceDetections  # noqa: E402
from maskscan.pipeline.annotate import BoxAnnotator  # noqa: E402
from maskscan.pipeline.decode import DecodeError, read_frame_at  # noqa: E402
from maskscan.pipeline.media import MediaFile, media_kind  # noqa: E402
from maskscan.storage.reports import frame_detections  # noqa: E402

STYLE = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}th{background:#f2f2f2}
figure{display:inline-block;margin:.5em}figcaption{font-size:.85em;color:#555}img{max-width:100%}"""


def _png(figure: plt.Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _jpeg(image: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def compliance_chart(frames: pd.DataFrame) -> str:
    """Compliance rate per hour, or per day when the footage spans more than three days."""
    span = frames["recorded_at"].max() - frames["recorded_at"].min()
    step = "D" if span > pd.Timedelta(days=3) else "h"
    grouped = frames.groupby(frames["recorded_at"].dt.floor(step))[["masked", "faces"]].sum()
    rate = grouped["masked"] / grouped["faces"].where(grouped["faces"] > 0)
    figure, axis = plt.subplots(figsize=(8, 3))
    axis.plot(rate.index, rate.values, marker="o")
    axis.set_ylim(0, 1.05)
    axis.set_ylabel("compliance (masked / faces)")
    axis.set_title(f"Compliance per {'day' if step == 'D' else 'hour'} (recorded time, UTC)")
    figure.autofmt_xdate()
    return _png(figure)


def camera_chart(frames: pd.DataFrame, clips: pd.DataFrame) -> str:
    cameras = frames.assign(camera=frames["camera"].fillna("(none)")).groupby("camera")[["faces", "unmasked"]].sum()
    clip_counts = clips.assign(camera=clips["camera"].fillna("(none)")).groupby("camera").size() if not clips.empty \
        else pd.Series(dtype=int)
    cameras["clips"] = clip_counts.reindex(cameras.index, fill_value=0)
    figure, axis = plt.subplots(figsize=(8, 3))
    positions = np.arange(len(cameras))
    axis.bar(positions - 0.27, cameras["faces"], 0.27, label="faces")
    axis.bar(positions, cameras["unmasked"], 0.27, label="unmasked faces", color="#d62728")
    axis.bar(positions + 0.27, cameras["clips"], 0.27, label="violation clips", color="#7f7f7f")
    axis.set_xticks(positions, cameras.index, rotation=30, ha="right")
    axis.set_title("Faces and violations per camera")
    axis.legend()
    return _png(figure)


def thumbnail(engine: Engine, row: pd.Series, blur: bool) -> str | None:
    """The annotated frame of a violation moment, or None when the footage is gone."""
    path = Path(row["path"])
    kind = media_kind(path)
    if kind is None or not path.is_file():
        return None
    try:
        image = read_frame_at(MediaFile(path, kind), float(row["timestamp_s"]))
    except DecodeError:
        return None
    found = frame_detections(engine, int(row["id"]))
    faces = FaceDetections(found[["x1", "y1", "x2", "y2"]].to_numpy(np.float32), found["face_score"].to_numpy(),
                           found["mask_prob"].to_numpy())
    if blur:
        canvas = Image.fromarray(image)
        for x1, y1, x2, y2 in faces.boxes.round().astype(int).tolist():
            if x2 > x1 and y2 > y1:
                region = canvas.crop((x1, y1, x2, y2))
                canvas.paste(region.filter(ImageFilter.GaussianBlur(max(2, (x2 - x1) // 4))), (x1, y1))
        image = np.asarray(canvas)
    annotated = BoxAnnotator().annotate(image, faces)
    scale = 480 / max(annotated.shape[:2])
    if scale < 1:
        annotated = np.asarray(Image.fromarray(annotated).resize(
            (round(annotated.shape[1] * scale), round(annotated.shape[0] * scale))))
    return _jpeg(annotated)


def render_html(title: str, summary: str, report: pd.DataFrame, frames: pd.DataFrame, clips: pd.DataFrame,
                worst: pd.DataFrame, engine: Engine, blur: bool) -> str:
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1><p>{html.escape(summary)}</p>"]
    parts.append(report.to_html(index=False, float_format=lambda v: f"{v:.3f}", na_rep="-"))
    if not frames.empty:
        parts.append(f"<h2>Compliance over time</h2><img alt='compliance over time' src='{compliance_chart(frames)}'>")
        parts.append(f"<h2>Cameras</h2><img alt='faces and violations per camera' src='{camera_chart(frames, clips)}'>")
    if not worst.empty:
        parts.append("<h2>Worst violation moments</h2>" + ("<p>Faces blurred.</p>" if blur else ""))
        for _, row in worst.iterrows():
            source = thumbnail(engine, row, blur)
            caption = html.escape(f"{row['unmasked']} unmasked of {row['faces']} faces, camera {row['camera']}, "
                                  f"{pd.Timestamp(row['recorded_at']).isoformat() if row['recorded_at'] else ''}, "
                                  f"{Path(row['path']).name} at {row['timestamp_s']:.1f} s")
            body = f"<img alt='violation' src='{source}'>" if source else "<p>(footage no longer available)</p>"
            parts.append(f"<figure>{body}<figcaption>{caption}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)
