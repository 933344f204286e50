"""Stuck placements: each placement that needs the trust's operations staff,
with every reason that holds. The API, the console page and `apflow ops
stuck` all list them from `find`; `count` is the cheap figure for a gauge.

What is read, and why it stays bounded whatever the register's size:

- the register, by indexed columns only (`store.stuck`): letters that failed,
  deadlines passed with no escalation, escalations open too long, states
  held too long;
- Temporal's visibility: workflows the server marks with
  `TemporalReportedProblems` (a workflow task failing again and again) and,
  page by page, the `PlacementState` of running placement workflows, compared
  with the register's state of the same ids (a primary-key lookup a page);
- `describe()` and the history of the few candidates only: those marked, and
  those with a letter failing or stopped mid-send. A placement workflow's
  only activity on the task queue is `send_document`, which records a failed
  attempt in the register before it is retried (the register's own writes are
  local activities, retried inside their workflow task): so a retrying
  activity always belongs to one of those candidates.

A server without visibility (the time-skipping test server) answers neither
query: there every running placement is described instead, which is fine for
a test server's handful and is said in the log.
"""
from __future__ import annotations

import asyncio
import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionDescription, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from domain.clock import uk_date
from domain.settings import StuckSettings
from store import stuck as register
from workflows.search import PLACEMENT_STATE

log = logging.getLogger(__name__)

REPORTED = "TemporalReportedProblems IS NOT NULL AND ExecutionStatus = 'Running'"
RUNNING = "WorkflowType = 'PlacementWorkflow' AND ExecutionStatus = 'Running'"
DESCRIBE_AT_ONCE = 8  # describes in flight together: the server is shared with the workers
ERROR_CHARS = 300
_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>]+>?")


class Kind(StrEnum):
    workflow_task_failing = "workflow_task_failing"
    activity_retrying = "activity_retrying"
    letter_not_sent = "letter_not_sent"
    deadline_not_escalated = "deadline_not_escalated"
    escalation_overdue = "escalation_overdue"
    state_overdue = "state_overdue"
    register_disagrees = "register_disagrees"


# Which of the operations' actions can help with each reason (terminate always can).
HELPS = {Kind.workflow_task_failing: "reset", Kind.activity_retrying: "retry"}
ACTIONS = ("retry", "reset", "terminate")


class Reason(BaseModel):
    kind: Kind
    message: str
    attempts: int | None = None
    last_error: str | None = None
    since: datetime | None = None
    details: dict[str, str] = {}


class Stuck(BaseModel):
    placement_id: str
    school_id: str | None
    state: str | None  # as the register has it
    reasons: list[Reason]
    actions: list[str]  # those that may help


def _error(text: str | None) -> str | None:
    """A failure's message as operations see it: short, and with no email
    address (a relay's answer may echo the recipient's)."""
    return _ADDRESS.sub("<address>", text)[:ERROR_CHARS] if text else None


# --- the workflow's side -----------------------------------------------------------------


@dataclass(frozen=True)
class TaskTrouble:
    """What a workflow's history says of its workflow tasks since the last good one."""

    last_good_event_id: int | None  # the last completed workflow task: where a reset goes back to
    failures: int
    last_error: str | None
    since: datetime | None


async def task_trouble(client: Client, workflow_id: str, run_id: str | None = None) -> TaskTrouble:
    """Reads the history once: the last completed workflow task and the
    failures after it (a server records a run of failures as one or a few
    events; the attempt count is in the description)."""
    good, failures, error, since = None, 0, None, None
    async for e in client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history_events():
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            good, failures, error, since = e.event_id, 0, None, None
        elif e.event_type in (EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT):
            failures += 1
            since = since or e.event_time.ToDatetime(tzinfo=UTC)
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:  # its message says more than a timeout
                failed = e.workflow_task_failed_event_attributes.failure
                error = failed.message or (failed.cause.message if failed.HasField("cause") else None) or error
            error = error or "timed out"
    return TaskTrouble(good, failures, _error(error), since)


def _task_reason(trouble: TaskTrouble, attempts: int) -> Reason:
    return Reason(
        kind=Kind.workflow_task_failing, attempts=max(attempts, trouble.failures), last_error=trouble.last_error,
        since=trouble.since,
        message="its workflow task fails every time it is tried (a bug, or code that no longer replays its "
                "history): deploy a fixed worker, then reset it to its last good point, or terminate it",
        details={"last_good_event_id": str(trouble.last_good_event_id)} if trouble.last_good_event_id else {},
    )


