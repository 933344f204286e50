"""Engine and schema: SQLite by default, PostgreSQL by URL; the schema is
always made by the Alembic migrations beside this file."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    # hide_parameters: an error's message never carries a pupil's data into a
    # log. A pooled connection to a server is checked before use (it may have
    # been dropped); one to a SQLite file cannot be.
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"), hide_parameters=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    elif engine.dialect.name == "postgresql":
        event.listen(engine, "handle_error", _primary_message_only)
    return engine


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


def sessions(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
