"""A private PostgreSQL server for the test run (Debian's initdb + postgres in a temp folder, on loopback)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STARTUP_TIMEOUT_S = 30.0
INITDB_OPTIONS = ("--encoding=UTF8", "--locale=C", "--no-sync")
# Test data only: no fsync; room for two agent processes' pools beside the tests' own.
SERVER_OPTIONS: tuple[str, ...] = (
    "-c",
    "fsync=off",
    "-c",
    "synchronous_commit=off",
    "-c",
    "full_page_writes=off",
)
SERVER_OPTIONS += ("-c", "max_connections=300")
MISSING = (
    "no PostgreSQL server binaries (initdb and postgres under /usr/lib/postgresql/*/bin or on PATH):"
    " install Debian's postgresql package"
)


def postgres_bin_dir() -> Path | None:
    """The newest Debian PostgreSQL bin folder, else the folder of `postgres` on PATH, else None."""
    found = [path.parent for path in Path("/usr/lib/postgresql").glob("*/bin/postgres")]
    found.sort(key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit() else 0)
    if found:
        return found[-1]
    on_path = shutil.which("postgres")
    return Path(on_path).parent if on_path and (Path(on_path).parent / "initdb").exists() else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_user() -> dict[str, Any]:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` user (or `nobody`)."""
    if os.geteuid() != 0:
        return {}
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    raise RuntimeError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as")


@dataclass
class PostgresServer:
    """One running server; `new_database()` gives each test an empty database of its own."""

    bin_dir: Path
    workdir: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def new_database(self) -> str:
        name = f"test_{uuid.uuid4().hex[:12]}"
        self._client("createdb", name)
        return name

    def drop_database(self, name: str) -> None:
        self._client("dropdb", "--force", "--if-exists", name)

    def _client(self, tool: str, *args: str) -> None:
        subprocess.run(
            [str(self.bin_dir / tool), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def stop(self) -> None:
        self.process.terminate()  # SIGTERM: PostgreSQL's "smart" shutdown
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_postgres(bin_dir: Path) -> PostgresServer:
    """initdb a cluster in a fresh temp folder and run it on a free loopback port (no fsync: test data)."""
    workdir = Path(tempfile.mkdtemp(prefix="agent-postgres-"))
    user = _as_user()
    if user:
        os.chown(workdir, user["user"], user["group"])
    data = workdir / "data"
    log_path = workdir / "server.log"
    subprocess.run(
        [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", *INITDB_OPTIONS],
        check=True,
        capture_output=True,
        timeout=120,
        cwd=workdir,
        **user,
    )
    port = _free_port()
    listen = ("-h", "127.0.0.1", "-p", str(port))
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(bin_dir / "postgres"), "-D", str(data), "-k", str(workdir), *listen, *SERVER_OPTIONS],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            **user,
        )
    server = PostgresServer(bin_dir, workdir, port, process)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        ready = subprocess.run(
            [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"],
            capture_output=True,
            timeout=10,
        )
        if ready.returncode == 0:
            return server
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log_path.read_text(errors="replace")[-2000:]
            server.stop()
            raise RuntimeError(f"the private PostgreSQL server did not start:\n{tail}")
        time.sleep(0.1)
