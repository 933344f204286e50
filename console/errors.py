"""What the API answers when it cannot know, or did not expect, an outcome.

Temporal unreachable or too slow, or the database gone, mid-request: the
write may or may not have happened. That is 503 with a message saying so; a
client that sent an Idempotency-Key retries with the same key and gets the
first answer, or the write made now. Temporal saying the workflow is not
ready (its workflow task failing, as one cut off by a server restart or a
dying worker does for a while) refused the request before anything
happened: the same 503, as the retry is as safe and will succeed once the
task does. A person at a console page (a browser asking for HTML) gets the
same 503 as a page in the console's layout saying so, as they do any
request the console refuses (a 4xx: a bad date, another school's
register). Anything else unexpected is a 500 with a reference and no
traceback; the log line names the request's route and the exception's
type, never its message (which may hold a pupil's details).
"""
from __future__ import annotations

import asyncio
import logging
import traceback
import uuid
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as NoConnection  # every connection of the pool busy past its wait
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.errordetails.v1 import MultiOperationExecutionFailure, WorkflowNotReadyFailure
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from console.signin import pages
from console.signin.redirects import wants_page
from documents.formatting import sentence
from domain.models import problems

log = logging.getLogger("apflow.api")

UNKNOWN = "outcome unknown: safe to retry with the same Idempotency-Key"
UNKNOWN_DESCRIPTION = "Temporal or the database did not answer in time: whether anything changed is not known"
# Statuses that say the call may not have reached Temporal, or may have done so unseen.
UNKNOWN_STATUSES = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED,
                    RPCStatusCode.RESOURCE_EXHAUSTED}


class UnknownDetail(BaseModel):
    message: str


class UnknownOut(BaseModel):
    detail: UnknownDetail


UNAVAILABLE_TITLE = "Sorry, the service is unavailable"
UNAVAILABLE_PAGE = ("apflow could not reach its database or Temporal in time, so it cannot say whether anything "
                    "changed. It is safe to try again in a moment: a step or form sent again is taken once.")


def unknown_outcome() -> JSONResponse:
    return JSONResponse(status_code=503, content={"detail": {"message": UNKNOWN}}, headers={"Retry-After": "1"})


def _unknown_answer(request: Request) -> Response:
    """The 503 as JSON, or as a page for a person at the console."""
    if not wants_page(request):
        return unknown_outcome()
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    again = pages.local_path(here, "/") if request.method == "GET" else None
    return pages.refusal(request, 503, UNAVAILABLE_TITLE, UNAVAILABLE_PAGE, again=again, headers={"Retry-After": "1"})


def _route(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "(no route)"


def _internal(scope: Scope, e: BaseException) -> JSONResponse:
    ref = uuid.uuid4().hex[:12]
    frames = "".join(traceback.format_tb(e.__traceback__))
    log.error("unhandled %s on %s %s (ref %s)\n%s", type(e).__name__, scope.get("method"), _route(scope), ref, frames)
    return JSONResponse(status_code=500, content={"detail": {
        "message": f"internal error (ref {ref}): the request could not be completed; it has been logged",
    }})


class _NoTracebacks:
    """Answers any exception no handler took with a JSON 500, instead of
    letting it reach the server (which would print it, message and all)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as e:  # noqa: BLE001 - every exception gets an answer
            if started:  # too late for another answer: the response is on its way
                raise
            if _unknown(e):
                log.warning("outcome unknown: %s on %s %s", type(e).__name__, scope.get("method"), _route(scope))
                await _unknown_answer(Request(scope))(scope, receive, send)
            else:
                await _internal(scope, e)(scope, receive, send)


def not_ready(e: RPCError) -> bool:
    """FAILED_PRECONDITION carrying `WorkflowNotReadyFailure`, on its own or,
    for an update-with-start, inside the failed operation's status."""
    if e.status is not RPCStatusCode.FAILED_PRECONDITION:
        return False
    details = list(e.grpc_status.details)
    multi = MultiOperationExecutionFailure()
    for detail in list(details):
        if detail.Unpack(multi):
            details += [d for status in multi.statuses for d in status.details]
    return any(d.Is(WorkflowNotReadyFailure.DESCRIPTOR) for d in details)


def _unknown(e: BaseException) -> bool:
    if isinstance(e, RPCError):
        return e.status in UNKNOWN_STATUSES or not_ready(e)
    if isinstance(e, RuntimeError) and str(e).startswith("Failed client connect"):
        return True  # a client that never reached Temporal
    return isinstance(e, (asyncio.TimeoutError, TimeoutError, OperationalError, NoConnection,
                          WorkflowUpdateRPCTimeoutOrCancelledError))


# What a page says, by status, of a request the console will not take.
REFUSED_TITLES = {400: "This request could not be read", 403: "You cannot do this", 404: "Page not found",
                  405: "This cannot be done here", 409: "This could not be done", 413: "This is too large",
                  422: "Check what you asked for"}


NO_PAGE = "There is no page at this address: check it, or start again from Today."


def _said(detail) -> str:
    if detail == "Not Found":  # Starlette's own, for a path no route has
        return NO_PAGE
    if isinstance(detail, dict) and isinstance(detail.get("message"), str):
        return detail["message"]
    return detail if isinstance(detail, str) else "apflow could not take this request."


async def _refused(request: Request, e: Exception) -> Response:
    """A request the console will not take: for a person at a page (a link
    followed, a download asked for), a page in the console's layout saying
    why; for the API, JSON as FastAPI answers it."""
    if isinstance(e, RequestValidationError):
        if not wants_page(request):
            return await request_validation_exception_handler(request, e)
        status, message = 422, "; ".join(problems(e.errors(), skip=1, whole="request"))
    elif isinstance(e, HTTPException) and wants_page(request) and e.status_code in REFUSED_TITLES:
        status, message = e.status_code, _said(e.detail)
    else:
        return await http_exception_handler(request, e)
    return pages.refusal(request, status, REFUSED_TITLES[status], sentence(message), again=_back(request),
                         headers=getattr(e, "headers", None))


def _back(request: Request) -> str:
    """The console's page the person came from (pages send their referrer
    within apflow alone), else Today."""
    came_from = urlsplit(request.headers.get("referer", ""))
    if came_from.netloc != request.url.netloc:
        return "/"
    return pages.local_path(came_from.path + (f"?{came_from.query}" if came_from.query else ""), "/")


def install(app: FastAPI) -> None:
    async def handle(request: Request, e: Exception) -> Response:
        if _unknown(e):
            log.warning("outcome unknown: %s on %s %s", type(e).__name__, request.method, _route(request.scope))
            return _unknown_answer(request)
        return _internal(request.scope, e)

    for kind in (RPCError, asyncio.TimeoutError, OperationalError, NoConnection, WorkflowUpdateRPCTimeoutOrCancelledError):
        app.add_exception_handler(kind, handle)
    app.add_exception_handler(HTTPException, _refused)
    app.add_exception_handler(RequestValidationError, _refused)
    app.add_middleware(_NoTracebacks)
