"""Shared fixtures: the shared data folder, both databases, a network guard, synthetic media."""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from maskscan.pipeline.loading import cpu_int8_units
from tests.factories import ColourSquareClassifier, ColourSquareDetector

SHARED_DATA = Path(os.environ.get("MASKSCAN_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
needs_int8_units = pytest.mark.skipif(
    cpu_int8_units() is None,
    reason="int8 accuracy is pinned for CPUs with VNNI or AMX, where --precision auto runs int8; OpenVINO's int8 "
           "arithmetic differs on this CPU")
POSTGRES_ADMIN_URL = os.environ.get("MASKSCAN_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def shared_path(*parts: str) -> Path:
    """A path inside ../shared/data; the test is skipped when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found at {path} (it lives beside the repository as ../shared/data)")
    return path


@pytest.fixture(autouse=True, scope="session")
def no_network() -> Iterator[None]:
    """Any connection to a non-loopback address fails the test that makes it."""
    original = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0] if isinstance(address, tuple) else address
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = host == "localhost"
            if not loopback:
                raise AssertionError(f"test tried to open a network connection to {address!r}")
        return original(self, address)

    socket.socket.connect = guarded  # type: ignore[method-assign]
    yield
    socket.socket.connect = original  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test writes maskscan.db or clips/ into the checkout, or settings into the home folder."""
    monkeypatch.setenv("MASKSCAN_CACHE", str(tmp_path_factory.getbasetemp() / "maskscan-cache"))
    monkeypatch.delenv("MASKSCAN_DB", raising=False)
    monkeypatch.setenv("MASKSCAN_SETTLE", "0")  # test footage is always brand new; the settle test sets its own
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


def _postgres_database() -> Iterator[str]:
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"maskscan_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {str(exc).splitlines()[0]}")
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind: a SQLite file, and a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'results.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def square_detector() -> ColourSquareDetector:
    return ColourSquareDetector()


@pytest.fixture
def square_classifier() -> ColourSquareClassifier:
    return ColourSquareClassifier()
