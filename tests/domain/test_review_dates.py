"""A review is recorded as held truthfully (§6.8, §9.6): not before its
meeting was booked, not before the placement started, not in the future."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from apflow import samples
from domain.actions import RecordReview, Start, Terminate
from domain.lifecycle import decide
from domain.models import ReviewOutcome

from placement_builders import HEAD, INVITE_DAY, MEETING_DAY, START, allowed, ctx, in_state, proposed, refusal

BOOKED = datetime(2026, 11, 9, 16, 0, tzinfo=timezone.utc)  # INVITE_DAY, in England too


def booked():
    """Under review, the meeting booked on 9 November for 16 November."""
    return decide(in_state("active"), samples.open_review(MEETING_DAY, INVITE_DAY), ctx(INVITE_DAY), BOOKED)


def terminated_at_review(on: date, held_on: date) -> Terminate:
    return samples.terminate(on).model_copy(update={"review": samples.review(held_on, ReviewOutcome.terminate)})


def messages(unmet) -> list[str]:
    assert all(u.clause == "§6.8, §9.6" for u in unmet), unmet
    return [u.message for u in unmet]


@pytest.mark.parametrize("action", [
    samples.record_review(date(2026, 11, 6)),
    samples.reintegrate(date(2026, 11, 6)),
    terminated_at_review(MEETING_DAY, date(2026, 11, 6)),
])
def test_a_review_cannot_be_held_before_its_meeting_was_booked(action):
    unmet = refusal(booked(), action, MEETING_DAY)

    assert messages(unmet) == ["the review meeting was booked on 2026-11-09: a review held on 2026-11-06 is before it"]


def test_a_review_cannot_be_held_before_the_placement_started():
    late_start = decide(in_state("notified"), Start(), ctx(date(2026, 10, 14)), datetime(2026, 10, 14, 9, tzinfo=timezone.utc))
    p = decide(late_start, samples.open_review(date(2026, 10, 20), date(2026, 10, 13)), ctx(date(2026, 10, 13)),
               datetime(2026, 10, 12, 23, 30, tzinfo=timezone.utc))  # 00:30 on 13 October in England

    unmet = refusal(p, samples.record_review(date(2026, 10, 13)), date(2026, 10, 20))

    assert messages(unmet) == ["the placement started on 2026-10-14: a review held on 2026-10-13 is before it"]
    assert allowed(p, samples.record_review(date(2026, 10, 14)), date(2026, 10, 20)).state == "active"


def test_a_review_of_a_placement_that_never_started_cannot_have_been_held():
    action = terminated_at_review(START, START)

    unmet = refusal(proposed(), action, START)

    assert messages(unmet) == ["the placement has not started: no review of it can have been held on 2026-10-12"]


def test_a_review_cannot_be_recorded_as_held_in_the_future():
    unmet = refusal(booked(), samples.record_review(date(2026, 11, 17)), MEETING_DAY)

    assert messages(unmet) == ["a review held on 2026-11-17 is in the future (today is 2026-11-16): it cannot be recorded before it is held"]


def test_a_review_held_on_the_booking_day_or_after_is_recorded():
    assert allowed(booked(), samples.record_review(INVITE_DAY), MEETING_DAY).state == "active"
    assert allowed(booked(), RecordReview(review=samples.review(MEETING_DAY)), MEETING_DAY, HEAD).state == "active"
