"""A part of an evaluation answered through its link: the pupil's, a
parent's or the provider's part of the mid or end evaluation (appendix).

Each link is signed, expiring and scoped to one placement, one evaluation
and one part (its purpose, `evaluation_<stage>_<part>`, as `documents.links`
signs it), issued by the school's staff from the placement's page or with
`POST /api/placements/{id}/links`, and kept in the same table as a
provider's links (withdrawn the same way). `GET /evaluation/<token>` shows
the part's statements and a form; `POST` takes the answer as the form's
fields or as JSON (`{"scores": [...], "comment": ..., "signed_by": ...}`).
The answer becomes `record_evaluation` on the placement with the person as
actor (role `pupil`, `parent` or `provider`; user id = the link id), dated
the day it is received, judged like any other step. A link answers once.

Refused, with nothing recorded: a link whose signature does not verify or
that is for something else (403), one that has expired, was withdrawn or was
answered already, whose part was recorded already or whose placement has
ended (410), an answer that
does not validate (422, each field's error), one the placement cannot take
now (409, the policy's reasons).
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader
from pydantic import BaseModel, Field, ValidationError

from apflow.settings import Settings
from documents import LinkClaims, LinkError, LinkPurpose, LinkRevoked
from documents.formatting import date_time
from domain import evaluations
from domain.actions import RecordEvaluation
from domain.clock import uk_date
from domain.lifecycle import Refused
from domain.models import Actor, EvaluationPart, EvaluationStage, Model, Placement, Score, field_path
from store import documents as sent
from store import register

from .authority import visible_placement
from .documents import issue_by_hand
from .identity import PrincipalDep
from . import link_pages
from .link_pages import LinkUsed, PlacementEnded, open_link, read_answer, wants_html
from .provider import MAX_FORM_FIELDS

_pages = Environment(loader=FileSystemLoader(str(Path(__file__).parent / "templates")), autoescape=True)

# Each link's purpose names its evaluation and part; the school's part has no link.
PURPOSES: dict[tuple[EvaluationStage, EvaluationPart], LinkPurpose] = {
    (stage, part): LinkPurpose(f"evaluation_{stage.value}_{part.value}")
    for stage in EvaluationStage for part in evaluations.ANSWERED_BY
}
SCOPES = {purpose: scope for scope, purpose in PURPOSES.items()}
DEFAULT_VALID_DAYS = 14
ASKED = {EvaluationPart.pupil: "your evaluation", EvaluationPart.parent: "your evaluation",
         EvaluationPart.provider: "your report"}


class LinkAnswer(Model):
    """What a link's form sends: the scores in the statements' order, the
    general comment and the name signed."""

    scores: Annotated[list[Score], Field(min_length=1, max_length=7)]
    comment: Annotated[str, Field(max_length=4000)] | None = None
    signed_by: Annotated[str, Field(min_length=1, max_length=200)]


def issue(settings: Settings, engine, placement_id: str, stage: EvaluationStage, part: EvaluationPart,
          issued_by: str, valid_days: int = DEFAULT_VALID_DAYS, now: datetime | None = None,
          key: str | None = None) -> tuple[str, sent.ProviderLinkRow]:
    """A link for one part of one evaluation: its URL (never stored) and its row."""
    return issue_by_hand(settings, engine, placement_id, PURPOSES[(stage, part)], issued_by, valid_days, now, key)


def fields_of(part: EvaluationPart, values: dict[str, Any], errors: dict[str, str]) -> list[dict[str, Any]]:
    """The form: a question a statement, scored on the appendix's scale, then the comment and the signature."""
    out = [dict(name=f"scores.{i}", kind="scale", label=text, value=values.get(f"scores.{i}"), error=errors.get(f"scores.{i}"),
                choices=[(str(v), f"{words} ({v})") for v, words in evaluations.SCALE])
           for i, text in enumerate(evaluations.STATEMENTS[part])]
    out.append(dict(name="comment", kind="textarea", label=evaluations.COMMENTS[part], hint="Optional",
                    value=values.get("comment"), error=errors.get("comment")))
    out.append(dict(name="signed_by", kind="text", label="Your name", hint=f"In place of the {evaluations.SIGNATURES[part].lower()}",
                    value=values.get("signed_by"), error=errors.get("signed_by")))
    return out


