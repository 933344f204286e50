"""Today's quick contacts: a short form per open placement for the weekly
wellbeing contact (§2.5, §3.4) and the daily attendance call (§2.5), posted
as `record_contact` like any step, and back to Today with a confirmation.

The placements offered are the running ones at the schools where this person
may record a contact (one indexed register query, the soonest deadline
first). A refused or malformed contact shows Today again with the message
beside that placement's form, and changes nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from markupsafe import Markup
from sqlalchemy import Engine, select

from console.dates import DATE_PARTS
from console.identity import Principal
from console.signin.csrf import FormPrincipal
from domain.access import ACTION_ROLES, TRUST_WIDE
from domain.actions import RecordContact
from domain.lifecycle import RUNNING_STATES, Refused
from domain.models import ContactKind
from store.tables import PlacementRow

from . import forms, refusals
from .rendering import env
from .services import OutcomeUnknown, Services, pupil_of, visible
from .steps import UNKNOWN, _key, new_key  # noqa: F401  (new_key: each form's own key)

router = APIRouter(include_in_schema=False)

SHOWN = 20
# What the quick form records; a visit has its progress record (`record_visit`).
QUICK_KINDS = (ContactKind.wellbeing, ContactKind.attendance_call)
KIND_WORDS = {ContactKind.wellbeing: "Weekly wellbeing contact", ContactKind.attendance_call: "Daily attendance call"}
LABELS = {"contact.kind": "The kind of contact", "contact.on": "The date", "contact.notes": "A note"}
_PLACEMENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass
class QuickForm:
    """One open placement's form, with what was sent and what was wrong."""

    placement_id: str
    pupil_name: str
    provider_name: str
    kind: str = ContactKind.wellbeing.value
    on: dict = field(default_factory=dict)
    notes: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    def kind_items(self) -> list[dict]:
        return [{"value": k.value, "text": words, "checked": self.kind == k.value} for k, words in KIND_WORDS.items()]


def schools_for_contacts(principal: Principal) -> tuple[bool, set[str]]:
    """Whether this person records contacts at every school, and at which ones otherwise."""
    roles = ACTION_ROLES["record_contact"]
    everywhere = any(g.role in roles and g.role in TRUST_WIDE for g in principal.grants)
    return everywhere, {g.school_id for g in principal.grants if g.role in roles and g.school_id}


def open_placements(engine: Engine, principal: Principal, limit: int = SHOWN) -> list:
    everywhere, schools = schools_for_contacts(principal)
    if not everywhere and not schools:
        return []
    t = PlacementRow
    q = select(t.placement_id, t.pupil_name, t.provider_name, t.next_deadline).where(t.state.in_(sorted(RUNNING_STATES)))
    if not everywhere:
        q = q.where(t.school_id.in_(sorted(schools)))
    q = q.order_by(t.next_deadline, t.placement_id).limit(limit)
    with engine.connect() as conn:
        return list(conn.execute(q))


_FIELDS = env.get_template("_quick_contact_fields.html")


@lru_cache(maxsize=64)
def _blank_fields(n: int, kind: str, on: tuple[tuple[str, str], ...]) -> Markup:
    """The n-th form's fields as nobody has typed into them: the same for
    every placement on a day, so rendered once (the macros are most of Today's
    rendering time)."""
    return _FIELDS.module.fields(n, QuickForm("", "", "", kind=kind, on=dict(on)))


def quick_fields(n: int, form: QuickForm) -> Markup:
    """The n-th form's fields; one sent back with what was typed and its
    problems is rendered as it is, and kept nowhere."""
    if form.errors or form.notes:
        return _FIELDS.module.fields(n, form)
    return _blank_fields(n, form.kind, tuple(sorted(form.on.items())))


def quick_forms(engine: Engine, principal: Principal, today: date, sent: QuickForm | None = None) -> list[QuickForm]:
    day = {"day": str(today.day), "month": str(today.month), "year": str(today.year)}
    out = []
    for r in open_placements(engine, principal):
        if sent is not None and sent.placement_id == r.placement_id:
            out.append(sent)
        else:
            out.append(QuickForm(r.placement_id, r.pupil_name or "", r.provider_name, on=dict(day)))
    return out


def confirmation(request: Request, principal: Principal) -> str | None:
    """The banner after a quick contact: from ids in the address, never a name."""
    pid, kind = request.query_params.get("contact", ""), request.query_params.get("kind", "")
    if not _PLACEMENT_ID.match(pid) or kind not in {k.value for k in QUICK_KINDS}:
        return None
    row = visible(request, principal, pid)
    if row is None:
        return None
    return f"{KIND_WORDS[ContactKind(kind)]} recorded for {pupil_of(row)}"


@router.post("/today/contacts")
async def record_quick_contact(principal: FormPrincipal, request: Request):
    from .today import render_today  # Today imports this module for its forms

    values = forms.values_of(await request.form())
    pid = (values.get("placement_id") or [""])[0]
    row = await run_in_threadpool(visible, request, principal, pid) if _PLACEMENT_ID.match(pid) else None
    if row is None:
        return await run_in_threadpool(render_today, request, principal, 404,
                                       {"contact_problem": "That placement is not one of yours: nothing was recorded."})
    key = _key(values)
    kind = (values.get("contact.kind") or [""])[0]
    sent = QuickForm(pid, pupil_of(row), row.provider_name, kind=kind,
                     on={p: (values.get(f"contact.on.{p}") or [""])[0] for p in DATE_PARTS},
                     notes=(values.get("contact.notes") or [""])[0])
    data, problems = forms.read(RecordContact, values)
    if kind and kind not in {k.value for k in QUICK_KINDS}:
        data, problems = None, {**problems, "contact.kind": "Choose a wellbeing contact or an attendance call: a visit is recorded with its progress record"}
    status = 422
    if data is not None:
        actor = principal.actor_at(row.school_id, "record_contact")
        try:
            await Services.of(request).act(pid, actor, data, key)
            return RedirectResponse(f"/?contact={pid}&kind={kind}#quick-contacts", status_code=303)
        except Refused as e:
            problems, status = dict(refusals.problems("record_contact", e.unmet)), 409
        except OutcomeUnknown:
            problems, status = {"": UNKNOWN}, 503
    sent.errors = {name.removeprefix("contact."): msg.replace("{label}", LABELS.get(name, "This")) for name, msg in problems.items()}
    return await run_in_threadpool(render_today, request, principal, status, {"sent_contact": sent})
