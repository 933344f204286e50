"""What the signed-in person may see and do, asked by every route: the
placement they may see (another school's answers 404, as a missing one
does), the actor they are at a school for one action, and the schools whose
records they may list. The server decides; nothing here trusts the caller.

Plain functions over the register: routes call them off the event loop."""
from __future__ import annotations

from collections.abc import Collection

from fastapi import HTTPException
from sqlalchemy import Engine

from domain.access import ACTION_ROLES, WATCHERS, Principal
from domain.models import Actor
from store import register
from store.tables import PlacementRow


def _allowed(action: str) -> str:
    return ", ".join(sorted(r.value for r in ACTION_ROLES.get(action, ()))) or "nobody"


def visible_placement(engine: Engine, principal: Principal, placement_id: str) -> PlacementRow:
    """The placement's register row, if this person may see it."""
    row = register.get(engine, placement_id)
    _may_see(principal, placement_id, row.school_id if row is not None else None)
    return row


def visible_school(engine: Engine, principal: Principal, placement_id: str) -> str:
    """The placement's school, if this person may see the placement: for a
    route that needs no more of its row (its JSON is not read)."""
    school_id = register.school_of(engine, placement_id)
    _may_see(principal, placement_id, school_id)
    return school_id


def _may_see(principal: Principal, placement_id: str, school_id: str | None) -> None:
    if school_id is None or not principal.may_see(school_id):
        raise HTTPException(404, f"no placement {placement_id}")


def _watcher_refusal(actor: Actor, action: str) -> HTTPException:
    return HTTPException(403, f"the {actor.role.value} role sees, never acts: '{action}' is for {_allowed(action)}")


def actor_for_action(principal: Principal, school_id: str, action: str) -> Actor:
    """Who this person acts as in a step of a placement of `school_id` (or a
    proposal for it). A role that only sees is refused here; any other role
    goes to the policy, which refuses one the step is not for, naming it."""
    actor = principal.actor_at(school_id, action)
    if actor is None:
        raise HTTPException(403, f"you hold no role at school {school_id}: '{action}' is for that school's {_allowed(action)}")
    if actor.role in WATCHERS:
        raise _watcher_refusal(actor, action)
    return actor


def actor_for_operation(principal: Principal, school_id: str, operation: str, refusal: str) -> Actor:
    """Who this person acts as for an `operation` (`domain.access.OPERATION_ROLES`)
    at `school_id`; 403 with `refusal` (who may, in words) when they hold no role for it."""
    actor = principal.actor_at(school_id, operation)
    if actor is not None and actor.role in WATCHERS:
        raise _watcher_refusal(actor, operation)
    if actor is None or actor.role not in ACTION_ROLES[operation]:
        raise HTTPException(403, refusal)
    return actor


def listing_scope(principal: Principal, school_id: str | None = None) -> Collection[str] | None:
    """The schools whose records a list shows: the one asked for, if this
    person may see it; else every school they hold a role at (none: every
    school, for trust-wide roles). A person with no school lists nothing: an
    empty filter would be every school's records."""
    scope = principal.school_scope()
    if scope is None:
        return {school_id} if school_id else None
    if not scope:
        raise HTTPException(403, "you hold no role at any school: staff see their own schools' records only")
    if school_id is None:
        return scope
    if school_id not in scope:
        raise HTTPException(403, f"staff see their own schools' records only: you hold no role at school {school_id}")
    return {school_id}
