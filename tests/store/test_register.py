"""The register on both databases it runs on: schema from the migrations,
projections idempotent and never backwards."""
from __future__ import annotations

import logging
import traceback
from datetime import date, datetime, timedelta, timezone

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import event, inspect, select, text
from sqlalchemy.orm import Session

from apflow import samples
from domain.calendar import default_calendar
from domain.deadlines import planned_end
from domain.guards import Context
from domain.lifecycle import decide, propose
from domain.models import Actor, Escalation, Placement, PlacementState, Role
from domain.records import register_entry, returns
from store import attendance, exports, register
from store.db import MIGRATIONS, make_engine, migrate

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


def test_an_instant_reads_back_as_the_same_moment_in_utc_whatever_zone_it_was_given_in(db):
    from zoneinfo import ZoneInfo

    from store import documents

    summer = datetime(2027, 6, 1, 9, 30, tzinfo=ZoneInfo("Europe/London"))  # 08:30 UTC
    documents.add_link(db, "lnk-zoned", "placement-1", "attendance", summer, summer, "lead")
    row = documents.get_link(db, "lnk-zoned")
    assert row.expires_at == summer and row.expires_at.utcoffset() == timedelta(0)
    assert row.expires_at.hour == 8
    # found by the moment, however it is spelled
    with Session(db) as s:
        assert s.scalar(select(documents.ProviderLinkRow.link_id).where(
            documents.ProviderLinkRow.expires_at == summer.astimezone(timezone.utc).replace(tzinfo=None))) == "lnk-zoned"


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
    assert len(register.search(db, school_ids={"137000"})) == 2
    assert register.search(db, school_ids={"999999"}) == []


def test_a_page_and_its_total_agree_while_the_worker_writes_between_them(db, monkeypatch):
    """The worker projects placements while the API reads a page: a row
    committed between the page's query and its count is in neither."""
    register.project(db, placement("placement-a"), None)

    written: list[int] = []

    @event.listens_for(db, "before_cursor_execute")
    def written_in_between(conn, cursor, statement, *args):  # the page's count: a placement is committed just before it
        if statement.lstrip().lower().startswith("select count(*)") and not written:
            written.append(1)
            register.project(db, placement("placement-b"), None)

    page = register.placements_page(db, limit=50)
    assert written and len(page.rows) == page.total == 1


# --- versions, escalations as rows, pages ---------------------------------------------


def published(p: Placement, version: int) -> Placement:
    """The placement as its workflow publishes it: every change raises its version."""
    return p.model_copy(update={"version": version})


def escalated(p: Placement, eid: str = "notice:2027-01-06", at: datetime | None = None, **changes) -> Placement:
    e = Escalation(
        escalation_id=eid, kind=eid.split(":")[0], clause="§6.5", owner=Role.headteacher,
        message="notice not given in time", raised_at=at or datetime(2027, 1, 6, 9, tzinfo=timezone.utc),
        due=date(2027, 1, 6), **changes,
    )
    return p.model_copy(update={"escalations": [*p.escalations, e]})


def test_an_escalation_is_newer_though_its_seq_is_the_same(db):
    """An escalation leaves the history (seq) alone but raises the version:
    the row takes it, and the late write of the same seq does not undo it."""
    before = published(vetted(placement()), 2)
    after = published(escalated(before), 3)
    assert before.seq == after.seq
    assert register.project(db, before, None)
    assert register.project(db, after, date(2027, 1, 6))
    assert not register.project(db, before, None)  # a retry of the earlier publish, arriving late
    row = register.get(db, before.placement_id)
    assert (row.version, row.next_deadline, len(row.data["escalations"])) == (3, date(2027, 1, 6), 1)
    assert [e.escalation_id for e in register.escalations_page(db).rows] == ["notice:2027-01-06"]
    with Session(db) as s:
        assert s.get(attendance.AttendanceExpectation, before.placement_id).version == 3


