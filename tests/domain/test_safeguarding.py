"""A safeguarding concern (§9.7): a running placement goes under review at
once and the DSL is escalated to; it cannot continue until the DSL records the
concern as addressed, else it is terminated; before the start, the concern
blocks the start until it is addressed."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from apflow import samples
from domain.actions import RaiseConcern, RecordReview, ResolveEscalation, Start
from domain.deadlines import deadlines, missed
from domain.escalations import Escalation
from domain.models import Placement, ReviewOutcome, Role
from domain.settings import PolicySettings

from placement_builders import (
    AP_LEAD, AT, CALENDAR, DSL, HEAD, INVITE_DAY, MEETING_DAY, START, allowed, in_state, only_unmet, refusal,
)

CONCERN = RaiseConcern(summary="Pupil reports an adult at the provider made threats")
CONCERN_DAY = date(2026, 11, 10)  # Tue, the placement running


def clock(p: Placement, today: date) -> Placement:
    """The placement after the workflow's clock has raised what is missed today."""
    raised = [
        Escalation(escalation_id=d.escalation_id, kind=d.kind, clause=d.clause, owner=d.owner,
                   message=d.description, raised_at=datetime.combine(today, AT.time()), due=d.due)
        for d in missed(p, CALENDAR, PolicySettings(), today)
    ]
    return p.model_copy(update={"escalations": [*p.escalations, *raised]})


def concern_raised(state: str, today: date = CONCERN_DAY) -> Placement:
    return clock(allowed(in_state(state), CONCERN, today, AP_LEAD), today)


def addressed(p: Placement, today: date = CONCERN_DAY) -> Placement:
    return allowed(p, ResolveEscalation(escalation_id="safeguarding:concern-1", note="Met the provider's DSL; adult removed"), today, DSL)


@pytest.mark.parametrize("state", ["active", "reintegrating", "under_review"])
def test_a_concern_puts_a_running_placement_under_review_at_once_and_escalates_to_the_dsl(state):
    p = concern_raised(state)

    assert p.state == "under_review"
    sg = [e for e in p.escalations if e.kind == "safeguarding"]
    assert [(e.escalation_id, e.owner, e.clause, e.due) for e in sg] == [("safeguarding:concern-1", Role.dsl, "§9.7", CONCERN_DAY)]


@pytest.mark.parametrize("action", [
    RecordReview(review=samples.review(CONCERN_DAY)),
    RecordReview(review=samples.review(CONCERN_DAY, ReviewOutcome.extend, new_end_date=date(2027, 2, 12), extension_reason="Settled")),
    samples.reintegrate(CONCERN_DAY),
])
def test_the_review_cannot_continue_the_placement_while_the_concern_is_open(action):
    unmet = only_unmet(concern_raised("active"), action, CONCERN_DAY)

    assert unmet.clause == "§9.7"
    assert "concern-1 raised on 2026-11-10 is open" in unmet.message and "designated safeguarding lead" in unmet.message


def test_an_open_concern_still_lets_the_placement_be_terminated():
    after = allowed(concern_raised("active"), samples.terminate(CONCERN_DAY, safeguarding=True), CONCERN_DAY, DSL)

    assert after.state == "terminated" and after.termination.safeguarding


@pytest.mark.parametrize("who", [AP_LEAD, HEAD])
def test_only_the_dsl_records_the_concern_as_addressed(who):
    unmet = only_unmet(concern_raised("active"), ResolveEscalation(escalation_id="safeguarding:concern-1", note="Sorted"), CONCERN_DAY, who)

    assert unmet.clause == "§9.7" and "designated safeguarding lead" in unmet.message


def test_once_addressed_a_review_with_no_meeting_booked_continues_the_placement():
    p = addressed(concern_raised("active"))
    assert not p.review_meetings[1:]  # under review for the concern: no meeting of its own

    after = allowed(p, RecordReview(review=samples.review(CONCERN_DAY)), CONCERN_DAY, DSL)

    assert after.state == "active"
    sg = [e for e in after.escalations if e.kind == "safeguarding"][0]
    assert (sg.resolved_by, sg.resolution) == (DSL, "Met the provider's DSL; adult removed")


def test_once_addressed_the_review_may_decide_on_reintegration():
    assert allowed(addressed(concern_raised("reintegrating")), samples.reintegrate(CONCERN_DAY), CONCERN_DAY).state == "reintegrating"


def test_the_concern_needs_a_review_of_its_own_not_an_earlier_one():
    p = allowed(in_state("under_review"), samples.record_review(MEETING_DAY), MEETING_DAY)  # a first review, held
    p = addressed(concern_raised_on(p, date(2026, 11, 17)), date(2026, 11, 17))

    unmet = only_unmet(p, RecordReview(), date(2026, 11, 17))

    assert unmet.clause == "§6.8" and "recorded in writing" in unmet.message


def concern_raised_on(p: Placement, today: date) -> Placement:
    return clock(allowed(p, CONCERN, today, AP_LEAD), today)


def test_under_review_for_a_concern_an_earlier_meeting_is_not_chased():
    p = allowed(in_state("under_review"), samples.record_review(MEETING_DAY), MEETING_DAY)
    p = concern_raised_on(p, date(2026, 11, 20))

    assert "review_meeting" not in [d.kind for d in deadlines(p, CALENDAR, PolicySettings(), date(2026, 11, 20))]
    assert "review_meeting" not in [e.kind for e in p.escalations]


def test_before_the_start_a_concern_blocks_the_start_until_addressed():
    p = concern_raised("notified", date(2026, 10, 9))
    assert p.state == "notified"

    unmet = refusal(p, Start(), START, HEAD)
    assert [u.clause for u in unmet] == ["§9.7"]
    assert "concern-1 raised on 2026-10-09 is open: the placement cannot start" in unmet[0].message

    assert allowed(addressed(p, date(2026, 10, 9)), Start(), START).state == "active"


def test_the_clock_raises_one_escalation_per_concern_and_none_once_addressed():
    p = concern_raised("active")
    assert missed(p, CALENDAR, PolicySettings(), CONCERN_DAY) == []
    p = addressed(p)
    assert "safeguarding" not in [d.kind for d in deadlines(p, CALENDAR, PolicySettings(), INVITE_DAY)]
