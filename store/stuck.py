"""The register's side of finding stuck placements, and the audit of what
operations did about them. Every read is over indexed columns and returns
ids, dates and states, never a placement's JSON: the checks run across every
school."""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from datetime import date, datetime

from sqlalchemy import Engine, and_, exists, func, insert, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from domain.lifecycle import FINAL_STATES

from .documents import FAILED, SENDING, DocumentRow
from .tables import AuditEvent, EscalationRow, PlacementRow

# How many rows one check returns at most: the page shows the oldest first.
LIMIT = 1_000


@dataclass(frozen=True)
class Placed:
    """Where a placement is, as the register says."""

    placement_id: str
    school_id: str
    state: str
    updated_at: datetime


TERMINATED_BY_OPERATIONS = "ops_terminate"


@cache  # one clause for every check: building its alias costs more than running a check
def _running():
    """A placement whose workflow should run: not in a final state, and not
    ended by operations (the school then takes it on by hand)."""
    p, a = PlacementRow, aliased(AuditEvent)  # its own alias: a query may join the audit events too
    ended = (exists().where(a.placement_id == p.placement_id, a.seq < 0, a.action == TERMINATED_BY_OPERATIONS)
             .correlate(p))
    return and_(p.state.not_in(FINAL_STATES), ~ended)


def where(engine: Engine, placement_ids: Collection[str]) -> dict[str, Placed]:
    """The register's state of each placement (a primary-key lookup)."""
    t, out = PlacementRow, {}
    ids = sorted(set(placement_ids))
    with engine.connect() as conn:
        for i in range(0, len(ids), LIMIT):
            q = select(t.placement_id, t.school_id, t.state, t.updated_at).where(t.placement_id.in_(ids[i:i + LIMIT]))
            out |= {r.placement_id: Placed(*r) for r in conn.execute(q)}
    return out


def running_ids(engine: Engine, limit: int = LIMIT) -> list[str]:
    """Placements whose workflows should be running (ix_placements_list_state)."""
    q = select(PlacementRow.placement_id).where(_running()).order_by(PlacementRow.placement_id).limit(limit)
    with engine.connect() as conn:
        return list(conn.scalars(q))


# What the operations page says of a letter in trouble.
_LETTER = (DocumentRow.document_id, DocumentRow.placement_id, DocumentRow.kind, DocumentRow.recipient_role,
           DocumentRow.status, DocumentRow.failure, DocumentRow.created_at)


def letters_in_trouble(engine: Engine, limit: int = LIMIT) -> list:
    """Letters of running placements whose last attempt failed or is sending
    (ix_documents_status_kind): a retrying send is among them, since a failed
    attempt is recorded before it is retried."""
    d, p = DocumentRow, PlacementRow
    q = (select(*_LETTER).join(p, p.placement_id == d.placement_id)
         .where(d.status.in_((FAILED, SENDING)), _running()).order_by(d.created_at).limit(limit))
    with engine.connect() as conn:
        return list(conn.execute(q))


def still_in_trouble(engine: Engine, letters: list) -> list:
    """The same letters read again, those still failed or sending: a send
    under way when they were first read may have ended since (by primary key)."""
    if not letters:
        return []
    d = DocumentRow
    q = (select(*_LETTER).where(d.document_id.in_([r.document_id for r in letters]), d.status.in_((FAILED, SENDING)))
         .order_by(d.created_at))
    with engine.connect() as conn:
        return list(conn.execute(q))


def deadlines_not_escalated(engine: Engine, before: date, limit: int = LIMIT) -> list:
    """Running placements whose next deadline is before `before` with no
    escalation raised for that day (ix_placements_deadline, then the
    escalations' primary key)."""
    p, e = PlacementRow, EscalationRow
    raised = exists().where(e.placement_id == p.placement_id, e.due == p.next_deadline)
    q = (select(p.placement_id, p.school_id, p.state, p.next_deadline)
         .where(p.next_deadline < before, _running(), ~raised).order_by(p.next_deadline, p.placement_id).limit(limit))
    with engine.connect() as conn:
        return list(conn.execute(q))


def escalations_open_too_long(engine: Engine, before: datetime, before_by_kind: dict[str, datetime],
                              limit: int = LIMIT) -> list:
    """Open escalations raised before their kind's limit (`before_by_kind`,
    else `before`), oldest first: those kinds by ix_escalations_open_kind, the
    rest by ix_escalations_open, so only escalations already too old are read."""
    e = EscalationRow
    columns = (e.placement_id, e.school_id, e.escalation_id, e.kind, e.owner_role, e.clause, e.raised_at)
    named = sorted(before_by_kind)
    parts = [select(*columns).where(e.resolved_at.is_(None), e.kind == kind, e.raised_at < at)
             for kind, at in sorted(before_by_kind.items())]
    parts.append(select(*columns).where(e.resolved_at.is_(None), e.raised_at < before, *([e.kind.not_in(named)] if named else [])))
    late = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    q = (select(*late.c).join(PlacementRow, PlacementRow.placement_id == late.c.placement_id)
         .where(_running()).order_by(late.c.raised_at, late.c.placement_id, late.c.escalation_id).limit(limit))
    with engine.connect() as conn:
        return list(conn.execute(q))


def in_state_since(engine: Engine, state: str, before: datetime, limit: int = LIMIT) -> list:
    """Placements in `state` that entered it before `before`, longest first
    (ix_placements_state_since: only those already too long are read)."""
    p = PlacementRow
    q = (select(p.placement_id, p.school_id, p.state_since.label("entered"))
         .where(p.state == state, p.state_since < before, _running()).order_by(p.state_since, p.placement_id).limit(limit))
    with engine.connect() as conn:
        return list(conn.execute(q))


def record_operation(engine: Engine, placement_id: str, action: str, user_id: str, role: str, state: str,
                     note: str, at: datetime) -> None:
    """What operations did to a placement's workflow, in its audit trail.

    The workflow numbers its own steps 1, 2, ...; an operation is not one of
    them (the workflow never hears of it), so it takes the next number below
    zero: it can never take the place of a step the workflow records later."""
    for _ in range(10):  # two operators at once: the unique key refuses the second, which takes the next
        try:
            with engine.begin() as conn:
                low = conn.scalar(select(func.min(AuditEvent.seq)).where(AuditEvent.placement_id == placement_id,
                                                                         AuditEvent.seq < 0))
                conn.execute(insert(AuditEvent).values(
                    placement_id=placement_id, seq=(low or 0) - 1, action=action, actor_id=user_id, actor_role=role,
                    actor_school_id=None, from_state=state, to_state=state, at=at, note=note[:2000]))
            return
        except IntegrityError:
            continue
    raise RuntimeError("the operation could not be recorded in the audit trail")
