"""Alembic environment: runs on the connection `store.db.migrate` hands over,
or on `sqlalchemy.url` when run with the alembic command."""
from alembic import context
from sqlalchemy import engine_from_config, pool

from store.tables import Base
import store.documents  # noqa: F401  (its tables are declared on Base)
import store.attendance  # noqa: F401  (its tables are on the same Base)
import store.accounts  # noqa: F401  (so are the accounts and sessions)
import store.exports  # noqa: F401  (and the record of exports)
import store.agreements  # noqa: F401  (commissioning agreements and their audit)
import store.calendar_feeds  # noqa: F401  (calendar feeds)

config = context.config
target_metadata = Base.metadata


def run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as conn:
        run(conn)