def activity_reasons(d: WorkflowExecutionDescription, settings: StuckSettings) -> list[Reason]:
    """Each pending activity on its `activity_attempts`th attempt or later."""
    out = []
    for a in d.raw_description.pending_activities:
        if a.attempt < settings.activity_attempts:
            continue
        since = a.scheduled_time.ToDatetime(tzinfo=UTC) if a.HasField("scheduled_time") else None
        out.append(Reason(
            kind=Kind.activity_retrying, attempts=a.attempt, last_error=_error(a.last_failure.message), since=since,
            message=f"its activity {a.activity_type.name} has failed {a.attempt - 1} times and is still retrying: "
                    "mend what it reaches (the mail relay, the register), then retry it now",
            details={"activity_id": a.activity_id, "activity_type": a.activity_type.name},
        ))
    return out


async def _listed(client: Client, query: str) -> list | None:
    """The executions a visibility query finds; None where the server has no visibility."""
    try:
        return [w async for w in client.list_workflows(query)]
    except RPCError as e:
        if e.status is RPCStatusCode.UNIMPLEMENTED:
            return None
        raise


async def _describe_all(client: Client, ids: Iterable[str]) -> dict[str, WorkflowExecutionDescription]:
    gate = asyncio.Semaphore(DESCRIBE_AT_ONCE)

    async def one(wid: str):
        async with gate:
            try:
                return wid, await client.get_workflow_handle(wid).describe()
            except RPCError as e:
                if e.status is RPCStatusCode.NOT_FOUND:  # past retention: the register keeps the record
                    return wid, None
                raise

    found = await asyncio.gather(*(one(wid) for wid in sorted(set(ids))))
    return {wid: d for wid, d in found if d is not None}


# --- finding them ------------------------------------------------------------------------


@dataclass
class _Found:
    reasons: dict[str, list[Reason]]

    def add(self, placement_id: str, reason: Reason) -> None:
        self.reasons[placement_id].append(reason)


def _from_register(engine: Engine, settings: StuckSettings, now: datetime, found: _Found) -> list:
    """The register's checks; returns the letters in trouble, which the
    workflow's side judges (a letter still being retried is not yet lost)."""
    before = uk_date(now - timedelta(hours=settings.deadline_grace_hours))
    for r in register.deadlines_not_escalated(engine, before):
        found.add(r.placement_id, Reason(
            kind=Kind.deadline_not_escalated, since=datetime.combine(r.next_deadline, datetime.min.time(), UTC),
            message=f"its deadline of {r.next_deadline} has passed and no escalation was raised: its workflow's "
                    "clock is not running (no worker polling, or its task failing)",
            details={"due": r.next_deadline.isoformat(), "state": r.state},
        ))
    limits = settings.escalation_open_days_by_kind
    for r in register.escalations_open_too_long(engine, now - timedelta(days=settings.escalation_open_days),
                                                {k: now - timedelta(days=d) for k, d in limits.items()}):
        days = limits.get(r.kind, settings.escalation_open_days)
        found.add(r.placement_id, Reason(
            kind=Kind.escalation_overdue, since=r.raised_at,
            message=f"its escalation '{r.kind}' ({r.clause}) for the {r.owner_role.replace('_', ' ')} has been "
                    f"open more than {days} days: ask them to act on it and resolve it",
            details={"escalation_id": r.escalation_id, "owner": r.owner_role, "limit_days": str(days)},
        ))
    for state, days in settings.state_days.items():
        for r in register.in_state_since(engine, state, now - timedelta(days=days)):
            found.add(r.placement_id, Reason(
                kind=Kind.state_overdue, since=r.entered,
                message=f"it has been {state.replace('_', ' ')} for more than {days} days: ask its school what holds it",
                details={"state": state, "limit_days": str(days)},
            ))
    return register.letters_in_trouble(engine)


def _letter_reasons(letters: list, described: dict[str, WorkflowExecutionDescription], found: _Found) -> None:
    for d in letters:
        desc = described.get(d.placement_id)
        pending = desc is not None and any(a.activity_type.name == "send_document"
                                           for a in desc.raw_description.pending_activities)
        if pending:
            continue  # still being tried: past the threshold it is an activity retrying
        found.add(d.placement_id, Reason(
            kind=Kind.letter_not_sent, last_error=_error(d.failure), since=d.created_at,
            message=f"its {d.kind.replace('_', ' ')} to the {d.recipient_role.replace('_', ' ')} could not be sent "
                    "and is no longer tried: hand it over or post it, then record that on the placement "
                    "(record_delivery)" if d.status == register.FAILED else
                    f"its {d.kind.replace('_', ' ')} stopped mid-send and is no longer tried: check with the recipient",
            details={"document_id": d.document_id, "status": d.status},
        ))


