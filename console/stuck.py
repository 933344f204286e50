"""The stuck placements for the trust's operations staff, and the fixes
(`operations`): the list with every reason, and retry, reset and terminate.
Trust operations only; every fix is in the placement's audit trail."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel, Field

from operations import stuck
from operations.fixes import Fixer, Refused, operator

from . import errors
from .identity import PrincipalDep

router = APIRouter(tags=["operations"])

PlacementPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="The placement's id")]


class FixIn(BaseModel):
    reason: str | None = Field(None, max_length=500, description="Why; required to reset or terminate")


class FixOut(BaseModel):
    placement_id: str
    action: str
    message: str


def fixer(request: Request) -> Fixer:
    return Fixer(request.app.state.client, request.app.state.engine)


def refused(e: Refused) -> HTTPException:
    return HTTPException(e.status, str(e))


@router.get("/api/operations/stuck", response_model=list[stuck.Stuck])
async def stuck_placements(principal: PrincipalDep, request: Request) -> list[stuck.Stuck]:
    """Every stuck placement with every reason that holds, stuck longest first,
    and the fixes that may help."""
    try:
        operator(principal)
    except Refused as e:
        raise refused(e) from None
    return await stuck.find(request.app.state.client, request.app.state.engine,
                            request.app.state.settings.policy.stuck)


@router.post(
    "/api/operations/placements/{placement_id}/{action}", response_model=FixOut,
    responses={409: {"description": "The action cannot help this placement: why"},
               503: {"model": errors.UnknownOut, "description": errors.UNKNOWN_DESCRIPTION}},
)
async def fix(placement_id: PlacementPath, action: Literal["retry", "reset", "terminate"], principal: PrincipalDep,
              request: Request, body: FixIn = FixIn()) -> FixOut:
    """Retry the placement's failing activities now, reset its workflow to the
    last good point, or terminate it (a reason required for the last two)."""
    try:
        done = await fixer(request).take(action, placement_id, principal, body.reason)
    except Refused as e:
        raise refused(e) from None
    return FixOut(placement_id=done.placement_id, action=done.action, message=done.message)
