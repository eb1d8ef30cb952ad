"""`maskscan report`: compliance tables and an HTML report from the results database."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path

from typing import TYPE_CHECKING

import click

from maskscan.atomic import atomic_output
from maskscan.classifiers.shipped import DETECTOR_IMGSZ, DETECTOR_IOU, PRIVACY_CONFIDENCE, SHIPPED_DETECTOR
from maskscan.cli.database_option import db_option, open_engine
from maskscan.cli.errors import EXIT_USAGE, CommandError, debug_option
from maskscan.pipeline.anonymize_modes import ANONYMIZE_MODES
from maskscan.storage.report_filter import GROUPINGS, ReportFilter

if TYPE_CHECKING:
    import pandas as pd

    from maskscan.cli.report_html import ThumbnailPrivacy

PEOPLE_LISTED = 50
"""People without a mask listed by name of file and clip in the HTML report (the longest seen first)."""
DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]


def _utc(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


def _describe(filters: ReportFilter) -> str:
    parts = []
    if filters.since or filters.until:
        parts.append(f"recorded {filters.since or '...'} to {filters.until or '...'} (UTC)")
    if filters.cameras:
        parts.append(f"cameras {', '.join(filters.cameras)}")
    if filters.videos:
        parts.append(f"videos {', '.join(filters.videos)}")
    return "; ".join(parts) or "all footage"


def _not_empty(_ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    if any(not value.strip() for value in values):
        raise click.BadParameter("must not be empty", param=param)
    return values


SPREADSHEET_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(table: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading `'` (OWASP CSV injection)."""
    def neutralise(value: object) -> object:
        return f"'{value}" if isinstance(value, str) and value.startswith(SPREADSHEET_FORMULA_START) else value

    return table.apply(lambda column: column.map(neutralise))


def _write(target: Path, text: str) -> None:
    with atomic_output(target) as temporary:
        temporary.write_text(text, encoding="utf-8")