async def _compare(engine: Engine, settings: StuckSettings, now: datetime, states: dict[str, str | None],
                   found: _Found) -> None:
    """The register's state of each running workflow against the workflow's
    own `PlacementState`; a row updated within the lag is left alone (a step under way)."""
    rows = await asyncio.to_thread(register.where, engine, states)
    lag = now - timedelta(minutes=settings.register_lag_minutes)
    for wid, state in states.items():
        row = rows.get(wid)
        if row is None:
            found.add(wid, Reason(kind=Kind.register_disagrees, details={"workflow_state": str(state)},
                                  message="its workflow runs but the register has no row for it: a worker writes to another register"))
        elif state and row.state != state and row.updated_at < lag:
            found.add(wid, Reason(
                kind=Kind.register_disagrees, since=row.updated_at,
                message=f"the register says {row.state.replace('_', ' ')} but its workflow is "
                        f"{state.replace('_', ' ')}: the register is not being written (check the worker's database)",
                details={"register_state": row.state, "workflow_state": state},
            ))


async def find(client: Client, engine: Engine, settings: StuckSettings, now: datetime | None = None) -> list[Stuck]:
    """Every stuck placement with every reason, those stuck longest first."""
    now = now or datetime.now(UTC)
    found = _Found(defaultdict(list))
    letters = await asyncio.to_thread(_from_register, engine, settings, now, found)
    reported = await _listed(client, REPORTED)
    if reported is None:
        log.info("this Temporal server has no visibility: every running placement is described")
        running = await asyncio.to_thread(register.running_ids, engine)
        described = await _describe_all(client, [*running, *(d.placement_id for d in letters)])
        failing = {wid for wid, d in described.items() if d.status == WorkflowExecutionStatus.RUNNING}
        await _compare(engine, settings, now, {wid: described[wid].typed_search_attributes.get(PLACEMENT_STATE)
                                               for wid in failing}, found)
    else:
        failing = {w.id for w in reported if w.id.startswith("placement-")}
        described = await _describe_all(client, [*failing, *(d.placement_id for d in letters)])
        states = {}
        for w in await _listed(client, RUNNING) or []:
            states[w.id] = w.typed_search_attributes.get(PLACEMENT_STATE)
        await _compare(engine, settings, now, states, found)
    for wid in sorted(failing):
        d = described.get(wid)
        if d is None or d.status != WorkflowExecutionStatus.RUNNING:
            continue
        pending = d.raw_description.pending_workflow_task
        attempts = pending.attempt if d.raw_description.HasField("pending_workflow_task") else 0
        trouble = await task_trouble(client, wid, d.run_id)
        if reported is not None or max(attempts, trouble.failures) >= settings.workflow_task_attempts:
            if trouble.failures or attempts > 1:
                found.add(wid, _task_reason(trouble, attempts))
    for wid, d in described.items():
        for reason in activity_reasons(d, settings):
            found.add(wid, reason)
    # Read after the descriptions: a letter sending when first read and no
    # longer pending at its describe had ended its attempt, sent or failed.
    letters = await asyncio.to_thread(register.still_in_trouble, engine, letters)
    _letter_reasons(letters, described, found)
    return await asyncio.to_thread(_assemble, engine, found)


def _assemble(engine: Engine, found: _Found) -> list[Stuck]:
    rows = register.where(engine, found.reasons)
    out = []
    for pid, reasons in found.reasons.items():
        row = rows.get(pid)
        helps = {HELPS[r.kind] for r in reasons if r.kind in HELPS} | {"terminate"}
        out.append(Stuck(placement_id=pid, school_id=row.school_id if row else None, state=row.state if row else None,
                         reasons=reasons, actions=[a for a in ACTIONS if a in helps]))
    oldest = datetime.max.replace(tzinfo=UTC)
    return sorted(out, key=lambda s: (min((r.since for r in s.reasons if r.since), default=oldest), s.placement_id))


async def count(client: Client, engine: Engine, settings: StuckSettings, now: datetime | None = None) -> int:
    """How many placements are stuck, cheaply, for a gauge: the register's
    checks and the placements the server marks, with no describe and no
    comparison of states (a retrying activity or a register that disagrees
    counts once `find` is asked)."""
    now = now or datetime.now(UTC)
    found = _Found(defaultdict(list))
    letters = await asyncio.to_thread(_from_register, engine, settings, now, found)
    ids = set(found.reasons) | {d.placement_id for d in letters if d.status == register.FAILED}
    reported = await _listed(client, REPORTED)
    return len(ids | {w.id for w in reported or [] if w.id.startswith("placement-")})
