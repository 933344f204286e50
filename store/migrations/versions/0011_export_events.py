"""export_events: every export of the register, with who, when and which filter

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 17:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "export_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("export", sa.String(32), nullable=False),
        sa.Column("file_format", sa.String(8), nullable=False),
        sa.Column("actor_id", sa.String(100), nullable=False),
        sa.Column("actor_role", sa.String(32), nullable=False),
        sa.Column("actor_school_id", sa.String(16), nullable=True),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_export_events_at", "export_events", ["at"])


def downgrade() -> None:
    op.drop_index("ix_export_events_at", table_name="export_events")
    op.drop_table("export_events")
