"""Stuck placements, for the trust's operations staff: each with every
reason (`operations.stuck`) and a form for each fix that may help; a fix
done or refused is said at the top of the page. Anyone else is refused."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from console.identity import PrincipalDep
from console.signin.csrf import FormPrincipal
from operations import stuck
from operations.fixes import Fixer, Refused, operator

from .rendering import page

router = APIRouter(include_in_schema=False)
PATH = "/operations/stuck"
DONE = {"retry": "Retried now", "reset": "Reset to its last good point", "terminate": "Terminated"}


async def _page(request: Request, principal, status: int = 200, **context):
    try:
        operator(principal)
    except Refused as e:
        return page(request, "stuck.html", principal, status=e.status, nav="stuck", forbidden=str(e))
    found = await stuck.find(request.app.state.client, request.app.state.engine, request.app.state.settings.policy.stuck)
    return page(request, "stuck.html", principal, status=status, nav="stuck", stuck=found, **context)


@router.get(PATH)
async def stuck_page(principal: PrincipalDep, request: Request, done: Literal["retry", "reset", "terminate"] | None = None,
                     placement: str | None = None):
    return await _page(request, principal, done=DONE.get(done or ""), done_placement=(placement or "")[:64])


@router.post(PATH + "/{placement_id}/{action}")
async def fix(placement_id: str, action: str, principal: FormPrincipal, request: Request):
    reason = (await request.form()).get("reason")
    try:
        done = await Fixer(request.app.state.client, request.app.state.engine).take(
            action, placement_id, principal, reason if isinstance(reason, str) else None)
    except Refused as e:
        return await _page(request, principal, status=e.status, problem=str(e), problem_placement=placement_id[:64],
                           problem_action=action)
    return RedirectResponse(f"{PATH}?done={done.action}&placement={done.placement_id}", status_code=303)
