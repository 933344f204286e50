"""Today: what is due for the signed-in person, by their roles and schools.

Every part is one indexed register query for a short list (open
escalations, placements whose next deadline falls within the week, starts
in the next two weeks, letters to post, the providers of open placements
whose insurance or checks expire soon); a listed placement's deadlines are
worked out from its row (pure, `domain.deadlines`), so no workflow is asked.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache

from fastapi import APIRouter, Request

from apflow.calendars import load_calendar
from console.identity import Principal, PrincipalDep
from domain.clock import uk_date
from domain.deadlines import deadlines
from domain.lifecycle import NOT_STARTED
from domain.models import STORED, Placement, Role
from store import documents as sent
from store import register

from . import providers, today_contacts
from .rendering import page

router = APIRouter(include_in_schema=False)

SHOWN = 20  # of each list; the rest are in the placements list
DUE_WITHIN = timedelta(days=7)
REVIEWS_WITHIN = STARTING_WITHIN = timedelta(days=14)
# Escalations a review answers: one overdue, one asked for, and the flags an extension at a review resolves.
REVIEW_KINDS = ("review", "requested_review", "drift", "full_time_limit", "part_time_limit")
REVIEW_DEADLINES = ("review", "requested_review")
# Whose escalations and deadlines are a role's: the trust's DSL is a DSL at every school.
OWNS = {Role.ap_lead: "ap_lead", Role.headteacher: "headteacher", Role.dsl: "dsl", Role.trust_dsl: "dsl"}
SEES_ALL = (Role.trust_operations, Role.read_only)
POSTS_LETTERS = (Role.ap_lead, Role.headteacher)


@dataclass
class Due:
    placement_id: str
    school_id: str
    pupil_name: str
    description: str
    due: date
    school_days_left: int
    overdue: bool
    owner: str
    clause: str


def owners(principal: Principal) -> set[str] | None:
    """The escalation owners this person answers for; none: all of them."""
    roles = {g.role for g in principal.grants}
    if roles & set(SEES_ALL):
        return None
    return {OWNS[r] for r in roles if r in OWNS}


def due_soon(request: Request, principal: Principal, scope, today: date) -> tuple[list[Due], list[Due], int]:
    """The deadlines due within the week and the reviews due within two, of
    the placements whose next deadline falls within two weeks (the soonest
    first), and how many such placements there are."""
    settings = request.app.state.settings
    mine = owners(principal)
    page_ = register.due_by(request.app.state.engine, scope, today + REVIEWS_WITHIN, limit=SHOWN)

    @cache
    def calendar(school_id: str):
        return load_calendar(school_id, settings.calendars_dir)

    due, reviews = [], []
    for row in page_.rows:
        p = Placement.model_validate(row.data, context=STORED)  # the register's own, checked when stored
        cal = calendar(row.school_id)
        for d in deadlines(p, cal, settings.policy, today):
            if d.owner is Role.system or (mine is not None and d.owner.value not in mine):
                continue
            review = d.kind in REVIEW_DEADLINES and d.due <= today + REVIEWS_WITHIN
            if not review and d.due > today + DUE_WITHIN:
                continue  # not shown: its school days left (counted a day at a time) are not needed
            item = Due(p.placement_id, row.school_id, p.pupil.name, d.description, d.due, cal.school_days_between(today, d.due),
                       d.due < today, d.owner.value, d.clause)
            (reviews if review else due).append(item)
    return sorted(due, key=lambda d: d.due), reviews, page_.total


@router.get("/")
def today_page(principal: PrincipalDep, request: Request):
    return render_today(request, principal)


def render_today(request: Request, principal: Principal, status: int = 200, extra: dict | None = None):
    """Today, with the quick contact forms (`today_contacts`); `extra` holds a
    contact sent back with its problems."""
    engine = request.app.state.engine
    today = uk_date(datetime.now(UTC))
    scope = principal.school_scope()
    mine = owners(principal)
    escalations = register.open_escalations(engine, scope, mine, limit=SHOWN)
    review_escalations = register.open_escalations(engine, scope, None, limit=SHOWN, kinds=REVIEW_KINDS)
    due, reviews, due_placements = due_soon(request, principal, scope, today)
    starting = register.starting_between(engine, scope, NOT_STARTED, today, today + STARTING_WITHIN, limit=SHOWN)
    posting = sorted({g.school_id for g in principal.grants if g.role in POSTS_LETTERS and g.school_id})
    letters, letters_waiting = sent.to_post_first(engine, posting, SHOWN)
    names = register.pupil_names(engine, {e.placement_id for e in escalations.rows + review_escalations.rows})
    names |= {d.placement_id: d.pupil_name for d in letters if d.pupil_name}
    return page(
        request, "today.html", principal, nav="today", today=today, escalations=escalations, due=due,
        due_placements=due_placements, count_cap=register.COUNT_CAP, reviews=reviews, review_escalations=review_escalations, starting=starting,
        letters=letters, letters_waiting=letters_waiting, posts_letters=bool(posting), pupil=lambda pid: names.get(pid, pid),
        providers_expiring=providers.expiring_for(request, principal)[:SHOWN],
        warn_days=request.app.state.settings.policy.providers.warn_days,
        shown=SHOWN, horizon=today + DUE_WITHIN, status=status, many_schools=principal.sees_many_schools(),
        quick_contacts=today_contacts.quick_forms(engine, principal, today, (extra or {}).get("sent_contact")),
        new_key=today_contacts.new_key, quick_fields=today_contacts.quick_fields,
        contact_done=today_contacts.confirmation(request, principal),
        contact_problem=(extra or {}).get("contact_problem"),
    )
