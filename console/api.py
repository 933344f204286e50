"""The JSON API: propose placements, act on them, read them back.

Writes go to the placement's workflow (an update per action); lists and the
audit trail come from the register, which outlives the workflows.
"""
from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated

import uvicorn
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel
from sqlalchemy import Engine, text
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from apflow.calendars import load_calendar
from apflow.settings import Settings
from apflow.temporal import connect
from domain.actions import ACTION_MODELS
from domain.calendar import SchoolCalendar
from domain.census import unknown_codes
from domain.guards import Unmet
from domain.lifecycle import Lifecycle, Refused, diagram
from domain.models import Model
from domain.overlaps import Span, clashes
from operations.stuck import count as count_stuck
from store import register
from store.db import make_engine, migrate
from workflows import client as placements
from workflows.placement import Snapshot

from . import attendance, codec_server, documents, errors, evaluation_links, exports, hardening, metrics, operations, pages, paging, provider, signin, stuck
from . import providers_api, views_links
from .agreement import router as agreement_router
from .authority import actor_for_action, listing_scope, visible_placement, visible_school
from .calendar_feed import router as calendar_feed_router
from .identity import IdempotencyKey, PrincipalDep

log = logging.getLogger(__name__)


class UnmetOut(BaseModel):
    clause: str
    message: str


class RefusalOut(BaseModel):
    action: str
    message: str
    unmet: list[UnmetOut]


class PlacementSummary(BaseModel):
    placement_id: str
    school_id: str
    state: str
    kind: str
    pupil_id: str
    provider_name: str
    start_date: str
    planned_end_date: str | None
    next_deadline: str | None


class AuditEventOut(BaseModel):
    seq: int
    action: str
    actor_id: str
    actor_role: str
    from_state: str
    to_state: str
    at: str
    note: str | None


def whole(engine: Engine, snap: Snapshot) -> Snapshot:
    """The snapshot with every contact and step of its placement, from one read
    of the register: the workflow holds only what its decisions read."""
    return snap.model_copy(update={"placement": register.with_all_records(engine, snap.placement)})


def refusal_response(e: Refused, status: int) -> JSONResponse:
    body = RefusalOut(
        action=e.action,
        message=f"'{e.action}' was refused: nothing was changed.",
        unmet=[UnmetOut(clause=u.clause, message=u.message) for u in e.unmet],
    )
    return JSONResponse(status_code=status, content={"detail": body.model_dump()})




HEALTH_WAIT_S = 1.0


async def _probe(check) -> str:
    """"ok", or what went wrong: a gRPC failure by its status code, which
    tells a refused connection from an overloaded server."""
    try:
        serving = await asyncio.wait_for(check(), HEALTH_WAIT_S)
    except (asyncio.TimeoutError, TimeoutError):
        return f"error: no answer within {HEALTH_WAIT_S:g} s"
    except RPCError as e:
        return f"error: RPCError {e.status.name}"
    except Exception as e:  # noqa: BLE001 - reported, not raised
        return f"error: {type(e).__name__}"
    return "error: answers but is not serving" if serving is False else "ok"


# How long an idle connection is kept open: longer than clients keep theirs
# (httpx 5 s, a reverse proxy's pool about a minute), so a client never sends
# on a connection the server is closing in that instant and gets no answer.
# (Uvicorn's default, 5 s, is httpx's own expiry: that race lost requests.)
KEEP_ALIVE_S = 75


def server_config(app: FastAPI, **options) -> uvicorn.Config:
    """How uvicorn serves the API, wherever it is served."""
    return uvicorn.Config(app, timeout_keep_alive=KEEP_ALIVE_S, **options)


