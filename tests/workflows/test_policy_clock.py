"""The policy clock in the running workflow, on the time-skipping server:
each missed deadline escalates on the right day to the right role, once."""
from __future__ import annotations

from datetime import date, timedelta

from apflow import samples
from domain.actions import ResolveEscalation
from domain.calendar import HalfTerm, SchoolCalendar, england_bank_holidays
from domain.lifecycle import Refused
from domain.clock import uk_date, uk_instant
from domain.models import Role
from tests.workflows.test_placement_workflow import HEAD, LEAD, today
from worker import build_worker
from workflows.client import act, snapshot, start_placement


async def sleep_until(env, day: date, hour: int = 12) -> None:
    target = uk_instant(day) + timedelta(hours=hour)
    await env.sleep(target - await env.get_current_time())


def raised(snap) -> dict[str, tuple[date, Role]]:
    return {e.kind: (uk_date(e.raised_at), e.owner) for e in snap.placement.escalations}


def term_ahead(today: date) -> tuple[SchoolCalendar, date]:
    """A school calendar a few weeks ahead of the test server's clock (which
    starts at today's date): two half-terms of four weeks around a holiday
    week, an INSET day, England's bank holidays; and the first Monday. Term
    time runs until ten days before, so that notice can be given. A week
    later when a bank holiday falls on the Monday, the Tuesday the tests
    start on or the wellbeing contact due a week after it."""
    first = today + timedelta(days=35 - today.weekday())
    bank_holidays = england_bank_holidays(range(first.year - 1, first.year + 2))
    while {first, first + timedelta(days=1), first + timedelta(days=8)} & bank_holidays:
        first += timedelta(days=7)
    calendar = SchoolCalendar(
        school_id="137000",
        half_terms=(HalfTerm(start=today - timedelta(days=7), end=first - timedelta(days=10)),
                    HalfTerm(start=first, end=first + timedelta(days=25)),
                    HalfTerm(start=first + timedelta(days=35), end=first + timedelta(days=60))),
        closures=frozenset({first + timedelta(days=10)}),
        bank_holidays=bank_holidays,
    )
    return calendar, first


async def test_missed_deadlines_escalate_on_the_day_after_to_their_owner(time_env, engine, task_queue):
    """Each timer fires the day after its deadline (the days themselves are
    pinned on a real calendar in tests/domain/test_deadlines.py)."""
    env = time_env
    calendar, first = term_ahead(await today(env))
    start = first + timedelta(days=1)  # a Tuesday
    end = first + timedelta(days=58)  # a Wednesday in the second half-term
    async with build_worker(env.client, task_queue, engine):
        handle, _ = await start_placement(
            env.client, task_queue, samples.proposal(start, planned_end_date=end, number_of_days=None),
            LEAD, calendar, now=await env.get_current_time(),
        )
        d = await today(env)
        await act(env.client, handle.id, LEAD, samples.vet())
        await act(env.client, handle.id, LEAD, samples.consult_la(d))
        await act(env.client, handle.id, HEAD, samples.notify(d))

        await sleep_until(env, start + timedelta(days=9))
        snap = await snapshot(env.client, handle.id)
        assert snap.placement.state == "active"
        assert raised(snap) == {
            "initial_assessment": (d + timedelta(days=8), Role.ap_lead),  # a week after referral, then late
            "attendance_call": (start + timedelta(days=2), Role.ap_lead),  # Wednesday's call not made
            "wellbeing": (start + timedelta(days=8), Role.ap_lead),  # 7 days from the start
        }

        # Resolving one keeps it on record, closed with its note and actor.
        await act(env.client, handle.id, LEAD, ResolveEscalation(escalation_id=f"wellbeing:{start + timedelta(days=7)}", note="Spoke to the pupil"))

        second_half = first + timedelta(days=35)
        await sleep_until(env, second_half)  # first day after the half-term holiday
        snap = await snapshot(env.client, handle.id)
        got = raised(snap)
        assert got["progress_report"] == (start + timedelta(days=15), Role.ap_lead)
        first_half_end = first + timedelta(days=25)
        assert got["review"] == (first_half_end + timedelta(days=1), Role.headteacher)  # no review that half-term
        assert got["visit"] == (first_half_end + timedelta(days=1), Role.ap_lead)
        wellbeing = [e for e in snap.placement.escalations if e.kind == "wellbeing"]
        assert len(wellbeing) == 1 and not wellbeing[0].open and wellbeing[0].resolved_by.user_id == LEAD.user_id
        # one escalation per cause: nothing was raised twice
        ids = [e.escalation_id for e in snap.placement.escalations]
        assert len(ids) == len(set(ids))

        await sleep_until(env, end + timedelta(days=1))
        got = raised(await snapshot(env.client, handle.id))
        assert got["end_of_placement"] == (calendar.add_school_days(end, -10) + timedelta(days=1), Role.ap_lead)
        assert got["drift"] == (end + timedelta(days=1), Role.headteacher)


async def test_a_proposal_left_alone_escalates_vetting_then_notice(time_env, engine, task_queue):
    env = time_env
    calendar, first = term_ahead(await today(env))
    start = first + timedelta(days=1)
    async with build_worker(env.client, task_queue, engine):
        handle, _ = await start_placement(env.client, task_queue, samples.proposal(start), LEAD, calendar, now=await env.get_current_time())
        proposed_on = await today(env)
        await sleep_until(env, start)
        got = raised(await snapshot(env.client, handle.id))
        assert got["vetting"] == (calendar.add_school_days(proposed_on, 10) + timedelta(days=1), Role.ap_lead)
        # The last day notice could be given (two clear school days before the start) passed.
        assert got["notice"] == (calendar.latest_notice_day(start, 2) + timedelta(days=1), Role.headteacher)
        # the notice came too late: notifying now is refused, a new start date is needed
        await act(env.client, handle.id, LEAD, samples.vet())
        await act(env.client, handle.id, LEAD, samples.consult_la(await today(env)))
        try:
            await act(env.client, handle.id, HEAD, samples.notify(await today(env)))
        except Refused as e:
            assert [u.clause for u in e.unmet] == ["§6.5"]
        else:
            raise AssertionError("a late notice was accepted")


async def test_a_new_term_calendar_moves_the_deadlines(time_env, engine, task_queue):
    """The trust closes the last two days of the half-term: the notice
    deadline, two clear school days before the start, moves back by two."""
    env = time_env
    calendar, first = term_ahead(await today(env))
    start = first + timedelta(days=1)  # Tuesday after the holiday week
    async with build_worker(env.client, task_queue, engine):
        handle, _ = await start_placement(env.client, task_queue, samples.proposal(start), LEAD, calendar, now=await env.get_current_time())
        before = [calendar.add_school_days(first, -n) for n in (1, 2, 3)]  # the half-term's last school days
        notice = [d.due for d in (await snapshot(env.client, handle.id)).deadlines if d.kind == "notice"]
        # The half-term's last school day and the first day back are the clear days: notice by the day before.
        assert notice == [before[0] - timedelta(days=1)]
        closed = calendar.model_copy(update={"closures": calendar.closures | set(before[:2])})
        await handle.signal("calendar_changed", closed)
        notice = [d.due for d in (await snapshot(env.client, handle.id)).deadlines if d.kind == "notice"]
        assert notice == [before[2] - timedelta(days=1)]
