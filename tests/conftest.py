"""Shared fixtures: a real Redis (the machine's, or a private redis-server), and a pinned clock."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.postgres_server import MISSING, PostgresServer, postgres_bin_dir, start_postgres
from tests.store_backends import BACKENDS, StoreTarget

TZ = ZoneInfo("America/Chicago")
# A Wednesday morning: "next Tuesday" is 2026-12-01, "tomorrow" is Thursday 2026-11-26 (Thanksgiving).
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=TZ)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The machine's Redis on 6379 when it answers; otherwise a private redis-server for this test run."""
    if _reachable("127.0.0.1", 6379):
        yield "redis://127.0.0.1:6379/15"
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(
            "No Redis on 127.0.0.1:6379 and no redis-server binary: run scripts/test, which installs it"
        )
    port = _free_port()
    workdir: Path = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not _reachable("127.0.0.1", port):
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("the private redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A private PostgreSQL server for this test run (the machine's is unreachable inside the namespace)."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip(MISSING)
    server = start_postgres(bin_dir)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(
    params=[
        pytest.param(name, marks=[] if name == "sqlite" else [pytest.mark.integration]) for name in BACKENDS
    ]
)
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreTarget]:
    """Each store test runs twice: on a SQLite file, and on an empty database of the private server."""
    if request.param == "sqlite":
        yield StoreTarget("sqlite", tmp_path / "data" / "dealership.db")
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.new_database()
    try:
        yield StoreTarget("postgresql", tmp_path / "unused.db", server.url(name))
    finally:
        server.drop_database(name)
