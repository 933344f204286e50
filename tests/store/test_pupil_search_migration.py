"""The pupil search column is filled for placements registered before it existed."""
from __future__ import annotations

from datetime import UTC, date, datetime

from alembic import command
from alembic.config import Config
from sqlalchemy import insert, text

from apflow import samples
from domain.models import Placement, PlacementState
from store import register
from store.db import MIGRATIONS, make_engine
from store.register import Filters
from store.tables import PlacementRow


def test_the_migration_fills_the_search_for_placements_already_registered(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    proposal = samples.proposal(date(2026, 9, 7))
    pupil = proposal.pupil.model_copy(update={"name": "Harriet O'Neill", "upn": "A123456789012"})
    p = Placement(placement_id="placement-old", state=PlacementState.active, **proposal.model_copy(update={"pupil": pupil}).model_dump())
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007")
        conn.execute(insert(PlacementRow).values(
            placement_id=p.placement_id, school_id="137000", state="active", kind=p.kind.value, pupil_id=p.pupil.pupil_id,
            provider_name=p.provider.name, start_date=p.start_date, version=1, seq=1, data=p.model_dump(mode="json"),
            updated_at=datetime.now(UTC)))
        command.upgrade(cfg, "head")
        assert conn.execute(text("select pupil_search from placements")).scalar_one() == "harriet o'neill a123456789012"
    for typed in ("O'Neill", "a123456789012", "harriet"):
        rows = register.placements_page(engine, filters=Filters(school_ids={"137000"}, pupil=typed)).rows
        assert [r.placement_id for r in rows] == ["placement-old"], typed
    assert register.placements_page(engine, filters=Filters(school_ids={"137001"}, pupil="harriet")).rows == []
    engine.dispose()