def _print_table(report: pd.DataFrame, title: str) -> None:
    """One total reads best as a list of measures; groups as rows (never cut short when piped)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    if len(report) == 1:
        table.add_column("Measure", justify="left")
        table.add_column("Value", justify="right")
        for column in report.columns:
            table.add_row(str(column), _cell(report[column].iloc[0]))
    else:
        for column in report.columns:
            table.add_column(column, justify="right")
        for row in report.itertuples(index=False):
            table.add_row(*[_cell(value) for value in row])
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(80, 16 * len(report.columns)))
    console.print(table)


def _cell(value: object) -> str:
    """Times are already text (`for_people`); floats get 3 decimals, a missing one a dash."""
    import pandas as pd  # already loaded by the report itself

    if value is None or value is pd.NA:
        return "-"
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.3f}"
    return str(value)


def thumbnail_privacy(mode: str, confidence: float, weights: Path, imgsz: int, device: str) -> ThumbnailPrivacy:
    """The detector at the privacy confidence and the anonymizer that `process --anonymize` uses."""
    import torch

    from maskscan.classifiers.face_detector import YoloFaceDetector
    from maskscan.cli.report_html import ThumbnailPrivacy
    from maskscan.pipeline.anonymize import FaceAnonymizer
    from maskscan.pipeline.loading import detector_backend, resolve_device

    try:
        on = resolve_device(device)
        detector = YoloFaceDetector(weights, imgsz, confidence, DETECTOR_IOU, on, torch.float32,
                                    detector_backend(on, torch.float32))
    except (FileNotFoundError, ValueError) as exc:
        raise CommandError(f"cannot load the face detector for --anonymize: {exc}", EXIT_USAGE) from exc
    return ThumbnailPrivacy(FaceAnonymizer(mode), lambda image: detector.detect_image(image)[0], confidence)  # type: ignore[arg-type]


@click.command()
@db_option
@click.option("--since", type=click.DateTime(DATE_FORMATS), help="Recorded at or after (UTC), e.g. 2026-11-24.")
@click.option("--until", type=click.DateTime(DATE_FORMATS), help="Recorded before (UTC).")
@click.option("--camera", "cameras", multiple=True, callback=_not_empty, help="Only these cameras (repeatable).")
@click.option("--video", "videos", multiple=True, callback=_not_empty,
              help="Only these videos: id, path or file name (repeatable).")
@click.option("--by", "grouping", type=click.Choice(GROUPINGS), multiple=True,
              help="Group by (repeatable, e.g. --by camera --by day); default: one total.")
@click.option("--format", "output_format", type=click.Choice(["table", "csv", "json", "html"]), default="table",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (default: stdout; maskscan-report.html for html).")
@click.option("--thumbnails", type=click.IntRange(0), default=6, show_default=True,
              help="Worst violation moments shown in the HTML report (one per stretch of footage).")
@click.option("--anonymize", type=click.Choice(ANONYMIZE_MODES), default="none", show_default=True,
              help="Hide faces in the HTML report's thumbnails, as `process --anonymize` does in clips.")
@click.option("--blur-faces", is_flag=True, help="The same as --anonymize blur.")
@click.option("--privacy-conf", type=click.FloatRange(0, 1), default=PRIVACY_CONFIDENCE, show_default=True,
              help="Detector confidence at which thumbnail faces are hidden (recall first).")
@click.option("--detector-weights", type=click.Path(path_type=Path), default=SHIPPED_DETECTOR,
              help="The face model that finds the faces to hide (.pt); default: the shipped one.")
@click.option("--imgsz", "detector_imgsz", type=click.IntRange(32), default=DETECTOR_IMGSZ, show_default=True,
              help="Detector input size.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N (for --anonymize).")
@debug_option
def report(db_url: str | None, since: datetime | None, until: datetime | None, cameras: tuple[str, ...],
           videos: tuple[str, ...], grouping: tuple[str, ...], output_format: str, output: Path | None,
           thumbnails: int, anonymize: str, blur_faces: bool, privacy_conf: float, detector_weights: Path,
           detector_imgsz: int, device: str) -> None:
    """People (tracked persons labelled by a vote over their sightings: masked, unmasked, unknown,
    and people compliance = masked / labelled people), then face sightings (faces, masked,
    unmasked, sighting compliance = masked / faces, peak unmasked in one frame), violation clips,
    footage hours and untracked footage (processed before tracking), per group, over `done` videos.

    \b
    Example:
      maskscan report --since 2026-11-16 --until 2026-11-23 --by camera --by day
      maskscan report --by day --format html -o report.html --anonymize pixelate
    """
    import pandas as pd

    from maskscan.storage.reports import (clip_table, compliance_report, for_people, frame_table, report_header,
                                          track_table, unmasked_people, worst_frames)

    filters = ReportFilter(_utc(since), _utc(until), cameras, videos)
    engine = open_engine(db_url, must_exist=True)
    frames, clips, tracks = frame_table(engine, filters), clip_table(engine, filters), track_table(engine, filters)
    table = compliance_report(frames, clips, grouping, tracks)  # type: ignore[arg-type]
    if frames.empty:
        click.echo(f"maskscan: no analysed footage matches ({_describe(filters)}); the report is empty", err=True)
    if output_format == "table":
        _print_table(for_people(table), f"Mask compliance, {_describe(filters)}")
        return
    if output_format == "html":
        from maskscan.cli.report_html import render_html

        worst = worst_frames(engine, filters, thumbnails) if thumbnails else pd.DataFrame()
        target = output or Path("maskscan-report.html")
        mode = "blur" if blur_faces and anonymize == "none" else anonymize
        privacy = None if mode == "none" or worst.empty else \
            thumbnail_privacy(mode, privacy_conf, detector_weights, detector_imgsz, device)
        text = render_html("Mask compliance report", _describe(filters), report_header(engine, filters), table,
                           frames, clips, worst, tracks, unmasked_people(engine, filters, PEOPLE_LISTED), engine,
                           privacy, target)
        _write(target, text)
        click.echo(f"wrote {target}", err=True)
        return
    if output_format == "csv":
        text = spreadsheet_safe(table).to_csv(index=False)
    else:
        text = json.dumps(json.loads(table.to_json(orient="records", date_format="iso")), indent=2) + "\n"
    if output is not None:
        _write(output, text)
    else:
        click.echo(text, nl=False)
