"""Who is acting: identity as asserted by the trust's sign-in proxy in front
of the API, in three headers."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Path

from domain.models import Actor, Role


def current_actor(
    x_user: Annotated[str, Header(description="Who is acting (staff user id)")],
    x_role: Annotated[Role, Header(description="The actor's role (never `system`: that is apflow itself)")],
    x_school: Annotated[str | None, Header(description="The actor's school (URN); none for trust-wide roles")] = None,
) -> Actor:
    if x_role is Role.system:
        # The workflow's own actor (the start on its date, escalations): a
        # request claiming it would act with powers no person holds.
        raise HTTPException(403, "X-Role 'system' is apflow's own role and cannot be claimed by a request")
    return Actor(user_id=x_user, role=x_role, school_id=x_school)


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
    if actor.role in (Role.trust_operations, Role.system):
        return None
    if actor.school_id is None or actor.role is Role.provider:
        raise HTTPException(403, "staff see their own school's records only")
    return actor.school_id


# A school in a URL: its URN, six digits (it also names files: nothing else may pass).
SchoolPath = Annotated[str, Path(pattern=r"^[0-9]{6}$", description="The school's URN")]
