"""The policy clock in the running workflow, on the time-skipping server:
each missed deadline escalates on the right day to the right role, once."""
from __future__ import annotations

from datetime import date, timedelta

from apflow import samples
from apflow.calendars import load_calendar
from domain.actions import ResolveEscalation
from domain.clock import uk_date, uk_instant
from domain.models import Role
from tests.workflows.test_placement_workflow import HEAD, LEAD, today
from worker import build_worker
from workflows.client import act, snapshot, start_placement

START = date(2027, 1, 5)  # Tue, first school day of spring 1 at URN 137000


async def sleep_until(env, day: date, hour: int = 12) -> None:
    target = uk_instant(day) + timedelta(hours=hour)
    await env.sleep(target - await env.get_current_time())


def raised(snap) -> dict[str, tuple[date, Role]]:
    return {e.kind: (uk_date(e.raised_at), e.owner) for e in snap.placement.escalations}


async def test_missed_deadlines_escalate_on_the_day_after_to_their_owner(time_env, engine, task_queue):
    env = time_env
    assert await today(env) < date(2026, 12, 10), "the test server starts at today's date"
    calendar = load_calendar("137000")
    async with build_worker(env.client, task_queue, engine):
        handle, _ = await start_placement(
            env.client, task_queue, samples.proposal(START, planned_end_date=date(2027, 3, 24), number_of_days=None),
            LEAD, calendar, now=await env.get_current_time(),
        )
        d = await today(env)
        await act(env.client, handle.id, LEAD, samples.vet())
        await act(env.client, handle.id, LEAD, samples.consult_la(d))
        await act(env.client, handle.id, HEAD, samples.notify(d))

        await sleep_until(env, date(2027, 1, 14))
        snap = await snapshot(env.client, handle.id)
        assert snap.placement.state == "active"
        assert raised(snap) == {
            "initial_assessment": (d + timedelta(days=8), Role.ap_lead),  # a week after referral, then late
            "attendance_call": (date(2027, 1, 7), Role.ap_lead),  # Wednesday's call not made
            "wellbeing": (date(2027, 1, 13), Role.ap_lead),  # 7 days from the start
        }

        # Resolving one keeps it on record, closed with its note and actor.
        await act(env.client, handle.id, LEAD, ResolveEscalation(escalation_id="wellbeing:2027-01-12", note="Spoke to the pupil"))

        await sleep_until(env, date(2027, 2, 22))  # first day after the February half-term
        snap = await snapshot(env.client, handle.id)
        got = raised(snap)
        assert got["progress_report"] == (date(2027, 1, 20), Role.ap_lead)
        assert got["review"] == (date(2027, 2, 13), Role.headteacher)  # spring 1 ended 12 Feb with no review
        assert got["visit"] == (date(2027, 2, 13), Role.ap_lead)
        wellbeing = [e for e in snap.placement.escalations if e.kind == "wellbeing"]
        assert len(wellbeing) == 1 and not wellbeing[0].open and wellbeing[0].resolved_by.user_id == LEAD.user_id
        # one escalation per cause: nothing was raised twice
        ids = [e.escalation_id for e in snap.placement.escalations]
        assert len(ids) == len(set(ids))

        await sleep_until(env, date(2027, 3, 25))
        got = raised(await snapshot(env.client, handle.id))
        assert got["end_of_placement"] == (date(2027, 3, 11), Role.ap_lead)
        assert got["drift"] == (date(2027, 3, 25), Role.headteacher)


async def test_a_new_term_calendar_moves_the_deadlines(time_env, engine, task_queue):
    """The trust adds a closure day: the notice deadline two school days before the start moves."""
    env = time_env
    calendar = load_calendar("137000")
    async with build_worker(env.client, task_queue, engine):
        handle, _ = await start_placement(env.client, task_queue, samples.proposal(START), LEAD, calendar, now=await env.get_current_time())
        notice = [d.due for d in (await snapshot(env.client, handle.id)).deadlines if d.kind == "notice"]
        assert notice == [date(2026, 12, 18)]
        closed = calendar.model_copy(update={"closures": calendar.closures | {date(2026, 12, 18), date(2026, 12, 17)}})
        await handle.signal("calendar_changed", closed)
        notice = [d.due for d in (await snapshot(env.client, handle.id)).deadlines if d.kind == "notice"]
        assert notice == [date(2026, 12, 16)]
