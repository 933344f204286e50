"""placements: the register's entry of each (what its export and page show),
written with every projection

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 19:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Left empty on the rows already there: each is read from its JSON until
    # it is next projected (`store.register.entries_of`).
    with op.batch_alter_table("placements") as batch:
        batch.add_column(sa.Column("entry", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("placements") as batch:
        batch.drop_column("entry")