class PartOut(BaseModel):
    part: EvaluationPart
    heading: str
    statements: list[str]
    scores: list[int] | None  # none until the part is recorded
    subtotal: int | None
    comment: str | None
    signed_by: str | None
    signed_on: date | None
    recorded_by: Actor | None
    on_behalf: bool | None


class EvaluationOut(BaseModel):
    stage: EvaluationStage
    complete: bool
    missing: list[EvaluationPart]
    total: int  # so far; out of `max_score` once complete
    max_score: int
    difference: int | None  # since the last complete evaluation; none until this one and it are complete
    agreed_actions: str | None
    parts: list[PartOut]


def evaluations_of(p: Placement) -> list[EvaluationOut]:
    out = []
    for stage in EvaluationStage:
        e = evaluations.record(p, stage)
        parts = []
        for part in EvaluationPart:
            a = evaluations.answer(e, part)
            parts.append(PartOut(
                part=part, heading=evaluations.HEADINGS[part], statements=list(evaluations.STATEMENTS[part]),
                scores=a.scores if a else None, subtotal=sum(a.scores) if a else None, comment=a.comment if a else None,
                signed_by=a.signed_by if a else None, signed_on=a.signed_on if a else None,
                recorded_by=a.recorded_by if a else None, on_behalf=a.on_behalf if a else None,
            ))
        out.append(EvaluationOut(
            stage=stage, complete=evaluations.complete(e), missing=evaluations.missing(e), total=evaluations.total(e),
            max_score=evaluations.MAX_SCORE, difference=evaluations.difference(p, stage),
            agreed_actions=e.agreed_actions if e else None, parts=parts,
        ))
    return out


