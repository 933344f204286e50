"""Every lifecycle step as a form built from its own model, and the
proposal (`/placements/new`). Posting a form takes the step as the JSON API
does; a refusal or a malformed answer shows the form again, each message
beside the field it concerns, and changes nothing.

Each form carries an idempotency key of its own, made when it is drawn: the
same form posted twice (a double click, a retry after no answer) is one step.
"""
from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from console import providers_api
from console.identity import IDEMPOTENCY_KEY, Principal, PrincipalDep
from console.signin.csrf import FormPrincipal
from documents.formatting import long_date, or_join
from domain.access import ACTION_ROLES
from domain.actions import ACTION_MODELS
from domain.lifecycle import Refused
from domain.models import Placement, Proposal, Role
from domain.providers import PROVIDER_ID_PATTERN
from store import documents as sent
from store import register
from store.tables import PlacementRow

from . import forms, preview, providers, records, refusals, wording
from .rendering import not_found, page
from .services import OutcomeUnknown, Services, posted_file, visible

router = APIRouter(include_in_schema=False)

_KEY = re.compile(IDEMPOTENCY_KEY)
UNKNOWN = ("apflow could not tell whether this was recorded: Temporal did not answer in time. "
           "Send the form again: it will not be recorded twice.")
# What may open a form filled in from its address: ids, never anything about a pupil.
FROM_QUERY = {"document_id": "document_id", "escalation_id": "escalation_id"}
COPY_STAFF = (Role.ap_lead, Role.headteacher)


def new_key() -> str:
    return f"form-{uuid.uuid4().hex}"


def _key(values: dict[str, list[str]]) -> str:
    key = (values.get("idempotency_key") or [""])[0]
    return key if _KEY.match(key) else new_key()


def _draw(request: Request, principal: Principal, *, model: type[BaseModel], values, title: str, post_to: str,
          key: str, problems=(), add: str | None = None, status: int = 200, **context) -> HTMLResponse:
    tree = forms.widgets(model, values, add=add)
    forms.offer(tree, request.app.state.exports.choices)  # the census's codes, as the trust keeps them
    if model is providers_api.ProposalIn:  # the provider picked from the trust's list
        tree = providers.proposal_widgets(request, tree)
    if context.get("action") == "record_visit":
        records.name_objectives(tree, context["placement"])
    if context.get("action") == "notify":
        tree = dual_registration(tree, context["placement"])
    if context.get("action") in records.CARRY_REVIEW:
        booked_meeting(tree, context["placement"])
    errors = forms.place_errors(tree, problems)
    return page(request, "step.html", principal, status=status, title=title, tree=tree, errors=errors,
                post_to=post_to, idempotency_key=key, **context)


def dual_registration(tree: list[forms.Widget], p: Placement) -> list[forms.Widget]:
    """The notice's dual registration, asked only where the provider is a
    registered school, where it is needed from the first day (§5.1.5, §8.2.4)."""
    if not p.provider.registered_school:
        return [w for w in tree if w.name != "dual_registration_from"]
    for w in tree:
        if w.name == "dual_registration_from":
            w.hint = (f"Needed: {p.provider.name} is a registered school, so the pupil is dual registered "
                      f"from the first day, {long_date(p.start_date)}, at the latest")
    return tree


def booked_meeting(tree: list[forms.Widget], p: Placement) -> None:
    """A review's record says when its meeting was booked for, beside the
    day it was held: the day held is asked, never assumed."""
    if not p.review_meetings:
        return
    m = p.review_meetings[-1]
    if any(r.held_on >= m.meeting_on for r in p.reviews):
        return  # that meeting's review is recorded already
    for top in tree:
        for w in top.walk():
            if w.name == "review.held_on":
                w.hint = f"The meeting was booked for {long_date(m.meeting_on)}{' at ' + m.place if m.place else ''}"


# --- a step on a placement ----------------------------------------------------


def initial(action: str, p: Placement, query) -> dict[str, list[str]]:
    """A step's form as it opens: what the placement holds under the same
    names (the provider as vetted, the details an amendment may change), and
    the ids a link may carry."""
    model = ACTION_MODELS[action]
    data = p.model_dump(mode="json")
    start = {name: data[name] for name, _ in forms.shown_fields(model) if name in data and data[name] not in (None, [], {})}
    if action == "close" and p.closure and p.closure.final_report:  # sent before, through the provider's link
        start["final_report"] = p.closure.final_report.model_dump(mode="json")
    values = forms.flatten(model, start)
    for param, name in FROM_QUERY.items():
        if query.get(param) and name in model.model_fields:
            values[name] = [query[param]]
    if query.get("copy") and "given_outside" in model.model_fields:
        values["given_outside.copy_document_id"] = [query["copy"]]
    return values


