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
