"""Who may do what: school staff act on their own school's placements only."""
from __future__ import annotations

from .guards import Unmet
from .models import Actor, Role

_STAFF = frozenset({Role.ap_lead, Role.headteacher})

ACTION_ROLES: dict[str, frozenset[Role]] = {
    "propose": _STAFF,
    "amend": _STAFF,
    "vet": _STAFF,
    "consult_la": _STAFF,
    "notify": _STAFF,
    "start": _STAFF | {Role.system},
    "open_review": _STAFF | {Role.dsl},
    "record_review": _STAFF | {Role.dsl},
    "reintegrate": _STAFF,
    "close": _STAFF,
    "terminate": _STAFF | {Role.dsl},
    "record_contact": _STAFF | {Role.dsl},
    "raise_concern": _STAFF | {Role.dsl, Role.provider},
    "request_review": _STAFF,
    "resolve_escalation": _STAFF | {Role.dsl},
    "record_delivery": _STAFF,
    # A provider acts through a link scoped to one placement and purpose (§12).
    "record_initial_assessment": _STAFF | {Role.provider},
    "record_progress_report": _STAFF | {Role.provider},
    "record_final_report": _STAFF | {Role.provider},
}

TRUST_WIDE = frozenset({Role.trust_operations, Role.system})


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