def _step_context(row: PlacementRow, action: str) -> dict:
    """What a step's page shows beside its form: the placement, what the
    step does at once, where Back goes, an upload for a letter given by
    hand, the notice's preview."""
    p = Placement.model_validate(row.data)
    return dict(placement=p, action=action, title=wording.action_title(action), lede=wording.LEDES.get(action),
                back=f"/placements/{row.placement_id}",
                upload=action in ("notify", "open_review"), copy_kind="notice_copy" if action == "notify" else "invitation_copy",
                preview=action == "notify")


@router.get("/placements/{placement_id}/actions/{action}")
def step_form(placement_id: str, action: str, principal: PrincipalDep, request: Request):
    row = visible(request, principal, placement_id)
    if row is None or action not in ACTION_MODELS:
        return not_found(request, principal, "placement or step")
    if not principal.may_take(row.school_id, action):  # said before the form is filled in
        roles = sorted(wording.phrase(r.value) for r in ACTION_ROLES.get(action, frozenset()) if r is not Role.system)
        title = wording.action_title(action)
        return page(request, "not_yours.html", principal, status=403, heading=f"You cannot {title[:1].lower()}{title[1:]}",
                    why=f"This step is taken by the school's {or_join(roles) or 'apflow itself'}; no role you hold at this school takes it.")
    ctx = _step_context(row, action)
    values = records.with_written_views(request.app.state.engine, action, ctx["placement"],
                                        initial(action, ctx["placement"], request.query_params))
    values = records.visited_by_them(action, principal, row.school_id, values)
    if action == "vet":  # a provider on the trust's list, vetted and current: its record fills the form
        values, ctx["from_record"] = providers.vet_values(request, ctx["placement"], values)
    return _draw(request, principal, model=ACTION_MODELS[action], values=values,
                 post_to=request.url.path, key=new_key(), **ctx)


@router.post("/placements/{placement_id}/actions/{action}")
async def take_step(placement_id: str, action: str, principal: FormPrincipal, request: Request):
    row = await run_in_threadpool(visible, request, principal, placement_id)
    if row is None or action not in ACTION_MODELS:
        return not_found(request, principal, "placement or step")
    model = ACTION_MODELS[action]
    values = forms.values_of(await request.form())
    key = _key(values)
    draw = dict(model=model, post_to=request.url.path, **_step_context(row, action))
    add = (values.get("_add") or [None])[0]
    if add:
        return _draw(request, principal, values=values, key=key, add=add, **draw)
    data, problems = forms.read(model, values)
    if data is None:
        return _draw(request, principal, values=values, key=key, problems=problems, status=422, **draw)
    actor = principal.actor_at(row.school_id, action)
    try:
        await Services.of(request).act(placement_id, actor, data, key)
    except Refused as e:
        # Nothing was recorded: the corrected form is a new request.
        return _draw(request, principal, values=values, key=new_key(), problems=refusals.problems(action, e.unmet),
                     status=409, refused=True, **draw)
    except OutcomeUnknown:
        return _draw(request, principal, values=values, key=key, problems=[("", UNKNOWN)], status=503, **draw)
    return RedirectResponse(f"/placements/{placement_id}?done={action}", status_code=303)


@router.get("/placements/{placement_id}/actions/notify/preview", response_model=None)
def notice_preview(placement_id: str, principal: PrincipalDep, request: Request, pdf: bool = False) -> Response:
    """The notice exactly as `notify` would send it now (HTML, or its PDF)."""
    row = visible(request, principal, placement_id)
    if row is None:
        return not_found(request, principal, "placement")
    p = Placement.model_validate(row.data)
    try:
        doc = preview.notice(request.app.state.settings, p, principal.actor_at(row.school_id, "notify"))
    except preview.NoPreview as e:
        return page(request, "no_preview.html", principal, status=409, placement=p, why=str(e))
    if pdf:
        return Response(doc.pdf, media_type="application/pdf", headers={"Cache-Control": "no-store"})
    return HTMLResponse(doc.html, headers={"Cache-Control": "no-store"})


