"""`maskscan status`: what has been processed, what failed and why."""

from __future__ import annotations

import json
import os

import click

from maskscan.cli.database_option import db_option, open_engine
from maskscan.cli.errors import debug_option


@click.command()
@db_option
@click.option("--failed", "failed_only", is_flag=True, help="Only files that failed.")
@click.option("--camera", "cameras", multiple=True, help="Only these cameras (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file, in a list.")
@debug_option
def status(db_url: str | None, failed_only: bool, cameras: tuple[str, ...], as_json: bool) -> None:
    """Every file in the database: status, camera, recorded time, frames, people and people
    without a mask (- before tracking), face sightings and unmasked ones, clips, attempts and
    the last error.

    \b
    Example:
      maskscan status --failed
      maskscan status --db postgresql+psycopg://maskscan@db/cctv --camera line4 --json
    """
    from maskscan.storage.inventory import video_inventory

    rows = video_inventory(open_engine(db_url, must_exist=True), failed_only, cameras)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("maskscan: no files match" if failed_only or cameras else "maskscan: the database holds no files",
                   err=True)
        return
    from rich.console import Console
    from rich.table import Table

    root = os.path.commonpath([os.path.dirname(row["path"]) for row in rows])
    table = Table(title=f"{len(rows)} files under {root}")
    for column, justify in (("file", "left"), ("status", "left"), ("camera", "left"), ("recorded (UTC)", "left"),
                            ("frames", "right"), ("people", "right"), ("no mask", "right"), ("faces", "right"),
                            ("no mask", "right"), ("clips", "right"), ("tries", "right")):
        table.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    table.add_column("last error", overflow="fold", ratio=1)
    for row in rows:
        table.add_row(os.path.relpath(row["path"], root), row["status"], row["camera"] or "", (row["recorded_at"] or "")[:16].replace("T", " "),
                      str(row["frames"]), _count(row["people"]), _count(row["people_unmasked"]), str(row["faces"]),
                      str(row["unmasked"]), str(row["clips"]),
                      str(row["attempts"]), row["error"] or "")
    Console().print(table)


def _count(value: int | None) -> str:
    """A dash for files processed before tracking."""
    return "-" if value is None else str(value)
