"""Client stubs: how the API (and the demo) start and drive placement workflows."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from cachetools import TTLCache
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.actions import ActionRequest
from domain.calendar import SchoolCalendar
from domain.clock import uk_date
from domain.guards import Context, Unmet
from domain.lifecycle import Refused, possible_actions, propose
from domain.models import STORED, Actor, Model, Placement, Proposal
from domain.settings import PolicySettings

from .placement import REFUSED, PlacementInput, PlacementWorkflow, Snapshot
from .search import PLACEMENT_KIND, PLACEMENT_STATE, SCHOOL_ID


# Names ids derived from an Idempotency-Key (uuid5): the same request, retried,
# reaches the same workflow or update; the id carries nothing of who sent it.
_IDEMPOTENT = uuid.UUID("5d0c2f4e-7a31-4c8e-9b1a-2f6d3e8a9c40")


def new_placement_id() -> str:
    return f"placement-{uuid.uuid4()}"


def proposal_placement_id(actor: Actor, idempotency_key: str) -> str:
    """The placement a proposal with this key makes: a retried proposal
    finds the placement the first one made instead of making a second."""
    return f"placement-{uuid.uuid5(_IDEMPOTENT, chr(10).join(('propose', actor.user_id, idempotency_key)))}"


def action_update_id(placement_id: str, actor: Actor, idempotency_key: str) -> str:
    """The Temporal update id of an action sent with this key: Temporal runs
    an update id once per workflow run, so a retried action returns the
    first answer and records nothing twice."""
    return f"act-{uuid.uuid5(_IDEMPOTENT, chr(10).join(('act', placement_id, actor.user_id, idempotency_key)))}"


async def start_placement(
    client: Client,
    task_queue: str,
    proposal: Proposal,
    actor: Actor,
    calendar: SchoolCalendar,
    settings: PolicySettings = PolicySettings(),
    placement_id: str | None = None,
    now: datetime | None = None,
    also_unmet: Sequence[Unmet] = (),
    **options,
) -> tuple[WorkflowHandle, Snapshot]:
    """Checks the proposal (raising `Refused` with its unmet conditions and
    `also_unmet`, what the caller found besides), then starts its workflow
    and waits on its `registered` update, in one update-with-start call: the
    answer comes once the register holds the placement. A workflow already
    running under `placement_id` (a retried proposal) is not started again:
    its own snapshot is the answer."""
    now = now or datetime.now(timezone.utc)
    ctx = Context(today=uk_date(now), calendar=calendar, actor=actor, settings=settings)
    candidate = Placement(placement_id=placement_id or new_placement_id(), **proposal.model_dump())
    try:
        placement = propose(candidate, ctx, now)
    except Refused as e:
        raise Refused(e.action, [*e.unmet, *also_unmet]) from None
    if also_unmet:
        raise Refused("propose", list(also_unmet))
    start = WithStartWorkflowOperation(
        PlacementWorkflow.run,
        PlacementInput(placement=placement, calendar=calendar, settings=settings, **options),
        id=placement.placement_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        # A placement id names one placement for good, even after it ended.
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=TypedSearchAttributes([
            SearchAttributePair(PLACEMENT_STATE, placement.state),
            SearchAttributePair(SCHOOL_ID, placement.school.school_id),
            SearchAttributePair(PLACEMENT_KIND, placement.kind.value),
        ]),
    )
    handle = client.get_workflow_handle_for(PlacementWorkflow.run, placement.placement_id)
    try:
        snap = await client.execute_update_with_start_workflow(PlacementWorkflow.registered, start_workflow_operation=start)
    except WorkflowAlreadyStartedError:
        # Retried after the placement's workflow has ended: its final snapshot.
        return handle, await handle.query(PlacementWorkflow.snapshot)
    finally:  # refused, failed or cancelled at the API's wait alike
        _seen(start)
    return await start.workflow_handle(), snap


def _seen(start: WithStartWorkflowOperation) -> None:
    """Takes a failed start's error from the operation's own future (none
    after a start that succeeded): the SDK sets it there as well as raising
    it, nothing else awaits it, and asyncio logs every such future as an
    error when it is collected."""
    future = getattr(start, "_workflow_handle", None)  # the SDK's; workflow_handle() would wait on it
    if isinstance(future, asyncio.Future) and future.done() and not future.cancelled():
        future.exception()


async def act(client: Client, placement_id: str, actor: Actor, action: Model, idempotency_key: str | None = None) -> Snapshot:
    """Sends one staff action; raises `Refused` with the policy's reasons.
    With an idempotency key, the same call again returns the first answer."""
    handle = client.get_workflow_handle_for(PlacementWorkflow.run, placement_id)
    update_id = action_update_id(placement_id, actor, idempotency_key) if idempotency_key else None
    try:
        return await handle.execute_update(PlacementWorkflow.act, ActionRequest(actor=actor, action=action), id=update_id)
    except WorkflowUpdateFailedError as e:
        cause = e.cause
        if isinstance(cause, ApplicationError) and cause.type == REFUSED:
            unmet = [Unmet(**d) for d in (cause.details or [])]
            raise Refused(action.action, unmet) from None  # type: ignore[attr-defined]
        raise


SNAPSHOT_WAIT = timedelta(seconds=4)  # a workflow with no worker polling never answers
# A workflow that did not answer is asked again with a shorter wait for a
# while, so a stuck placement's page is not the whole wait slow at every
# view; one that answers again (its worker back) answers well within it.
SILENT_WAIT = timedelta(seconds=1)
_silent: TTLCache[str, bool] = TTLCache(maxsize=10_000, ttl=600)
# Past the query's own wait, for the whole call: with the server down the SDK
# retries the connection for longer (about 12 s) before it gives up. It also
# retries, now and then, a query the server cut off at its deadline, so a
# workflow that does not answer can outlast the bound too: then Temporal
# itself is asked, within PROBE_S, which of the two it was.
SNAPSHOT_BOUND_S = SNAPSHOT_WAIT.total_seconds() + 2
PROBE_S = 1.0


class WorkflowSilent(TimeoutError):
    """Temporal answers but the placement's workflow did not, within its wait."""


