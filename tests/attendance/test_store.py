"""The attendance store on both databases it runs on: the bulk upsert, its
amendments, and the sweep's query."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest

from apflow import samples
from domain.models import Pattern, Weekday
from store import attendance
from store.db import make_engine, migrate
from tests.store.conftest import postgres_url  # noqa: F401  (fixture)

from .conftest import CODES, HEAD, active_placement, put, record

BOUNDARY = time(12, 30)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    migrate(engine)
    attendance.sync_codes(engine, CODES)
    yield engine
    if request.param == "postgresql":
        from store.tables import Base

        with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
    engine.dispose()


def test_record_and_sweep(db, calendars):
    term = calendars(datetime(2026, 1, 1).date())
    mon, tue = term.first, term.first + timedelta(days=1)
    full = [put(db, active_placement(mon, pattern=samples.FULL_TIME)) for _ in range(5)]
    am_only = put(db, active_placement(mon, pattern=Pattern(full_time=False, days=list(Weekday), arrival=time(9), departure=time(12))))
    done = record(db, [
        (full[0].placement_id, tue, "am", "B"), (full[0].placement_id, tue, "pm", "B"),
        (full[1].placement_id, tue, "am", "B"),
        (full[2].placement_id, tue, "am", "N"), (full[2].placement_id, tue, "pm", "B"),
        (full[3].placement_id, tue, "am", "I", False), (full[3].placement_id, tue, "pm", "B"),
        (am_only.placement_id, tue, "am", "B"),
    ], today=tue)
    assert (done.created, done.changed, done.unchanged) == (8, 0, 0)
    record(db, [(full[4].placement_id, tue, "am", "B"), (full[4].placement_id, tue, "pm", "B")], today=tue, source="school", actor=HEAD)
    again = record(db, [(full[0].placement_id, tue, "am", "B"), (full[2].placement_id, tue, "am", "C", None, "parent rang")], today=tue)
    assert (again.created, again.changed, again.unchanged) == (0, 1, 1)
    [amended] = attendance.amendments_for(db, full[2].placement_id)
    assert (amended.old_code, amended.new_code, amended.reason) == ("N", "C", "parent rang")

    assert attendance.schools_expecting(db, tue) == ["137000"]
    found = attendance.sweep_candidates(db, tue, ["am", "pm"], ["137000"], BOUNDARY)
    assert sorted((c.placement_id, c.session, c.problem, c.code) for c in found) == sorted([
        (full[1].placement_id, "pm", "missing", None),
        (full[3].placement_id, "am", "unexplained_absence", "I"),
        (full[4].placement_id, "am", "missing", "B"),
        (full[4].placement_id, "pm", "missing", "B"),
    ])
    assert attendance.sweep_candidates(db, tue, ["am", "pm"], [], BOUNDARY) == []
    attendance.record_alerts(db, found, datetime.now(timezone.utc))
    attendance.record_alerts(db, found, datetime.now(timezone.utc))
    assert attendance.sweep_candidates(db, tue, ["am", "pm"], ["137000"], BOUNDARY) == []
