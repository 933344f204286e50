"""The register keeps every contact and step of a placement, which itself
keeps only what its decisions read (`domain.window`): read back, the
placement is whole again, as it would have been keeping everything."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from unittest import mock

from alembic import command
from alembic.config import Config
from sqlalchemy import func, insert, select

from apflow import samples
from apflow.calendars import load_calendar
from apflow.settings import Settings
from domain.actions import RecordContact, Start
from domain.guards import Context
from domain.lifecycle import decide, propose
from domain.models import Actor, ContactKind, ContactRecord, Placement, Role
from store import register
from store.db import MIGRATIONS
from store.tables import AuditEvent, ContactRow, PlacementRow

from tests.store.test_register import db  # noqa: F401  (SQLite and PostgreSQL)

CAL = load_calendar("137000", Settings().calendars_dir)
LEAD = Actor(user_id="lead", role=Role.ap_lead, school_id="137000")
HEAD = Actor(user_id="head", role=Role.headteacher, school_id="137000")
TRUST_DSL = Actor(user_id="trust-dsl", role=Role.trust_dsl)
START = date(2027, 1, 5)


def ctx(day: date, actor: Actor = LEAD) -> Context:
    return Context(today=day, calendar=CAL, actor=actor)


def at(day: date, n: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC) + timedelta(seconds=n, microseconds=n)


def running(pid: str) -> Placement:
    p = Placement(placement_id=pid, **samples.proposal(START, planned_end_date=date(2027, 7, 16), number_of_days=None).model_dump())
    p = propose(p, ctx(date(2026, 12, 1)), at(date(2026, 12, 1)))
    for action, day in ((samples.vet(), date(2026, 12, 2)), (samples.consult_la(date(2026, 12, 2)), date(2026, 12, 2)),
                        (samples.notify(date(2026, 12, 10)), date(2026, 12, 10)), (Start(), START)):
        p = decide(p, action, ctx(day, HEAD), at(day))
    return p


def contacts(p: Placement, n: int, project=None) -> Placement:
    """`n` contacts, one each school day or so (calls, a wellbeing contact each
    fifth, a visit each fortieth, some by the trust's DSL), each
    step projected as the workflow projects it."""
    day = START
    for i in range(n):
        while not CAL.is_school_day(day):
            day += timedelta(days=1)
        kind = ContactKind.visit if i % 40 == 39 else ContactKind.wellbeing if i % 5 == 4 else ContactKind.attendance_call
        action = RecordContact(contact=ContactRecord(kind=kind, on=day, notes=f"contact {i}", unannounced=i % 7 == 0))
        p = decide(p, action, ctx(day, TRUST_DSL if i % 3 == 0 else LEAD), at(day, i))
        if project:
            project(p)
        if i % 2:
            day += timedelta(days=1)
    return p


def whole(p: Placement) -> dict:
    return p.model_dump(mode="json", exclude={"trimmed_history", "version"})


def test_a_placement_with_300_contacts_is_read_back_whole(db):  # noqa: F811
    p = running("placement-300")
    register.project(db, p, None)
    kept = contacts(p, 300, project=lambda q: register.project(db, q, None))
    with mock.patch("domain.lifecycle.trim", lambda q: q):
        everything = contacts(p, 300)
    assert len(kept.contacts) < 10 and len(kept.history) < 30 and kept.seq == everything.seq == 305
    records = register.records(db, p.placement_id)
    assert len(records.contacts) == 300 and len(records.history) == 305
    shown = register.with_all_records(db, kept)
    assert whole(shown) == whole(everything) and shown.seq == everything.seq and shown.trimmed_history == 0


def test_a_projection_applied_again_stores_each_contact_and_step_once(db):  # noqa: F811
    def twice(q: Placement) -> None:
        register.project(db, q, None)
        register.project(db, q, None)

    p = contacts(running("placement-again"), 30, project=twice)
    later = contacts(p, 3, project=twice)
    register.project(db, p, None)  # a late retry of an earlier projection
    records = register.records(db, p.placement_id)
    assert [c.contact_id for c in records.contacts] == [f"contact-{seq}" for seq in range(6, 39)]
    assert [h.seq for h in records.history] == list(range(1, 39))
    with db.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ContactRow)) == 33
    assert later.seq == 38


def test_what_the_register_has_not_stored_yet_is_shown_from_the_placement(db):  # noqa: F811
    p = running("placement-behind")
    register.project(db, p, None)
    ahead = contacts(p, 2)  # recorded; their projection under way
    shown = register.with_all_records(db, ahead)
    assert shown.contacts == ahead.contacts and shown.history == ahead.history


def test_the_migration_fills_the_records_of_placements_already_registered(db):  # noqa: F811
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with mock.patch("domain.lifecycle.trim", lambda q: q):  # as placements were kept before: whole
        p = contacts(running("placement-old"), 60)
    stored = p.model_dump(mode="json", exclude={"trimmed_history"})
    for c in stored["contacts"]:
        del c["contact_id"]
    with db.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0009")
        conn.execute(insert(PlacementRow).values(
            placement_id=p.placement_id, school_id="137000", state=p.state, kind=p.kind.value, pupil_id=p.pupil.pupil_id,
            provider_name=p.provider.name, start_date=p.start_date, version=p.version, seq=p.seq, data=stored,
            updated_at=datetime.now(UTC)))
        conn.execute(AuditEvent.__table__.insert(), [  # the columns 0009 has: no actor's school
            dict(placement_id=p.placement_id, seq=h.seq, action=h.action, actor_id=h.actor.user_id, actor_role=h.actor.role.value,
                 from_state=h.from_state, to_state=h.to_state, at=h.at, note=h.note)
            for h in p.history[:-1]  # the last one lost: the migration adds it from the JSON
        ])
        command.upgrade(cfg, "head")
    old = Placement.model_validate(stored)  # as a running workflow loads it
    assert old.seq == p.seq
    assert whole(register.with_all_records(db, old.model_copy(update={"contacts": [], "history": []}))) == whole(p)
    # The workflow's next projection names the same contacts: none twice.
    register.project(db, old, None)
    assert len(register.records(db, p.placement_id).contacts) == 60
