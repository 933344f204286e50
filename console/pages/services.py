"""What the pages do to placements: the same calls the JSON API makes
(`workflows.client`, the register), so a rule has one path and two ways in."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import FormData
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from apflow.calendars import load_calendar
from apflow.settings import Settings
from console import errors, providers_api
from console.documents import copy_on_file
from console.identity import Principal
from console.signin import csrf
from domain.census import CensusCodes, unknown_codes
from domain.guards import Unmet
from domain.lifecycle import Refused
from domain.models import Actor, Model, Proposal
from domain.overlaps import Span, clashes
from store import register
from store.tables import PlacementRow
from workflows import client as placements
from workflows.placement import Snapshot

from . import forms
from .rendering import not_found, page


def visible(request: Request, principal: Principal, placement_id: str) -> PlacementRow | None:
    """The placement's register row, if this person may see it: another
    school's is no more there than one that does not exist."""
    row = register.get(request.app.state.engine, placement_id)
    return row if row is not None and principal.may_see(row.school_id) else None


async def posted_for(request: Request, principal: Principal, placement_id: str, operation: str,
                     heading: str, why: str):
    """A posted form's values and its placement's row, or else the page
    refusing it: another school's placement is not found; a role that does
    not take `operation` at its school is told `heading` and `why` (403)."""
    values = forms.values_of(await request.form())
    row = await run_in_threadpool(visible, request, principal, placement_id)
    if row is None:
        return values, None, not_found(request, principal, "placement")
    if not principal.may_take(row.school_id, operation):
        return values, None, page(request, "not_yours.html", principal, status=403, heading=heading, why=why)
    return values, row, None


def pupil_of(row: PlacementRow) -> str:
    """The pupil's name on a placement's register row (read from its data
    where the row's own column is empty)."""
    return row.pupil_name or row.data["pupil"]["name"]


async def posted_file(request: Request, principal: Principal, placement_id: str,
                      field: str) -> tuple[PlacementRow | None, FormData, bytes]:
    """A form that posts one file to a placement: read with room for the file
    (the form's CSRF check then reads the same form), the placement if this
    person may see it, and the file's bytes (empty when none was chosen)."""
    settings = request.app.state.settings
    form = await request.form(max_files=1, max_part_size=settings.max_upload_bytes)
    await csrf.signed_in_form(request, principal)
    row = await run_in_threadpool(visible, request, principal, placement_id)
    upload = form.get(field)
    body = await upload.read() if row is not None and upload is not None and hasattr(upload, "read") else b""
    return row, form, body


class OutcomeUnknown(Exception):
    """Temporal did not answer in time, or could not be reached: the step may
    or may not have been taken. Sent again with the same key, it is taken once."""


@dataclass
class Services:
    settings: Settings
    engine: Engine
    client: Client
    census: CensusCodes  # the trust's census codes, as the exports read them at start

    @classmethod
    def of(cls, request: Request) -> Services:
        s = request.app.state
        return cls(s.settings, s.engine, s.client, s.exports.codes)

    async def propose(self, proposal: Proposal, actor: Actor, key: str, also_unmet: list[Unmet] = ()) -> Snapshot:
        """Starts the placement (`Refused` with every unmet condition, and
        `also_unmet`: what the provider's record stands against it); the
        same key from the same person finds the placement the first made."""
        s = self.settings
        placement_id = placements.proposal_placement_id(actor, key)
        spans = await run_in_threadpool(register.open_spans, self.engine, proposal)
        calendar = load_calendar(proposal.school.school_id, s.calendars_dir)
        unmet = list(also_unmet) + clashes(Span.of(proposal, calendar, placement_id), spans)
        unmet += unknown_codes(proposal, self.census)
        async with self._waiting():
            _, snap = await placements.start_placement(
                self.client, s.task_queue, proposal, actor, calendar, s.policy, placement_id=placement_id,
                also_unmet=unmet, directory=s.letters_from(proposal.school),
            )
        return snap

    async def act(self, placement_id: str, actor: Actor, action: Model, key: str) -> Snapshot:
        """One step (`Refused` with every unmet condition, nothing changed)."""
        name = action.action  # type: ignore[attr-defined]
        missing_copy = await run_in_threadpool(copy_on_file, self.engine, placement_id, action)
        if missing_copy:
            raise Refused(name, [Unmet("§6.5, §6.8", missing_copy)])
        lapsed = await run_in_threadpool(providers_api.vet_blocked, self.engine, placement_id, name, providers_api.today())
        if lapsed:  # the provider's record has expired since the proposal
            raise Refused(name, lapsed)
        try:
            async with self._waiting():
                return await placements.act(self.client, placement_id, actor, action, key)
        except RPCError:  # not found: its workflow has ended
            raise Refused(name, [Unmet("lifecycle", "the placement has ended: nothing more can be done")]) from None

    async def snapshot(self, row: PlacementRow) -> Snapshot:
        """The workflow's own view (state, deadlines, what is possible now);
        the register's copy, marked stale, when the workflow does not answer
        or has gone (its history past retention)."""
        try:
            return await placements.snapshot(self.client, row.placement_id)
        except TimeoutError:  # Temporal out of reach for longer than a page waits
            return placements.register_copy(row.data, stale=True)
        except RPCError as e:
            if e.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED,
                                RPCStatusCode.UNAVAILABLE) and not errors.not_ready(e):
                raise
            return placements.register_copy(row.data, stale=e.status is not RPCStatusCode.NOT_FOUND)

    def _waiting(self):
        return waiting(self.settings.api_wait_s)


@asynccontextmanager
async def waiting(seconds: float):
    """At most `seconds` for Temporal; past them, or with Temporal out of
    reach, the outcome is unknown (an unknown workflow is not: it is raised)."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError as e:
        raise OutcomeUnknown() from e
    except RPCError as e:
        if e.status is RPCStatusCode.NOT_FOUND:
            raise
        raise OutcomeUnknown() from e
