"""A placement's mid and end evaluations in the console (appendix): what
its page shows of each (every part's scores, the score out of 125, the
difference since the last evaluation, the agreed actions), the form on
which staff record a part (the school's, or another's on their behalf, from
a paper form), and the links staff make for the pupil, a parent and the
provider to answer their own parts (`console.evaluation_links`).

The form is built from `record_evaluation`'s own model: a question a
statement (`domain.evaluations.STATEMENTS`), scored on the appendix's scale,
then the model's other fields as `forms` draws them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from pydantic import ValidationError, create_model

from console.evaluation_links import PURPOSES, SCOPES, issue
from console.identity import Principal, PrincipalDep
from console.signin.csrf import FormPrincipal
from domain import evaluations as ev
from domain.actions import RecordEvaluation
from domain.lifecycle import Refused
from domain.models import EvaluationAnswer, EvaluationPart, EvaluationStage, Model, Placement, field_path
from store import documents as sent

from . import forms, refusals
from .links import no_longer_works
from .rendering import not_found, page
from .services import OutcomeUnknown, Services, visible
from .steps import UNKNOWN, _key, new_key

router = APIRouter(include_in_schema=False)
ACTION = "record_evaluation"
SEND = "request_evaluation"
RUNNING = ("active", "under_review", "reintegrating")


# --- what the placement's page shows ------------------------------------------


@dataclass
class PartView:
    part: EvaluationPart
    heading: str
    statements: list[tuple[str, int | None]]
    answer: EvaluationAnswer | None
    subtotal: int | None
    out_of: int
    open_links: list[Any] = field(default_factory=list)
    may_link: bool = False
    may_send: bool = False  # ask for it by email, with its link (`request_evaluation`)
    asked_on: list[Any] = field(default_factory=list)  # the days it was asked for by email


@dataclass
class EvaluationView:
    stage: EvaluationStage
    title: str
    parts: list[PartView]
    complete: bool
    started: bool
    total: int
    difference: str | None  # "+7", "-3", "0"; none until this and the last are complete
    previous: str | None  # what the difference is from
    agreed_actions: str | None


def section(engine, p: Placement, principal: Principal, possible: list[str]) -> dict[str, Any]:
    """The placement page's evaluations, and what this person may do about them."""
    now = datetime.now(UTC)
    links = [x for x in sent.links_for(engine, p.placement_id)
             if x.purpose in {lp.value for lp in SCOPES} and x.used_at is None and x.revoked_at is None
             and x.expires_at > now]
    may_record = ACTION in possible and principal.may_take(p.school.school_id, ACTION)
    may_link = ACTION in possible and principal.may_take(p.school.school_id, "manage_links")
    may_send = SEND in possible and principal.may_take(p.school.school_id, SEND)
    views = []
    for stage in EvaluationStage:
        e = ev.record(p, stage)
        parts = []
        for part in EvaluationPart:
            a = ev.answer(e, part)
            scores = a.scores if a else [None] * len(ev.STATEMENTS[part])
            purpose = PURPOSES.get((stage, part))
            parts.append(PartView(
                part=part, heading=ev.HEADINGS[part], statements=list(zip(ev.STATEMENTS[part], scores)), answer=a,
                subtotal=sum(a.scores) if a else None, out_of=5 * len(ev.STATEMENTS[part]),
                open_links=[x for x in links if purpose and x.purpose == purpose.value],
                may_link=may_link and purpose is not None and a is None,
                may_send=may_send and purpose is not None and a is None,
                asked_on=[r.on for r in p.evaluation_requests if (r.stage, r.part) == (stage, part)],
            ))
        before = ev.previous(p, stage)
        views.append(EvaluationView(
            stage=stage, title=ev.STAGES[stage][:1].upper() + ev.STAGES[stage][1:], parts=parts, complete=ev.complete(e),
            started=e is not None, total=ev.total(e), difference=ev.signed(ev.difference(p, stage)),
            previous=ev.STAGES[before.stage] if before else None, agreed_actions=e.agreed_actions if e else None,
        ))
    return dict(evaluations=views, evaluation_max=ev.MAX_SCORE, may_record_evaluation=may_record)


# --- the form ----------------------------------------------------------------


def _others(part: EvaluationPart) -> type[Model]:
    """The model's fields besides the scores, as the form draws them (the
    agreed actions with the school's part only)."""
    names = ["comment", "signed_by", "signed_on"] + (["agreed_actions"] if part is EvaluationPart.school else [])
    fields = RecordEvaluation.model_fields
    return create_model(f"Evaluation_{part.value}", __base__=Model, **{n: (fields[n].annotation, fields[n]) for n in names})


def tree(part: EvaluationPart, values) -> list[forms.Widget]:
    scale = [(str(v), f"{words} ({v})") for v, words in ev.SCALE]
    scores = forms.Widget(name="scores", label=ev.HEADINGS[part], kind="fieldset", children=[
        forms.Widget(name=f"scores.{i}", label=f"{i + 1}. {text}", kind="radios", required=True, choices=scale,
                     value=(values.get(f"scores.{i}") or [""])[0])
        for i, text in enumerate(ev.STATEMENTS[part])
    ])
    rest = forms.widgets(_others(part), values)
    for w in rest:
        if w.name in ("comment", "agreed_actions"):
            w.kind = "textarea"
        w.label = {"comment": ev.COMMENTS[part], "signed_by": f"{ev.SIGNATURES[part]}: the name signed",
                   "signed_on": "Date signed", "agreed_actions": "Agreed actions as a result of this evaluation"}[w.name]
    return [scores, *rest]


