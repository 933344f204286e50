"""The expectations projection: what the sweep reads instead of each
placement's JSON, kept in step by the register's own projection and filled
for placements already there when the migration runs."""
from __future__ import annotations

from datetime import date, time, timedelta

from alembic import command
from alembic.config import Config
from sqlalchemy import insert

from apflow import samples
from domain.attendance import PlacementFacts
from domain.models import PlacementState
from store import attendance, register
from store.db import MIGRATIONS, make_engine
from store.tables import PlacementRow

from .conftest import active_placement

START = date(2027, 3, 8)


def test_the_register_projection_keeps_the_expectations(engine):
    p = active_placement(START, dual=True, provider=samples.registered_provider())
    proposed = p.model_copy(update={"state": PlacementState.proposed, "history": p.history[:1], "dual_registration_from": None})
    register.project(engine, proposed, None)
    assert attendance.expectation(engine, p.placement_id).started_on is None

    register.project(engine, p, None)
    register.project(engine, proposed, None)  # late and older: ignored
    assert attendance.expectation(engine, p.placement_id) == PlacementFacts(
        placement_id=p.placement_id, school_id="137000", state="active", started_on=START, ended_on=None,
        days=frozenset({"mon", "wed"}), arrival=time(9), departure=time(15), provider_registered=True,
        full_time=False, dual_registration_from=START,
    )


def test_the_migration_fills_expectations_for_placements_already_registered(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    p = active_placement(START, pattern=samples.FULL_TIME)
    ended = active_placement(START)
    ended.history.append(ended.history[-1].model_copy(update={
        "seq": 6, "action": "close", "from_state": "active", "to_state": "closed", "at": ended.history[-1].at + timedelta(days=30)}))
    ended.state = PlacementState.closed
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
        for q in (p, ended):
            conn.execute(insert(PlacementRow).values(
                placement_id=q.placement_id, school_id="137000", state=q.state, kind=q.kind.value, pupil_id="P-1",
                provider_name=q.provider.name, start_date=q.start_date, seq=q.seq, data=q.model_dump(mode="json"),
                updated_at=q.history[-1].at,
            ))
        command.upgrade(cfg, "head")
    got = attendance.expectation(engine, p.placement_id)
    assert (got.state, got.started_on, got.days, got.full_time, got.provider_registered) == (
        "active", START, frozenset({"mon", "tue", "wed", "thu", "fri"}), True, False)
    old = attendance.expectation(engine, ended.placement_id)
    assert (old.state, old.started_on, old.ended_on) == ("closed", START, START + timedelta(days=30))
    engine.dispose()
