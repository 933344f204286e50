"""`apflow up`: the Temporal dev server, the worker and the API on one machine.

The dev server and the worker (`apflow worker`, `worker_processes` of them)
each run as a child process in its own session, so Ctrl-C reaches apflow
first and the shutdown runs in order: API, workers, then Temporal. The API
serves from this process, the workflows and activities run in the workers'
own: neither waits on the other's GIL. The dev server keeps its state in a
SQLite file under var/, so a second `apflow up` finds every placement where
it was. Each worker is told its settings by the environment, as every apflow
process is, and stops by itself should this process go without stopping it.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import uvicorn
from temporalio.client import Client

from console.api import create_app, server_config
from store import accounts
from store.db import make_engine, migrate
from workflows.attendance import ensure_schedules
from workflows.search import SEARCH_ATTRIBUTES

from .settings import Settings
from .temporal import connect_when_up, register_search_attributes

log = logging.getLogger("apflow")
_TYPE_NAMES = {2: "Keyword", 6: "Datetime"}
WORKER_START_S = 120
STOP_S = 15  # for the Temporal dev server to stop
# A stopping worker lets a letter in flight end rather than leave it
# unconfirmed: it is given this much longer than a relay's answer is waited for.
STOP_MARGIN_S = 15


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):  # the launcher owns the signals
        yield


def temporal_command(settings: Settings) -> list[str]:
    host, port = settings.temporal_address.rsplit(":", 1)
    cmd = [
        str(Path(sys.executable).parent / "temporal"), "server", "start-dev",
        "--ip", host, "--port", port,
        "--ui-port", str(settings.temporal_ui_port), "--ui-disable-news-fetch",
        # The UI shows histories decrypted through the API, to trust operations staff signed in to
        # apflow (console/codec_server.py). The dev server's UI has no switch for its write actions.
        "--ui-codec-endpoint", f"{settings.base_url}/temporal-codec",
        "--namespace", settings.temporal_namespace,
        "--db-filename", str((settings.var_dir / "temporal.db").resolve()),
        # WAL keeps committed work through a crash and is far faster than the default journal.
        "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
        # Lets operations find workflows whose tasks keep failing (TemporalReportedProblems).
        "--dynamic-config-value", "system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute=2",
        "--log-level", "warn",
    ]
    for key in SEARCH_ATTRIBUTES:
        cmd += ["--search-attribute", f"{key.name}={_TYPE_NAMES[int(key.indexed_value_type)]}"]
    return cmd


async def _reachable(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    try:
        _, writer = await asyncio.open_connection(host, int(port))
    except OSError:
        return False
    writer.close()
    return True


async def _start_temporal(settings: Settings) -> subprocess.Popen | None:
    if await _reachable(settings.temporal_address):
        print(f"Temporal: using the server already at {settings.temporal_address}")
        return None
    logfile = open(settings.var_dir / "temporal.log", "ab")
    proc = subprocess.Popen(temporal_command(settings), stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True)
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"the Temporal dev server stopped at start (exit {proc.returncode}); see {logfile.name}")
        if await _reachable(settings.temporal_address):
            return proc
        await asyncio.sleep(0.1)
    proc.kill()
    raise SystemExit("the Temporal dev server did not start within 30 s")


def worker_stop_s(settings: Settings) -> float:
    """How long a stopping worker is waited for before it is killed: longer
    than the relay's answer (APFLOW_MAIL_SMTP_TIMEOUT), whatever it is set to."""
    return settings.mail.smtp_timeout + STOP_MARGIN_S


def _stop(proc: subprocess.Popen | None, wait_s: float = STOP_S) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=wait_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def worker_command(ready_fd: int, metrics_port: int = 0) -> list[str]:
    cmd = [sys.executable, "-m", "apflow", "worker", "--ready-fd", str(ready_fd), "--stop-with-parent"]
    return cmd + (["--metrics-port", str(metrics_port)] if metrics_port else [])


def worker_metrics_port(settings: Settings, index: int) -> int:
    """The `index`-th worker's metrics port: the setting's + index, so
    workers on one machine do not collide; 0 (off) stays 0."""
    return settings.worker_metrics_port + index if settings.worker_metrics_port else 0


async def _start_worker(started: list[subprocess.Popen], metrics_port: int = 0) -> None:
    """One `apflow worker`, appended to `started` at once (so it is stopped
    whatever happens next), returning once it polls the task queue."""
    read, write = os.pipe()
    try:
        started.append(subprocess.Popen(worker_command(write, metrics_port), pass_fds=(write,), start_new_session=True))
    finally:
        os.close(write)
    proc = started[-1]
    os.set_blocking(read, False)
    deadline = asyncio.get_running_loop().time() + WORKER_START_S
    try:
        while True:
            try:
                if os.read(read, 1):
                    return
                raise SystemExit(f"the worker stopped at start (exit {proc.wait()})")
            except BlockingIOError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise SystemExit(f"the worker did not start within {WORKER_START_S} s")
            await asyncio.sleep(0.05)
    finally:
        os.close(read)


