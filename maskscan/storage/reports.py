"""Compliance figures from the storage contract, as pandas tables.

Every filter is a bound parameter. Frames are fetched with their video's camera and length,
then grouped in pandas, so the same code serves SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Engine, and_, func, or_, select

from maskscan.storage.models import Clip, ClipTrack, Frame, Track, Video
from maskscan.storage.report_filter import Grouping, ReportFilter

PEOPLE_MEASURES = ("people", "people_masked", "people_unmasked", "people_unknown", "people_compliance")
MEASURES = ("footage_hours", "frames", *PEOPLE_MEASURES, "faces", "masked", "unmasked", "compliance",
            "peak_unmasked", "clips", "untracked_hours")
"""People are tracks labelled `mask` or `no_mask`, counted in the group of their first sighting;
`untracked_hours` is footage processed before tracking, whose people are not counted (a
group with only such footage has no people figures)."""
READABLE = {"hour": "Hour (UTC)", "day": "Day", "week": "Week from", "month": "Month", "camera": "Camera",
            "video": "Video", "footage_hours": "Footage (h)", "frames": "Frames analysed", "people": "People",
            "people_masked": "People masked", "people_unmasked": "People unmasked", "people_unknown": "Unknown",
            "people_compliance": "People compliance", "faces": "Face sightings", "masked": "Masked sightings",
            "unmasked": "Unmasked sightings", "compliance": "Sighting compliance", "peak_unmasked": "Peak unmasked",
            "clips": "Violation clips", "untracked_hours": "Untracked footage (h)"}
"""Column titles for people; CSV and JSON keep the stable names (MEASURES and the groupings)."""
TIME_FORMATS = {"hour": "%Y-%m-%d %H:00", "day": "%Y-%m-%d", "week": "%Y-%m-%d", "month": "%Y-%m"}


def for_people(report: pd.DataFrame) -> pd.DataFrame:
    """The report with readable column titles and times at their group's grain (table and HTML)."""
    shown = report.copy()
    for level, pattern in TIME_FORMATS.items():
        if level in shown.columns:
            shown[level] = pd.to_datetime(shown[level], utc=True).dt.strftime(pattern)
    return shown.rename(columns=READABLE)


STRETCH_GAP_S = 10.0
"""Worst moments of one video closer than this (and not in one clip) belong to one stretch."""


def _video_conditions(filters: ReportFilter) -> list:
    conditions = [Video.status == "done"]
    if filters.cameras:
        conditions.append(Video.camera.in_(list(filters.cameras)))
    if filters.videos:
        ids = [int(v) for v in filters.videos if v.isdigit()]
        paths = [v for v in filters.videos if not v.isdigit()]
        conditions.append(or_(Video.id.in_(ids), *[or_(Video.path == p, Video.path.endswith("/" + p.lstrip("/"),
                                                                                         autoescape=True))
                                                   for p in paths]))
    return conditions


def _time_conditions(column, filters: ReportFilter) -> list:  # noqa: ANN001 - a SQL column
    conditions = []
    if filters.since is not None:
        conditions.append(column >= filters.since)
    if filters.until is not None:
        conditions.append(column < filters.until)
    return conditions


def frame_table(engine: Engine, filters: ReportFilter) -> pd.DataFrame:
    """One row per analysed frame of `done` videos that pass the filters."""
    seconds_per_frame = func.coalesce(Video.duration_s, 0.0) / func.nullif(Video.frames_analysed, 0)
    query = (
        select(Frame.video_id, Video.path, Video.camera, Frame.recorded_at, Frame.timestamp_s, Frame.faces,
               Frame.masked, Frame.unmasked, seconds_per_frame.label("footage_s"),
               Video.tracker.is_not(None).label("tracked"))
        .join(Video, Video.id == Frame.video_id)
        .where(and_(*_video_conditions(filters), *_time_conditions(Frame.recorded_at, filters)))
    )
    with engine.connect() as connection:
        table = pd.DataFrame(connection.execute(query).all(), columns=list(query.selected_columns.keys()))
    table["recorded_at"] = pd.to_datetime(table["recorded_at"], utc=True)
    table["footage_s"] = table["footage_s"].astype(float).fillna(0.0)
    table["tracked"] = table["tracked"].astype(bool)
    return table


def track_table(engine: Engine, filters: ReportFilter) -> pd.DataFrame:
    """One row per tracked person (labelled or not) of `done` videos, at their first sighting's time."""
    query = (
        select(Track.id, Track.video_id, Video.path, Video.camera, Track.first_recorded_at.label("recorded_at"),
               Track.first_s, Track.last_s, Track.detections, Track.label)
        .join(Video, Video.id == Track.video_id)
        .where(and_(*_video_conditions(filters), *_time_conditions(Track.first_recorded_at, filters)))
    )
    with engine.connect() as connection:
        table = pd.DataFrame(connection.execute(query).all(), columns=list(query.selected_columns.keys()))
    table["recorded_at"] = pd.to_datetime(table["recorded_at"], utc=True)
    return table


