"""attendance: register codes, marks and their amendments, the sweep's
alerts, and the expectations projection (backfilled from the register)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 12:27:20
"""
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
_REGISTERED = {"maintained_school", "academy", "pupil_referral_unit", "independent_school"}
_UK = ZoneInfo("Europe/London")


def upgrade() -> None:
    op.create_table('attendance_codes',
    sa.Column('code', sa.String(length=4), nullable=False),
    sa.Column('meaning', sa.Text(), nullable=False),
    sa.Column('counts_as', sa.String(length=24), nullable=False),
    sa.Column('explained', sa.Boolean(), nullable=False),
    sa.Column('needs_provider_mark', sa.Boolean(), nullable=False),
    sa.Column('fits', sa.JSON(), nullable=False),
    sa.Column('retired', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('attendance_marks',
    sa.Column('placement_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('session', sa.String(length=2), nullable=False),
    sa.Column('code', sa.String(length=4), nullable=False),
    sa.Column('explained', sa.Boolean(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('provider_code', sa.String(length=4), nullable=True),
    sa.Column('recorded_by', sa.String(length=100), nullable=False),
    sa.Column('recorded_role', sa.String(length=32), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("session IN ('am', 'pm')", name='ck_attendance_marks_session'),
    sa.ForeignKeyConstraint(['code'], ['attendance_codes.code'], ),
    sa.ForeignKeyConstraint(['placement_id'], ['placements.placement_id'], ),
    sa.PrimaryKeyConstraint('placement_id', 'day', 'session')
    )
    op.create_table('attendance_amendments',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('placement_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('session', sa.String(length=2), nullable=False),
    sa.Column('old_code', sa.String(length=4), nullable=False),
    sa.Column('old_explained', sa.Boolean(), nullable=True),
    sa.Column('old_source', sa.String(length=16), nullable=False),
    sa.Column('new_code', sa.String(length=4), nullable=False),
    sa.Column('new_explained', sa.Boolean(), nullable=True),
    sa.Column('new_source', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('amended_by', sa.String(length=100), nullable=False),
    sa.Column('amended_role', sa.String(length=32), nullable=False),
    sa.Column('amended_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('attendance_amendments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendance_amendments_placement_id'), ['placement_id'], unique=False)

    op.create_table('attendance_alerts',
    sa.Column('placement_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('session', sa.String(length=2), nullable=False),
    sa.Column('problem', sa.String(length=32), nullable=False),
    sa.Column('code', sa.String(length=4), nullable=True),
    sa.Column('signalled_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('placement_id', 'day', 'session', 'problem')
    )
    with op.batch_alter_table('attendance_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendance_alerts_day'), ['day'], unique=False)

    expectations = op.create_table('attendance_expectations',
    sa.Column('placement_id', sa.String(length=64), nullable=False),
    sa.Column('school_id', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('mon', sa.Boolean(), nullable=False),
    sa.Column('tue', sa.Boolean(), nullable=False),
    sa.Column('wed', sa.Boolean(), nullable=False),
    sa.Column('thu', sa.Boolean(), nullable=False),
    sa.Column('fri', sa.Boolean(), nullable=False),
    sa.Column('arrival', sa.Time(), nullable=False),
    sa.Column('departure', sa.Time(), nullable=False),
    sa.Column('provider_registered', sa.Boolean(), nullable=False),
    sa.Column('full_time', sa.Boolean(), nullable=False),
    sa.Column('dual_registration_from', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['placement_id'], ['placements.placement_id'], ),
    sa.PrimaryKeyConstraint('placement_id')
    )
    with op.batch_alter_table('attendance_expectations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendance_expectations_state'), ['state'], unique=False)

    # Every placement already in the register gets its row; from now on the
    # register's projection keeps it (store.register.project). Read from the
    # stored JSON directly, so this migration does not depend on today's models.
    placements = sa.table('placements', sa.column('placement_id'), sa.column('data', sa.JSON))
    rows = [_expectation(pid, data) for pid, data in op.get_bind().execute(sa.select(placements.c.placement_id, placements.c.data))]
    if rows:
        op.bulk_insert(expectations, rows)


def _uk_day(stamp: str) -> date:
    return datetime.fromisoformat(stamp).astimezone(_UK).date()


def _expectation(placement_id: str, data: dict) -> dict:
    history = data.get("history") or []
    started = next((h for h in history if h.get("action") == "start"), None)
    final = data.get("state") in ("closed", "terminated")
    pattern = data["pattern"]
    dual = data.get("dual_registration_from")
    return dict(
        placement_id=placement_id,
        school_id=data["school"]["school_id"],
        state=data.get("state", "proposed"),
        seq=len(history),
        started_on=_uk_day(started["at"]) if started else None,
        ended_on=_uk_day(history[-1]["at"]) if final and history else None,
        **{d: d in pattern["days"] for d in _WEEKDAYS},
        arrival=time.fromisoformat(pattern["arrival"]),
        departure=time.fromisoformat(pattern["departure"]),
        provider_registered=data["provider"]["provider_type"] in _REGISTERED,
        full_time=bool(pattern["full_time"]),
        dual_registration_from=date.fromisoformat(dual) if dual else None,
    )


def downgrade() -> None:
    with op.batch_alter_table('attendance_expectations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendance_expectations_state'))
    op.drop_table('attendance_expectations')
    with op.batch_alter_table('attendance_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendance_alerts_day'))
    op.drop_table('attendance_alerts')
    with op.batch_alter_table('attendance_amendments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendance_amendments_placement_id'))
    op.drop_table('attendance_amendments')
    op.drop_table('attendance_marks')
    op.drop_table('attendance_codes')
