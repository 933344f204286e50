"""The worker and the API wait for what they need, with backoff, saying what
they wait for: a worker started before any Temporal server connects once one
starts."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from apflow.launcher import temporal_command
from apflow.settings import Settings
from tests.test_launcher import free_port

APFLOW = Path(sys.executable).parent / "apflow"
WAIT_S = 90


def wait_for(path: Path, text: str, proc: subprocess.Popen) -> str:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        out = path.read_text(errors="replace")
        if text in out:
            return out
        assert proc.poll() is None, f"exited with {proc.returncode}:\n{out}"
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not said within {WAIT_S} s:\n{path.read_text(errors='replace')}")


def test_a_worker_started_before_temporal_connects_once_it_starts(tmp_path):
    address = f"127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("APFLOW_")}
    env.update(APFLOW_VAR_DIR=str(tmp_path / "var"), APFLOW_TEMPORAL_ADDRESS=address, APFLOW_LOG_LEVEL="INFO")
    log = tmp_path / "worker.log"
    server = None
    with open(log, "wb") as out:
        worker = subprocess.Popen([str(APFLOW), "worker"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(log, f"waiting for Temporal at {address}", worker)
        # The dev server as `apflow up` starts it, on the address the worker waits for.
        settings = Settings(var_dir=tmp_path / "var", temporal_address=address, temporal_ui_port=free_port())
        server = subprocess.Popen(temporal_command(settings) + ["--headless"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        out = wait_for(log, "worker running on task queue", worker)
        assert f"connected to Temporal at {address} after" in out
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=WAIT_S) == 0, log.read_text()
    finally:
        for proc in (worker, server):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


async def test_migrations_wait_for_a_database_that_starts_later(caplog):
    """What the worker and `apflow api` run at start (`migrate_when_up`):
    it retries while PostgreSQL is not up, and nor is the database in it,
    then migrates once both are."""
    import asyncio
    import shutil

    from sqlalchemy import inspect

    from store.db import make_engine, migrate_when_up
    from tests.store.conftest import _free_port, pg_binaries

    bin_dir, as_user = pg_binaries()
    import tempfile

    data = Path(tempfile.mkdtemp(prefix="apflow-pg-"))  # where PostgreSQL's own user may write
    if as_user:
        shutil.chown(data, "postgres")

    def run(*cmd: str) -> None:
        subprocess.run([*as_user, *cmd], check=True, capture_output=True)

    await asyncio.to_thread(run, str(bin_dir / "initdb"), "-D", str(data / "db"), "-U", "apflow", "--auth=trust")
    port = _free_port()
    engine = make_engine(f"postgresql+psycopg://apflow@127.0.0.1:{port}/apflow")
    caplog.set_level("WARNING", logger="apflow")
    waiting = asyncio.create_task(migrate_when_up(engine))
    try:
        deadline = time.monotonic() + WAIT_S
        while "waiting for the database" not in caplog.text:
            assert not waiting.done(), waiting.exception()
            assert time.monotonic() < deadline, "it never said it waits"
            await asyncio.sleep(0.1)
        assert "apflow@127.0.0.1" in caplog.text and "password" not in caplog.text.lower()
        await asyncio.to_thread(run, str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-w", "-l", str(data / "log"),
                                "-o", f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        await asyncio.sleep(0.5)
        assert not waiting.done(), "it gave up, or migrated a database that does not exist yet"
        await asyncio.to_thread(run, str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "apflow", "apflow")
        await asyncio.wait_for(waiting, WAIT_S)
        assert "placements" in await asyncio.to_thread(lambda: inspect(engine).get_table_names())
        assert "answered after" in caplog.text
    finally:
        waiting.cancel()
        engine.dispose()
        if (data / "db" / "postmaster.pid").exists():
            await asyncio.to_thread(run, str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-m", "immediate", "stop")
        shutil.rmtree(data, ignore_errors=True)
