"""Engines, sessions and schema upgrades for SQLite and PostgreSQL alike."""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError as AlembicCommandError
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from maskscan.storage import DEFAULT_DB_URL

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
SCHEMA_LOCK_KEY = 0x6D61736B7363616E % (2**63)
"""PostgreSQL advisory lock held while the schema is created or upgraded ('maskscan' in hex)."""


class DatabaseError(Exception):
    """A database problem worth one line to the user (bad URL, unreachable, outdated schema)."""


def resolve_db_url(url: str | None) -> str:
    """`--db`, else `MASKSCAN_DB`, else a SQLite file in the working directory."""
    return url or os.environ.get("MASKSCAN_DB") or DEFAULT_DB_URL


def redact(url: str) -> str:
    """The URL with any password replaced by ***, even when the URL does not parse."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def create_db_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets foreign keys and a busy timeout, PostgreSQL psycopg 3."""
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
            raise DatabaseError(f"unsupported database {parsed.get_backend_name()!r} in {redact(url)!r}: "
                                "maskscan stores results in SQLite (sqlite:///file.db) or PostgreSQL "
                                "(postgresql+psycopg://user@host/db)")
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
            # one in-memory database, shared by the threads of a run (results are stored beside inference)
            engine = create_engine(parsed, poolclass=StaticPool,
                                   connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False})
            event.listen(engine, "connect", _sqlite_pragmas)
        elif parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            # sessions in UTC, so that SQL grouping by hour or day means the same everywhere
            engine = create_engine(parsed, pool_pre_ping=True, connect_args={"options": "-c timezone=UTC"})
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise DatabaseError(f"bad database URL {redact(url)!r}: {redact(first_line(exc))}") from exc
    return engine


SQLITE_BUSY_TIMEOUT_S = 30.0


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 (DB-API objects)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # Switching a new database to WAL needs it to itself, and SQLite answers "locked" at once
    # (no busy wait) while another worker holds a write transaction on it: retry for a while.
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")  # an in-memory database stays "memory"
            break
        except sqlite3.OperationalError:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                break  # another worker switched it meanwhile
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
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


@contextmanager
def _schema_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction that holds the schema lock: workers starting together on a fresh database
    take turns (an advisory lock on PostgreSQL, a write transaction on SQLite), so one creates
    the schema and the others find it made."""
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            elif engine.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            yield connection
            connection.commit()
    except OperationalError as exc:
        raise DatabaseError(f"cannot reach database {engine.url.render_as_string(hide_password=True)}: "
                            f"{first_line(exc)}") from exc


def _upgrade_on(connection: Connection, revision: str) -> None:
    config = _alembic_config(connection.engine)
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _known(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(_alembic_config(None)).get_revision(revision) is not None  # type: ignore[arg-type]
    except AlembicCommandError:
        return False


def _newer_than_us(engine: Engine, revision: str) -> DatabaseError:
    from importlib.metadata import version

    return DatabaseError(f"database {engine.url.render_as_string(hide_password=True)} is at schema {revision}, "
                         f"which this maskscan ({version('maskscan')}, schema {head_revision()}) does not know: "
                         "it was written by a newer maskscan; upgrade maskscan")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema with Alembic."""
    with _schema_transaction(engine) as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        if current is not None and not _known(current):
            raise _newer_than_us(engine, current)
        _upgrade_on(connection, revision)


def ensure_schema(engine: Engine) -> None:
    """Create the schema in an empty database; refuse one whose schema is behind (the user runs
    `db upgrade`) or ahead (written by a newer maskscan)."""
    with _schema_transaction(engine) as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
        if revision is None and not inspect(connection).get_table_names():
            _upgrade_on(connection, "head")
            return
    if revision == head_revision():
        return
    if revision is not None and not _known(revision):
        raise _newer_than_us(engine, revision)
    raise DatabaseError(f"database {engine.url.render_as_string(hide_password=True)} is at schema "
                        f"{revision or 'unknown'}, not {head_revision()}: run `maskscan db upgrade`")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