def unmasked_people(engine: Engine, filters: ReportFilter, count: int) -> pd.DataFrame:
    """People labelled `no_mask`, the longest seen first, each with the clips that show them."""
    query = (
        select(Track.id, Video.path, Video.camera, Track.first_recorded_at.label("recorded_at"), Track.first_s,
               Track.last_s, Track.detections, Track.no_mask_votes, Clip.path.label("clip_path"))
        .join(Video, Video.id == Track.video_id)
        .outerjoin(ClipTrack, ClipTrack.track_id == Track.id)
        .outerjoin(Clip, Clip.id == ClipTrack.clip_id)
        .where(and_(*_video_conditions(filters), *_time_conditions(Track.first_recorded_at, filters),
                    Track.label == "no_mask"))
        .order_by((Track.last_s - Track.first_s).desc(), Track.id, Clip.start_s)
    )
    with engine.connect() as connection:
        rows = pd.DataFrame(connection.execute(query).all(), columns=list(query.selected_columns.keys()))
    if rows.empty:
        return rows.assign(clips=[])
    people = rows.groupby("id", sort=False).agg(
        path=("path", "first"), camera=("camera", "first"), recorded_at=("recorded_at", "first"),
        first_s=("first_s", "first"), last_s=("last_s", "first"), detections=("detections", "first"),
        clips=("clip_path", lambda paths: [p for p in paths if isinstance(p, str)])).reset_index()
    people["recorded_at"] = pd.to_datetime(people["recorded_at"], utc=True)
    return people.head(count)


def worst_frames(engine: Engine, filters: ReportFilter, count: int) -> pd.DataFrame:
    """The frames with the most unmasked faces (ties: the earliest), one per stretch of footage:
    frames in one violation clip, or of one video less than STRETCH_GAP_S apart, show one moment.
    Each comes with its clip's path where one holds it."""
    query = (
        select(Frame.id, Frame.video_id, Video.path, Video.camera, Frame.recorded_at, Frame.timestamp_s,
               Frame.frame_index, Frame.unmasked, Frame.faces)
        .join(Video, Video.id == Frame.video_id)
        .where(and_(*_video_conditions(filters), *_time_conditions(Frame.recorded_at, filters), Frame.unmasked > 0))
        .order_by(Frame.unmasked.desc(), Frame.recorded_at, Frame.id)
        .limit(max(count, 1) * 200)
    )
    clip_query = select(Clip.video_id, Clip.start_s, Clip.end_s, Clip.path).join(Video, Video.id == Clip.video_id) \
        .where(and_(*_video_conditions(filters)))
    with engine.connect() as connection:
        candidates = pd.DataFrame(connection.execute(query).all(), columns=list(query.selected_columns.keys()))
        clips = connection.execute(clip_query).all()
    chosen: list[pd.Series] = []
    for _, row in candidates.iterrows():
        clip_path = next((c.path for c in clips if c.video_id == row["video_id"]
                          and c.start_s - 1e-6 <= row["timestamp_s"] <= c.end_s + 1e-6), None)
        if any((clip_path is not None and clip_path == other["clip_path"])
               or (other["video_id"] == row["video_id"]
                   and abs(other["timestamp_s"] - row["timestamp_s"]) < STRETCH_GAP_S)
               for other in chosen):
            continue  # a moment of a stretch already shown
        chosen.append(row.copy())
        chosen[-1]["clip_path"] = clip_path
        if len(chosen) == count:
            break
    columns = list(candidates.columns) + ["clip_path"]
    return pd.DataFrame(chosen, columns=columns).reset_index(drop=True)


def report_header(engine: Engine, filters: ReportFilter) -> dict[str, Any]:
    """What a report covers and how its numbers were made: period, cameras, files, footage,
    models with their thresholds, and how many recording times are only file modification times."""
    seconds_per_frame = func.coalesce(Video.duration_s, 0.0) / func.nullif(Video.frames_analysed, 0)
    per_video = (
        select(Video.id, Video.camera, Video.detector, Video.classifier, Video.face_conf, Video.mask_threshold,
               Video.sample_fps, Video.recorded_at_source, func.min(Frame.recorded_at), func.max(Frame.recorded_at),
               func.count(Frame.id) * seconds_per_frame)
        .join(Frame, Frame.video_id == Video.id)
        .where(and_(*_video_conditions(filters), *_time_conditions(Frame.recorded_at, filters)))
        .group_by(Video.id)
    )
    with engine.connect() as connection:
        rows = connection.execute(per_video).all()
    starts = pd.to_datetime([r[8] for r in rows if r[8] is not None], utc=True)
    ends = pd.to_datetime([r[9] for r in rows if r[9] is not None], utc=True)
    models = sorted({(r.detector, r.face_conf, r.classifier, r.mask_threshold, r.sample_fps) for r in rows},
                    key=lambda m: tuple(str(v) for v in m))
    return {
        "first_recorded": starts.min() if len(starts) else None,
        "last_recorded": ends.max() if len(ends) else None,
        "cameras": sorted({r.camera or "(none)" for r in rows}),
        "files": len(rows),
        "footage_hours": sum(float(r[10] or 0) for r in rows) / 3600,
        "models": [dict(zip(("detector", "face_conf", "classifier", "mask_threshold", "sample_fps"), m))
                   for m in models],
        "files_timed_by_mtime": sum(r.recorded_at_source == "mtime" for r in rows),
    }


