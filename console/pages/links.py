"""A placement's signed links in the console: every link it has given (in a
letter, or by hand), what each is for and whether it still works; a link
withdrawn at once (one lost, or sent to the wrong person); and a new one
given to the provider by hand (one that expired, or an attendance link).

The same register rows and issuing as the API's `/api/placements/{id}/links`
(`console.documents`). A new link's address is shown once and kept nowhere.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from pydantic import Field

from console.documents import BY_HAND, issue_by_hand
from console.evaluation_links import SCOPES
from console.identity import Principal, PrincipalDep
from console.signin.csrf import FormPrincipal
from documents import LinkPurpose
from domain import evaluations as ev
from domain.lifecycle import FINAL_STATES
from domain.models import Model
from store import accounts
from store import documents as sent

from . import forms
from .placement import letter_title
from .rendering import not_found, page
from .services import posted_for, pupil_of, visible
from .steps import _key, new_key

router = APIRouter(include_in_schema=False)

MANAGE = "manage_links"
SHOWN_SPENT = 20  # links that no longer work, the latest first: a year's chases give one a day missed
PURPOSE_WORDS = {
    LinkPurpose.attendance: "Attendance, every session (§10.3, §12.1.4)",
    LinkPurpose.initial_assessment: "The initial assessment (§12.1.3)",
    LinkPurpose.progress_report: "A progress report (§2.6, §12.1.7)",
    LinkPurpose.final_report: "The final report (§2.6, §8.2.17)",
    LinkPurpose.review_views: "A parent's written views before a review (§6.8)",
}


def purpose_words(purpose: str) -> str:
    """What a link is for, in words: its request, or its part of an evaluation."""
    try:
        p = LinkPurpose(purpose)
    except ValueError:
        return purpose
    if p in SCOPES:
        stage, part = SCOPES[p]
        whose = ev.WHOSE[part]
        return f"{whose[:1].upper()}{whose[1:]} part of the {ev.STAGES[stage]}"
    return PURPOSE_WORDS.get(p, purpose)


class NewLinkEntry(Model):
    """A link given by hand, as staff ask for it."""

    purpose: LinkPurpose
    valid_days: Annotated[int, Field(ge=1, le=366)] = 14


LABELS = {"purpose": "What is the link for?", "valid_days": "Days it works for"}
HINTS = {"valid_days": "From 1 to 366. Two weeks unless the provider needs longer."}
LEFT_BLANK = {"purpose": "Choose what the link is for", "valid_days": "Enter how many days it works for"}


def _form(values: forms.Values) -> list[forms.Widget]:
    tree = forms.widgets(NewLinkEntry, values)
    for w in tree:
        w.label, w.hint = LABELS[w.name], HINTS.get(w.name)
        if w.name == "purpose":  # a few of the purposes: radios, not the select of all of them
            w.kind, w.choices, w.inline = "radios", [(p.value, PURPOSE_WORDS[p]) for p in BY_HAND], False
        elif w.name == "valid_days" and not w.value:
            w.value = "14"
    return tree


def state_of(row: sent.ProviderLinkRow, now: datetime) -> str:
    """Whether a link still works, and if not why: withdrawn, answered (a
    link that takes one answer) or expired."""
    if row.revoked_at is not None:
        return "withdrawn"
    if row.used_at is not None and row.purpose != LinkPurpose.attendance.value:
        return "answered"
    return "expired" if row.expires_at <= now else "works"


def no_longer_works(link: sent.ProviderLinkRow) -> str | None:
    """Why a link that a form's key found again no longer works, in words
    ("was withdrawn"); None while it works, and may be shown again."""
    return {"withdrawn": "was withdrawn", "answered": "has been answered", "expired": "has expired"}.get(
        state_of(link, datetime.now(UTC)))


def _page(request: Request, principal: Principal, row, values: forms.Values | None = None, problems=(),
          status: int = 200, made: tuple[str, sent.ProviderLinkRow] | None = None, key: str | None = None):
    engine = request.app.state.engine
    now = datetime.now(UTC)
    every = [(x, state_of(x, now)) for x in sorted(sent.links_for(engine, row.placement_id), key=lambda x: x.issued_at, reverse=True)]
    spent = [x.link_id for x, s in every if s != "works"]
    hidden = set(spent[SHOWN_SPENT:])
    shown = [(x, s) for x, s in every if x.link_id not in hidden]
    links = [x for x, _ in shown]
    letters = {d.document_id: letter_title(d) for d in sent.listed_for(engine, row.placement_id)}
    names = accounts.names(engine, {x.issued_by for x in links if x.issued_by not in letters}
                           | {x.revoked_by for x in links if x.revoked_by})
    may_manage = principal.may_take(row.school_id, MANAGE)
    ended = row.state in FINAL_STATES
    tree = _form(values or {}) if may_manage and not ended else []
    return page(
        request, "links.html", principal, status=status, nav="placements", row=row, pupil=pupil_of(row),
        links=shown, more_spent=max(0, len(spent) - SHOWN_SPENT), purpose_words=purpose_words,
        issued_by=lambda who: f"In the letter “{letters[who]}”" if who in letters else names.get(who, who),
        names=names, may_manage=may_manage, ended=ended, tree=tree, errors=forms.place_errors(tree, problems), made=made,
        idempotency_key=key or new_key(),
        withdrawn=request.query_params.get("withdrawn", "") in {x.link_id for x, s in every if s == "withdrawn"},
    )


async def _posted(request: Request, principal: Principal, placement_id: str):
    """A posted form's values and its placement's row, or the page refusing it."""
    return await posted_for(request, principal, placement_id, MANAGE, "You cannot give or withdraw links",
                            "The placement's links are given and withdrawn by the school's AP lead or headteacher; "
                            "no role you hold at this school does so.")


@router.get("/placements/{placement_id}/links")
def links_page(placement_id: str, principal: PrincipalDep, request: Request):
    row = visible(request, principal, placement_id)
    if row is None:
        return not_found(request, principal, "placement")
    return _page(request, principal, row)


@router.post("/placements/{placement_id}/links")
async def give_link(placement_id: str, principal: FormPrincipal, request: Request):
    values, row, refused = await _posted(request, principal, placement_id)
    if refused is not None:
        return refused
    if row.state in FINAL_STATES:
        problems = [("", f"The placement is {row.state}: its provider is asked for nothing more, so no link is given")]
        return await run_in_threadpool(_page, request, principal, row, values, problems, 409)
    entry, problems = forms.read(NewLinkEntry, values, LEFT_BLANK)
    key = _key(values)  # the form's own: sent again (a reload), it finds the link it made
    if entry is None or entry.purpose not in BY_HAND:
        problems = problems or {"purpose": "Choose one of the options for What is the link for?"}
        return await run_in_threadpool(_page, request, principal, row, values, problems, 422, None, key)
    actor = principal.actor_at(row.school_id, MANAGE)
    url, link = await run_in_threadpool(issue_by_hand, request.app.state.settings, request.app.state.engine, placement_id,
                                        entry.purpose, actor.user_id, entry.valid_days, None, key)
    if spent := no_longer_works(link):
        problems = [("", f"The link this form made {spent}: make a new one")]
        return await run_in_threadpool(_page, request, principal, row, None, problems, 409)
    return await run_in_threadpool(_page, request, principal, row, None, (), 200, (url, link))


@router.post("/placements/{placement_id}/links/{link_id}/withdraw")
async def withdraw_link(placement_id: str, link_id: str, principal: FormPrincipal, request: Request):
    _, row, refused = await _posted(request, principal, placement_id)
    if refused is not None:
        return refused
    engine = request.app.state.engine
    link = await run_in_threadpool(sent.get_link, engine, link_id)
    if link is None or link.placement_id != placement_id:
        return not_found(request, principal, "link")
    actor = principal.actor_at(row.school_id, MANAGE)
    await run_in_threadpool(sent.revoke_link, engine, link_id, actor.user_id, datetime.now(UTC))
    return RedirectResponse(f"/placements/{placement_id}/links?withdrawn={link_id}#links", status_code=303)
