"""The API served over real HTTP: uvicorn on an ephemeral port, the app
connected to the Temporal dev server, with a real worker on a fresh task queue
and a SQLite register of its own. One stack for the module's tests."""
from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from dataclasses import dataclass

import httpx
import pytest_asyncio
import uvicorn

from apflow.settings import Settings
from console.api import create_app, server_config
from store.db import make_engine, migrate
from worker import build_worker

STARTUP_WAIT_S = 15


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):  # leave Ctrl-C to pytest
        yield


@dataclass
class Stack:
    url: str
    engine: object
    task_queue: str


@contextlib.asynccontextmanager
async def serving(app, sock: socket.socket | None = None):
    """`app` served by uvicorn on an ephemeral port (or on `sock`, bound
    already, when its URL must be known before the app is made): yields its base URL."""
    if sock is None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
    # Accepted connections inherit it: without it a small answer waits for
    # the client's delayed ACK, 40 ms a request (uvicorn's own sockets set it).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    port = sock.getsockname()[1]
    server = _Server(server_config(app, log_level="warning", lifespan="on"))
    try:
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_WAIT_S
        while not server.started:
            if serving.done():
                serving.result()
                raise RuntimeError("the API stopped while starting")
            if loop.time() > deadline:
                raise RuntimeError(f"the API did not start within {STARTUP_WAIT_S} s")
            await asyncio.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            await asyncio.wait_for(serving, timeout=15)
    finally:
        sock.close()


@pytest_asyncio.fixture(scope="module")
async def api_stack(dev_env, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api")
    engine = make_engine(f"sqlite:///{tmp / 'register.db'}")
    migrate(engine)
    task_queue = f"tq-api-{uuid.uuid4()}"
    settings = Settings(task_queue=task_queue, var_dir=tmp / "var")
    app = create_app(settings, client=dev_env.client, engine=engine)
    try:
        async with build_worker(dev_env.client, task_queue, engine), serving(app) as url:
            yield Stack(url, engine, task_queue)
    finally:
        engine.dispose()


@pytest_asyncio.fixture
async def http(api_stack):
    async with httpx.AsyncClient(base_url=api_stack.url, timeout=30) as client:
        yield client