def _fill_entries(engine: Engine, settings: Settings) -> None:
    """Register rows projected before they kept their entry get it now, their
    last day counted on their school's calendar (`register.fill_entries`)."""
    unreadable: set[str] = set()

    def calendar_of(school_id: str) -> SchoolCalendar | None:
        try:
            return load_calendar(school_id, settings.calendars_dir)
        except (OSError, ValueError) as e:  # the folder missing, a file in error: tried again at the next start
            if school_id not in unreadable:
                unreadable.add(school_id)
                log.warning("school %s's calendar cannot be read (%s): its older register rows are filled at a later start",
                            school_id, e)
            return None

    filled = register.fill_entries(engine, calendar_of)
    if filled:
        log.info("filled the register entries and returns of %d placements projected before the register kept them", filled)


def create_app(settings: Settings, client: Client | None = None, engine: Engine | None = None) -> FastAPI:
    """The API as `settings` say; its routers read them from `app.state.settings`
    or are built with them, never from the environment."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.engine = engine or make_engine(settings.db_url)
        migrate(app.state.engine)
        await asyncio.to_thread(_fill_entries, app.state.engine, settings)
        app.state.client = client or await connect(settings)
        yield
        if engine is None:
            app.state.engine.dispose()

    # The docs pages serve their own Swagger UI files: schools' networks may not reach a CDN.
    app = FastAPIOffline(
        title="apflow",
        summary="Alternative-provision placements, run to the trust's policy",
        version="0.1.0",
        lifespan=lifespan,
        redirect_slashes=False,  # a redirect would echo the request's Host header
    )
    app.state.settings = settings
    codec_server.install(app, settings)  # its CORS inside the hardening, which lets the UI's origin post to it
    # Inside the error handler, which answers what it does not.
    hardening.install(app, settings, cross_origin={codec_server.PATH + "/": settings.ui_origin})
    errors.install(app)

    def db(request: Request) -> Engine:
        return request.app.state.engine

    def temporal(request: Request) -> Client:
        return request.app.state.client

    @app.get("/healthz", tags=["service"], summary="Whether the register and Temporal answer")
    async def healthz(request: Request) -> dict:
        """Each part answers within a second or is reported degraded; the
        database is asked off the event loop, so a stuck register cannot hold it."""
        def database() -> None:
            with db(request).connect() as conn:
                conn.execute(text("select 1"))

        database_state, temporal_state = await asyncio.gather(
            _probe(lambda: run_in_threadpool(database)),
            # A refused call is tried again within the second: a connection
            # being re-established is not a degraded server.
            _probe(lambda: temporal(request).service_client.check_health(retry=True)),
        )
        checks = {"database": database_state, "temporal": temporal_state}
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(status_code=200 if ok else 503, content={"status": "ok" if ok else "degraded", **checks})

    @app.post(
        "/api/placements",
        status_code=201,
        response_model=Snapshot,
        tags=["placements"],
        responses={
            422: {"model": RefusalOut, "description": "The proposal is incomplete or overlaps another open placement (each unmet condition with its clause)"},
            503: {"model": errors.UnknownOut, "description": errors.UNKNOWN_DESCRIPTION},
        },
    )
    async def propose(given: providers_api.ProposalIn, principal: PrincipalDep, request: Request, idempotency_key: IdempotencyKey = None):
        """Starts the placement's workflow and answers once the register holds
        it. With an Idempotency-Key, a retried proposal answers with the
        placement the first one made. The proposer acts as the role they hold
        at the proposal's school. A provider picked from the trust's list
        (`provider_id`) brings its record's details; an unknown one, or one
        whose insurance or a required check has expired, is refused (422)."""
        actor = actor_for_action(principal, given.school.school_id, "propose")
        placement_id = placements.proposal_placement_id(actor, idempotency_key) if idempotency_key else None
        proposal, on_record = await run_in_threadpool(providers_api.resolve, db(request), given, providers_api.today())
        if proposal is None:
            return refusal_response(Refused("propose", on_record), 422)

        def read():  # the files and the register, off the event loop
            calendar = load_calendar(proposal.school.school_id, settings.calendars_dir)
            unmet = on_record + clashes(Span.of(proposal, calendar, placement_id), register.open_spans(db(request), proposal))
            unmet += unknown_codes(proposal, request.app.state.exports.codes)  # the codes as the exports read them
            return calendar, unmet, settings.letters_from(proposal.school)

        calendar, overlapping, directory = await run_in_threadpool(read)
        try:
            async with asyncio.timeout(settings.api_wait_s):
                _, snap = await placements.start_placement(
                    temporal(request), settings.task_queue, proposal, actor, calendar, settings.policy,
                    placement_id=placement_id, also_unmet=overlapping, directory=directory,
                )
        except Refused as e:
            return refusal_response(e, 422)
        return await run_in_threadpool(whole, db(request), snap)

    @app.get("/api/placements", response_model=paging.PageOut[PlacementSummary], tags=["placements"])
    def list_placements(
        principal: PrincipalDep,
        request: Request,
        state: Annotated[str | None, Query(description="Only placements in this state")] = None,
        school_id: Annotated[str | None, Query(description="Only this school's placements")] = None,
        limit: paging.Limit = paging.DEFAULT_LIMIT,
        cursor: paging.Cursor = None,
    ):
        """The register, newest start first, a page at a time: the schools this
        person holds a role at (every school, for trust-wide roles)."""
        schools = listing_scope(principal, school_id)
        after = paging.decode(cursor, lambda v: (date.fromisoformat(v[0]), str(v[1])))
        page = register.placements_page(db(request), state=state, school_ids=schools, limit=limit, after=after)
        return paging.answer(paging.PageOut[PlacementSummary](
            items=[
                PlacementSummary(
                    placement_id=r.placement_id, school_id=r.school_id, state=r.state, kind=r.kind,
                    pupil_id=r.pupil_id, provider_name=r.provider_name, start_date=r.start_date.isoformat(),
                    planned_end_date=r.planned_end_date.isoformat() if r.planned_end_date else None,
                    next_deadline=r.next_deadline.isoformat() if r.next_deadline else None,
                )
                for r in page.rows
            ],
            total=page.total, total_capped=page.capped,
            next_cursor=paging.encode(page.next_after) if page.next_after else None,
        ))

    @app.get("/api/placements/{placement_id}", response_model=Snapshot, tags=["placements"])
    async def get_placement(placement_id: str, principal: PrincipalDep, request: Request):
        row = await run_in_threadpool(visible_placement, db(request), principal, placement_id)
        try:
            snap = await placements.snapshot(temporal(request), placement_id)
        except RPCError as e:
            # Gone (its history past retention): the register keeps the record.
            # No answer (no worker polling, Temporal too slow, or its task
            # failing, so Temporal will not ask it): the register's copy, said
            # to be possibly behind the workflow.
            # (a query past its wait ends as CANCELLED, "Timeout expired").
            no_answer = e.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED) or errors.not_ready(e)
            if e.status is not RPCStatusCode.NOT_FOUND and not no_answer:
                raise  # Temporal unreachable: 503, safe to retry
            snap = placements.register_copy(row.data, stale=no_answer)
        except placements.WorkflowSilent:
            snap = placements.register_copy(row.data, stale=True)
        # Read after the workflow answered: the register then holds all it had
        # recorded but the step whose projection is under way, which it holds itself.
        return await run_in_threadpool(whole, db(request), snap)

    @app.get("/api/lifecycle", tags=["placements"], response_class=PlainTextResponse,
             responses={200: {"content": {"text/plain": {}}}})
    async def lifecycle_diagram(principal: PrincipalDep, state: Annotated[str | None, Query(pattern="^[a-z_]{1,32}$")] = None):
        """The lifecycle as a Mermaid state diagram drawn from the chart itself,
        each move with the guard it names; `state` marks where a placement is."""
        if state is not None and state not in {s.value for s in Lifecycle.states}:
            raise HTTPException(422, f"no state {state!r} in the lifecycle")
        return diagram(state)

    @app.get("/api/placements/{placement_id}/history", response_model=list[AuditEventOut], tags=["placements"])
    def placement_history(placement_id: str, principal: PrincipalDep, request: Request):
        visible_school(db(request), principal, placement_id)
        return [
            AuditEventOut(
                seq=e.seq, action=e.action, actor_id=e.actor_id, actor_role=e.actor_role,
                from_state=e.from_state, to_state=e.to_state, at=e.at.isoformat(), note=e.note,
            )
            for e in register.audit_trail(db(request), placement_id)
        ]

    for name, model in ACTION_MODELS.items():
        _add_action_route(app, name, model, db, temporal, settings)
    app.include_router(operations.router)
    app.include_router(stuck.router)  # stuck placements and their fixes, for trust operations
    # The gauge counts what the register and the server's marks say, with no describe.
    metrics.install(app, count_stuck=lambda client: count_stuck(client, app.state.engine, settings.policy.stuck))
    app.include_router(documents.router(settings))
    app.include_router(agreement_router())  # the commissioning agreement, its PDF and signed copy
    app.include_router(calendar_feed_router())  # each person's deadlines as an iCalendar feed
    app.include_router(provider.router(settings))
    app.include_router(providers_api.router(settings.policy))  # the trust's list of providers
    app.include_router(views_links.router(settings))  # parents' written views before a review (§6.8)
    app.include_router(evaluation_links.router(settings))  # the pupil's, parent's and provider's parts of evaluations
    app.state.attendance_register = attendance.AttendanceRegister.from_settings(settings)
    app.include_router(attendance.router_for(app.state.attendance_register))
    app.state.attendance_sink = attendance.provider_sink(app, app.state.attendance_register)  # marks sent through a provider's link
    exports.install(app, settings)  # the register of every placement and its exports
    signin.install(app, settings)
    pages.install(app, settings)  # the staff console: its pages and assets

    return app


def _add_action_route(app: FastAPI, name: str, model: type[Model], db, temporal, settings: Settings) -> None:
    async def perform(placement_id: str, body: model, principal: PrincipalDep, request: Request, idempotency_key: IdempotencyKey = None):  # type: ignore[valid-type]
        def read():  # the register, off the event loop, in one hop
            school_id = visible_school(db(request), principal, placement_id)
            return (school_id, documents.copy_on_file(db(request), placement_id, body),
                    providers_api.vet_blocked(db(request), placement_id, name, providers_api.today()))

        school_id, missing_copy, lapsed = await run_in_threadpool(read)
        actor = actor_for_action(principal, school_id, name)
        if missing_copy:
            return refusal_response(Refused(name, [Unmet("§6.5, §6.8", missing_copy)]), 422)
        if lapsed:  # the provider's record has expired since the proposal
            return refusal_response(Refused(name, lapsed), 409)
        try:
            async with asyncio.timeout(settings.api_wait_s):
                snap = await placements.act(temporal(request), placement_id, actor, body, idempotency_key)
        except Refused as e:
            return refusal_response(e, 409)
        except RPCError as e:
            if e.status is not RPCStatusCode.NOT_FOUND:
                raise
            return JSONResponse(status_code=409, content={"detail": {
                "action": name, "message": "the placement has ended: nothing more can be done", "unmet": [],
            }})
        return await run_in_threadpool(whole, db(request), snap)

    perform.__name__ = f"act_{name}"
    perform.__annotations__["body"] = model  # a real type: the name `model` is local
    app.post(
        f"/api/placements/{{placement_id}}/actions/{name}",
        response_model=Snapshot,
        tags=["actions"],
        summary=(model.__doc__ or name).strip().splitlines()[0],
        responses={
            409: {"model": RefusalOut, "description": "Not allowed now: every unmet condition, with its clause"},
            503: {"model": errors.UnknownOut, "description": errors.UNKNOWN_DESCRIPTION},
        },
    )(perform)
