"""The commissioning agreement as a printable PDF for signatures, with the
letters' own renderer, fonts and layout (`documents.pdf`).

`context` puts the form together: what the proposal holds is read from the
placement, the rest from the school's `CommissioningAgreement`. A field
nobody has filled in yet is None, and the template leaves a line for it
to be completed by hand. The document is dated the day it is made.
"""
from __future__ import annotations

import hashlib
from datetime import date, datetime, timezone
from typing import Any

from domain.agreement import FORWARD_TO_WORDS, KS4_YEARS, CommissioningAgreement, ForwardTo
from domain.directory import SchoolContacts
from domain.models import Placement

from .pdf import html_to_pdf
from .render import RenderedDocument, default_renderer, plain

KIND = "commissioning_agreement"
TEMPLATE = "commissioning_agreement.html.j2"
TITLE = "Alternative Provision Commissioning Agreement"


def _staff(member) -> dict | None:
    return {"name": member.name, "role": None, "phone": None, "email": member.email} if member and member.name else None


def context(p: Placement, agreement: CommissioningAgreement | None, issued_on: date,
            contacts: SchoolContacts | None = None) -> dict[str, Any]:
    """Every field of the appendix's form, by where the template prints it.
    The trust's directory entry (`contacts`) gives the school's letterhead,
    and its DSL and AP lead where the agreement names no one else."""
    a = agreement or CommissioningAgreement()
    contacts = contacts or SchoolContacts()
    parent = p.parent_contacts[0] if p.parent_contacts else None
    emergency = [plain(c) for c in p.emergency_contacts[:2]]
    emergency += [None] * (2 - len(emergency))
    objectives = [o.description for o in p.objectives[:3]]
    objectives += [None] * (3 - len(objectives))
    provider = p.provider
    chosen = set(a.forward_to)
    return {
        "placement_id": p.placement_id,
        "issued_on": issued_on,
        "school": {**plain(p.school), "address": contacts.address, "phone": contacts.phone, "email": contacts.email},
        "pupil": {"name": p.pupil.name, "date_of_birth": p.pupil.date_of_birth, "year_group": p.pupil.year_group,
                  "free_school_meals": p.pupil.free_school_meals},
        "ks4": p.pupil.year_group in KS4_YEARS,
        "parent": plain(parent) if parent else None,
        "other_parents": [c.name for c in p.parent_contacts[1:]],
        "phones": plain(a.parent_phones) if a.parent_phones else {"home": None, "mobile": None, "work": None},
        "emergency": emergency,
        "provider": {"name": provider.name, "sites": plain(provider.sites)},
        "start_date": p.start_date,
        "pattern": plain(p.pattern),
        "objectives": objectives,
        "ap_dsl": plain(provider.dsl) if provider.dsl else None,
        "ap_lead": plain(a.ap_lead or provider.named_contact) if (a.ap_lead or provider.named_contact) else None,
        "academy_dsl": plain(a.academy_dsl) if a.academy_dsl else _staff(contacts.dsl),
        "school_referrer": plain(a.school_referrer) if a.school_referrer else _staff(contacts.ap_lead),
        "a": plain(a),
        # The form's list, each marked when the school chose it (all of it when it chose none yet).
        "forward_to": [(FORWARD_TO_WORDS[f], not chosen or f in chosen) for f in ForwardTo],
    }


def render(p: Placement, agreement: CommissioningAgreement | None, made_at: datetime,
           issued_on: date | None = None, contacts: SchoolContacts | None = None) -> RenderedDocument:
    """The agreement's HTML and PDF, dated `issued_on` (the day it is made)."""
    if made_at.tzinfo is None:
        made_at = made_at.replace(tzinfo=timezone.utc)
    day = issued_on or made_at.date()
    ctx = context(p, agreement, day, contacts)
    html = default_renderer().env.get_template(TEMPLATE).render(ctx)
    pdf = html_to_pdf(html, title=TITLE, footer=f"Reference {p.placement_id}", created=made_at,
                      author=p.school.name)
    return RenderedDocument(KIND, TITLE, html, pdf, hashlib.sha256(pdf).hexdigest())