def test_a_late_older_version_never_overwrites_a_newer_one(db):
    first = published(placement(), 1)
    newer = published(escalated(vetted(first)), 3)
    register.project(db, newer, date(2027, 1, 7))
    register.project(db, first, None)
    row = register.get(db, first.placement_id)
    assert (row.state, row.version, row.seq) == ("vetted", 3, 2)
    assert len(register.escalations_page(db).rows) == 1


def test_an_escalation_row_follows_its_resolution_and_not_back(db):
    p = published(escalated(vetted(placement())), 3)
    register.project(db, p, None)
    resolved_at = datetime(2027, 1, 7, 10, tzinfo=timezone.utc)
    head = Actor(user_id="head", role=Role.headteacher, school_id="137000")
    resolved = p.model_copy(update={"version": 4, "escalations": [p.escalations[0].model_copy(update={
        "resolved_at": resolved_at, "resolved_by": head, "resolution": "notice was given by hand"})]})
    register.project(db, resolved, None)
    register.project(db, p, None)  # late: the open version again
    (row,) = register.escalations_page(db, open_only=False).rows
    assert (row.resolved_by_id, row.resolved_by_role, row.resolution) == ("head", "headteacher", "notice was given by hand")
    assert register.escalations_page(db).rows == []


def test_pages_of_placements_follow_the_order_without_gaps(db):
    for i in range(7):
        p = placement(f"placement-{i}").model_copy(update={"start_date": date(2027, 1, 11 + i % 3)})
        register.project(db, p, None)
    seen, after = [], None
    while True:
        page = register.placements_page(db, school_ids={"137000"}, limit=3, after=after)
        assert page.total == 7
        seen += [(r.start_date, r.placement_id) for r in page.rows]
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == sorted(seen, reverse=True) and len(set(seen)) == 7


def test_a_total_past_the_cap_is_counted_no_further(db, monkeypatch):
    """Counting a page's total stops one past COUNT_CAP, so a page costs the
    same however many placements match; the page says it stopped."""
    for i in range(5):
        register.project(db, placement(f"placement-{i}"), None)
    monkeypatch.setattr(register, "COUNT_CAP", 3)
    page = register.placements_page(db, limit=2)
    assert (page.total, page.capped, len(page.rows)) == (4, True, 2)
    monkeypatch.setattr(register, "COUNT_CAP", 5)
    page = register.placements_page(db, limit=2)
    assert (page.total, page.capped) == (5, False)


def at_school(p: Placement, school_id: str) -> Placement:
    return p.model_copy(update={"school": p.school.model_copy(update={"school_id": school_id})})


def test_pages_at_several_schools_show_theirs_alone_in_order(db):
    """A person with roles at two schools lists both: one keyset over the
    list's order, a school they hold no role at never in it."""
    for i in range(9):
        p = at_school(placement(f"placement-{i}"), ("137000", "137001", "137002")[i % 3])
        register.project(db, p.model_copy(update={"start_date": date(2027, 1, 11 + i % 4)}), None)
    seen, after = [], None
    while True:
        page = register.placements_page(db, school_ids={"137000", "137001"}, limit=2, after=after)
        assert page.total == 6
        seen += [(r.start_date, r.placement_id, r.school_id) for r in page.rows]
        if page.next_after is None:
            break
        after = page.next_after
    assert [s[:2] for s in seen] == sorted((s[:2] for s in seen), reverse=True) and len(seen) == 6
    assert {s[2] for s in seen} == {"137000", "137001"}
    assert register.placements_page(db, school_ids=set()).total == 0


