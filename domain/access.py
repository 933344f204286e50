"""Who may do what: school staff act on their own school's placements only.

A person is a `Principal` holding grants (a role at a school, or trust-wide);
the `Actor` of each action is chosen from them at the placement's school."""
from __future__ import annotations

from dataclasses import dataclass

from .actions import ALL_ACTIONS, STAFF
from .guards import Unmet
from .models import LINK_ROLES, Actor, Role

TRUST_WIDE = frozenset({Role.trust_operations, Role.trust_dsl, Role.system})

# What staff do beside a placement's lifecycle, and who may: the register of
# attendance is kept by the school's staff and the trust (providers send
# theirs through their links); letters, copies and links are the AP lead's
# and headteacher's; a school's edited files are pushed by its staff or the trust.
OPERATION_ROLES: dict[str, frozenset[Role]] = {
    "record_attendance": STAFF | {Role.dsl, Role.trust_operations, Role.trust_dsl},
    "upload_copy": STAFF,
    "post_letters": STAFF,
    "manage_links": STAFF,
    "record_agreement": STAFF,  # the commissioning agreement and its signed copy (policy appendix)
    "reload_calendar": STAFF | {Role.trust_operations},
    "reload_directory": STAFF | {Role.trust_operations},
}

# Who keeps the trust's list of providers (`domain.providers`): the trust's
# operations staff and every school's AP lead, who vets providers (a
# provider serves every school). Anyone signed in reads it.
PROVIDER_MANAGERS = frozenset({Role.ap_lead, Role.trust_operations})

# Who may take each action, as the actions declare it; proposing is the school's staff's.
ACTION_ROLES: dict[str, frozenset[Role]] = (
    {"propose": STAFF} | {m.name(): m.roles for m in ALL_ACTIONS} | OPERATION_ROLES
)

# Roles that see and never act.
WATCHERS = frozenset({Role.read_only})


def may_see(actor: Actor, school_id: str) -> bool:
    """Providers, pupils and parents see a placement only through the link they were sent for it."""
    if actor.role in LINK_ROLES:
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
        that may take `action` (or else the first there that acts at all,
        so a refusal names a role that could act; or else the first there);
        none when they hold no role at that school."""
        here = [g for g in self.grants if g.covers(school_id) and g.role not in LINK_ROLES]
        if not here:
            return None
        fit = [g for g in here if action is None or g.role in ACTION_ROLES.get(action, frozenset())]
        acting = [g for g in here if g.role not in WATCHERS]
        g = (fit or acting or here)[0]
        return Actor(user_id=self.user_id, role=g.role, school_id=g.school_id, name=self.name or None)

    def may_take(self, school_id: str, action: str) -> bool:
        """Whether they may take `action` at `school_id` (as `actor_at` acts there)."""
        actor = self.actor_at(school_id, action)
        return actor is not None and actor.role in ACTION_ROLES.get(action, frozenset())

    def may_anywhere(self, action: str) -> bool:
        """Whether a role they hold, at some school or trust-wide, may take `action`."""
        return any(g.role in ACTION_ROLES.get(action, frozenset()) for g in self.grants)

    def roles_at(self, school_id: str) -> frozenset[Role]:
        return frozenset(g.role for g in self.grants if g.covers(school_id) and g.role not in LINK_ROLES)

    def may_see(self, school_id: str) -> bool:
        return any(g.covers(school_id) and g.role not in LINK_ROLES for g in self.grants)

    def sees_many_schools(self) -> bool:
        """Whether they may see more than one school's placements, so that a
        list of them names each one's school."""
        scope = self.school_scope()
        return scope is None or len(scope) > 1

    def school_scope(self) -> frozenset[str] | None:
        """The schools whose records this person may list; none means every school."""
        if any(g.role in TRUST_WIDE for g in self.grants):
            return None
        return frozenset(g.school_id for g in self.grants if g.school_id and g.role not in LINK_ROLES)
