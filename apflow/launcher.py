"""`apflow up`: the Temporal dev server, the worker and the API on one machine.

The dev server runs as a child process in its own session (so Ctrl-C reaches
apflow first and the shutdown runs in order: API, worker, then Temporal), with
its state in a SQLite file under var/ so a second `apflow up` finds every
placement where it was.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import subprocess
import sys
from pathlib import Path

import uvicorn
from temporalio.client import Client

from console.api import create_app
from store import accounts
from store.db import make_engine, migrate
from worker import build_worker
from workflows.attendance import ensure_schedules
from workflows.search import SEARCH_ATTRIBUTES

from .settings import Settings
from .temporal import connect, register_search_attributes

log = logging.getLogger("apflow")
_TYPE_NAMES = {2: "Keyword", 6: "Datetime"}


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


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def _serve(server: uvicorn.Server) -> None:
    """Serves the API. uvicorn calls sys.exit when it cannot start (its port
    in use); raised in a task, SystemExit would leave the event loop at once,
    with a traceback and past the orderly shutdown, so it becomes an error here."""
    try:
        await server.serve()
    except SystemExit as e:
        raise RuntimeError(f"uvicorn exited with status {e.code}") from None


async def _connect(settings: Settings, wait_s: float = 30) -> Client:
    """The dev server takes its port a moment before its frontend answers
    ("Frontend is not healthy yet", more often on a busy machine): retry for a while."""
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        try:
            return await connect(settings)
        except RuntimeError as e:  # the SDK's "Failed client connect"
            if asyncio.get_running_loop().time() > deadline:
                raise SystemExit(f"could not connect to Temporal at {settings.temporal_address}: {e}") from None
            await asyncio.sleep(0.2)


async def up(settings: Settings) -> None:
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    temporal = await _start_temporal(settings)
    try:
        client = await _connect(settings)
        await register_search_attributes(client, settings.temporal_namespace)
        engine = make_engine(settings.db_url)
        migrate(engine)
        app = create_app(settings, client=client, engine=engine)
        server = _Server(uvicorn.Config(app, host=settings.api_host, port=settings.api_port, log_level="warning"))
        api = f"http://{settings.api_host}:{settings.api_port}"
        await ensure_schedules(client, settings.task_queue, settings.attendance)
        async with build_worker(client, settings.task_queue, engine, settings=settings):
            serving = asyncio.create_task(_serve(server))
            while not server.started and not serving.done():
                await asyncio.sleep(0.05)
            if serving.done():
                raise SystemExit(f"the API could not start on {api}: {serving.exception() or 'it stopped'}")
            host = settings.temporal_address.rsplit(":", 1)[0]
            print(f"Temporal server: {settings.temporal_address}" + ("" if temporal else " (external)"))
            if temporal:
                print(f"Temporal Web UI: http://{host}:{settings.temporal_ui_port}")
            print(f"Worker:          task queue {settings.task_queue}")
            print(f"API:             {api}  (docs {api}/docs, health {api}/healthz)")
            print(f"Register:        {settings.db_url}")
            print(f"Sign in:         {sign_in_hint(engine, api)}")
            print("Press Ctrl-C to stop.", flush=True)
            await asyncio.wait([serving, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
            print("Stopping: API, worker, Temporal ...", flush=True)
            server.should_exit = True
            await serving
        engine.dispose()
    finally:
        _stop(temporal)
    print("Stopped.", flush=True)


def sign_in_hint(engine, api: str) -> str:
    """Where to sign in, and on a fresh register how anyone can."""
    if accounts.accounts(engine):
        return f"{api}/sign-in  (accounts: `apflow users list`)"
    return (f"{api}/sign-in  - no accounts yet: `./dev demo` in another terminal makes invented ones and prints how "
            "they sign in; `apflow users add EMAIL --role ROLE [--school URN]` makes a real one")


def run_up(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level)
    asyncio.run(up(settings))