def router(settings: Settings) -> APIRouter:
    r = APIRouter(tags=["evaluations"])

    @r.get("/api/placements/{placement_id}/evaluations", response_model=list[EvaluationOut])
    def placement_evaluations(placement_id: str, principal: PrincipalDep, request: Request):
        """The mid and end evaluations as the register holds them: each part's
        statements and scores, the score so far (out of 125 once complete), the
        difference since the last evaluation and the agreed actions."""
        row = visible_placement(request.app.state.engine, principal, placement_id)
        return evaluations_of(Placement.model_validate(row.data))

    def check(request: Request, token: str) -> tuple[LinkClaims, sent.ProviderLinkRow, Placement]:
        """The link's claims, row and placement if it may be used now; a `LinkError` otherwise."""
        claims, row = open_link(settings, request.app.state.engine, token, SCOPES)
        if row.used_at is not None:
            raise LinkUsed("answered already")
        placement = register.get(request.app.state.engine, claims.placement_id)
        if placement is None:
            raise LinkRevoked("no such placement")
        p = Placement.model_validate(placement.data)
        if p.final:  # its workflow takes no more steps: shown so before anyone writes an answer
            raise PlacementEnded("the placement has ended")
        stage, part = SCOPES[claims.purpose]
        if evaluations.answer(evaluations.record(p, stage), part) is not None:
            raise LinkUsed("the part was recorded already")
        return claims, row, p

    def page(status: int, **values) -> HTMLResponse:
        return HTMLResponse(_pages.get_template("evaluation_link.html.j2").render(**values), status_code=status,
                            headers={"Cache-Control": "no-store"})

    def about(claims: LinkClaims, p: Placement) -> dict[str, Any]:
        stage, part = SCOPES[claims.purpose]
        return dict(placement_id=claims.placement_id, stage=stage.value, part=part.value,
                    title=f"{evaluations.HEADINGS[part]}: {evaluations.STAGES[stage]}",
                    asked=ASKED[part], expires=date_time(claims.expires_at), school_name=p.school.name,
                    provider_name=p.provider.name, scale=evaluations.SCALE)

    def refused(request: Request, e: LinkError) -> Response:
        return link_pages.refused(request, e, page, "evaluation")

    @r.get("/evaluation/{token}", response_class=HTMLResponse)
    def show(token: str, request: Request):
        """The part's statements and a form (a plain function: its reads of the register go to a thread)."""
        try:
            claims, _, p = check(request, token)
        except LinkError as e:
            return refused(request, e)
        info = about(claims, p)
        stage, part = SCOPES[claims.purpose]
        if not wants_html(request):
            return JSONResponse({"placement_id": claims.placement_id, "stage": stage.value, "part": part.value,
                                 "title": info["title"], "statements": list(evaluations.STATEMENTS[part]),
                                 "scale": [{"score": v, "words": w} for v, w in evaluations.SCALE],
                                 "expires_at": claims.expires_at.isoformat()})
        return page(200, outcome=None, errors=[], fields=fields_of(part, {}, {}), **info)

    @r.post("/evaluation/{token}")
    async def answer(token: str, request: Request):
        """The answer, as form fields or JSON; recorded once."""
        html = wants_html(request)
        try:
            claims, _, p = await run_in_threadpool(check, request, token)
        except LinkError as e:
            return refused(request, e)
        stage, part = SCOPES[claims.purpose]
        answered = await read_answer(request, html, MAX_FORM_FIELDS)
        if isinstance(answered, JSONResponse):
            return answered
        if html:
            values = {k: v.strip() for k, v in answered}
            raw: dict[str, Any] = {k: v for k, v in values.items() if k in ("comment", "signed_by") and v}
            raw["scores"] = [values.get(f"scores.{i}") or None for i in range(len(evaluations.STATEMENTS[part]))]
        else:
            raw, values = answered, {}
        need = len(evaluations.STATEMENTS[part])
        errors: dict[str, str] = {}
        try:
            given = LinkAnswer.model_validate(raw)
            if len(given.scores) != need:
                errors["scores"] = f"Score each of the {need} statements, from 1 to 5"
        except ValidationError as e:
            for err in e.errors():
                loc = field_path(err) or "form"
                errors.setdefault(loc, _say(err, loc))
        if errors:
            if html:
                return page(422, outcome=None, fields=fields_of(part, values, errors),
                            errors=[{"field": k.replace(".", "-"), "message": v} for k, v in errors.items()], **about(claims, p))
            return JSONResponse(status_code=422, content={"detail": {
                "error": "invalid", "message": "The answer is incomplete or wrong: nothing was recorded.",
                "fields": [{"field": k, "message": v} for k, v in errors.items()]}})

        role = evaluations.ANSWERED_BY[part]
        actor = Actor(user_id=claims.link_id, role=role, school_id=p.school.school_id)
        action = RecordEvaluation(stage=stage, part=part, scores=given.scores, comment=given.comment,
                                  signed_by=given.signed_by, signed_on=uk_date(datetime.now(UTC)))
        try:
            await link_pages.act_once(request, claims, actor, action)
        except LinkError as e:
            return refused(request, e)
        except Refused as e:
            return link_pages.not_taken(e, html, page)
        if html:
            return page(200, outcome="received", **(about(claims, p) | {"title": f"Thank you: {ASKED[part]} has been sent"}))
        return JSONResponse({"received": claims.purpose.value, "placement_id": claims.placement_id})

    return r


def _say(err: dict, loc: str) -> str:
    kind = err.get("type", "")
    if loc.startswith("scores."):
        return "Choose how much you agree with this statement"
    if loc == "signed_by":
        return "Enter your name" if kind in ("missing", "string_too_short") else "Your name takes at most 200 characters"
    if loc == "comment":
        return "The comment takes at most 4000 characters"
    if loc == "scores":
        return "Score each statement, from 1 to 5"
    return f"{loc.replace('_', ' ').capitalize()}: {err['msg']}"