def frame_detections(engine: Engine, frame_id: int) -> pd.DataFrame:
    from maskscan.storage.models import Detection

    query = select(Detection.x1, Detection.y1, Detection.x2, Detection.y2, Detection.face_score,
                   Detection.mask_prob, Detection.label).where(Detection.frame_id == frame_id)
    with engine.connect() as connection:
        return pd.DataFrame(connection.execute(query).all(), columns=list(query.selected_columns.keys()))


def clip_table(engine: Engine, filters: ReportFilter) -> pd.DataFrame:
    """One row per violation clip, with its wall-clock start."""
    query = (
        select(Clip.id, Clip.video_id, Video.path.label("video_path"), Video.camera, Video.recorded_at,
               Clip.start_s, Clip.end_s, Clip.path)
        .join(Video, Video.id == Clip.video_id)
        .where(and_(*_video_conditions(filters)))
    )
    with engine.connect() as connection:
        table = pd.DataFrame(connection.execute(query).all(), columns=list(query.selected_columns.keys()))
    table["recorded_at"] = pd.to_datetime(table["recorded_at"], utc=True) + pd.to_timedelta(table["start_s"], unit="s")
    if filters.since is not None:
        table = table[table["recorded_at"] >= pd.Timestamp(filters.since)]
    if filters.until is not None:
        table = table[table["recorded_at"] < pd.Timestamp(filters.until)]
    return table


def _group_keys(table: pd.DataFrame, grouping: Sequence[Grouping]) -> list[pd.Series]:
    keys = []
    for level in grouping:
        if level == "hour":
            keys.append(table["recorded_at"].dt.floor("h").rename("hour"))
        elif level == "day":
            keys.append(table["recorded_at"].dt.floor("D").rename("day"))
        elif level == "week":  # weeks start on Monday
            day = table["recorded_at"].dt.floor("D")
            keys.append((day - pd.to_timedelta(day.dt.weekday, unit="D")).rename("week"))
        elif level == "month":
            day = table["recorded_at"].dt.floor("D")
            keys.append((day - pd.to_timedelta(day.dt.day - 1, unit="D")).rename("month"))
        elif level == "camera":
            keys.append(table["camera"].fillna("(none)").rename("camera"))
        elif level == "video":
            keys.append(table["video_id"].astype(int).rename("video"))
        else:
            raise ValueError(f"unknown grouping {level!r}")
    return keys


def _count_per_group(rows: pd.DataFrame, grouping: Sequence[Grouping], index: pd.Index) -> pd.Series:
    if rows.empty:
        return pd.Series(0, index=index)
    rows = rows.assign(_all="all")
    keys = _group_keys(rows, grouping) or [rows["_all"]]
    return rows.groupby(keys).size().reindex(index, fill_value=0)


def compliance_report(frames: pd.DataFrame, clips: pd.DataFrame, grouping: Sequence[Grouping],
                      tracks: pd.DataFrame | None = None) -> pd.DataFrame:
    """The measures per group (one row in all when `grouping` is empty)."""
    columns = list(grouping) + list(MEASURES)
    if frames.empty:
        return pd.DataFrame(columns=columns)
    frames = frames.assign(_all="all", _untracked_s=frames["footage_s"].where(~frames["tracked"], 0.0))
    keys = _group_keys(frames, grouping) or [frames["_all"]]
    grouped = frames.groupby(keys, dropna=False)
    report = pd.DataFrame({
        "footage_hours": grouped["footage_s"].sum() / 3600,
        "frames": grouped.size(),
        "faces": grouped["faces"].sum(),
        "masked": grouped["masked"].sum(),
        "unmasked": grouped["unmasked"].sum(),
        "peak_unmasked": grouped["unmasked"].max(),
        "untracked_hours": grouped["_untracked_s"].sum() / 3600,
        "_tracked": grouped["tracked"].any(),
    })
    report["compliance"] = (report["masked"] / report["faces"].where(report["faces"] > 0)).astype(float)
    report["clips"] = _count_per_group(clips, grouping, report.index)
    tracks = tracks if tracks is not None else pd.DataFrame(columns=["label", "recorded_at", "camera", "video_id"])
    for measure, labels in (("people", ("mask", "no_mask")), ("people_masked", ("mask",)),
                            ("people_unmasked", ("no_mask",)), ("people_unknown", ("unknown",))):
        counts = _count_per_group(tracks[tracks["label"].isin(labels)], grouping, report.index)
        report[measure] = counts.astype("Int64").where(report["_tracked"], pd.NA)
    report["people_compliance"] = (report["people_masked"] / report["people"].where(report["people"] > 0)) \
        .astype("Float64")
    report = report.reset_index()
    if not grouping:
        report = report.drop(columns=report.columns[0])
    return report[columns].astype({"frames": int, "faces": int, "masked": int, "unmasked": int,
                                   "peak_unmasked": int, "clips": int})
