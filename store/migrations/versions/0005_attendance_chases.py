"""attendance chases: a provider asked for a missing mark, and by which sweep

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 20:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('attendance_chases',
    sa.Column('placement_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('session', sa.String(length=2), nullable=False),
    sa.Column('check_day', sa.Date(), nullable=False),
    sa.Column('check', sa.String(length=2), nullable=False),
    sa.Column('document_id', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('chased_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("session IN ('am', 'pm')", name='ck_attendance_chases_session'),
    sa.ForeignKeyConstraint(['placement_id'], ['placements.placement_id'], ),
    sa.PrimaryKeyConstraint('placement_id', 'day', 'session')
    )
    with op.batch_alter_table('attendance_chases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendance_chases_settled_at'), ['settled_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('attendance_chases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendance_chases_settled_at'))
    op.drop_table('attendance_chases')
