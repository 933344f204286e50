"""What operations may do to a stuck placement's workflow: retry its
retrying activities now, reset it to its last good point, or terminate it.
Each is for the trust's operations staff alone, is refused (changing
nothing) where it cannot help, saying why, and is recorded in the
placement's audit trail with who did it and why.

These act on the workflow through Temporal, not through its `act` update:
a stuck workflow may not answer one."""
from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import ResetActivityRequest, ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from domain.access import Principal
from domain.lifecycle import FINAL_STATES
from domain.models import Actor, Role
from store import register
from store import stuck as audit

from .stuck import task_trouble

MAX_REASON = 500
# Temporal's answers that leave the outcome unknown: raised on, for the caller's 503.
UNKNOWN = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED,
           RPCStatusCode.RESOURCE_EXHAUSTED}


class Refused(Exception):
    """An action that cannot be taken, in words; `status` as HTTP would say it."""

    def __init__(self, message: str, status: int = 409):
        super().__init__(message)
        self.status = status


def operator(principal: Principal) -> Actor:
    """The actor for these actions: this person as trust operations, or refused."""
    if not any(g.role is Role.trust_operations for g in principal.grants):
        raise Refused("only the trust's operations staff (trust_operations) fix stuck workflows", status=403)
    return Actor(user_id=principal.user_id, role=Role.trust_operations)


def reason_of(text: str | None, required: bool) -> str:
    reason = " ".join((text or "").split())
    if required and not reason:
        raise Refused("say why: a reason is required, and it goes into the placement's audit trail", status=422)
    if len(reason) > MAX_REASON:
        raise Refused(f"the reason is at most {MAX_REASON} characters", status=422)
    return reason


def _refusal(action: str, e: RPCError) -> Exception:
    """Temporal's own refusal (the workflow ended meanwhile, say), as ours;
    an answer that leaves the outcome unknown is raised as it is."""
    if e.status in UNKNOWN:
        return e
    return Refused(f"Temporal refused the {action}: {e.message}")


@dataclass(frozen=True)
class Done:
    placement_id: str
    action: str
    message: str


@dataclass
class Fixer:
    client: Client
    engine: Engine

    async def _running(self, placement_id: str, action: str):
        """The placement's register row and its running workflow's description."""
        row = await asyncio.to_thread(register.get, self.engine, placement_id)
        if row is None:
            raise Refused(f"no placement {placement_id}", status=404)
        try:
            d = await self.client.get_workflow_handle(placement_id).describe()
        except RPCError as e:
            if e.status is not RPCStatusCode.NOT_FOUND:
                raise
            d = None
        if d is None or d.status != WorkflowExecutionStatus.RUNNING:
            ended = d.status.name.lower() if d is not None and d.status else "gone from Temporal"
            final = " (the placement is " + row.state + ")" if row.state in FINAL_STATES else ""
            raise Refused(f"cannot {action} {placement_id}: its workflow is not running ({ended}){final}")
        return row, d

    async def _record(self, row, action: str, actor: Actor, note: str) -> None:
        await asyncio.to_thread(audit.record_operation, self.engine, row.placement_id, action, actor.user_id,
                                actor.role.value, row.state, note, datetime.now(UTC))

    async def retry(self, placement_id: str, principal: Principal, reason: str | None = None) -> Done:
        """Every pending activity that has failed at least once is tried again at once."""
        actor = operator(principal)
        why = reason_of(reason, required=False)
        row, d = await self._running(placement_id, "retry")
        failing = [a for a in d.raw_description.pending_activities if a.attempt > 1 or a.HasField("last_failure")]
        if not failing:
            if d.raw_description.HasField("pending_workflow_task") and d.raw_description.pending_workflow_task.attempt > 1:
                raise Refused(f"nothing of {placement_id} to retry: its workflow task is failing, which Temporal "
                              "retries by itself; deploy a fixed worker, then reset it")
            raise Refused(f"nothing of {placement_id} to retry: no activity is failing. A letter the relay refused "
                          "is not sent again: hand it over or post it, and record that on the placement (record_delivery)")
        ns = self.client.namespace
        for a in failing:
            try:
                await self.client.workflow_service.reset_activity(ResetActivityRequest(
                    namespace=ns, execution=WorkflowExecution(workflow_id=placement_id), id=a.activity_id,
                    identity=actor.user_id, reset_heartbeat=True,
                ))
            except RPCError as e:
                if e.status is not RPCStatusCode.NOT_FOUND:  # finished meanwhile: nothing left to retry
                    raise _refusal("retry", e) from None
        what = "; ".join(f"{a.activity_type.name} (attempt {a.attempt}: {(a.last_failure.message or 'failed')[:120]})"
                         for a in failing)
        note = f"retried now: {what}" + (f". Reason: {why}" if why else "")
        await self._record(row, "ops_retry", actor, note)
        return Done(placement_id, "retry", note)

    async def reset(self, placement_id: str, principal: Principal, reason: str | None) -> Done:
        """Back to the last completed workflow task before its failures; a new run goes on from there."""
        actor = operator(principal)
        why = reason_of(reason, required=True)
        row, d = await self._running(placement_id, "reset")
        trouble = await task_trouble(self.client, placement_id, d.run_id)
        attempts = d.raw_description.pending_workflow_task.attempt if d.raw_description.HasField("pending_workflow_task") else 0
        if not trouble.failures and attempts <= 1:
            raise Refused(f"cannot reset {placement_id}: its workflow task is not failing, so there is nothing to go "
                          "back before (retry a failing activity, or terminate it)")
        if trouble.last_good_event_id is None:
            raise Refused(f"cannot reset {placement_id}: no workflow task of it ever completed, so there is no good "
                          "point to go back to; terminate it")
        try:
            answer = await self.client.workflow_service.reset_workflow_execution(ResetWorkflowExecutionRequest(
                namespace=self.client.namespace,
                workflow_execution=WorkflowExecution(workflow_id=placement_id, run_id=d.run_id),
                reason=f"{actor.user_id}: {why}", workflow_task_finish_event_id=trouble.last_good_event_id,
                request_id=str(uuid.uuid4()), identity=actor.user_id,
            ))
        except RPCError as e:
            raise _refusal("reset", e) from None
        note = (f"reset to event {trouble.last_good_event_id}, its last good point (new run {answer.run_id}); "
                f"it had failed: {trouble.last_error or 'its workflow task'}. Reason: {why}")
        await self._record(row, "ops_reset", actor, note)
        return Done(placement_id, "reset", note)

    async def terminate(self, placement_id: str, principal: Principal, reason: str | None) -> Done:
        """Ends the workflow at once. The register keeps the placement as it last
        was; the school takes it on by hand from here (the audit trail says so)."""
        actor = operator(principal)
        why = reason_of(reason, required=True)
        row, d = await self._running(placement_id, "terminate")
        try:
            await self.client.get_workflow_handle(placement_id, run_id=d.run_id).terminate(reason=f"{actor.user_id}: {why}")
        except RPCError as e:
            raise _refusal("terminate", e) from None
        note = f"workflow terminated by operations; the placement stays {row.state} in the register. Reason: {why}"
        await self._record(row, audit.TERMINATED_BY_OPERATIONS, actor, note)
        return Done(placement_id, "terminate", note)

    async def take(self, action: str, placement_id: str, principal: Principal, reason: str | None) -> Done:
        if action not in ("retry", "reset", "terminate"):
            raise Refused(f"no action {action!r}: retry, reset or terminate", status=404)
        return await getattr(self, action)(placement_id, principal, reason)
