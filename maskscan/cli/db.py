"""`maskscan db`: schema management."""

from __future__ import annotations

import click

from maskscan.cli.database_option import db_option, open_engine
from maskscan.cli.errors import EXIT_FAILED, CommandError, debug_option


@click.group()
def db() -> None:
    """Create, upgrade and inspect the results database."""


@db.command()
@db_option
@debug_option
def upgrade(db_url: str | None) -> None:
    """Create the tables or upgrade them to the current schema (Alembic).

    \b
    Example:
      maskscan db upgrade --db postgresql+psycopg://maskscan@db/cctv
    """
    from maskscan.storage import database

    engine = open_engine(db_url, ensure=False)
    try:
        database.upgrade(engine)
    except database.DatabaseError as exc:
        raise CommandError(str(exc), EXIT_FAILED) from exc
    click.echo(f"{engine.url.render_as_string(hide_password=True)}: schema at {database.current_revision(engine)}")


@db.command()
@db_option
@debug_option
def current(db_url: str | None) -> None:
    """Print the database's schema revision and the newest one this maskscan knows.

    \b
    Example:
      maskscan db current --db sqlite:///maskscan.db
    """
    from maskscan.storage import database

    engine = open_engine(db_url, ensure=False)
    click.echo(f"current {database.current_revision(engine) or 'none'}, head {database.head_revision()}")
