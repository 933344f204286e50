"""A placement whose workflow task fails at every try, from a broken version
of the workflow deployed under its name: the server marks it, operations see
it listed with the failure, reset it to its last good point once a fixed
worker runs (it then goes on, no longer stuck), or terminate another with a
reason. Each is in the audit trail; each refused where it cannot help."""
from __future__ import annotations

import pytest
from temporalio import workflow
from temporalio.client import WorkflowExecutionStatus
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from apflow import samples
from apflow.settings import Settings
from domain.calendar import default_calendar
from domain.clock import uk_date
from operations import stuck
from operations.fixes import Fixer, Refused
from operations.stuck import Kind
from store import register
from tests.workflows.test_placement_workflow import LEAD as LEAD_ACTOR
from workflows.client import act, start_placement
from worker import build_worker

from .conftest import LEAD, OPS, QUICK, listed, now, until

NO_CACHE = Settings(worker_cache_size=0)  # every task replays the history: no worker keeps it sticky


@workflow.defn(name="PlacementWorkflow")
class BrokenPlacementWorkflow:
    """A bad release: the same workflow type, which fails every task it is given."""

    @workflow.run
    async def run(self, inp) -> None:
        raise RuntimeError("this release of the placement workflow is broken")


def broken_worker(client, task_queue):
    return Worker(client, task_queue=task_queue, workflows=[BrokenPlacementWorkflow],
                  workflow_runner=UnsandboxedWorkflowRunner(), max_cached_workflows=0)


async def _proposed(env, task_queue, engine):
    today = uk_date(now())
    calendar = default_calendar("137000", today)
    async with build_worker(env.client, task_queue, engine, settings=NO_CACHE):
        handle, _ = await start_placement(env.client, task_queue, samples.proposal(calendar.add_school_days(today, 15)),
                                          LEAD_ACTOR, calendar)
    return handle, calendar


async def test_a_failing_workflow_task_is_listed_then_reset_to_its_last_good_point(ops_env, engine, task_queue):
    env = ops_env
    handle, calendar = await _proposed(env, task_queue, engine)
    fixer = Fixer(env.client, engine)
    with pytest.raises(Refused, match="not failing"):
        await fixer.reset(handle.id, OPS, "nothing wrong yet")

    async with broken_worker(env.client, task_queue):
        await handle.signal("calendar_changed", calendar)  # a new task, which the broken release takes
        found = await listed(env.client, engine, handle.id, Kind.workflow_task_failing)
        [reason] = [r for r in found.reasons if r.kind is Kind.workflow_task_failing]
        assert "broken" in reason.last_error and reason.attempts >= 2 and reason.since is not None
        assert found.actions == ["reset", "terminate"]
        with pytest.raises(Refused) as refused:
            await fixer.reset(handle.id, LEAD, "not mine to do")
        assert refused.value.status == 403
        with pytest.raises(Refused) as refused:
            await fixer.reset(handle.id, OPS, "  ")
        assert refused.value.status == 422 and "reason" in str(refused.value)
        with pytest.raises(Refused, match="no activity is failing|workflow task is failing"):
            await fixer.retry(handle.id, OPS)

    async with build_worker(env.client, task_queue, engine, settings=NO_CACHE):  # the fixed release
        done = await fixer.reset(handle.id, OPS, "bad release rolled back")
        assert "new run" in done.message
        # The new run goes on from the last good point: it answers and leaves the list.
        await act(env.client, handle.id, LEAD_ACTOR, samples.vet())
        await until(lambda: _not_failing(env.client, engine, handle.id), what="off the stuck list")
        assert register.get(engine, handle.id).state == "vetted"

    [audit] = [e for e in register.audit_trail(engine, handle.id) if e.action == "ops_reset"]
    assert (audit.actor_id, audit.actor_role) == ("ops-1", "trust_operations")
    assert "bad release rolled back" in audit.note and "broken" in audit.note


async def test_a_stuck_workflow_is_terminated_with_a_reason(ops_env, engine, task_queue):
    env = ops_env
    handle, calendar = await _proposed(env, task_queue, engine)
    fixer = Fixer(env.client, engine)
    async with broken_worker(env.client, task_queue):
        await handle.signal("calendar_changed", calendar)
        await listed(env.client, engine, handle.id, Kind.workflow_task_failing)
        with pytest.raises(Refused) as refused:
            await fixer.terminate(handle.id, OPS, "")
        assert refused.value.status == 422
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING  # the refusal changed nothing
        await fixer.terminate(handle.id, OPS, "placement to be recorded by hand")
    assert (await handle.describe()).status == WorkflowExecutionStatus.TERMINATED
    with pytest.raises(Refused, match="not running") as refused:
        await fixer.terminate(handle.id, OPS, "again")
    assert refused.value.status == 409
    [audit] = [e for e in register.audit_trail(engine, handle.id) if e.action == "ops_terminate"]
    assert audit.actor_id == "ops-1" and "placement to be recorded by hand" in audit.note
    assert handle.id not in {s.placement_id for s in await stuck.find(env.client, engine, QUICK)}


async def _not_failing(client, engine, placement_id):
    found = {s.placement_id: s for s in await stuck.find(client, engine, QUICK)}
    return placement_id not in found or Kind.workflow_task_failing not in {r.kind for r in found[placement_id].reasons}


async def test_on_a_server_without_visibility_the_failures_are_read_from_the_history(time_env, engine, task_queue):
    """The time-skipping test server marks nothing and lists nothing: the
    running placements are described and their histories read instead."""
    env = time_env
    start = uk_date(await env.get_current_time())
    calendar = default_calendar("137000", start)
    async with build_worker(env.client, task_queue, engine, settings=NO_CACHE):
        handle, _ = await start_placement(env.client, task_queue, samples.proposal(calendar.add_school_days(start, 15)),
                                          LEAD_ACTOR, calendar, now=await env.get_current_time())
    at = await env.get_current_time()
    assert await stuck.find(env.client, engine, QUICK, now=at) == []
    async with broken_worker(env.client, task_queue):
        await handle.signal("calendar_changed", calendar)
        found = await listed(env.client, engine, handle.id, Kind.workflow_task_failing, now=at)
    assert [r.kind for r in found.reasons] == [Kind.workflow_task_failing], found.reasons
    [reason] = found.reasons
    assert "broken" in reason.last_error and reason.details["last_good_event_id"]