async def _exited(procs: list[subprocess.Popen]) -> subprocess.Popen:
    """The first of `procs` to exit."""
    while True:
        for proc in procs:
            if proc.poll() is not None:
                return proc
        await asyncio.sleep(0.5)


async def _serve(server: uvicorn.Server) -> None:
    """Serves the API. uvicorn calls sys.exit when it cannot start (its port
    in use); raised in a task, SystemExit would leave the event loop at once,
    with a traceback and past the orderly shutdown, so it becomes an error here."""
    try:
        await server.serve()
    except SystemExit as e:
        raise RuntimeError(f"uvicorn exited with status {e.code}") from None


async def up(settings: Settings) -> None:
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    temporal = await _start_temporal(settings)
    workers: list[subprocess.Popen] = []
    try:
        client = await connect_when_up(settings, wait_s=30)
        await register_search_attributes(client, settings.temporal_namespace)
        engine = make_engine(settings.db_url)
        migrate(engine)
        app = create_app(settings, client=client, engine=engine)
        server = _Server(server_config(app, host=settings.api_host, port=settings.api_port, log_level="warning"))
        api = f"http://{settings.api_host}:{settings.api_port}"
        await ensure_schedules(client, settings.task_queue, settings.attendance)
        for i in range(settings.worker_processes):  # one at a time: each makes sure of the schedules
            await _start_worker(workers, worker_metrics_port(settings, i))
        serving = asyncio.create_task(_serve(server))
        while not server.started and not serving.done():
            await asyncio.sleep(0.05)
        if serving.done():
            raise SystemExit(f"the API could not start on {api}: {serving.exception() or 'it stopped'}")
        host = settings.temporal_address.rsplit(":", 1)[0]
        print(f"Temporal server: {settings.temporal_address}" + ("" if temporal else " (external)"))
        if temporal:
            print(f"Temporal Web UI: http://{host}:{settings.temporal_ui_port}")
        pids = ", ".join(str(w.pid) for w in workers)
        print(f"Worker:          task queue {settings.task_queue}  (process{'es' if len(workers) > 1 else ''} {pids})")
        if settings.worker_metrics_port:
            ports = (worker_metrics_port(settings, i) for i in range(len(workers)))
            print("Worker metrics:  " + ", ".join(f"http://{settings.worker_metrics_host}:{p}/metrics" for p in ports))
        print(f"API:             {api}  (docs {api}/docs, health {api}/healthz)")
        print(f"Register:        {settings.db_url}")
        first_start = settings.demo_on_first_start and settings.database_url is None and not accounts.accounts(engine)
        if not first_start:
            print(f"Sign in:         {sign_in_hint(engine, api)}")
        print("Press Ctrl-C to stop.", flush=True)
        demo = asyncio.create_task(asyncio.to_thread(_first_start_demo, api, settings)) if first_start else None
        stopping, lost = asyncio.create_task(stop.wait()), asyncio.create_task(_exited(workers))
        await asyncio.wait([serving, stopping, lost], return_when=asyncio.FIRST_COMPLETED)
        if lost.done():
            print(f"The worker (process {lost.result().pid}) stopped with exit {lost.result().returncode}.", flush=True)
        stopping.cancel()
        lost.cancel()
        print("Stopping: API, worker, Temporal ...", flush=True)
        server.should_exit = True
        await serving
        if demo is not None:
            await demo
        engine.dispose()
        if lost.done() and not lost.cancelled():
            raise SystemExit(1)
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.terminate()
        for proc in workers:
            _stop(proc, worker_stop_s(settings))
        _stop(temporal)
    print("Stopped.", flush=True)


def _first_start_demo(api: str, settings: Settings) -> None:
    """A fresh machine's register filled by the demo, so the console has
    people to sign in as and placements to see."""
    from .demo import run_demo

    print("First start: the demo is making invented people and placements ...", flush=True)
    try:
        run_demo(api, settings)
    except (Exception, SystemExit) as e:  # noqa: BLE001 - stopped half-way (Ctrl-C): `apflow demo` finishes it
        print(f"The demo stopped before the end ({type(e).__name__}); `./dev demo` runs it again.", flush=True)
    print(flush=True)


def sign_in_hint(engine, api: str) -> str:
    """Where to sign in, and on a fresh register how anyone can."""
    if accounts.accounts(engine):
        return f"{api}/sign-in  (accounts: `apflow users list`)"
    return (f"{api}/sign-in  - no accounts yet: `./dev demo` in another terminal makes invented ones and prints how "
            "they sign in; `apflow users add EMAIL --role ROLE [--school URN]` makes a real one")


def run_up(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level)
    asyncio.run(up(settings))
