"""Who may do what: school staff act on their own school's placements only."""
from __future__ import annotations

from .actions import ALL_ACTIONS, STAFF
from .guards import Unmet
from .models import Actor, Role

# Who may take each action, as the actions declare it; proposing is the school's staff's.
ACTION_ROLES: dict[str, frozenset[Role]] = {"propose": STAFF} | {m.name(): m.roles for m in ALL_ACTIONS}

TRUST_WIDE = frozenset({Role.trust_operations, Role.trust_dsl, Role.system})


def may_see(actor: Actor, school_id: str) -> bool:
    """Providers see a placement only through the link they were sent for it."""
    if actor.role is Role.provider:
        return False
    return actor.role in TRUST_WIDE or actor.school_id == school_id


def access(actor: Actor, action: str, school_id: str) -> list[Unmet]:
    roles = ACTION_ROLES.get(action, frozenset())
    if actor.role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles)) or "nobody"
        return [Unmet("roles", f"'{action}' is for {allowed}, not {actor.role.value}")]
    if actor.role not in TRUST_WIDE and actor.school_id != school_id:
        return [Unmet("§3.3, §8.1", "staff act only on placements their own school commissioned")]
    return []
