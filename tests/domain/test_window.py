"""A placement keeps what its decisions read, not every contact and step
(`domain.window`): a long run of steps decides, and falls due, exactly as it
would keeping everything, and its size stays bounded."""
from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta, timezone
from unittest import mock

import pytest

from apflow import samples
from apflow.calendars import load_calendar
from apflow.settings import Settings
from domain import window
from domain.actions import RaiseConcern, RecordContact, RequestReview, ResolveEscalation, Start
from domain.calendar import default_calendar
from domain.deadlines import deadlines, missed, next_check
from domain.guards import Context
from domain.lifecycle import Refused, check, decide, propose
from domain.models import Actor, ContactKind, ContactRecord, Escalation, Placement, Role
from domain.settings import PolicySettings

CAL = load_calendar("137000", Settings().calendars_dir)
# The same school with no term dates known: other half-terms (blocks of weeks
# from the start), as after an edit of the school's calendar.
OTHER_CAL = default_calendar("137000", date(2027, 1, 1))
SETTINGS = PolicySettings()
HEAD = Actor(user_id="head", role=Role.headteacher, school_id="137000")
DSL = Actor(user_id="dsl", role=Role.dsl, school_id="137000")
START = date(2027, 1, 5)
END = date(2027, 7, 16)


def ctx(today: date, actor: Actor = HEAD) -> Context:
    return Context(today=today, calendar=CAL, actor=actor, settings=SETTINGS)


def at(day: date, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, 10, minute, tzinfo=timezone.utc)


def running() -> Placement:
    p = Placement(placement_id="placement-w", **samples.proposal(START, planned_end_date=END, number_of_days=None).model_dump())
    p = propose(p, ctx(date(2026, 12, 1)), at(date(2026, 12, 1)))
    for action, day in ((samples.vet(), date(2026, 12, 2)), (samples.consult_la(date(2026, 12, 2)), date(2026, 12, 2)),
                        (samples.notify(date(2026, 12, 10)), date(2026, 12, 10)), (Start(), START)):
        p = decide(p, action, ctx(day), at(day))
    return p


def contact(kind: ContactKind, on: date) -> RecordContact:
    return RecordContact(contact=ContactRecord(kind=kind, on=on, notes=f"{kind.value} on {on}"))


def steps_of_a_day(rng: random.Random, day: date, p: Placement) -> list[tuple[object, Actor]]:
    """What staff might do on a school day: the call (some days missed, some
    recorded late for an earlier day), a wellbeing contact about weekly,
    now and then a visit (twice on one day too), a review, a concern, a
    parent's request, and escalations resolved."""
    out: list[tuple[object, Actor]] = []
    if rng.random() < 0.9:
        out.append((contact(ContactKind.attendance_call, day), HEAD))
    if rng.random() < 0.05:
        out.append((contact(ContactKind.attendance_call, day - timedelta(days=rng.randint(1, 9))), HEAD))
    if rng.random() < 0.2:
        out.append((contact(ContactKind.wellbeing, day - timedelta(days=rng.choice([0, 0, 0, 1, 3, 12]))), HEAD))
    if rng.random() < 0.04:
        on = day - timedelta(days=rng.choice([0, 0, 2, 20]))
        out += [(contact(ContactKind.visit, on), HEAD)] * rng.choice([1, 1, 2])
    if rng.random() < 0.03:
        out.append((samples.open_review(day + timedelta(days=7), day), HEAD))
    if p.state == "under_review" and rng.random() < 0.3:
        meeting = p.review_meetings[-1].meeting_on if p.review_meetings else day
        out.append((samples.record_review(min(meeting, day)), HEAD))
    if rng.random() < 0.01:
        out.append((RaiseConcern(summary="Bruising seen on arrival"), HEAD))
    if rng.random() < 0.02:
        out.append((RequestReview(requested_by="parent", received_on=day), HEAD))
    open_ones = [e.escalation_id for e in p.escalations if e.open]
    if open_ones and rng.random() < 0.3:
        out.append((ResolveEscalation(escalation_id=rng.choice(open_ones), note="Done"), DSL))
    return out


def on_the_clock(p: Placement, today: date) -> Placement:
    """The escalations the workflow raises for what is missed by `today`."""
    raised = [Escalation(escalation_id=d.escalation_id, kind=d.kind, clause=d.clause, owner=d.owner,
                         message=d.description, raised_at=at(today), due=d.due)
              for d in missed(p, CAL, SETTINGS, today)]
    return p.model_copy(update={"escalations": [*p.escalations, *raised]}) if raised else p


def step(p: Placement, action, actor: Actor, day: date, minute: int):
    try:
        return decide(p, action, ctx(day, actor), at(day, minute)), None
    except Refused as e:
        return p, [str(u) for u in e.unmet]


