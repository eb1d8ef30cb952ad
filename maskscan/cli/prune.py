"""`maskscan prune`: delete old violation clips (and per-face rows) after the retention period."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import click

from maskscan.cli.database_option import db_option, open_engine
from maskscan.cli.errors import debug_option

UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(_ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    found = re.fullmatch(r"(\d+(?:\.\d+)?)([mhdw])", value.strip())
    if not found:
        raise click.BadParameter(f"{value!r} is not a duration like 30d, 12h, 2w or 90m", param=param)
    return timedelta(**{UNITS[found.group(2)]: float(found.group(1))})


@click.command()
@db_option
@click.option("--older-than", "age", required=True, callback=parse_duration, metavar="DURATION",
              help="Recorded longer ago than this: 30d, 12h, 2w, 90m.")
@click.option("--detections", is_flag=True, help="Also delete the per-face rows (boxes, scores) of those frames.")
@click.option("--dry-run", is_flag=True, help="Say what would be deleted; delete nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print what was (or would be) deleted as JSON.")
@debug_option
def prune(db_url: str | None, age: timedelta, detections: bool, dry_run: bool, as_json: bool) -> None:
    """Delete violation clips recorded before the retention period, files and rows, and with
    --detections the per-face rows of those frames. Per-frame counts stay, so reports over old
    periods still work. Files that a worker holds are never touched; running it twice is safe.

    \b
    Example:
      maskscan prune --older-than 30d --detections --dry-run
    """
    from maskscan.storage.retention import prune as prune_results

    cutoff = datetime.now(timezone.utc) - age
    result = prune_results(open_engine(db_url, must_exist=True), cutoff, detections, dry_run)
    if as_json:
        click.echo(json.dumps({"cutoff": cutoff.isoformat(timespec="seconds"), "dry_run": dry_run,
                               "clips": result.clips, "missing_files": result.missing_files,
                               "detections": result.detections}, indent=2))
        return
    verb = "would delete" if dry_run else "deleted"
    what = f"{len(result.clips)} clips" + (f" and {result.detections} face rows" if detections else "")
    click.echo(f"maskscan: {verb} {what} recorded before {cutoff:%Y-%m-%d %H:%M} UTC"
               + (f" ({result.missing_files} clip files were already gone)" if result.missing_files else "")
               + "; per-frame counts kept", err=True)
