"""Views across placements for the people who watch them: open escalations,
and pushing a school's edited term dates to its running placements."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel

from apflow.calendars import load_calendar
from domain.access import may_see
from domain.models import Placement, Role
from store import register

from .identity import ActorDep, school_scope

router = APIRouter(tags=["operations"])


class EscalationOut(BaseModel):
    placement_id: str
    school_id: str
    escalation_id: str
    kind: str
    clause: str
    owner: Role
    message: str
    due: date | None
    raised_at: datetime
    resolved_at: datetime | None


@router.get("/api/escalations", response_model=list[EscalationOut])
def escalations(
    actor: ActorDep,
    request: Request,
    open_only: Annotated[bool, Query(alias="open", description="Only those not yet resolved")] = True,
    owner: Annotated[Role | None, Query(description="Only those for this role")] = None,
) -> list[EscalationOut]:
    """Every escalation the actor may see, oldest first: a school's staff see their school's."""
    school = school_scope(actor)
    out = []
    for row in register.search(request.app.state.engine, school_id=school, limit=100_000):
        for e in Placement.model_validate(row.data).escalations:
            if (open_only and not e.open) or (owner and e.owner is not owner):
                continue
            out.append(EscalationOut(
                placement_id=row.placement_id, school_id=row.school_id, escalation_id=e.escalation_id, kind=e.kind,
                clause=e.clause, owner=e.owner, message=e.message, due=e.due, raised_at=e.raised_at,
                resolved_at=e.resolved_at,
            ))
    return sorted(out, key=lambda e: e.raised_at)


class CalendarReload(BaseModel):
    school_id: str
    placements_told: int


@router.post("/api/schools/{school_id}/calendar/reload", response_model=CalendarReload)
async def reload_calendar(school_id: str, actor: ActorDep, request: Request) -> CalendarReload:
    """Reads the school's calendar file again and gives it to each of its
    running placements, whose deadlines are then recomputed."""
    if actor.role not in (Role.trust_operations, Role.headteacher, Role.ap_lead) or not may_see(actor, school_id):
        raise HTTPException(403, "the trust's operations staff or the school's own staff reload its calendar")
    calendar = load_calendar(school_id)
    client = request.app.state.client
    rows = register.running(request.app.state.engine, school_id)
    for row in rows:
        await client.get_workflow_handle(row.placement_id).signal("calendar_changed", calendar)
    return CalendarReload(school_id=school_id, placements_told=len(rows))
