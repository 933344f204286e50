"""The whole service as processes that can be killed and started again.

- the Temporal dev server exactly as `apflow up` starts it
  (`apflow.launcher.temporal_command`: a SQLite file, WAL), headless, on a
  port fixed for the stack's life, so it can be stopped and started again
  and the API and worker find it where it was;
- the worker as its own process (`python worker.py`, from APFLOW_*
  variables: `tests.workflows.test_worker_crash`), SIGKILLed and replaced;
- the API served by uvicorn in this process (`tests.api.conftest.serving`),
  with its own Temporal client, which reconnects by itself once the server
  is back;
- letters to a real SMTP server (`tests.letters.conftest.Inbox`) or to an
  outbox folder.

Used by the chaos tests and by `bench.chaos`.
"""
from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sqlalchemy import Engine
from temporalio.client import Client

from apflow.launcher import temporal_command
from apflow.settings import Settings
from apflow.temporal import data_converter, register_search_attributes
from console.api import create_app
from store.db import make_engine, migrate
from tests.api.conftest import serving
from tests.conftest import CODEC_KEY
from tests.letters.conftest import BASE_URL, FROM, SECRET, Inbox, free_port, smtp_server
from tests.workflows.test_worker_crash import WorkerProcess, worker_env

Mail = Literal["smtp", "outbox"]
SERVER_START_S = 60
SERVER_STOP_S = 15
# The API's wait for Temporal before answering 503 "safe to retry": short,
# so a client sees (and retries) it while a worker or the server is down.
API_WAIT_S = 5.0


class TemporalServer:
    """The dev server of `apflow up`, its state in `folder`/temporal.db."""

    def __init__(self, folder: Path, namespace: str = "default"):
        self.folder = folder
        self.address = f"127.0.0.1:{free_port()}"
        self.namespace = namespace
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def command(self) -> list[str]:
        settings = Settings(temporal_address=self.address, temporal_namespace=self.namespace, var_dir=self.folder,
                            temporal_ui_port=free_port())
        return [*temporal_command(settings), "--headless"]  # the UI is not wanted here

    async def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        log = open(self.folder / "temporal.log", "ab")
        try:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SERVER_START_S
        # The port is taken a moment before the frontend answers: wait for an answer.
        while True:
            assert self.proc.poll() is None, f"the Temporal dev server exited with {self.proc.returncode}"
            try:
                await Client.connect(self.address, namespace=self.namespace)  # asks the server's system info
                return
            except Exception:  # noqa: BLE001 - not up yet, whatever it says
                assert loop.time() < deadline, f"the Temporal dev server did not answer within {SERVER_START_S} s"
                await asyncio.sleep(0.2)

    def stop(self) -> None:
        """Stops the server as `apflow up` does (SIGTERM) and waits for it."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=SERVER_STOP_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Stack:
    folder: Path
    server: TemporalServer
    client: Client
    engine: Engine
    url: str
    env: dict[str, str]
    mail: Mail
    inbox: Inbox | None
    outbox: Path
    workers: list[WorkerProcess] = field(default_factory=list)

    @property
    def task_queue(self) -> str:
        return self.env["APFLOW_TASK_QUEUE"]

    @property
    def worker(self) -> WorkerProcess:
        return self.workers[-1]

    async def start_worker(self) -> WorkerProcess:
        worker = WorkerProcess(self.env, self.folder / f"worker-{len(self.workers) + 1}.log")
        self.workers.append(worker)
        await worker.ready()
        return worker

    def kill_worker(self) -> None:
        """SIGKILL: nothing of the worker's own runs after it."""
        self.worker.kill()

    def stop_workers(self) -> None:
        for w in self.workers:
            w.kill()


@contextlib.asynccontextmanager
async def running(folder: Path, mail: Mail = "smtp") -> AsyncIterator[Stack]:
    """The stack in `folder`, its first worker polling; stopped on the way out."""
    folder.mkdir(parents=True, exist_ok=True)
    server = TemporalServer(folder / "temporal")
    db = folder / "register.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    with contextlib.ExitStack() as exits:
        outbox = folder / "outbox"
        if mail == "smtp":
            inbox, port = exits.enter_context(smtp_server())
            mail_env = dict(mail_mode="smtp", mail_smtp_host="127.0.0.1", mail_smtp_port=str(port),
                            mail_smtp_security="none", mail_from_address=FROM)
        else:
            inbox = None
            mail_env = dict(mail_mode="outbox", mail_outbox_dir=str(outbox), mail_from_address=FROM)
        stack: Stack | None = None
        try:
            await server.start()
            client = await Client.connect(server.address, namespace=server.namespace,
                                          data_converter=data_converter(CODEC_KEY))
            await register_search_attributes(client, server.namespace)
            env = worker_env(client, folder, db, link_secret=SECRET, public_url=BASE_URL,
                             attendance__schedules_enabled="false", **mail_env)
            settings = Settings(task_queue=env["APFLOW_TASK_QUEUE"], var_dir=folder / "var", api_wait_s=API_WAIT_S,
                                temporal_address=server.address, link_secret=SECRET, public_url=BASE_URL)
            app = create_app(settings, client=client, engine=engine)
            async with serving(app) as url:
                stack = Stack(folder, server, client, engine, url, env, mail, inbox, outbox)
                await stack.start_worker()
                yield stack
        finally:
            if stack is not None:
                stack.stop_workers()
            server.stop()
            engine.dispose()
