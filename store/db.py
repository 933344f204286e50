"""Engine and schema: SQLite by default, PostgreSQL by URL; the schema is
always made by the Alembic migrations beside this file."""
from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger("apflow")
# A server that does not answer a connection within this long is taken as not
# up yet (psycopg alone would wait for as long as the network does).
CONNECT_TIMEOUT_S = 10
# A connection whose server has gone silent (a network partition: no reset,
# no answer) is given up after about half a minute, by libpq itself: data
# unacknowledged for TCP_USER_TIMEOUT_MS, or an idle connection's keepalive
# probes unanswered (after 10 s idle, three 5 s apart). The request then
# fails as any lost connection does (503, safe to retry) instead of waiting
# for as long as the kernel would (many minutes).
SERVER_SILENCE = {"tcp_user_timeout": 30_000, "keepalives": 1, "keepalives_idle": 10,
                  "keepalives_interval": 5, "keepalives_count": 3}
RETRY_MAX_S = 5.0


# Connections kept open: as many as the requests and activities that read at
# once under load (SQLAlchemy keeps 5, and opened and closed the rest for
# every read above that, a connection and its pragmas each time); more
# still open when needed, and closed after.
POOL_SIZE, POOL_OVERFLOW = 20, 10


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    # hide_parameters: an error's message never carries a pupil's data into a
    # log. A pooled connection to a server is checked before use (it may have
    # been dropped); one to a SQLite file cannot be.
    connect_args = _postgresql_defaults(url) if url.startswith("postgresql") else {}
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"), hide_parameters=True, connect_args=connect_args,
                           pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    elif engine.dialect.name == "postgresql":
        event.listen(engine, "handle_error", _primary_message_only)
    return engine


def _postgresql_defaults(url: str) -> dict:
    """The connection's bounds, where the URL does not set its own."""
    given = make_url(url).query
    defaults = {"connect_timeout": CONNECT_TIMEOUT_S, **SERVER_SILENCE}
    return {key: value for key, value in defaults.items() if key not in given}


def insert_for(dialect: str, table):
    """An INSERT in the dialect's own construct, which can say what to do on
    a conflict (the register runs on SQLite and on PostgreSQL)."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _primary_message_only(context):
    # PostgreSQL's DETAIL of a constraint violation quotes the failing row
    # (a pupil's name, date of birth ...): an error keeps its primary message
    # only; the detail stays on `orig.diag` for code that asks for it.
    error = context.original_exception
    primary = getattr(getattr(error, "diag", None), "message_primary", None)
    if context.sqlalchemy_exception is None or not primary:
        return None
    error.args = (primary,)
    return DBAPIError.instance(context.statement, context.parameters, error, context.dialect.loaded_dbapi.Error,
                               hide_parameters=True, connection_invalidated=context.is_disconnect,
                               dialect=context.dialect)


def _sqlite_pragmas(conn, _record) -> None:
    # WAL lets the API read while the worker writes; foreign keys are off by
    # default. In WAL mode, synchronous=NORMAL syncs at checkpoints rather than
    # at every commit: a commit survives the process dying, and only a power
    # cut can lose the last ones (the workflow still holds them, and projects
    # its whole placement again at its next change).
    cur = conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def migrate(engine: Engine) -> None:
    """Brings the schema up to the newest migration."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


async def migrate_when_up(engine: Engine, wait_s: float | None = None, say_every_s: float = 10) -> None:
    """`migrate` once the database answers: a worker or the API may start
    before its database does (a container restarted, a server rebooting).
    Retries with backoff, for `wait_s` (None: until it answers), saying at
    once and then now and then what it waits for; each try runs off the
    event loop, so a stop signal is heard between tries."""
    where = engine.url.render_as_string(hide_password=True)
    started = time.monotonic()
    said = None
    delay = 0.2
    while True:
        try:
            await asyncio.to_thread(migrate, engine)
            if said is not None:
                log.warning("the database at %s answered after %.0f s", where, time.monotonic() - started)
            return
        except OperationalError as e:  # cannot connect (refused, unknown host, starting up, timed out)
            now = time.monotonic()
            if wait_s is not None and now - started > wait_s:
                raise SystemExit(f"could not reach the database at {where}: {_first_line(e)}") from None
            if said is None or now - said >= say_every_s:
                log.warning("waiting for the database at %s (%.0f s so far): %s", where, now - started, _first_line(e))
                said = now
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)


def _first_line(e: OperationalError) -> str:
    # The driver's own words (parameters are hidden: hide_parameters above).
    return str(e.orig).strip().splitlines()[0][:300] if e.orig is not None else type(e).__name__


def sessions(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
