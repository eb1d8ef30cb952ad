"""The shared `--db` option."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from maskscan.cli.errors import EXIT_FAILED, EXIT_USAGE, CommandError
from maskscan.storage import DEFAULT_DB_URL

if TYPE_CHECKING:
    from sqlalchemy import Engine

db_option: Callable[[Any], Any] = click.option(
    "--db", "db_url", metavar="URL", default=None,
    help=f"SQLAlchemy URL (default: $MASKSCAN_DB, else {DEFAULT_DB_URL}); "
         "PostgreSQL as postgresql+psycopg://user@host/dbname.")


def open_engine(db_url: str | None, ensure: bool = True, must_exist: bool = False) -> Engine:
    """An engine for the URL; with `ensure`, an empty database gets the schema first. With
    `must_exist`, a SQLite file that is not there is refused rather than created (a command
    that only reads, run in the wrong folder)."""
    from maskscan.storage import database

    url = database.resolve_db_url(db_url)
    try:
        engine = database.create_db_engine(url)
    except database.DatabaseError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from exc
    sqlite_file = engine.url.database if engine.dialect.name == "sqlite" else None
    if must_exist and sqlite_file and sqlite_file != ":memory:" and not Path(sqlite_file).is_file():
        raise CommandError(f"no database at {Path(sqlite_file).resolve()} (`maskscan process` creates one; "
                           "name another with --db or $MASKSCAN_DB)", EXIT_USAGE)
    try:
        if ensure:
            database.ensure_schema(engine)
        else:
            with engine.connect():
                pass
    except database.DatabaseError as exc:
        raise CommandError(str(exc), EXIT_FAILED) from exc
    except Exception as exc:  # noqa: BLE001 - driver errors differ per database; all mean "unreachable"
        raise CommandError(f"cannot reach database {engine.url.render_as_string(hide_password=True)}: "
                           f"{database.first_line(exc)}", EXIT_FAILED) from exc
    return engine
