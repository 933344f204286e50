"""What every page behind a signed link shares (the provider's requests,
the parts of an evaluation, a parent's views before a review): opening the
link, saying why one is refused, and reading the answer as a form or as
JSON. Nobody answering one has an account: the link is all they hold."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from temporalio.service import RPCError, RPCStatusCode

from apflow.settings import Settings
from documents import LinkClaims, LinkError, LinkExpired, LinkPurpose, LinkRevoked, LinkTampered, LinkWrongPurpose, verify_link
from domain.lifecycle import FINAL_STATES, Refused
from domain.models import Actor
from store import documents as sent
from store import register
from workflows import client as placements

log = logging.getLogger(__name__)
Page = Callable[..., Response]  # a link page's template drawn: page(status, **values)


class LinkUsed(LinkError):
    """Answered already: a link takes one answer."""


class PlacementEnded(LinkRevoked):
    """The placement has closed or been terminated: its workflow takes no
    more steps, so a link whose answer is one has nothing left to answer."""


# Each refusal's status, code and what the page says; a page may say it in its own words.
REFUSALS: list[tuple[type[LinkError], int, str, str]] = [
    (LinkTampered, 403, "tampered", "This link is not valid. Check that it was copied in full."),
    (LinkWrongPurpose, 403, "wrongpurpose", "This link is for a different request."),
    (LinkExpired, 410, "expired", "This link has expired."),
    (PlacementEnded, 410, "ended", "This placement has ended: the school needs nothing more through this link."),
    (LinkRevoked, 410, "revoked", "This link has been withdrawn."),
    (LinkUsed, 410, "used", "This request has been answered already."),
]
# Refusals a new link would not mend: the answer was given, or nothing more is asked.
SETTLED = (LinkUsed, PlacementEnded)


def refusal(e: LinkError, said: dict[type[LinkError], str] | None = None) -> tuple[int, str, str]:
    for kind, status, code, message in REFUSALS:
        if isinstance(e, kind):
            return status, code, (said or {}).get(kind, message)
    return 403, "refused", "This link cannot be used."


def refused(request: Request, e: LinkError, page: Page, what: str,
            said: dict[type[LinkError], str] | None = None) -> Response:
    """A link that cannot be used, as the page says it or as JSON; logged by its code, never its token."""
    status, code, message = refusal(e, said)
    log.info("%s link refused: %s", what, code)
    if wants_html(request):
        return page(status, outcome="refused", title="You cannot use this link", message=message, school_name=None,
                    renewable=not isinstance(e, SETTLED))
    return JSONResponse(status_code=status, content={"detail": {"error": code, "message": message}})


def wants_html(request: Request) -> bool:
    """A person at the page (its form, urlencoded), or a program (JSON)."""
    if request.method == "GET":
        return "application/json" not in request.headers.get("accept", "")
    return request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")


def open_link(settings: Settings, engine, token: str, purposes: Iterable[LinkPurpose]) -> tuple[LinkClaims, sent.ProviderLinkRow]:
    """The link's claims and row if it is genuine, for one of `purposes`,
    current and not withdrawn; a `LinkError` otherwise. Whether it was
    answered is the page's to judge (an attendance link answers every day)."""
    now, claims = datetime.now(UTC), None
    for purpose in purposes:  # the purpose is inside the token: try each this page answers
        try:
            claims = verify_link(settings.link_secrets, token, now, purpose=purpose)
            break
        except LinkWrongPurpose:
            continue
    if claims is None:
        raise LinkTampered("link is not genuine")
    row = sent.get_link(engine, claims.link_id)
    if row is None or row.placement_id != claims.placement_id or row.revoked_at is not None:
        raise LinkRevoked("link has been withdrawn")
    return claims, row


def refuse_if_ended(engine, claims: LinkClaims) -> None:
    """`PlacementEnded` once the link's placement has closed or been
    terminated, judged from its state column: said when the link is opened,
    before anyone writes an answer nothing would follow."""
    if register.state_of(engine, claims.placement_id) in FINAL_STATES:
        raise PlacementEnded("the placement has ended")


def invalid(status: int, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": {"error": "invalid", "message": message}})


async def read_answer(request: Request, html: bool, max_fields: int) -> list[tuple[str, str]] | dict[str, Any] | JSONResponse:
    """The posted form's fields (name, value), or the JSON object sent; or
    the answer refusing a body that is neither."""
    if html:
        try:
            return parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True,
                             max_num_fields=max_fields)
        except ValueError:
            return invalid(413, "The form has more fields than it asks for.")
    try:
        raw = await request.json()
    except (ValueError, RecursionError):  # not JSON, not UTF-8, nested or numbered past sense
        return invalid(400, "The body is not valid JSON.")
    return raw if isinstance(raw, dict) else invalid(422, "Send an object.")


async def act_once(request: Request, claims: LinkClaims, actor: Actor, action) -> None:
    """The answer taken as `action` on the placement, once. The link is
    claimed first, in one conditional update, so of answers sent at once one
    goes ahead and the others are refused (`LinkUsed`), recording nothing;
    the step is keyed by the link, so one retried after a lost reply is
    recorded once. The placement refusing it (`Refused`), or Temporal not
    answering (503, safe to send again), gives the link back; a placement
    whose workflow has ended keeps it used (`PlacementEnded`)."""
    engine = request.app.state.engine
    if not await run_in_threadpool(sent.mark_link_used, engine, claims.link_id, datetime.now(UTC)):
        raise LinkUsed("answered already")
    spent = False
    try:
        await placements.act(request.app.state.client, claims.placement_id, actor, action, idempotency_key=claims.link_id)
        spent = True
    except RPCError as e:
        if e.status is not RPCStatusCode.NOT_FOUND:
            raise
        spent = True
        raise PlacementEnded("the placement has ended") from None
    finally:
        if not spent:
            await run_in_threadpool(sent.release_link, engine, claims.link_id)


def not_taken(e: Refused, html: bool, page: Page) -> Response:
    """The placement could not take the answer now: nothing was recorded."""
    message = "The school cannot take this answer now: " + "; ".join(u.message for u in e.unmet)
    if html:
        return page(409, outcome="refused", title="Not recorded", message=message, school_name=None)
    return JSONResponse(status_code=409, content={"detail": {
        "error": "refused", "message": message, "unmet": [{"clause": u.clause, "message": u.message} for u in e.unmet]}})
