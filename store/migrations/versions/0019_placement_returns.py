"""placements: what the LA's notice and the school census return of each,
written with every projection

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 04:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Left empty on the rows already there: filled from their JSON when the
    # API next starts, read from it until then (`store.register.fill_entries`).
    with op.batch_alter_table("placements") as batch:
        batch.add_column(sa.Column("returns", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("placements") as batch:
        batch.drop_column("returns")
