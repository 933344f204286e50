"""The register on both databases it runs on: schema from the migrations,
projections idempotent and never backwards."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import inspect

from apflow import samples
from domain.calendar import default_calendar
from domain.guards import Context
from domain.lifecycle import decide, propose
from domain.models import Actor, Placement, Role
from store import register
from store.db import make_engine, migrate

LEAD = Actor(user_id="lead", role=Role.ap_lead, school_id="137000")
TODAY = date(2026, 12, 1)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    migrate(engine)
    yield engine
    if request.param == "postgresql":
        from store.tables import Base

        with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
    engine.dispose()


def placement(pid: str = "placement-1") -> Placement:
    ctx = Context(today=TODAY, calendar=default_calendar("137000", TODAY), actor=LEAD)
    p = Placement(placement_id=pid, **samples.proposal(date(2027, 1, 11)).model_dump())
    return propose(p, ctx, datetime(2026, 12, 1, 10, tzinfo=timezone.utc))


def vetted(p: Placement) -> Placement:
    ctx = Context(today=TODAY, calendar=default_calendar("137000", TODAY), actor=LEAD)
    return decide(p, samples.vet(), ctx, datetime(2026, 12, 1, 11, tzinfo=timezone.utc))


def test_migrations_make_the_schema_and_run_twice(db):
    migrate(db)
    tables = set(inspect(db).get_table_names())
    assert {"placements", "audit_events", "alembic_version"} <= tables


def test_a_projection_applied_twice_writes_once(db):
    p = vetted(placement())
    register.project(db, p, None)
    register.project(db, p, None)
    assert [e.action for e in register.audit_trail(db, p.placement_id)] == ["propose", "vet"]
    assert register.get(db, p.placement_id).state == "vetted"


def test_a_late_older_projection_does_not_move_the_row_back(db):
    first = placement()
    later = vetted(first)
    register.project(db, later, date(2027, 1, 7))
    register.project(db, first, None)  # a retry of the earlier step arriving late
    row = register.get(db, first.placement_id)
    assert (row.state, row.seq, row.next_deadline) == ("vetted", 2, date(2027, 1, 7))
    assert len(register.audit_trail(db, first.placement_id)) == 2


def test_search_filters_by_state_and_school(db):
    register.project(db, placement("placement-a"), None)
    register.project(db, vetted(placement("placement-b")), None)
    assert [r.placement_id for r in register.search(db, state="vetted")] == ["placement-b"]
    assert len(register.search(db, school_id="137000")) == 2
    assert register.search(db, school_id="999999") == []
