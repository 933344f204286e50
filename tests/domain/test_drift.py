"""Drift and the proposed national limits (RULES, Drift): a placement past
its planned end, full time for longer than the limit, or part time on more
days a week than the limit, is flagged until a review extends it with a
reason; that extension resolves the flag, naming the review."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from apflow import samples
from domain.actions import RecordReview
from domain.deadlines import deadlines, missed
from domain.escalations import Escalation
from domain.models import Pattern, Placement, ReviewOutcome, Weekday
from domain.settings import PolicySettings

from placement_builders import AT, CALENDAR, HEAD, START, allowed, in_state

SETTINGS = PolicySettings()
PLANNED_END = date(2026, 12, 18)
THREE_DAYS = Pattern(full_time=False, days=[Weekday.mon, Weekday.tue, Weekday.wed], arrival=time(9), departure=time(15))


def clock(p: Placement, today: date, settings: PolicySettings = SETTINGS) -> Placement:
    """The placement after the workflow's clock has raised what is missed today."""
    raised = [
        Escalation(escalation_id=d.escalation_id, kind=d.kind, clause=d.clause, owner=d.owner,
                   message=d.description, raised_at=datetime.combine(today, AT.time()), due=d.due)
        for d in missed(p, CALENDAR, settings, today)
    ]
    return p.model_copy(update={"escalations": [*p.escalations, *raised]})


def flags(p: Placement, kind: str) -> list[Escalation]:
    return [e for e in p.escalations if e.kind == kind]


def extended(p: Placement, held_on: date, new_end: date, reason: str = "Good progress; needs another half-term") -> Placement:
    p = allowed(p, samples.open_review(held_on, held_on - timedelta(days=7)), held_on - timedelta(days=7))
    return allowed(p, RecordReview(review=samples.review(held_on, ReviewOutcome.extend, new_end_date=new_end, extension_reason=reason)), held_on, HEAD)


def test_an_extension_at_review_resolves_the_drift_flag_naming_the_review():
    p = clock(in_state("active", planned_end_date=PLANNED_END), date(2026, 12, 21))
    assert [e.escalation_id for e in flags(p, "drift")] == ["drift:2026-12-18"]

    after = extended(p, date(2027, 1, 11), date(2027, 2, 12))

    drift = flags(after, "drift")[0]
    assert drift.resolved_by == HEAD and drift.resolved_at is not None
    assert drift.resolution == "extended at the review held on 2027-01-11 to 2027-02-12: Good progress; needs another half-term"
    assert not [e for e in after.escalations if e.open and e.kind == "drift"]


def test_a_review_that_only_continues_leaves_the_drift_flag_open():
    p = clock(in_state("active", planned_end_date=PLANNED_END), date(2026, 12, 21))
    p = allowed(p, samples.open_review(date(2027, 1, 11), date(2027, 1, 4)), date(2027, 1, 4))

    after = allowed(p, samples.record_review(date(2027, 1, 11)), date(2027, 1, 11))

    assert flags(after, "drift")[0].open


FULL_TIME_END = START + timedelta(weeks=13)


def full_time(end: date = FULL_TIME_END) -> Placement:
    return in_state("active", pattern=samples.FULL_TIME, planned_end_date=end)


def test_full_time_past_the_national_limit_is_flagged_at_the_limit():
    limit = START + timedelta(weeks=SETTINGS.max_full_time_weeks)
    found = [d for d in deadlines(full_time(), CALENDAR, SETTINGS, START) if d.kind == "full_time_limit"]
    assert [(d.due, d.owner.value) for d in found] == [(limit, "headteacher")]
    assert "more than 12 weeks" in found[0].description and "DfE guidance 2025" in found[0].clause

    assert flags(clock(full_time(), limit), "full_time_limit") == []
    assert [e.escalation_id for e in flags(clock(full_time(), limit + timedelta(days=1)), "full_time_limit")] == [f"full_time_limit:{limit}"]


def test_full_time_within_the_limit_is_not_flagged():
    within = full_time(START + timedelta(weeks=SETTINGS.max_full_time_weeks))
    assert "full_time_limit" not in [d.kind for d in deadlines(within, CALENDAR, SETTINGS, START)]


def test_the_limit_is_the_trusts_setting():
    eight = PolicySettings(max_full_time_weeks=8)
    found = [d.due for d in deadlines(full_time(), CALENDAR, eight, START) if d.kind == "full_time_limit"]
    assert found == [START + timedelta(weeks=8)]


def test_an_extension_with_a_reason_resolves_the_full_time_flag_and_it_is_not_raised_again():
    day = START + timedelta(weeks=12, days=1)
    p = clock(full_time(), day)
    assert flags(p, "full_time_limit")[0].open

    after = clock(extended(p, date(2027, 1, 18), date(2027, 2, 12)), date(2027, 1, 19))

    [flag] = flags(after, "full_time_limit")
    assert not flag.open and "held on 2027-01-18 to 2027-02-12" in flag.resolution
    assert "full_time_limit" not in [d.kind for d in deadlines(after, CALENDAR, SETTINGS, date(2027, 1, 19))]


def test_part_time_on_more_days_than_the_limit_is_flagged_from_the_start():
    p = in_state("active", pattern=THREE_DAYS)
    assert flags(clock(p, START), "part_time_limit") == []

    [flag] = flags(clock(p, START + timedelta(days=1)), "part_time_limit")
    assert (flag.escalation_id, flag.owner.value) == (f"part_time_limit:{START}", "headteacher")
    assert "3 days a week, more than 2" in flag.message


def test_part_time_within_the_limit_is_not_flagged():
    p = in_state("active")  # Mondays and Wednesdays
    assert "part_time_limit" not in [d.kind for d in deadlines(p, CALENDAR, SETTINGS, START)]
    assert "part_time_limit" not in [
        d.kind for d in deadlines(in_state("active", pattern=THREE_DAYS), CALENDAR, PolicySettings(max_part_time_days_per_week=3), START)
    ]


def test_an_extension_with_a_reason_resolves_the_part_time_flag():
    p = clock(in_state("active", pattern=THREE_DAYS), START + timedelta(days=1))

    after = extended(p, date(2026, 11, 16), date(2027, 2, 12), "Three days keep the pupil in education; reviewed in February")

    [flag] = flags(after, "part_time_limit")
    assert not flag.open and flag.resolution.endswith("Three days keep the pupil in education; reviewed in February")
    assert "part_time_limit" not in [d.kind for d in deadlines(after, CALENDAR, SETTINGS, date(2026, 11, 17))]
