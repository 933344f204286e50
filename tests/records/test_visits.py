"""The progress visit record (policy appendix): judged whole, it meets the
half-termly visit deadline as a visit contact does (§2.5, §8.2.6); the
placement keeps its record only while it is the contact just recorded, the
register keeps every one (SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from apflow.samples import visit, visit_record
from domain.actions import RecordContact
from domain.deadlines import deadlines
from domain.lifecycle import Refused, decide
from domain.models import ContactKind, ContactRecord, VISIT_QUESTIONS
from domain.settings import PolicySettings
from store import register
from tests.store.test_register import db  # noqa: F401  (SQLite and PostgreSQL)
from tests.store.test_register_records import CAL, HEAD, START, at, ctx, running


DAY = date(2027, 1, 13)  # a school day in the placement's first half-term


def visit_due(p, today: date) -> list:
    return [d for d in deadlines(p, CAL, PolicySettings(), today) if d.kind == "visit"]


def test_a_no_needs_general_comments_and_every_objective_its_progress():
    p = running("placement-visit-1")
    with pytest.raises(Refused) as e:
        decide(p, visit(DAY, no=("site_felt_safe", "copy_received"), objectives_progress=["Attending"]), ctx(DAY), at(DAY))
    unmet = {(u.clause, u.message) for u in e.value.unmet}
    assert unmet == {
        ("appendix: progress visit record",
         "general comments are needed when an answer is no; answered no: Did the site feel safe?; Copy received"),
        ("§8.2.6; appendix: progress visit record",
         "progress against each of the placement's 2 objectives is needed, in their order: 1 given"),
    }
    after = decide(p, visit(DAY, no=("site_felt_safe",), general_comments="Gate left open at drop-off"), ctx(DAY), at(DAY))
    assert after.contacts[-1].visit.answered_no() == ["Did the site feel safe?"]


def test_a_visit_is_judged_on_its_day_as_any_contact():
    p = running("placement-visit-2")
    with pytest.raises(Refused) as e:
        decide(p, visit(DAY + timedelta(days=1)), ctx(DAY), at(DAY))
    assert [u.message for u in e.value.unmet] == ["a contact cannot be recorded before it happens"]
    with pytest.raises(Refused) as e:
        decide(p, visit(START - timedelta(days=1)), ctx(DAY), at(DAY))
    assert [u.clause for u in e.value.unmet] == ["§2.5"]


def test_a_visit_record_belongs_to_a_visit_on_its_own_day():
    for kind, on in ((ContactKind.wellbeing, DAY), (ContactKind.visit, DAY + timedelta(days=1))):
        with pytest.raises(ValidationError, match="a progress visit record belongs to a visit on its own day"):
            ContactRecord(kind=kind, on=on, notes="x", visit=visit_record(DAY))
    with pytest.raises(ValidationError):  # every question answered, yes or no
        visit_record(DAY, checks={name: True for name in list(VISIT_QUESTIONS)[1:]})


def test_the_visit_recorded_meets_the_half_termly_visit_and_its_record_is_dropped_by_the_next_step():
    p = running("placement-visit-3")
    assert visit_due(p, DAY)
    p = decide(p, visit(DAY), ctx(DAY), at(DAY))
    assert visit_due(p, DAY) == []
    assert p.contacts[-1].visit is not None and p.contacts[-1].notes == "Planned progress visit by Sam Okafor (Assistant head, AP lead) at 10:30"
    nxt = DAY + timedelta(days=1)
    p = decide(p, RecordContact(contact=ContactRecord(kind=ContactKind.wellbeing, on=nxt, notes="Phoned home")), ctx(nxt, HEAD), at(nxt))
    (kept,) = [c for c in p.contacts if c.kind is ContactKind.visit]
    assert kept.on == DAY and kept.visit is None  # its day is what the deadline reads
    assert visit_due(p, nxt) == []


def test_the_register_keeps_every_visit_record_whole(db):  # noqa: F811
    p = running("placement-visit-4")
    register.project(db, p, None)
    days = [DAY, DAY + timedelta(days=1), DAY + timedelta(days=2)]
    for i, day in enumerate(days):
        p = decide(p, visit(day, general_comments=f"visit {i}", no=("copy_received",)), ctx(day), at(day, i))
        register.project(db, p, None)
    p = decide(p, RecordContact(contact=ContactRecord(kind=ContactKind.wellbeing, on=days[-1], notes="Phoned home")),
               ctx(days[-1]), at(days[-1], 9))
    register.project(db, p, None)
    assert all(c.visit is None for c in p.contacts)  # the workflow's copy: days only
    shown = register.with_all_records(db, p)
    visits = [c for c in shown.contacts if c.kind is ContactKind.visit]
    assert [c.visit.general_comments for c in visits] == ["visit 0", "visit 1", "visit 2"]
    assert visits[0].visit == visit_record(days[0], general_comments="visit 0", no=("copy_received",))
    # Projected again (a retried projection), nothing is stored twice.
    register.project(db, p, None)
    assert len(register.records(db, p.placement_id).contacts) == 4
