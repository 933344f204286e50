"""A PostgreSQL register of its own for one chaos test, reached through
relays (tests/deploy/relay.py) that the test can take down, hang or cut.
The relays run on a thread of their own: the app migrates its
register at start-up on its event loop. The API and the worker each have their own relay, so the worker can lose
the database a moment before the API does (an update then reaches the
workflow, whose register projection cannot be written)."""
from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from store.db import make_engine, migrate
from tests.deploy.relay import Relay, Threaded


@contextlib.contextmanager
def fresh_database(server_url: str):
    """A new, empty database on the server at `server_url`; its URL, dropped after."""
    name = f"chaos_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(server_url).set(database=name)
        try:
            yield url
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@dataclass
class Register:
    direct: Engine  # the test's own view, never through a relay
    api: Engine
    worker: Engine
    api_relay: Threaded
    worker_relay: Threaded


@contextlib.asynccontextmanager
async def relayed_register(server_url: str, connect_timeout_s: int | None = None) -> AsyncIterator[Register]:
    """A migrated database, an engine straight to it and one through each
    relay (waiting `connect_timeout_s` for a connection, as a URL may say;
    the register's own default otherwise)."""
    with fresh_database(server_url) as url:
        direct = make_engine(url.render_as_string(hide_password=False))
        migrate(direct)
        with Threaded(Relay(url.port)) as api_relay, Threaded(Relay(url.port)) as worker_relay:
            query = {"connect_timeout": str(connect_timeout_s)} if connect_timeout_s else {}
            through = lambda relay: make_engine(url.set(port=relay.port).update_query_dict(query).render_as_string(hide_password=False))  # noqa: E731
            api, worker = through(api_relay), through(worker_relay)
            try:
                yield Register(direct, api, worker, api_relay, worker_relay)
            finally:
                api_relay.restore()
                worker_relay.restore()
                for engine in (api, worker, direct):
                    engine.dispose()
