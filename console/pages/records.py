"""What a placement's page shows of its records: every progress visit with
its whole record (from the register, which keeps what the workflow drops),
the latest contacts, the reviews as recorded, the parents' written views
sent before a review (§6.8) and the reintegration plan."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine

from console.identity import Principal
from domain.calendar import SchoolCalendar
from domain.clock import uk_date
from domain.deadlines import half_terms
from domain.models import RISK_ASSESSMENT_QUESTIONS, VISIT_QUESTIONS, ContactKind, Placement, RecordedContact
from domain.settings import PolicySettings
from store import register
from store import views as written

from . import wording

RECENT_CONTACTS = 10


@dataclass
class VisitsDue:
    """This half-term's visit (§2.5, §8.2.6): made on a day, or due by its last day."""

    first: date
    last: date
    made_on: date | None


def this_half_term(p: Placement, calendar: SchoolCalendar, settings: PolicySettings, today: date) -> VisitsDue | None:
    """The half-term holding today, as the visit deadline counts it (`domain.deadlines`)."""
    if today < p.start_date:
        return None
    terms = half_terms(calendar, p.start_date, today, settings.fallback_half_term_weeks)
    if not terms:
        return None
    first, last = terms[-1]
    made = sorted(c.on for c in p.contacts if c.kind is ContactKind.visit and first <= c.on <= last)
    return VisitsDue(first, last, made[0] if made else None)


def context(engine: Engine, p: Placement, calendar: SchoolCalendar, settings: PolicySettings, today: date) -> dict:
    whole = register.with_all_records(engine, p)
    contacts: list[RecordedContact] = whole.contacts
    visits = [c for c in contacts if c.kind is ContactKind.visit]
    views = written.for_placement(engine, p.placement_id)
    return dict(
        visits=list(reversed(visits)),
        recent_contacts=list(reversed(contacts[-RECENT_CONTACTS:])),
        visit_questions={**VISIT_QUESTIONS, **RISK_ASSESSMENT_QUESTIONS},
        visits_due=this_half_term(whole, calendar, settings, today) if p.state in ("active", "under_review", "reintegrating") else None,
        written_views=views,
        review_views=by_review(p, views),
    )


def name_objectives(tree: list, p: Placement) -> None:
    """A visit form's progress entries, each labelled with its objective (the appendix's "original objective")."""
    for top in tree:
        for w in top.walk():
            if w.name == "visit.objectives_progress":
                w.children = w.children[:max(1, len(p.objectives))]
                for i, (child, objective) in enumerate(zip(w.children, p.objectives), 1):
                    child.label = f"Objective {i}: {objective.description}"
                w.value = {"addable": False}


def visited_by_them(action: str, principal: Principal, school_id: str, values: dict) -> dict:
    """A visit's form opened with the signed-in person as who visited, and
    their role at the school: the one recording a visit has most often made
    it. Edited when someone else did."""
    if action != "record_visit" or values.get("visit.visited_by"):
        return values
    actor = principal.actor_at(school_id, action)
    role = wording.words(actor.role.value) if actor else ""
    return {**values, "visit.visited_by": [principal.name or principal.user_id], "visit.role": [role]}


# Steps that carry a review record, whose parents' view may start from what they wrote (§6.8).
CARRY_REVIEW = ("record_review", "reintegrate", "terminate")


def with_written_views(engine: Engine, action: str, p: Placement, values: dict) -> dict:
    """A review's form opened with the parents' written views sent since the
    last review as the start of its parents' view; staff edit it as they record."""
    if action not in CARRY_REVIEW or values.get("review.parents_view"):
        return values
    since = p.reviews[-1].held_on if p.reviews else date.min
    sent = [w for w in written.for_placement(engine, p.placement_id) if uk_date(w.received_at) > since]
    if sent:
        values = {**values, "review.parents_view": ["Written views sent before the meeting: " + " / ".join(w.views for w in sent)]}
    return values


def by_review(p: Placement, views: list) -> list[list]:
    """The written views each review had before it: those received after the
    review before it, up to the day it was held (one list per review)."""
    out, since = [], date.min
    for r in p.reviews:
        out.append([w for w in views if since < uk_date(w.received_at) <= r.held_on])
        since = r.held_on
    return out

