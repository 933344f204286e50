"""A parent's written views before a review meeting (§6.8), through the
signed link in the review invitation apflow emailed them: `/views/<token>`.

The link (`documents.links`, purpose `review_views`) is scoped to the
placement and to the meeting (it is issued with that meeting's invitation
and expires when the meeting starts), carries ids only, and answers once.
No sign-in: the page shows the school and the meeting the parent was invited
to, never the pupil's name or anything else of the placement.

Refused, with nothing recorded: a link that does not verify or is for
another purpose (403); one that has expired, was withdrawn, has been
answered, or whose placement has ended, so no meeting will follow (410);
views that are empty or too long (422). The views are kept
in the register (`store.views`), one row per link, and shown on the
placement's page and beside the review recorded after them.
"""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader
from pydantic import Field, ValidationError

from apflow.settings import Settings
from documents import LinkClaims, LinkError, LinkExpired, LinkPurpose, LinkWrongPurpose
from documents.formatting import date_time
from domain.clock import uk_date
from domain.models import Model
from store import documents as sent
from store import register
from store import views as written

from . import link_pages
from .link_pages import LinkUsed, PlacementEnded, open_link, read_answer, refuse_if_ended, wants_html

MAX_VIEWS = 4000
MAX_FORM_FIELDS = 5
_pages = Environment(loader=FileSystemLoader(str(Path(__file__).parent / "templates")), autoescape=True)


class ViewsAnswer(Model):
    views: Annotated[str, Field(min_length=1, max_length=MAX_VIEWS)]


# What this page says of a refusal, in a parent's terms (the rest as every link page says it).
SAID = {LinkWrongPurpose: "This link is for something else.",
        LinkExpired: "This link has expired: the review meeting has started.",
        LinkUsed: "Your views have been sent already: the link takes one answer.",
        PlacementEnded: "This placement has ended, so the review meeting will not take place."}


def meeting_of(claims: LinkClaims) -> datetime:
    """The meeting the link is for: it expires as the meeting starts."""
    return claims.expires_at


def router(settings: Settings) -> APIRouter:
    r = APIRouter(tags=["parents"])

    def check(request: Request, token: str) -> tuple[LinkClaims, sent.ProviderLinkRow]:
        """The link's claims if it may be answered now; a `LinkError` otherwise."""
        claims, row = open_link(settings, request.app.state.engine, token, [LinkPurpose.review_views])
        if row.used_at is not None:
            raise LinkUsed("answered already")
        refuse_if_ended(request.app.state.engine, claims)  # no review meeting will follow
        return claims, row

    def about(engine, claims: LinkClaims) -> dict:
        row = register.get(engine, claims.placement_id)
        school = ((row.data if row else {}).get("school") or {}).get("name")
        return dict(school_name=school, meeting=date_time(meeting_of(claims)), expires=date_time(claims.expires_at),
                    title="Your views before the review meeting", max_length=MAX_VIEWS)

    def page(status: int, **values) -> HTMLResponse:
        return HTMLResponse(_pages.get_template("views.html.j2").render(**values), status_code=status)

    def refused(request: Request, e: LinkError) -> Response:
        return link_pages.refused(request, e, page, "views", SAID)

    @r.get("/views/{token}", response_class=HTMLResponse)
    def show(token: str, request: Request):
        try:
            claims, _ = check(request, token)
        except LinkError as e:
            return refused(request, e)
        info = about(request.app.state.engine, claims)
        if not wants_html(request):
            return JSONResponse({"placement_id": claims.placement_id, "meeting": meeting_of(claims).isoformat(),
                                 "expires_at": claims.expires_at.isoformat()})
        return page(200, outcome=None, **info)

    @r.post("/views/{token}")
    async def answer(token: str, request: Request):
        html = wants_html(request)
        engine = request.app.state.engine
        try:
            claims, _ = await run_in_threadpool(check, request, token)
        except LinkError as e:
            return refused(request, e)
        raw = await read_answer(request, html, MAX_FORM_FIELDS)
        if isinstance(raw, JSONResponse):
            return raw
        if html:
            raw = {k: v for k, v in raw if k == "views"}
        try:
            submitted = ViewsAnswer.model_validate(raw)
        except ValidationError as e:
            kind = e.errors()[0]["type"]
            message = (f"Your views can be at most {MAX_VIEWS} characters" if kind == "string_too_long"
                       else "Write your views" if kind in ("missing", "string_too_short", "string_type")
                       else "Send your views, and nothing else")
            if html:
                info = await run_in_threadpool(about, engine, claims)
                return page(422, outcome=None, error=message, value=str(raw.get("views", ""))[:MAX_VIEWS], **info)
            return JSONResponse(status_code=422, content={"detail": {"error": "invalid", "message": message + ": nothing was recorded.",
                                                                     "fields": [{"field": "views", "message": message}]}})
        now = datetime.now(UTC)
        # Claimed before it is kept, in one conditional update: of answers sent
        # at once, one is kept and the others are refused, recording nothing.
        if not await run_in_threadpool(sent.mark_link_used, engine, claims.link_id, now):
            return refused(request, LinkUsed("answered already"))
        kept = False
        try:
            kept = await run_in_threadpool(written.add, engine, claims.link_id, claims.placement_id,
                                           uk_date(meeting_of(claims)), submitted.views, now)
        finally:
            if not kept:  # not kept (the register failed): the link may answer again
                await run_in_threadpool(sent.release_link, engine, claims.link_id)
        if html:
            info = await run_in_threadpool(about, engine, claims)
            return page(200, outcome="received", **(info | {"title": "Your views have been sent"}))
        return JSONResponse({"received": "review_views", "placement_id": claims.placement_id})

    return r
