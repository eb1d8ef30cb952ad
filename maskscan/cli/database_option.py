"""The shared `--db` option."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from sqlalchemy import Engine

from maskscan.cli.errors import EXIT_FAILED, EXIT_USAGE, CommandError
from maskscan.storage import database

db_option: Callable[[Any], Any] = click.option(
    "--db", "db_url", metavar="URL", default=None,
    help=f"SQLAlchemy URL (default: $MASKSCAN_DB, else {database.DEFAULT_DB_URL}); "
         "PostgreSQL as postgresql+psycopg://user@host/dbname.")


def open_engine(db_url: str | None, ensure: bool = True) -> Engine:
    """An engine for the URL; with `ensure`, an empty database gets the schema first."""
    url = database.resolve_db_url(db_url)
    try:
        engine = database.create_db_engine(url)
    except database.DatabaseError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from exc
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