def test_pages_of_escalations_oldest_first_filtered_by_owner_and_school(db):
    p = published(vetted(placement()), 2)
    for i in range(5):
        p = escalated(p, f"visit:{i}", at=datetime(2027, 1, 6, 9, i, tzinfo=timezone.utc))
    p = p.model_copy(update={"version": 9})
    register.project(db, p, None)
    other = published(escalated(placement("placement-other").model_copy(update={
        "school": p.school.model_copy(update={"school_id": "137001"})})), 1)
    register.project(db, other, None)
    page1 = register.escalations_page(db, school_ids={"137000"}, owner=Role.headteacher, limit=2)
    page2 = register.escalations_page(db, school_ids={"137000"}, owner=Role.headteacher, limit=2, after=page1.next_after)
    page3 = register.escalations_page(db, school_ids={"137000"}, owner=Role.headteacher, limit=2, after=page2.next_after)
    ids = [r.escalation_id for pg in (page1, page2, page3) for r in pg.rows]
    assert ids == [f"visit:{i}" for i in range(5)] and page3.next_after is None and page1.total == 5
    assert register.escalations_page(db, owner=Role.dsl).total == 0
    assert register.escalations_page(db).total == 6


def test_a_pupils_open_placements_are_found_by_school_and_pupil(db):
    register.project(db, placement("placement-a"), None)
    closed = placement("placement-b").model_copy(update={"state": PlacementState.closed})
    register.project(db, closed, None)
    assert [r.placement_id for r in register.open_placements_of(db, "137000", "P-0001")] == ["placement-a"]
    assert register.open_placements_of(db, "137000", "P-9999") == []
    assert register.get(db, "placement-a").pattern_days == "mon,wed"


def test_a_rows_register_entry_is_written_with_it_and_read_from_its_json_when_written_before(db):
    p = vetted(placement("placement-a"))
    end = date(2027, 3, 26)
    register.project(db, p, None, end)
    expected = register_entry(p, end)
    assert register.entries(db, ["placement-a"]) == {"placement-a": expected}
    assert expected.planned_end_date == end and expected.start_date == p.start_date  # days, not text
    with db.begin() as conn:  # as a row projected before migration 0018 holds it
        conn.execute(text("update placements set entry = null"))
    assert register.entries(db, ["placement-a"]) == {"placement-a": expected}
    assert list(exports.register_entries(db, register.Filters())) == [expected]


def test_what_the_returns_take_is_written_with_the_row_and_read_from_its_json_when_written_before(db):
    """The LA notice and the census read a row's `returns`, not its whole
    placement; a row projected before migration 0019 is read from its JSON."""
    p = vetted(placement("placement-a"))
    end = date(2027, 3, 26)
    register.project(db, p, None, end)
    expected = returns(p, end)
    assert list(exports.placement_returns(db, register.Filters())) == [expected]
    assert (expected.planned_end_date, expected.leaving_date, expected.start_date) == (end, end, p.start_date)  # days
    assert expected.pattern == p.pattern and expected.census_reason == p.census_reason
    assert register.get(db, "placement-a").returns == register.RETURNS.dump_python(expected, mode="json")
    with db.begin() as conn:
        conn.execute(text("update placements set returns = null"))
    assert list(exports.placement_returns(db, register.Filters())) == [expected]


