"""Six weeks of a live placement, day by day as the service runs them: the
provider sends its registers, the sweep runs at the morning and afternoon
checks, and staff make their calls, visit, review and hear from the provider
as the policy asks, but for one week's wellbeing contact. What is left at the
end is exactly one chase to the provider for a missing session and, that
still missing at the next school day's morning check, one escalation of it to
the AP lead; one escalation of an unexplained absence to the DSL the same
day; one for the missed wellbeing contact; and the flag on a part-time
pattern of more days a week than the national limit."""
from __future__ import annotations

from datetime import time, timedelta

from apflow.calendars import load_calendar
from apflow.settings import Settings
from domain.clock import uk_date
from apflow import samples
from domain.actions import RecordContact, RecordInitialAssessment, RecordProgressReport, RecordReview
from domain.models import ContactKind, ContactRecord, Pattern, ProviderReport, Role, Weekday
from workflows.client import act, snapshot
from store import attendance
from worker import build_worker

from .conftest import (
    HEAD,
    LEAD,
    SCHOOL,
    attendance_escalations,
    env_today,
    live_placement,
    record,
    sleep_until,
    sweep,
)

MON_TO_THU = Pattern(full_time=False, days=[Weekday.mon, Weekday.tue, Weekday.wed, Weekday.thu], arrival=time(9, 0), departure=time(15, 0))


async def test_a_half_term_leaves_exactly_the_expected_escalations(time_env, engine, codes_synced, task_queue, calendars):
    env = time_env
    term = calendars(await env_today(env))
    cal = load_calendar(SCHOOL, Settings().calendars_dir)
    last = term.second + timedelta(days=4)  # through the holiday week into the next half-term
    weekdays = [term.first + timedelta(days=n) for n in range((last - term.first).days + 1)]
    weekdays = [d for d in weekdays if d.weekday() < 5]
    owed = [d for d in weekdays if d.weekday() < 4 and cal.is_school_day(d)]
    assert term.inset not in owed and term.holiday[0] not in owed and len(owed) >= 18

    missing_pm = owed[2]  # the provider never sends this afternoon's mark
    unexplained_am = owed[14]  # "N": the provider does not know why the pupil is not there
    corrected_am = owed[6]  # "N" at first, but the school hears from the parent before the check
    school_first_am = owed[16]  # the school's own B, confirmed by the provider before the check
    wellbeing_missed = term.first + timedelta(days=14)  # Monday of week 3: no call that week
    visit_day = term.first + timedelta(days=9)
    review_meeting = term.first + timedelta(days=9)
    reports = {term.first + timedelta(days=n) for n in (7, 21, 35)}

    async with build_worker(env.client, task_queue, engine):
        pid = await live_placement(env, task_queue, term.first, pattern=MON_TO_THU,
                                   planned_end_date=term.second_end, number_of_days=None)

        async def staff(action, who=LEAD):
            with env.auto_time_skipping_disabled():
                await act(env.client, pid, who, action)

        def report(day):
            return ProviderReport(received_on=day, summary="On track against the objectives")

        await staff(RecordInitialAssessment(assessment=report(await env_today(env))))
        sweeps = 0
        for day in weekdays:
            await sleep_until(env, day, time(8, 30))
            if day.weekday() == 0 and day != wellbeing_missed:
                await staff(RecordContact(contact=ContactRecord(kind=ContactKind.wellbeing, on=day, notes="Spoke with the pupil")))
            if day in owed:
                await staff(RecordContact(contact=ContactRecord(kind=ContactKind.attendance_call, on=day, notes="Called the provider")))
            if day == term.first:
                await staff(samples.open_review(review_meeting, day))
            if day == visit_day:
                await staff(RecordContact(contact=ContactRecord(kind=ContactKind.visit, on=day, notes="Saw the pupil in lessons")))
            if day == review_meeting:
                await staff(RecordReview(review=samples.review(day)))
            if day in reports:
                await staff(RecordProgressReport(report=report(day)))
            if day in owed:
                await sleep_until(env, day, time(8, 55))
                am = "N" if day in (unexplained_am, corrected_am) else "B"
                if day == school_first_am:
                    record(engine, [(pid, day, "am", am)], today=day, source="school", actor=HEAD)
                else:
                    record(engine, [(pid, day, "am", am)], today=day)
                await sleep_until(env, day, time(10, 0))
                if day == corrected_am:
                    record(engine, [(pid, day, "am", "I", None, "parent rang: ill")], today=day, source="school", actor=HEAD)
                if day == school_first_am:
                    record(engine, [(pid, day, "am", "B")], today=day)
            await sleep_until(env, day, time(10, 30))
            await sweep(env, task_queue, ["am"])
            if day in owed and day != missing_pm:
                await sleep_until(env, day, time(13, 20))
                record(engine, [(pid, day, "pm", "B")], today=day)
            await sleep_until(env, day, time(14, 30))
            await sweep(env, task_queue, ["am", "pm"])
            sweeps += 2

        got = await attendance_escalations(env, pid, 2)
        assert sorted((e.escalation_id, e.owner) for e in got) == sorted([
            (f"attendance_missing:{missing_pm}:pm", Role.ap_lead),
            (f"unexplained_absence:{unexplained_am}:am", Role.dsl),
        ])
        by_kind = {e.kind: e for e in got}
        # The absence the same day; the missing mark after its chase, at the next school day's am check.
        assert uk_date(by_kind["unexplained_absence"].raised_at) == unexplained_am
        next_day = owed[owed.index(missing_pm) + 1]
        assert (by_kind["attendance_missing"].due, uk_date(by_kind["attendance_missing"].raised_at)) == (missing_pm, next_day)
        snap = await snapshot(env.client, pid)
        assert sorted(e.escalation_id for e in snap.placement.escalations) == sorted([
            f"attendance_missing:{missing_pm}:pm",
            f"unexplained_absence:{unexplained_am}:am",
            f"wellbeing:{wellbeing_missed}",
            f"part_time_limit:{term.first}",  # four days a week, past the limit of two
        ])
        wellbeing = [e for e in snap.placement.escalations if e.kind == "wellbeing"][0]
        assert (wellbeing.owner, uk_date(wellbeing.raised_at)) == (Role.ap_lead, wellbeing_missed + timedelta(days=1))
    assert [(a.day, a.session, a.problem) for a in attendance.alerts_for(engine, pid)] == sorted([
        (missing_pm, "pm", "missing"), (unexplained_am, "am", "unexplained_absence")])
    assert [(c.day, c.session, c.check_day, c.check) for c in attendance.chases_for(engine, pid)] == [
        (missing_pm, "pm", missing_pm, "pm")]
    assert len(attendance.marks_for(engine, pid)) == 2 * len(owed) - 1
    assert sweeps == 2 * len(weekdays)
