"""The placement workflow on the time-skipping test server."""
from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from temporalio.api.enums.v1 import EventType

from apflow import samples
from domain.actions import Start
from domain.calendar import default_calendar
from domain.clock import uk_date
from domain.lifecycle import Refused
from domain.models import Actor, Role
from store import register
from workflows.client import act, snapshot, start_placement
from workflows.placement import Snapshot
from worker import build_worker

HEAD = Actor(user_id="head-137000", role=Role.headteacher, school_id="137000")
LEAD = Actor(user_id="aplead-137000", role=Role.ap_lead, school_id="137000")


async def today(env) -> date:
    return uk_date(await env.get_current_time())


async def started(env, task_queue, start: date, **changes):
    cal = default_calendar("137000", start)
    handle, _ = await start_placement(
        env.client, task_queue, samples.proposal(start, **changes), LEAD, cal, now=await env.get_current_time()
    )
    return handle


async def to_notified(env, handle, start_gap_days: int = 21) -> Snapshot:
    d = await today(env)
    await act(env.client, handle.id, LEAD, samples.vet())
    await act(env.client, handle.id, LEAD, samples.consult_la(d))
    return await act(env.client, handle.id, HEAD, samples.notify(d))


async def history_length(handle) -> int:
    """The history's length once the workflow's last task has completed."""
    length = -1
    while True:
        now = len((await handle.fetch_history()).events)
        if now == length:
            return now
        length = now
        await asyncio.sleep(0.3)


def school_day_after(day: date, days: int) -> date:
    """The first school day at least `days` after `day` in the calendar these
    placements start with: a date booked `days` ahead may fall in a holiday."""
    d = day + timedelta(days=days)
    cal = default_calendar("137000", d)
    while not cal.is_school_day(d):
        d += timedelta(days=1)
    return d


async def next_school_day(env, after_days: int) -> date:
    return school_day_after(await today(env), after_days)


async def test_full_lifecycle_from_proposed_to_closed(time_env, engine, task_queue):
    env = time_env
    start = await next_school_day(env, 21)
    async with build_worker(env.client, task_queue, engine):
        handle = await started(env, task_queue, start)
        snap = await to_notified(env, handle)
        assert snap.placement.state == "notified"
        assert "start" in [d.kind for d in snap.deadlines]

        # The start date arrives: the workflow starts the placement by itself.
        await env.sleep(timedelta(days=(start - await today(env)).days + 1))
        snap = await snapshot(env.client, handle.id)
        assert snap.placement.state == "active"
        assert snap.placement.history[-1].actor.role is Role.system

        d = await today(env)
        meeting = school_day_after(d, 7)
        await act(env.client, handle.id, LEAD, samples.open_review(meeting, d))
        await env.sleep(timedelta(days=(meeting - d).days))
        d = await today(env)
        await act(env.client, handle.id, LEAD, samples.record_review(d))
        meeting = school_day_after(d, 7)
        await act(env.client, handle.id, LEAD, samples.open_review(meeting, d))
        await env.sleep(timedelta(days=(meeting - d).days))
        d = await today(env)
        await act(env.client, handle.id, LEAD, samples.reintegrate(d))
        for part in samples.end_evaluation(d):  # what `close` reads
            await act(env.client, handle.id, LEAD, part)
        snap = await act(env.client, handle.id, HEAD, samples.close(d))
        assert snap.placement.state == "closed"

        result = await handle.result()
        assert result.placement.state == "closed"

    steps = [(h.action, h.to_state) for h in result.placement.history]
    assert steps == [
        ("propose", "proposed"), ("vet", "vetted"), ("consult_la", "la_consulted"), ("notify", "notified"),
        ("start", "active"), ("open_review", "under_review"), ("record_review", "active"),
        ("open_review", "under_review"), ("reintegrate", "reintegrating"),
        *[("record_evaluation", "reintegrating")] * 4, ("close", "closed"),
    ]
    row = register.get(engine, handle.id)
    assert row.state == "closed"
    trail = register.audit_trail(engine, handle.id)
    assert [(e.action, e.actor_id) for e in trail][:2] == [("propose", LEAD.user_id), ("vet", LEAD.user_id)]
    assert len(trail) == len(steps)


async def test_terminated_on_a_safeguarding_concern(time_env, engine, task_queue):
    env = time_env
    start = await next_school_day(env, 21)
    async with build_worker(env.client, task_queue, engine):
        handle = await started(env, task_queue, start)
        await to_notified(env, handle)
        dsl = Actor(user_id="dsl-137000", role=Role.dsl, school_id="137000")
        snap = await act(env.client, handle.id, dsl, samples.terminate(await today(env), safeguarding=True))
        assert snap.placement.state == "terminated"
        assert snap.placement.termination.safeguarding
        assert (await handle.result()).placement.state == "terminated"
    assert register.get(engine, handle.id).state == "terminated"