async def snapshot(client: Client, placement_id: str) -> Snapshot:
    """The workflow's own snapshot; `WorkflowSilent` when it does not answer
    while Temporal does, `TimeoutError` when Temporal is out of reach, each
    within SNAPSHOT_BOUND_S (and PROBE_S); a query past its wait is an
    `RPCError` (DEADLINE_EXCEEDED or CANCELLED)."""
    handle = client.get_workflow_handle_for(PlacementWorkflow.run, placement_id)
    wait = SILENT_WAIT if placement_id in _silent else SNAPSHOT_WAIT
    try:
        async with asyncio.timeout(min(SNAPSHOT_BOUND_S, wait.total_seconds() + 2)):
            snap = await handle.query(PlacementWorkflow.snapshot, rpc_timeout=wait)
    except TimeoutError:
        if await _serving(client):
            _silent[placement_id] = True
            raise WorkflowSilent(placement_id) from None
        raise
    except RPCError as e:
        if e.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
            _silent[placement_id] = True
        raise
    _silent.pop(placement_id, None)
    return snap


async def _serving(client: Client) -> bool:
    try:
        async with asyncio.timeout(PROBE_S):
            return await client.service_client.check_health(retry=False, timeout=timedelta(seconds=PROBE_S))
    except (TimeoutError, RPCError):
        return False


def register_copy(data: dict, stale: bool) -> Snapshot:
    """A snapshot from the register's copy of a placement (its row's JSON), for
    when its workflow does not answer (`stale`: it may be behind) or has gone
    (its history past retention)."""
    p = Placement.model_validate(data, context=STORED)
    return Snapshot(placement=p, possible_actions=[] if p.final else possible_actions(p.state), deadlines=[],
                    start_blocked=[], stale=stale)


async def tell(client: Client, placement_ids: list[str], signal: str, arg) -> int:
    """Signals each placement's workflow; one that has ended (its register row
    not yet final) is skipped. How many were told."""
    told = 0
    for placement_id in placement_ids:
        try:
            await client.get_workflow_handle(placement_id).signal(signal, arg)
            told += 1
        except RPCError as e:
            if e.status is not RPCStatusCode.NOT_FOUND:
                raise
    return told