def without_records(p: Placement) -> dict:
    return p.model_dump(mode="json", exclude={"contacts", "history", "trimmed_history"})


@pytest.mark.parametrize("seed", [1, 2])
def test_a_long_run_falls_due_and_decides_as_if_everything_were_kept(seed):
    rng = random.Random(seed)
    trimmed = running()
    with mock.patch("domain.lifecycle.trim", lambda p: p):
        whole = running()
    day, steps = START, 0
    while day <= END + timedelta(days=30) and not trimmed.final:
        for today in (day, day + timedelta(days=3), day + timedelta(days=60)):
            for cal in (CAL, OTHER_CAL):
                assert deadlines(trimmed, cal, SETTINGS, today) == deadlines(whole, cal, SETTINGS, today), (day, today)
                assert missed(trimmed, cal, SETTINGS, today) == missed(whole, cal, SETTINGS, today)
                assert next_check(trimmed, cal, SETTINGS, today) == next_check(whole, cal, SETTINGS, today)
        if CAL.is_school_day(day):
            for minute, (action, actor) in enumerate(steps_of_a_day(rng, day, whole)):
                # The validator's judgement too (the candidate, before anything is dropped).
                assert check(trimmed, action, ctx(day, actor))[1] == check(whole, action, ctx(day, actor))[1]
                trimmed, refused = step(trimmed, action, actor, day, minute)
                with mock.patch("domain.lifecycle.trim", lambda p: p):
                    whole, refused_whole = step(whole, action, actor, day, minute)
                assert refused == refused_whole, (day, action)
                steps += refused is None
        trimmed, whole = on_the_clock(trimmed, day), on_the_clock(whole, day)
        assert trimmed.seq == whole.seq == len(whole.history)
        assert without_records(trimmed) == without_records(whole)
        day += timedelta(days=1)
    assert steps > 120 and len(whole.contacts) > 100
    assert len(trimmed.history) < len(whole.history) and len(trimmed.contacts) < 20
    # What is kept is what was recorded, as recorded, in the order it was.
    assert [c for c in whole.contacts if c in trimmed.contacts] == trimmed.contacts
    assert [h for h in whole.history if h in trimmed.history] == trimmed.history


def a_year_of_contacts(p: Placement) -> Placement:
    """Daily attendance calls and weekly wellbeing contacts, every school day from the start to the end."""
    day = START
    while day <= END:
        if CAL.is_school_day(day):
            p = decide(p, contact(ContactKind.attendance_call, day), ctx(day), at(day))
            if day.weekday() == 0:
                p = decide(p, contact(ContactKind.wellbeing, day), ctx(day), at(day, 1))
        day += timedelta(days=1)
    return p


def size(p: Placement) -> int:
    return len(json.dumps(p.model_dump(mode="json")))


def test_a_year_of_contacts_leaves_the_placement_the_size_it_was_after_a_month():
    p = running()
    year = a_year_of_contacts(p)
    with mock.patch("domain.lifecycle.trim", lambda p: p):
        whole = a_year_of_contacts(p)
    assert year.seq == whole.seq > 100 and len(whole.contacts) > 100
    assert len(year.history) <= window.HISTORY_KEPT + 5 and len(year.contacts) <= 3
    assert size(year) < 30_000 < size(whole)
    assert deadlines(year, CAL, SETTINGS, END) == deadlines(whole, CAL, SETTINGS, END)


def test_a_contact_is_named_by_the_step_that_recorded_it():
    p = decide(running(), contact(ContactKind.wellbeing, START), ctx(START), at(START))
    assert p.contacts[-1].contact_id == f"contact-{p.seq}"


def test_a_placement_stored_before_trimming_loads_with_the_same_seq_and_names_its_contacts():
    p = decide(running(), contact(ContactKind.wellbeing, START), ctx(START), at(START))
    p = decide(p, contact(ContactKind.visit, START), ctx(START), at(START, 1))
    stored = p.model_dump(mode="json", exclude={"trimmed_history"})
    for c in stored["contacts"]:
        del c["contact_id"]
    old = Placement.model_validate(stored)
    assert old.trimmed_history == 0 and old.seq == len(stored["history"]) == p.seq
    assert [c.contact_id for c in old.contacts] == [c.contact_id for c in p.contacts] == [f"contact-{p.seq - 1}", f"contact-{p.seq}"]


def test_the_steps_the_decisions_read_are_kept_however_long_the_history():
    p = running()
    for n in range(3 * window.HISTORY_KEPT):
        p = decide(p, contact(ContactKind.attendance_call, START), ctx(START), at(START, n % 60))
    assert [h.action for h in p.history[:4]] == ["propose", "notify", "start", "record_contact"]
    assert len(p.history) == window.HISTORY_KEPT + 3 and p.seq == 5 + 3 * window.HISTORY_KEPT
    assert p.history[-1].seq == p.seq
