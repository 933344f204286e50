"""A throwaway PostgreSQL cluster for the register's tests, started from the
machine's PostgreSQL binaries (Debian's `postgresql` package), so the
register is tested on the database production uses as well as on SQLite.
APFLOW_TEST_DATABASE_URL points at an existing server instead."""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_binaries() -> tuple[Path, list[str]]:
    """PostgreSQL's binaries, and the prefix that runs them as its own user
    (it will not run as root); skipped without them, failed where required."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        if os.environ.get("APFLOW_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required here but no initdb was found (apt-get install postgresql)")
        pytest.skip("no PostgreSQL binaries on this machine")
    return bin_dir, ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@pytest.fixture(scope="session")
def postgres_url():
    if url := os.environ.get("APFLOW_TEST_DATABASE_URL"):
        yield url
        return
    bin_dir, as_user = pg_binaries()
    data = Path(tempfile.mkdtemp(prefix="apflow-pg-"))
    if as_user:
        shutil.chown(data, "postgres")
    port = _free_port()
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True)  # noqa: E731
    run(str(bin_dir / "initdb"), "-D", str(data / "db"), "-U", "apflow", "--auth=trust", "-E", "UTF8")
    run(str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-w", "-l", str(data / "log"),
        "-o", f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    try:
        run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "apflow", "apflow")
        yield f"postgresql+psycopg://apflow@127.0.0.1:{port}/apflow"
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-m", "immediate", "stop")
        shutil.rmtree(data, ignore_errors=True)
