"""Engines and schema creation under the conditions nightly jobs meet."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from maskscan.storage import database

REPO = Path(__file__).resolve().parents[2]
CREATE_SCHEMA = """
import sys, time
import pytest

from maskscan.storage import database
engine = database.create_db_engine(sys.argv[1])
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # all workers start together
database.ensure_schema(engine)
print("ok")
"""


def test_workers_racing_to_create_the_schema_all_go_on(db_url: str) -> None:
    """Separate processes, as `maskscan process` workers are (alembic itself is not thread-safe)."""
    start = time.time() + 4
    workers = [subprocess.Popen([sys.executable, "-c", CREATE_SCHEMA, db_url, str(start)], cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [worker.communicate(timeout=120) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0, 0], [err for _, err in outputs]
    assert [out.strip() for out, _ in outputs] == ["ok"] * 3
    engine = database.create_db_engine(db_url)
    assert database.current_revision(engine) == database.head_revision()
    engine.dispose()


def test_a_password_is_never_printed_even_in_a_malformed_url() -> None:
    url = "postgresql+psycopg://postgres:secretpw@127.0.0.1:notaport/x"
    with pytest.raises(database.DatabaseError) as caught:
        database.create_db_engine(url)
    assert "secretpw" not in str(caught.value) and "postgres:***@127.0.0.1" in str(caught.value)
    assert "secretpw" not in database.redact("postgresql://u:secretpw@host/db")


def test_unsupported_databases_are_named_as_such() -> None:
    with pytest.raises(database.DatabaseError, match="unsupported database 'mysql'.*SQLite.*PostgreSQL"):
        database.create_db_engine("mysql://root:pw@127.0.0.1/results")
