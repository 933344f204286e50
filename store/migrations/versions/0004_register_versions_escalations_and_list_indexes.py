"""the register orders projections by version; escalations as rows; indexes
for paged lists and a pupil's other placements (backfilled from the register)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 09:00:00
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_OPEN = sa.text("resolved_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table('placements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('pattern_days', sa.String(length=24), nullable=True))
        batch_op.create_index('ix_placements_list', ['start_date', 'placement_id'], unique=False)
        batch_op.create_index('ix_placements_list_school', ['school_id', 'start_date', 'placement_id'], unique=False)
        batch_op.create_index('ix_placements_list_state', ['state', 'start_date', 'placement_id'], unique=False)
        batch_op.create_index('ix_placements_list_school_state', ['school_id', 'state', 'start_date', 'placement_id'], unique=False)
        batch_op.create_index('ix_placements_pupil', ['school_id', 'pupil_id'], unique=False)
    with op.batch_alter_table('attendance_expectations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='0'))

    escalations = op.create_table('escalations',
    sa.Column('placement_id', sa.String(length=64), nullable=False),
    sa.Column('escalation_id', sa.String(length=200), nullable=False),
    sa.Column('school_id', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('owner_role', sa.String(length=32), nullable=False),
    sa.Column('clause', sa.String(length=200), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due', sa.Date(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.String(length=100), nullable=True),
    sa.Column('resolved_by_role', sa.String(length=32), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['placement_id'], ['placements.placement_id'], ),
    sa.PrimaryKeyConstraint('placement_id', 'escalation_id')
    )
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        cols = ['raised_at', 'placement_id', 'escalation_id']
        batch_op.create_index('ix_escalations_open_school_owner', ['school_id', 'owner_role', *cols], unique=False,
                              sqlite_where=_OPEN, postgresql_where=_OPEN)
        batch_op.create_index('ix_escalations_open_school', ['school_id', *cols], unique=False,
                              sqlite_where=_OPEN, postgresql_where=_OPEN)
        batch_op.create_index('ix_escalations_open_owner', ['owner_role', *cols], unique=False,
                              sqlite_where=_OPEN, postgresql_where=_OPEN)
        batch_op.create_index('ix_escalations_open', cols, unique=False, sqlite_where=_OPEN, postgresql_where=_OPEN)
        batch_op.create_index('ix_escalations_school', ['school_id', *cols], unique=False)
        batch_op.create_index('ix_escalations_raised', cols, unique=False)

    # Fill the new columns and the escalations from each placement's stored
    # JSON, read directly so this migration does not depend on today's models.
    bind = op.get_bind()
    placements = sa.table('placements', sa.column('placement_id'), sa.column('data', sa.JSON),
                          sa.column('version', sa.Integer), sa.column('pattern_days', sa.String))
    expectations = sa.table('attendance_expectations', sa.column('placement_id'), sa.column('version', sa.Integer))
    rows = []
    for pid, data in bind.execute(sa.select(placements.c.placement_id, placements.c.data)).all():
        version = int(data.get("version") or 0)
        days = ",".join((data.get("pattern") or {}).get("days") or [])
        bind.execute(placements.update().where(placements.c.placement_id == pid).values(version=version, pattern_days=days or None))
        bind.execute(expectations.update().where(expectations.c.placement_id == pid).values(version=version))
        rows.extend(_escalation(pid, data["school"]["school_id"], e) for e in data.get("escalations") or [])
    for i in range(0, len(rows), 1_000):
        op.bulk_insert(escalations, rows[i:i + 1_000])


def _utc(stamp: str | None) -> datetime | None:
    return datetime.fromisoformat(stamp).astimezone(timezone.utc) if stamp else None


def _escalation(placement_id: str, school_id: str, e: dict) -> dict:
    by = e.get("resolved_by") or {}
    due = e.get("due")
    return dict(
        placement_id=placement_id,
        escalation_id=e["escalation_id"],
        school_id=school_id,
        kind=e["kind"],
        owner_role=e["owner"],
        clause=e["clause"],
        message=e["message"],
        raised_at=_utc(e["raised_at"]),
        due=datetime.fromisoformat(due).date() if due else None,
        resolved_at=_utc(e.get("resolved_at")),
        resolved_by_id=by.get("user_id"),
        resolved_by_role=by.get("role"),
        resolution=e.get("resolution"),
    )


def downgrade() -> None:
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        for name in ('ix_escalations_raised', 'ix_escalations_school', 'ix_escalations_open', 'ix_escalations_open_owner',
                     'ix_escalations_open_school', 'ix_escalations_open_school_owner'):
            batch_op.drop_index(name)
    op.drop_table('escalations')
    with op.batch_alter_table('attendance_expectations', schema=None) as batch_op:
        batch_op.drop_column('version')
    with op.batch_alter_table('placements', schema=None) as batch_op:
        for name in ('ix_placements_pupil', 'ix_placements_list_school_state', 'ix_placements_list_state',
                     'ix_placements_list_school', 'ix_placements_list'):
            batch_op.drop_index(name)
        batch_op.drop_column('pattern_days')
        batch_op.drop_column('version')
