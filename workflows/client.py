"""Client stubs: how the API (and the demo) start and drive placement workflows."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError

from domain.actions import ActionRequest
from domain.calendar import SchoolCalendar
from domain.clock import uk_date
from domain.guards import Context, Unmet
from domain.lifecycle import Refused, propose
from domain.models import Actor, Model, Placement, Proposal
from domain.settings import PolicySettings

from .placement import REFUSED, PlacementInput, PlacementWorkflow, Snapshot
from .search import PLACEMENT_KIND, PLACEMENT_STATE, SCHOOL_ID


def new_placement_id() -> str:
    return f"placement-{uuid.uuid4()}"


async def start_placement(
    client: Client,
    task_queue: str,
    proposal: Proposal,
    actor: Actor,
    calendar: SchoolCalendar,
    settings: PolicySettings = PolicySettings(),
    placement_id: str | None = None,
    now: datetime | None = None,
    **options,
) -> tuple[WorkflowHandle, Placement]:
    """Checks the proposal (raising `Refused`), starts its workflow and
    returns it with the placement as proposed."""
    now = now or datetime.now(timezone.utc)
    ctx = Context(today=uk_date(now), calendar=calendar, actor=actor, settings=settings)
    placement = propose(Placement(placement_id=placement_id or new_placement_id(), **proposal.model_dump()), ctx, now)
    handle = await client.start_workflow(
        PlacementWorkflow.run,
        PlacementInput(placement=placement, calendar=calendar, settings=settings, **options),
        id=placement.placement_id,
        task_queue=task_queue,
        search_attributes=TypedSearchAttributes([
            SearchAttributePair(PLACEMENT_STATE, placement.state),
            SearchAttributePair(SCHOOL_ID, placement.school.school_id),
            SearchAttributePair(PLACEMENT_KIND, placement.kind.value),
        ]),
    )
    return handle, placement


async def act(client: Client, placement_id: str, actor: Actor, action: Model) -> Snapshot:
    """Sends one staff action; raises `Refused` with the policy's reasons."""
    handle = client.get_workflow_handle_for(PlacementWorkflow.run, placement_id)
    try:
        return await handle.execute_update(PlacementWorkflow.act, ActionRequest(actor=actor, action=action))
    except WorkflowUpdateFailedError as e:
        cause = e.cause
        if isinstance(cause, ApplicationError) and cause.type == REFUSED:
            unmet = [Unmet(**d) for d in (cause.details or [])]
            raise Refused(action.action, unmet) from None  # type: ignore[attr-defined]
        raise


async def snapshot(client: Client, placement_id: str) -> Snapshot:
    handle = client.get_workflow_handle_for(PlacementWorkflow.run, placement_id)
    return await handle.query(PlacementWorkflow.snapshot)