def read(stage: EvaluationStage, part: EvaluationPart, values) -> tuple[RecordEvaluation | None, dict[str, str]]:
    data, problems = forms.parse(_others(part), values)
    data.update(stage=stage.value, part=part.value,
                scores=[(values.get(f"scores.{i}") or [""])[0] or None for i in range(len(ev.STATEMENTS[part]))])
    try:
        action = RecordEvaluation.model_validate(data)
    except ValidationError as e:
        for err in e.errors():
            name = field_path(err)
            problems.setdefault(name, "Choose a score for this statement" if name.startswith("scores.") else forms._message(err))
        return None, problems
    return (None, problems) if problems else (action, {})


def _scope(stage: str, part: str) -> tuple[EvaluationStage, EvaluationPart] | None:
    try:
        return EvaluationStage(stage), EvaluationPart(part)
    except ValueError:
        return None


def _draw(request, principal, p: Placement, stage, part, values, key, problems=(), status=200, refused=False):
    widgets = tree(part, values)
    errors = forms.place_errors(widgets, problems)
    return page(request, "step.html", principal, status=status, title=f"{ev.HEADINGS[part]}: {ev.STAGES[stage]}",
                tree=widgets, errors=errors, post_to=f"/placements/{p.placement_id}/evaluations/{stage.value}/{part.value}",
                idempotency_key=key, placement=p, action=ACTION, back=f"/placements/{p.placement_id}", refused=refused)


@router.get("/placements/{placement_id}/evaluations/{stage}/{part}")
def evaluation_form(placement_id: str, stage: str, part: str, principal: PrincipalDep, request: Request):
    row = visible(request, principal, placement_id)
    scope = _scope(stage, part)
    if row is None or scope is None:
        return not_found(request, principal, "placement or evaluation")
    return _draw(request, principal, Placement.model_validate(row.data), *scope, {}, new_key())


@router.post("/placements/{placement_id}/evaluations/{stage}/{part}")
async def record_part(placement_id: str, stage: str, part: str, principal: FormPrincipal, request: Request):
    row = await run_in_threadpool(visible, request, principal, placement_id)
    scope = _scope(stage, part)
    if row is None or scope is None:
        return not_found(request, principal, "placement or evaluation")
    p = Placement.model_validate(row.data)
    values = forms.values_of(await request.form())
    key = _key(values)
    action, problems = read(*scope, values)
    if action is None:
        return _draw(request, principal, p, *scope, values, key, problems, status=422)
    try:
        await Services.of(request).act(placement_id, principal.actor_at(row.school_id, ACTION), action, key)
    except Refused as e:
        return _draw(request, principal, p, *scope, values, new_key(), refusals.problems(ACTION, e.unmet), status=409, refused=True)
    except OutcomeUnknown:
        return _draw(request, principal, p, *scope, values, key, [("", UNKNOWN)], status=503)
    return RedirectResponse(f"/placements/{placement_id}?done={ACTION}#evaluation-{scope[0].value}", status_code=303)


# --- a link for a part ----------------------------------------------------------


@router.post("/placements/{placement_id}/evaluations/{stage}/{part}/link")
async def make_link(placement_id: str, stage: str, part: str, principal: FormPrincipal, request: Request):
    """A link for the pupil, a parent or the provider to answer their part:
    its address to copy into a message to them. The button's form carries a
    key of its own, so sent again (a reload) it finds the link it made."""
    key = _key(forms.values_of(await request.form()))
    return await run_in_threadpool(_made, placement_id, stage, part, principal, request, key)


def _made(placement_id: str, stage: str, part: str, principal, request: Request, key: str):
    row = visible(request, principal, placement_id)
    scope = _scope(stage, part)
    if row is None or scope is None or scope not in PURPOSES:
        return not_found(request, principal, "placement or evaluation")
    p = Placement.model_validate(row.data)
    stage_, part_ = scope
    why = None
    if not principal.may_take(row.school_id, "manage_links"):
        why = "The school's AP lead or headteacher make the links for an evaluation."
    elif p.state not in RUNNING:
        why = f"The placement is {p.state.replace('_', ' ')}: an evaluation is recorded while it runs."
    elif ev.answer(ev.record(p, stage_), part_) is not None:
        why = f"{ev.WHOSE[part_][:1].upper()}{ev.WHOSE[part_][1:]} part of the {ev.STAGES[stage_]} is recorded already."
    if why:
        return page(request, "evaluation_link_made.html", principal, status=409, placement=p, why=why,
                    back=f"/placements/{placement_id}")
    actor = principal.actor_at(row.school_id, "manage_links")
    url, link = issue(request.app.state.settings, request.app.state.engine, placement_id, stage_, part_, actor.user_id, key=key)
    if spent := no_longer_works(link):
        return page(request, "evaluation_link_made.html", principal, status=409, placement=p, back=f"/placements/{placement_id}",
                    why=f"The link this button made {spent}: make a new one from the placement's page.")
    return page(request, "evaluation_link_made.html", principal, placement=p, url=url, link=link,
                title=f"Link for {ev.WHOSE[part_]} part of the {ev.STAGES[stage_]}", whose=ev.WHOSE[part_],
                back=f"/placements/{placement_id}", expires=link.expires_at)