async def test_a_concern_before_the_start_blocks_the_automatic_start_until_the_dsl_addresses_it(time_env, engine, task_queue):
    from domain.actions import RaiseConcern, ResolveEscalation

    env = time_env
    start = await next_school_day(env, 21)
    dsl = Actor(user_id="dsl-137000", role=Role.dsl, school_id="137000")
    async with build_worker(env.client, task_queue, engine):
        handle = await started(env, task_queue, start)
        await to_notified(env, handle)
        await act(env.client, handle.id, LEAD, RaiseConcern(summary="Parent reports an adult at the provider"))
        await env.sleep(timedelta(days=(start - await today(env)).days + 1))

        snap = await snapshot(env.client, handle.id)
        assert snap.placement.state == "notified"
        assert [b["clause"] for b in snap.start_blocked] == ["§9.7"] and "concern-1" in snap.start_blocked[0]["message"]
        assert [(e.escalation_id, e.owner) for e in snap.placement.escalations if e.kind == "safeguarding"] == [("safeguarding:concern-1", Role.dsl)]

        await act(env.client, handle.id, dsl, ResolveEscalation(escalation_id="safeguarding:concern-1", note="Adult removed from the pupil's group"))
        # Once addressed, the placement starts by itself: a blocked start is tried after every change.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while (snap := await snapshot(env.client, handle.id)).placement.state != "active":
            assert loop.time() < deadline, snap.start_blocked
            await asyncio.sleep(0.1)
        assert snap.start_blocked == [] and snap.placement.history[-1].actor.role is Role.system


async def test_refused_action_leaves_history_unchanged(dev_env, engine, task_queue):
    """On the real server a rejected update leaves no event at all (the
    time-skipping server records a workflow task for it, so this runs on the dev server)."""
    env = dev_env
    async with build_worker(env.client, task_queue, engine):
        handle = await started(env, task_queue, await next_school_day(env, 21))
        await act(env.client, handle.id, LEAD, samples.vet())
        before = await history_length(handle)
        snap_before = await snapshot(env.client, handle.id)

        with pytest.raises(Refused) as refused:
            await act(env.client, handle.id, LEAD, samples.consult_la(await today(env), ehcp=False).model_copy(update={"la_contact": None}))
        assert any("§8.1" in u.clause for u in refused.value.unmet)
        with pytest.raises(Refused) as refused:
            await act(env.client, handle.id, LEAD, samples.close(await today(env)))
        assert "not possible while the placement is vetted" in refused.value.unmet[0].message

        assert await history_length(handle) == before
        assert (await snapshot(env.client, handle.id)).placement == snap_before.placement


async def test_a_start_too_soon_for_notice_is_refused_at_proposal_naming_the_earliest(time_env, engine, task_queue):
    env = time_env
    start = await next_school_day(env, 1)  # tomorrow at the soonest: too late for two clear school days' notice
    async with build_worker(env.client, task_queue, engine):
        with pytest.raises(Refused) as refused:
            await started(env, task_queue, start)
    (unmet,) = refused.value.unmet
    earliest = default_calendar("137000", start).earliest_start(await today(env), 2)
    assert unmet.clause == "§6.5" and f"{earliest} at the earliest" in unmet.message


async def test_automatic_start_waits_for_dual_registration(time_env, engine, task_queue):
    """At a registered-school provider the start needs dual registration; the
    workflow records it from day one itself, and a manual start works too."""
    env = time_env
    start = await next_school_day(env, 14)
    async with build_worker(env.client, task_queue, engine):
        handle = await started(env, task_queue, start, provider=samples.registered_provider())
        await to_notified(env, handle)
        await env.sleep(timedelta(days=(start - await today(env)).days + 1))
        snap = await snapshot(env.client, handle.id)
        assert snap.placement.state == "active"
        assert snap.placement.dual_registration_from == start


async def test_start_before_start_date_is_refused(time_env, engine, task_queue):
    env = time_env
    async with build_worker(env.client, task_queue, engine):
        handle = await started(env, task_queue, await next_school_day(env, 21))
        await to_notified(env, handle)
        with pytest.raises(Refused) as refused:
            await act(env.client, handle.id, LEAD, Start())
        assert "has not been reached" in refused.value.unmet[0].message


async def test_long_placement_continues_as_new_with_its_state(time_env, engine, task_queue):
    env = time_env
    start = await next_school_day(env, 21)
    async with build_worker(env.client, task_queue, engine):
        handle, _ = await start_placement(
            env.client, task_queue, samples.proposal(start), LEAD, default_calendar("137000", start),
            now=await env.get_current_time(), max_history_events=12,
        )
        await to_notified(env, handle)
        await env.sleep(timedelta(days=(start - await today(env)).days + 1))
        first_run = await env.client.get_workflow_handle(handle.id, run_id=handle.result_run_id).fetch_history()
        assert first_run.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        snap = await snapshot(env.client, handle.id)
        assert snap.placement.state == "active"
        assert [h.action for h in snap.placement.history] == ["propose", "vet", "consult_la", "notify", "start"]


async def test_search_attributes_carry_no_personal_data(time_env, engine, task_queue):
    env = time_env
    async with build_worker(env.client, task_queue, engine):
        handle = await started(env, task_queue, await next_school_day(env, 21))
        await act(env.client, handle.id, LEAD, samples.vet())
        desc = await handle.describe()
        values = {k.name: v for k, v in ((p.key, p.value) for p in desc.typed_search_attributes)}
        assert values["PlacementState"] == "vetted"
        assert values["SchoolId"] == "137000"
        text = repr(desc.typed_search_attributes) + handle.id
        for personal in ("Alex", "Example", "2012", "P-0001"):
            assert personal not in text
