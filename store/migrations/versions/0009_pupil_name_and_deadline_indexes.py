"""placements: the pupil's name as a column of its own, and indexes on the next deadline

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 01:00:00
"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BATCH = 500


def upgrade() -> None:
    with op.batch_alter_table("placements") as batch:
        batch.add_column(sa.Column("pupil_name", sa.String(200), nullable=True))
    op.create_index("ix_placements_deadline", "placements", ["next_deadline", "placement_id"])
    op.create_index("ix_placements_deadline_school", "placements", ["school_id", "next_deadline", "placement_id"])
    conn = op.get_bind()
    placements = sa.table("placements", sa.column("placement_id", sa.String), sa.column("data", sa.JSON),
                          sa.column("pupil_name", sa.String))
    last = ""
    while True:  # in batches by id: a large register is never read whole
        rows = conn.execute(sa.select(placements.c.placement_id, placements.c.data)
                            .where(placements.c.placement_id > last).order_by(placements.c.placement_id).limit(BATCH)).all()
        if not rows:
            break
        for placement_id, data in rows:
            pupil = (json.loads(data) if isinstance(data, str) else data).get("pupil", {})
            conn.execute(placements.update().where(placements.c.placement_id == placement_id)
                         .values(pupil_name=pupil.get("name")))
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_placements_deadline_school", "placements")
    op.drop_index("ix_placements_deadline", "placements")
    with op.batch_alter_table("placements") as batch:
        batch.drop_column("pupil_name")
