"""The policy clock on a real school calendar (URN 137000, 2026-27): each
timer's due day across weekends, Christmas, half-terms and INSET days."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from apflow import samples
from apflow.calendars import load_calendar
from apflow.settings import Settings
from domain.actions import RecordContact, RecordReview, RequestReview, RaiseConcern, Start
from domain.deadlines import deadlines, missed, next_check
from domain.guards import Context
from domain.lifecycle import Refused, decide, propose
from domain.models import ContactKind, ContactRecord, Placement, PlacementKind, Role
from domain.settings import PolicySettings

CAL = load_calendar("137000", Settings().calendars_dir)
SETTINGS = PolicySettings()
from domain.models import Actor  # noqa: E402

HEAD = Actor(user_id="head", role=Role.headteacher, school_id="137000")
START = date(2027, 1, 5)  # Tue, the first school day of spring 1 at this school


def ctx(today: date) -> Context:
    return Context(today=today, calendar=CAL, actor=HEAD, settings=SETTINGS)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, tzinfo=timezone.utc)


def proposed(on: date = date(2026, 12, 11), **changes) -> Placement:
    p = Placement(placement_id="placement-t", **samples.proposal(START, planned_end_date=date(2027, 3, 24), number_of_days=None, **changes).model_dump())
    return propose(p, ctx(on), at(on))


def running(notice_on: date = date(2026, 12, 10)) -> Placement:
    p = proposed(on=date(2026, 12, 1))
    for action, day in ((samples.vet(), date(2026, 12, 2)), (samples.consult_la(date(2026, 12, 2)), date(2026, 12, 2)),
                        (samples.notify(notice_on), notice_on), (Start(), START)):
        p = decide(p, action, ctx(day), at(day))
    return p


def due(p: Placement, kind: str, today: date) -> date:
    found = [d for d in deadlines(p, CAL, SETTINGS, today) if d.kind == kind]
    assert len(found) == 1, f"{kind}: {found}"
    return found[0].due


def test_vetting_is_due_ten_school_days_after_the_proposal_across_christmas():
    assert due(proposed(on=date(2026, 12, 11)), "vetting", date(2026, 12, 11)) == date(2027, 1, 8)


def test_the_notice_deadline_is_the_last_day_notice_can_be_given_before_a_start_after_christmas():
    # Two clear school days (Fri 18 Dec and the first day back) must lie between notice and start.
    assert due(proposed(), "notice", date(2026, 12, 11)) == date(2026, 12, 17)


def test_a_start_on_an_inset_day_is_refused():
    with pytest.raises(Refused) as refused:
        propose(Placement(placement_id="placement-t", **samples.proposal(date(2027, 4, 12)).model_dump()), ctx(date(2027, 3, 1)), at(date(2027, 3, 1)))
    assert "not a school day" in str(refused.value)


def test_timers_of_a_running_placement():
    p = running()
    today = date(2027, 1, 5)
    assert due(p, "initial_assessment", today) == date(2026, 12, 17)  # a week after referral (§12.1.3)
    assert due(p, "attendance_call", today) == date(2027, 1, 6)  # first pattern day: Wednesday
    assert due(p, "wellbeing", today) == date(2027, 1, 12)  # 7 days (§2.5)
    assert due(p, "visit", today) == date(2027, 2, 12)  # end of spring 1 (§2.5)
    assert due(p, "review", today) == date(2027, 2, 12)  # end of spring 1 (§9.6)
    assert due(p, "progress_report", today) == date(2027, 1, 19)
    assert due(p, "end_of_placement", today) == date(2027, 3, 10)  # 10 school days before 24 March
    assert due(p, "drift", today) == date(2027, 3, 24)


def test_a_missed_deadline_is_missed_the_day_after_and_once():
    p = running()
    assert "wellbeing" not in [d.kind for d in missed(p, CAL, SETTINGS, date(2027, 1, 12))]
    late = [d for d in missed(p, CAL, SETTINGS, date(2027, 1, 13)) if d.kind == "wellbeing"]
    assert [(d.owner, d.clause) for d in late] == [(Role.ap_lead, "§2.5, §3.4")]


def test_a_contact_moves_the_wellbeing_deadline():
    p = running()
    p = decide(p, RecordContact(contact=ContactRecord(kind=ContactKind.wellbeing, on=date(2027, 1, 11), notes="Called")), ctx(date(2027, 1, 11)), at(date(2027, 1, 11)))
    assert due(p, "wellbeing", date(2027, 1, 11)) == date(2027, 1, 18)


def test_half_termly_review_moves_to_the_next_half_term_once_held():
    p = running()
    p = decide(p, samples.open_review(date(2027, 2, 3), date(2027, 1, 27)), ctx(date(2027, 1, 27)), at(date(2027, 1, 27)))
    p = decide(p, RecordReview(review=samples.review(date(2027, 2, 3))), ctx(date(2027, 2, 3)), at(date(2027, 2, 3)))
    kinds = {d.kind: d.due for d in deadlines(p, CAL, SETTINGS, date(2027, 2, 22))}
    assert kinds["review"] == date(2027, 3, 26)  # spring 2 now: 26 March, Good Friday's eve of holiday


def test_a_missed_half_term_review_is_still_found_after_the_holiday():
    """Checked on the first day after half-term, the review missed in spring 1 is found."""
    late = {d.kind: d.due for d in missed(running(), CAL, SETTINGS, date(2027, 2, 22))}
    assert late["review"] == date(2027, 2, 12)
    assert late["visit"] == date(2027, 2, 12)


def test_a_requested_review_is_due_within_ten_school_days_across_half_term_and_inset():
    p = decide(running(), RequestReview(requested_by="parent", received_on=date(2027, 2, 1)), ctx(date(2027, 2, 1)), at(date(2027, 2, 1)))
    assert due(p, "requested_review", date(2027, 2, 1)) == date(2027, 2, 23)


def test_a_review_request_within_ten_weeks_of_the_last_review_is_refused_with_the_reason():
    p = running()
    p = decide(p, samples.open_review(date(2027, 1, 20), date(2027, 1, 13)), ctx(date(2027, 1, 13)), at(date(2027, 1, 13)))
    p = decide(p, RecordReview(review=samples.review(date(2027, 1, 20))), ctx(date(2027, 1, 20)), at(date(2027, 1, 20)))
    with pytest.raises(Refused) as refused:
        decide(p, RequestReview(requested_by="parent", received_on=date(2027, 3, 1)), ctx(date(2027, 3, 1)), at(date(2027, 3, 1)))
    assert "a review was held on 2027-01-20, within the last 10 weeks" in str(refused.value)
    # Ten weeks on, the request is met.
    decide(p, RequestReview(requested_by="parent", received_on=date(2027, 3, 31)), ctx(date(2027, 3, 31)), at(date(2027, 3, 31)))


def test_the_la_may_request_a_review_only_for_a_pupil_with_an_ehc_plan():
    with pytest.raises(Refused) as refused:
        decide(running(), RequestReview(requested_by="local_authority", received_on=date(2027, 2, 1)), ctx(date(2027, 2, 1)), at(date(2027, 2, 1)))
    assert "EHC plan" in str(refused.value)


def test_a_safeguarding_concern_is_missed_the_same_day_and_goes_to_the_dsl():
    p = decide(running(), RaiseConcern(summary="Pupil disclosed a threat at the provider"), ctx(date(2027, 1, 7)), at(date(2027, 1, 7)))
    late = [d for d in missed(p, CAL, SETTINGS, date(2027, 1, 7)) if d.kind == "safeguarding"]
    assert [(d.owner, d.clause, d.due) for d in late] == [(Role.dsl, "§9.7", date(2027, 1, 7))]
    assert next_check(p, CAL, SETTINGS, date(2027, 1, 7)) <= date(2027, 1, 7)


def test_without_term_dates_a_half_term_is_six_weeks():
    from domain.calendar import default_calendar

    cal = default_calendar("137000", START)
    late = {d.kind: d.due for d in missed(running(), cal, SETTINGS, date(2027, 2, 16))}
    assert late["review"] == date(2027, 2, 15)  # 42 days from 5 January, less one


def test_suspension_cover_shows_its_sixth_school_day_from_the_proposal_on():
    # Suspended from Mon 4 Jan 2027 (INSET days and bank holidays aside, on the school's calendar).
    first = date(2027, 1, 4)
    sixth = CAL.nth_school_day(first, 6)
    p = proposed(on=date(2026, 12, 11), kind=PlacementKind.suspension_cover, suspension_first_day=first,
                 pattern=samples.FULL_TIME)
    assert due(p, "sixth_school_day", date(2026, 12, 11)) == sixth
    assert [d for d in deadlines(p, CAL, SETTINGS, date(2026, 12, 11)) if d.kind == "sixth_school_day"][0].clause == "§13.2"


def test_a_suspension_cover_starting_after_the_sixth_school_day_is_refused_at_proposal_naming_it():
    first = date(2026, 12, 1)
    sixth = CAL.nth_school_day(first, 6)
    with pytest.raises(Refused) as refused:
        proposed(on=date(2026, 11, 20), kind=PlacementKind.suspension_cover, suspension_first_day=first,
                 pattern=samples.FULL_TIME)
    assert any(u.clause == "§13.2" and str(sixth) in u.message for u in refused.value.unmet)
