"""placements: the pupil's name and UPN, lower case, for staff to search by

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:30:00
"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

BATCH = 500


def upgrade() -> None:
    with op.batch_alter_table("placements") as batch:
        batch.add_column(sa.Column("pupil_search", sa.String(300), nullable=True))
    conn = op.get_bind()
    placements = sa.table("placements", sa.column("placement_id", sa.String), sa.column("data", sa.JSON),
                          sa.column("pupil_search", sa.String))
    last = ""
    while True:
        rows = conn.execute(sa.select(placements.c.placement_id, placements.c.data)
                            .where(placements.c.placement_id > last).order_by(placements.c.placement_id).limit(BATCH)).all()
        if not rows:
            break
        for placement_id, data in rows:
            pupil = (json.loads(data) if isinstance(data, str) else data).get("pupil", {})
            search = " ".join(filter(None, (pupil.get("name"), pupil.get("upn")))).lower()
            conn.execute(placements.update().where(placements.c.placement_id == placement_id).values(pupil_search=search))
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("placements") as batch:
        batch.drop_column("pupil_search")
