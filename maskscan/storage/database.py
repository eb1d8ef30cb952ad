"""Engines, sessions and schema upgrades for SQLite and PostgreSQL alike."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_DB_URL = "sqlite:///maskscan.db"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class DatabaseError(Exception):
    """A database problem worth one line to the user (bad URL, unreachable, outdated schema)."""


def resolve_db_url(url: str | None) -> str:
    """`--db`, else `MASKSCAN_DB`, else a SQLite file in the working directory."""
    return url or os.environ.get("MASKSCAN_DB") or DEFAULT_DB_URL


def create_db_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets foreign keys and a busy timeout, PostgreSQL psycopg 3."""
    try:
        parsed = make_url(url)
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            # sessions in UTC, so that SQL grouping by hour or day means the same everywhere
            engine = create_engine(parsed, pool_pre_ping=True, connect_args={"options": "-c timezone=UTC"})
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise DatabaseError(f"bad database URL {url!r}: {exc}") from exc
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 (DB-API objects)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(_alembic_config(None)).get_current_head()  # type: ignore[arg-type]


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema with Alembic."""
    config = _alembic_config(engine)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except OperationalError as exc:
        raise DatabaseError(f"cannot reach database {engine.url.render_as_string(hide_password=True)}: "
                            f"{first_line(exc)}") from exc


def ensure_schema(engine: Engine) -> None:
    """Upgrade an empty database; refuse one whose schema is behind (the user runs `db upgrade`)."""
    try:
        revision = current_revision(engine)
        has_tables = bool(inspect(engine).get_table_names())
    except OperationalError as exc:
        raise DatabaseError(f"cannot reach database {engine.url.render_as_string(hide_password=True)}: "
                            f"{first_line(exc)}") from exc
    if revision == head_revision():
        return
    if revision is None and not has_tables:
        upgrade(engine)
        return
    raise DatabaseError(f"database {engine.url.render_as_string(hide_password=True)} is at schema "
                        f"{revision or 'unknown'}, not {head_revision()}: run `maskscan db upgrade`")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
