"""providers: the trust's list of providers, every change to it, and each placement's provider record

A provider is vetted once, its record serving every placement there; a
placement picked from the list names it (placements.provider_id), so a
provider's page lists its placements from an index. Placements made before
the list name none.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 20:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "providers",
        sa.Column("provider_id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("provider_type", sa.String(32), nullable=False),
        sa.Column("urn", sa.String(6), nullable=True),
        sa.Column("ukprn", sa.String(8), nullable=True),
        sa.Column("la_approved", sa.Boolean(), nullable=False),
        sa.Column("trust_exception", sa.Boolean(), nullable=False),
        sa.Column("vetted", sa.Boolean(), nullable=False),
        sa.Column("next_expiry", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_providers_name", "providers", ["name", "provider_id"])
    op.create_index("ix_providers_next_expiry", "providers", ["next_expiry", "provider_id"])
    op.create_table(
        "provider_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider_id", sa.String(40), sa.ForeignKey("providers.provider_id"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("changed", sa.JSON(), nullable=False),
        sa.Column("actor_id", sa.String(100), nullable=False),
        sa.Column("actor_role", sa.String(32), nullable=False),
        sa.Column("actor_school_id", sa.String(16), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("provider_id", "version", name="uq_provider_events_version"),
    )
    op.create_index("ix_provider_events_provider_id", "provider_events", ["provider_id"])
    with op.batch_alter_table("placements") as batch:
        batch.add_column(sa.Column("provider_id", sa.String(40), nullable=True))
        batch.create_index("ix_placements_provider", ["provider_id", "start_date", "placement_id"])


def downgrade() -> None:
    with op.batch_alter_table("placements") as batch:
        batch.drop_index("ix_placements_provider")
        batch.drop_column("provider_id")
    op.drop_index("ix_provider_events_provider_id", table_name="provider_events")
    op.drop_table("provider_events")
    op.drop_index("ix_providers_next_expiry", table_name="providers")
    op.drop_index("ix_providers_name", table_name="providers")
    op.drop_table("providers")
