"""Who is acting. A request is made by a `Principal`: a person with grants
(a role at a school, or trust-wide), from which the `Actor` of each action is
chosen at the placement's school. Today the principal is asserted by the
trust's sign-in proxy in three headers."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Path

from domain.access import ACTION_ROLES, TRUST_WIDE
from domain.models import Actor, Role


@dataclass(frozen=True)
class Grant:
    """A role at one school (`school_id`), or trust-wide (none)."""

    role: Role
    school_id: str | None = None

    def covers(self, school_id: str) -> bool:
        return self.role in TRUST_WIDE or self.school_id == school_id


@dataclass(frozen=True)
class Principal:
    """The signed-in person: `user_id` is what the audit records."""

    user_id: str
    grants: tuple[Grant, ...]
    name: str = ""
    csrf_token: str | None = None  # the session's, for the console's forms

    def actor_at(self, school_id: str, action: str | None = None) -> Actor | None:
        """The actor this person is at `school_id`: the first grant there
        that may take `action` (or the first grant there); none when they
        hold no role at that school."""
        here = [g for g in self.grants if g.covers(school_id)]
        if not here:
            return None
        fit = [g for g in here if action is None or g.role in ACTION_ROLES.get(action, frozenset())]
        g = (fit or here)[0]
        return Actor(user_id=self.user_id, role=g.role, school_id=g.school_id)

    def may_see(self, school_id: str) -> bool:
        return any(g.covers(school_id) and g.role is not Role.provider for g in self.grants)

    def school_scope(self) -> frozenset[str] | None:
        """The schools whose records this person may list; none means every school."""
        if any(g.role in TRUST_WIDE for g in self.grants):
            return None
        return frozenset(g.school_id for g in self.grants if g.school_id and g.role is not Role.provider)


def current_principal(
    x_user: Annotated[str, Header(description="Who is acting (staff user id)")],
    x_role: Annotated[Role, Header(description="The actor's role (never `system`: that is apflow itself)")],
    x_school: Annotated[str | None, Header(description="The actor's school (URN); none for trust-wide roles")] = None,
) -> Principal:
    if x_role is Role.system:
        # The workflow's own actor (the start on its date, escalations): a
        # request claiming it would act with powers no person holds.
        raise HTTPException(403, "X-Role 'system' is apflow's own role and cannot be claimed by a request")
    return Principal(user_id=x_user, grants=(Grant(x_role, x_school),))


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def current_actor(principal: PrincipalDep) -> Actor:
    """The principal's one grant as an actor (routes not yet per-school)."""
    g = principal.grants[0]
    return Actor(user_id=principal.user_id, role=g.role, school_id=g.school_id)


ActorDep = Annotated[Actor, Depends(current_actor)]

IDEMPOTENCY_KEY = r"^[A-Za-z0-9._:-]{1,200}$"

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY, max_length=200,
    description="Makes a write safe to retry: the same key again (from the same user) returns the first answer "
                "and records nothing twice. 1-200 of A-Z a-z 0-9 . _ : -",
)]


def school_scope(actor: Actor) -> str | None:
    """The school whose records the actor may list: none (all) for trust-wide
    roles; a school's own staff, theirs. Providers and staff without a school
    list nothing: an empty filter would be every school's records."""
    if actor.role in TRUST_WIDE:
        return None
    if actor.school_id is None or actor.role is Role.provider:
        raise HTTPException(403, "staff see their own school's records only")
    return actor.school_id


# A school in a URL: its URN, six digits (it also names files: nothing else may pass).
SchoolPath = Annotated[str, Path(pattern=r"^[0-9]{6}$", description="The school's URN")]