def test_rows_projected_before_the_entry_are_filled_once_with_their_counted_end(db):
    """A closed placement is never projected again: its row gets its entry and
    its last day counted on the school's calendar from its JSON, once; a row
    projected since, or of a school whose calendar cannot be read, is left."""
    calendar = default_calendar("137000", TODAY)
    old = [vetted(placement(pid)) for pid in ("placement-old-a", "placement-old-b")]
    since, unreadable = vetted(placement("placement-since")), vetted(placement("placement-other"))
    unreadable = unreadable.model_copy(update={"school": unreadable.school.model_copy(update={"school_id": "137999"})})
    for p in (*old, since, unreadable):
        register.project(db, p, None)
    with db.begin() as conn:  # as rows projected before migration 0018 hold them
        conn.execute(text("update placements set entry = null, returns = null, planned_end_date = null"))
    register.project(db, published(since, since.version + 1), None, date(2027, 6, 1))
    calendars = {"137000": calendar}

    assert register.fill_entries(db, calendars.get, batch=2) == 2  # one batch of both, then one skipped
    end = planned_end(old[0], calendar)
    assert end is not None and old[0].planned_end_date is None  # 30 days, counted on the calendar
    assert register.get(db, "placement-old-a").planned_end_date == end
    assert register.entries(db, ["placement-old-a", "placement-old-b", "placement-since"]) == {
        "placement-old-a": register_entry(old[0], end),
        "placement-old-b": register_entry(old[1], end),
        "placement-since": register_entry(published(since, since.version + 1), date(2027, 6, 1)),
    }
    assert register.get(db, "placement-old-b").returns == register.RETURNS.dump_python(returns(old[1], end), mode="json")
    assert register.get(db, "placement-other").entry is None  # tried again at the next start
    assert register.fill_entries(db, calendars.get) == 0
    with db.begin() as conn:  # as a row projected after migration 0018 and before 0019 holds it
        conn.execute(text("update placements set returns = null where placement_id = 'placement-old-a'"))
    assert register.fill_entries(db, calendars.get) == 1
    assert register.get(db, "placement-old-a").returns == register.RETURNS.dump_python(returns(old[0], end), mode="json")


def test_the_migration_fills_versions_and_escalations_from_the_json(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    p = published(escalated(vetted(placement())), 5)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
        conn.execute(text(
            "INSERT INTO placements (placement_id, school_id, state, kind, pupil_id, provider_name, start_date, seq, data, updated_at)"
            " VALUES (:id, '137000', :state, :kind, 'P-0001', :provider, :start, :seq, :data, :at)"
        ), dict(id=p.placement_id, state=p.state, kind=p.kind.value, provider=p.provider.name, start=p.start_date,
                seq=p.seq, data=p.model_dump_json(), at=datetime(2027, 1, 6, tzinfo=timezone.utc)))
        command.upgrade(cfg, "head")
    row = register.get(engine, p.placement_id)
    assert (row.version, row.pattern_days) == (5, "mon,wed")
    (e,) = register.escalations_page(engine).rows
    assert (e.escalation_id, e.owner_role, e.clause, e.due, e.resolved_at) == ("notice:2027-01-06", "headteacher", "§6.5", date(2027, 1, 6), None)
    assert not register.project(engine, published(vetted(placement()), 4), None)  # older than what the JSON held
    engine.dispose()


def test_a_database_error_on_a_pupils_row_names_them_neither_in_the_log_nor_in_its_message(db, caplog):
    """The register refuses the placement's row (a constraint it breaks):
    what is logged, even at DEBUG, and the error raised carry no pupil's name."""
    p = placement("placement-refused")
    p = p.model_copy(update={"pupil": p.pupil.model_copy(update={"name": "Harriet Oakenshield-Tremaine"})})
    with db.begin() as conn:
        if db.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE placements ADD CONSTRAINT ck_refused CHECK (placement_id <> 'placement-refused')"))
        else:
            conn.execute(text("CREATE TRIGGER refused BEFORE INSERT ON placements WHEN NEW.placement_id = 'placement-refused' "
                              "BEGIN SELECT RAISE(ABORT, 'placement refused'); END"))
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(Exception) as raised:
            register.project(db, p, None)
    finally:
        with db.begin() as conn:
            conn.execute(text("ALTER TABLE placements DROP CONSTRAINT ck_refused" if db.dialect.name == "postgresql"
                              else "DROP TRIGGER refused"))
    told = [str(e) for e in (raised.value, raised.value.__cause__, raised.value.__context__) if e is not None]
    # PostgreSQL's error detail lists the failing row, the name in it lower case (pupil_search).
    told.append("".join(traceback.format_exception(raised.value)))
    assert told and not [t for t in told if "harriet" in t.lower()], told
    assert "harriet" not in caplog.text.lower()
    assert register.get(db, "placement-refused") is None
