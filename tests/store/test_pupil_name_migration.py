"""The pupil's name column is filled for placements registered before it existed."""
from __future__ import annotations

from datetime import UTC, date, datetime

from alembic import command
from alembic.config import Config
from sqlalchemy import insert, text

from apflow import samples
from domain.models import Placement, PlacementState
from store import register
from store.db import MIGRATIONS
from store.tables import PlacementRow

from tests.store.test_register import db  # noqa: F401  (SQLite and PostgreSQL)


def test_the_migration_fills_the_name_for_placements_already_registered(db):  # noqa: F811
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    proposal = samples.proposal(date(2026, 9, 7))
    pupil = proposal.pupil.model_copy(update={"name": "Harriet O'Neill"})
    p = Placement(placement_id="placement-old", state=PlacementState.active, **proposal.model_copy(update={"pupil": pupil}).model_dump())
    with db.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0008")
        conn.execute(insert(PlacementRow).values(  # the columns 0008 has: no pupil_name
            placement_id=p.placement_id, school_id="137000", state="active", kind=p.kind.value, pupil_id=p.pupil.pupil_id,
            provider_name=p.provider.name, start_date=p.start_date, version=1, seq=1, data=p.model_dump(mode="json"),
            updated_at=datetime.now(UTC)))
        command.upgrade(cfg, "head")
        assert conn.execute(text("select pupil_name from placements")).scalar_one() == "Harriet O'Neill"
    (row,) = register.placements_page(db, school_ids={"137000"}).rows
    assert row.pupil_name == "Harriet O'Neill"
