"""placements: when each entered its state; providers: the first day anything on a record
lapses; indexes on placements by state and when they entered it, a provider's running
placements by school and state, letters by status and kind, and open escalations by kind;
the state in a school's deadlines' index

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 06:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("placements") as batch:
        batch.add_column(sa.Column("state_since", sa.DateTime(timezone=True), nullable=True))
    # From the audit trail, as the stuck report read it before: the last step into the state.
    op.execute(
        "UPDATE placements SET state_since = (SELECT max(a.at) FROM audit_events a "
        "WHERE a.placement_id = placements.placement_id AND a.to_state = placements.state "
        "AND a.from_state != a.to_state AND a.seq > 0)"
    )
    op.create_index("ix_placements_state_since", "placements", ["state", "state_since", "placement_id"])
    # Left empty on the records already there: each is read until it is next
    # saved (`store.providers.with_open_placements`), as before this column.
    with op.batch_alter_table("providers") as batch:
        batch.add_column(sa.Column("next_warning", sa.Date(), nullable=True))
    # /metrics counts each school's overdue running placements: with the
    # state in it, from this index alone rather than every placement's row.
    op.drop_index("ix_placements_deadline_school", "placements")
    op.create_index("ix_placements_deadline_school", "placements", ["school_id", "next_deadline", "placement_id", "state"])
    # Whether a provider has a running placement at the schools asked about
    # (Today's and the API's providers lapsing): one probe a provider.
    op.create_index("ix_placements_provider_school_state", "placements", ["provider_id", "school_id", "state"])
    # /metrics counts letters by kind and status: from this index alone, never
    # the rows, whose HTML and PDF lie before the status.
    op.create_index("ix_documents_status_kind", "documents", ["status", "kind"])
    # The stuck report's open escalations of a kind with a limit of its own.
    op.create_index("ix_escalations_open_kind", "escalations", ["kind", "raised_at", "placement_id", "escalation_id"],
                    sqlite_where=sa.text("resolved_at IS NULL"), postgresql_where=sa.text("resolved_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_escalations_open_kind", "escalations")
    op.drop_index("ix_documents_status_kind", "documents")
    op.drop_index("ix_placements_provider_school_state", "placements")
    op.drop_index("ix_placements_deadline_school", "placements")
    op.create_index("ix_placements_deadline_school", "placements", ["school_id", "next_deadline", "placement_id"])
    with op.batch_alter_table("providers") as batch:
        batch.drop_column("next_warning")
    op.drop_index("ix_placements_state_since", "placements")
    with op.batch_alter_table("placements") as batch:
        batch.drop_column("state_since")