@router.post("/placements/{placement_id}/documents")
async def upload_copy(placement_id: str, principal: PrincipalDep, request: Request):
    """Keeps the copy of a notice or invitation the school gave itself, then
    opens the step's form again with the copy's id filled in."""
    row, form, body = await posted_file(request, principal, placement_id, "copy")
    if row is None:
        return not_found(request, principal, "placement")
    kind = form.get("kind")
    step = "notify" if kind == "notice_copy" else "open_review"
    actor = principal.actor_at(row.school_id, step)
    problem = None
    if kind not in sent.COPY_KINDS:
        problem = "Choose which letter this is a copy of"
    elif actor is None or actor.role not in COPY_STAFF:
        problem = "The school's AP lead or headteacher keep the copies of its letters"
    elif not body.startswith(b"%PDF-"):
        problem = "The copy must be a PDF file"
    if problem:
        ctx = _step_context(row, step)
        return _draw(request, principal, model=ACTION_MODELS[step], values=initial(step, ctx["placement"], {}),
                     post_to=f"/placements/{placement_id}/actions/{step}", key=new_key(),
                     upload_error=problem, status=422, **ctx)
    doc = await run_in_threadpool(sent.add_copy, request.app.state.engine, placement_id, kind, body, actor.user_id,
                                  datetime.now(UTC))
    return RedirectResponse(f"/placements/{placement_id}/actions/{step}?copy={doc.document_id}", status_code=303)


# --- a proposal ---------------------------------------------------------------


def _proposal_start(request: Request, principal: Principal) -> dict[str, list[str]]:
    """The proposer's school, as its latest placement names it."""
    schools = principal.school_scope()
    if not schools or len(schools) != 1:
        return {}
    (school_id,) = schools
    latest = register.placements_page(request.app.state.engine, school_ids={school_id}, limit=1).rows
    school = register.get(request.app.state.engine, latest[0].placement_id).data["school"] if latest else {"school_id": school_id}
    return forms.flatten(Proposal, {"school": school})


PROPOSE = dict(model=providers_api.ProposalIn, title=wording.action_title("propose"), post_to="/placements/new", nav="propose",
               back="/placements", action="propose")


@router.get("/placements/new")
def proposal_form(principal: PrincipalDep, request: Request):
    if not principal.may_anywhere("propose"):  # said before the form, not after it is filled in
        return page(request, "not_yours.html", principal, status=403, heading="You cannot propose placements",
                    why="A placement is proposed by its school's AP lead or headteacher; "
                        "no role you hold proposes one. You can see the placements of the schools you hold a role at.")
    values = _proposal_start(request, principal)
    if re.match(PROVIDER_ID_PATTERN, request.query_params.get("provider_id", "")):  # from the provider's page
        values["provider_id"] = [request.query_params["provider_id"]]
    return _draw(request, principal, values=values, key=new_key(), **PROPOSE)


@router.post("/placements/new")
async def propose(principal: FormPrincipal, request: Request):
    values = forms.values_of(await request.form())
    key = _key(values)
    add = (values.get("_add") or [None])[0]
    if add:
        return _draw(request, principal, values=values, key=key, add=add, **PROPOSE)
    given, problems = forms.read(providers_api.ProposalIn, values)
    if given is None:
        return _draw(request, principal, values=values, key=key, problems=problems, status=422, **PROPOSE)
    actor = principal.actor_at(given.school.school_id, "propose")
    if actor is None or actor.role not in ACTION_ROLES["propose"]:
        mine = [("school.school_id", "You can propose placements only for a school where you are its AP lead or headteacher")]
        return _draw(request, principal, values=values, key=key, problems=mine, status=409, **PROPOSE)
    proposal, on_record = await run_in_threadpool(providers_api.resolve, request.app.state.engine, given,
                                                  providers_api.today())
    if proposal is None:
        return _draw(request, principal, values=values, key=key, problems=refusals.problems("propose", on_record),
                     status=422, **PROPOSE)
    try:
        snap = await Services.of(request).propose(proposal, actor, key, also_unmet=on_record)
    except Refused as e:
        return _draw(request, principal, values=values, key=new_key(), problems=refusals.problems("propose", e.unmet),
                     status=409, refused=True, **PROPOSE)
    except OutcomeUnknown:
        return _draw(request, principal, values=values, key=key, problems=[("", UNKNOWN)], status=503, **PROPOSE)
    return RedirectResponse(f"/placements/{snap.placement.placement_id}?done=propose", status_code=303)
