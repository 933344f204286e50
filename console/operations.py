"""Views across placements for the people who watch them: open escalations
(from the register's escalations table), and pushing a school's edited term
dates to its running placements."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from apflow.calendars import load_calendar
from domain.models import Role
from store import register

from . import paging
from workflows import client as placements

from .authority import actor_for_operation, listing_scope
from .identity import PrincipalDep, SchoolPath

router = APIRouter(tags=["operations"])


class ResolvedBy(BaseModel):
    user_id: str
    role: Role


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
    resolved_by: ResolvedBy | None = None
    resolution: str | None = None


def _cursor_key(values: list) -> tuple:
    return (datetime.fromisoformat(values[0]), str(values[1]), str(values[2]))


@router.get("/api/escalations", response_model=paging.PageOut[EscalationOut])
def escalations(
    principal: PrincipalDep,
    request: Request,
    open_only: Annotated[bool, Query(alias="open", description="Only those not yet resolved")] = True,
    owner: Annotated[Role | None, Query(description="Only those for this role")] = None,
    limit: paging.Limit = paging.DEFAULT_LIMIT,
    cursor: paging.Cursor = None,
) -> Response:
    """Every escalation this person may see, oldest first, a page at a time: a
    school's staff see their schools'. Read from the escalations table the
    register keeps beside each placement's row."""
    page = register.escalations_page(
        request.app.state.engine, school_ids=listing_scope(principal), open_only=open_only, owner=owner, limit=limit,
        after=paging.decode(cursor, _cursor_key),
    )
    return paging.answer(paging.PageOut[EscalationOut](
        items=[
            EscalationOut(
                placement_id=r.placement_id, school_id=r.school_id, escalation_id=r.escalation_id, kind=r.kind,
                clause=r.clause, owner=Role(r.owner_role), message=r.message, due=r.due, raised_at=r.raised_at,
                resolved_at=r.resolved_at,
                resolved_by=ResolvedBy(user_id=r.resolved_by_id, role=Role(r.resolved_by_role)) if r.resolved_by_id else None,
                resolution=r.resolution,
            )
            for r in page.rows
        ],
        total=page.total, total_capped=page.capped,
        next_cursor=paging.encode(page.next_after) if page.next_after else None,
    ))


class CalendarReload(BaseModel):
    school_id: str
    placements_told: int


@router.post("/api/schools/{school_id}/calendar/reload", response_model=CalendarReload)
async def reload_calendar(school_id: SchoolPath, principal: PrincipalDep, request: Request) -> CalendarReload:
    """Reads the school's calendar file again and gives it to each of its
    running placements, whose deadlines are then recomputed."""
    actor_for_operation(principal, school_id, "reload_calendar",
                        "the trust's operations staff or the school's own staff reload its calendar")

    def running():
        calendar = load_calendar(school_id, request.app.state.settings.calendars_dir)
        return calendar, [r.placement_id for r in register.running(request.app.state.engine, school_id)]

    calendar, ids = await run_in_threadpool(running)
    told = await placements.tell(request.app.state.client, ids, "calendar_changed", calendar)
    return CalendarReload(school_id=school_id, placements_told=told)
