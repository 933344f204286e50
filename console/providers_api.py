"""The trust's providers over JSON: the list, one provider with its
placements, adding and changing one, and what expires soon; and how a
proposal that names a provider by its id gets that provider's details.

Anyone signed in reads the list; trust operations and AP leads keep it
(`domain.access.PROVIDER_MANAGERS`), each change recorded with who made it
(`store.providers`). A provider's placements are those of the schools the
reader may see, decided here from their grants."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from domain.access import PROVIDER_MANAGERS, Principal
from domain.clock import uk_date
from domain.guards import Unmet
from domain import evaluations
from domain.models import Actor, Placement, Proposal, Provider
from domain.providers import PROVIDER_ID_PATTERN, ProviderId, ProviderIn, ProviderRecord, blocking, gaps, problems, status
from domain.settings import PolicySettings
from store import providers as store
from store import register

from . import paging
from .identity import PrincipalDep

ProviderPath = Annotated[str, Path(pattern=PROVIDER_ID_PATTERN, description="The provider's id, prov-<32 hex digits>")]
NOT_FOUND = "no provider {} is on the trust's list"


def today() -> date:
    return uk_date(datetime.now(UTC))


def manager(principal: Principal) -> Actor:
    """Who this person acts as in keeping the list: 403 unless they hold a role that may."""
    for g in principal.grants:
        if g.role in PROVIDER_MANAGERS:
            return Actor(user_id=principal.user_id, role=g.role, school_id=g.school_id)
    held = ", ".join(sorted({g.role.value for g in principal.grants})) or "none"
    allowed = ", ".join(sorted(r.value for r in PROVIDER_MANAGERS))
    raise HTTPException(403, f"the trust's list of providers is kept by {allowed}; your roles ({held}) read it only")


def may_manage(principal: Principal) -> bool:
    return any(g.role in PROVIDER_MANAGERS for g in principal.grants)


def complete(given: ProviderIn, policy: PolicySettings, provider_id: str = "prov-" + "0" * 32) -> bool:
    """Whether the record, as given, is a complete vetting (`domain.providers.gaps`)."""
    return not gaps(ProviderRecord(provider_id=provider_id, **given.model_dump()), policy)


# --- a proposal naming a provider ----------------------------------------------


class ProposalIn(Proposal):
    """A proposal as the API takes it: the provider picked from the trust's
    list by `provider_id` (its details are then the record's), or, for one
    not on the list, its details in `provider`."""

    provider: Provider | None = None


def resolve(engine: Engine, given: ProposalIn, on: date) -> tuple[Proposal | None, list[Unmet]]:
    """The proposal with its provider's details, and what the provider's
    record stands against it: an unknown id (no proposal then), or each
    expired certificate or required check (nothing may be started)."""
    data = given.model_dump(exclude={"provider"})
    if given.provider_id is None:
        if given.provider is None:
            return None, [Unmet("§9.5; RULES: propose", "a proposal names its provider: pick one from the trust's list "
                                                      "(provider_id), or give its details (provider)")]
        return Proposal.model_validate({**data, "provider": given.provider.model_dump()}), []
    if given.provider is not None:
        return None, [Unmet("providers", "give the provider's id (provider_id) or its details (provider), not both: "
                                         "a provider on the trust's list takes its details from its record")]
    record = store.get(engine, given.provider_id)
    if record is None:
        return None, [Unmet("providers", NOT_FOUND.format(given.provider_id) + ": pick one from GET /api/providers")]
    return Proposal.model_validate({**data, "provider": record.as_provider().model_dump()}), blocking(record, on)


def vet_blocked(engine: Engine, placement_id: str, action: str, on: date) -> list[Unmet]:
    """A placement picked from the list is not vetted against a record whose
    insurance or a required check has expired since: the record is renewed first."""
    if action != "vet":
        return []
    row = register.get(engine, placement_id)
    provider_id = (row.data or {}).get("provider_id") if row is not None else None
    record = store.get(engine, provider_id) if provider_id else None
    return blocking(record, on) if record is not None else []


# --- what the API answers --------------------------------------------------------


class ProblemOut(BaseModel):
    what: str
    clause: str
    expires_on: date
    expired: bool = Field(description="Past its last day: no new placement may be proposed at the provider")
    message: str


class UnmetOut(BaseModel):
    clause: str
    message: str


class ProviderSummaryOut(BaseModel):
    provider_id: str
    name: str
    provider_type: str
    urn: str | None
    ukprn: str | None
    la_approved: bool
    trust_exception: bool
    vetted: bool = Field(description="The record was a complete vetting when last saved")
    next_expiry: date | None = Field(description="The first day anything blocking on the record lapses after")
    version: int


class ProviderPlacementOut(BaseModel):
    placement_id: str
    school_id: str
    state: str
    kind: str
    pupil_id: str
    start_date: date
    planned_end_date: date | None
    attendance_percent: float | None = Field(description="Sessions present of those marked present or absent")
    sessions_marked: int
    evaluation_total: int | None = Field(description="The end-of-placement evaluation, out of 125, once recorded")


class ProviderOut(ProviderIn):
    provider_id: str
    version: int
    status: str = Field(description="expired, expiring, not_vetted or current")
    problems: list[ProblemOut]
    gaps: list[UnmetOut] = Field(description="What the record lacks to serve as a placement's vetting")


class ProviderPageOut(ProviderOut):
    placements: list[ProviderPlacementOut] = Field(description="Its placements at the schools the reader may see, newest first")
    placements_total: int


class ProviderUpdate(ProviderIn):
    version: Annotated[int, Field(ge=1)] | None = Field(
        None, description="The version the change is made over: a record changed since is refused (409)")


class ExpiringPlacementOut(BaseModel):
    placement_id: str
    school_id: str


class ExpiringOut(BaseModel):
    provider_id: str
    name: str
    problems: list[ProblemOut]
    placements: list[ExpiringPlacementOut]


def problem_out(record, on: date, warn_days: int) -> list[ProblemOut]:
    return [ProblemOut(what=p.what, clause=p.clause, expires_on=p.expires_on, expired=p.expired, message=p.message(on))
            for p in problems(record, on, warn_days)]


def provider_out(record: ProviderRecord, policy: PolicySettings, on: date) -> ProviderOut:
    return ProviderOut(
        **record.model_dump(), status=status(record, on, policy),
        problems=problem_out(record, on, policy.providers.warn_days),
        gaps=[UnmetOut(clause=u.clause, message=u.message) for u in gaps(record, policy)],
    )


def evaluated(data: dict) -> bool:
    """Whether a placement's stored data holds any evaluation (read without validating the rest)."""
    return bool(data.get("evaluations") or (data.get("closure") or {}).get("evaluation"))


def evaluation_total(data: dict) -> int | None:
    """The end evaluation's score out of 125, once all four parts are in (or
    the scores an older close took)."""
    return evaluations.end_total(Placement.model_validate(data)) if evaluated(data) else None


def placements_of(engine: Engine, principal: Principal, provider_id: str, limit: int = 100):
    """The provider's placements this person may see, each with its attendance
    and evaluation, and how many there are."""
    page = store.placements_at(engine, provider_id, principal.school_scope(), limit=limit)
    marks = store.attendance_of(engine, [r.placement_id for r in page.rows])
    return page, marks


def expiring(engine: Engine, principal: Principal, policy: PolicySettings, on: date) -> list[ExpiringOut]:
    """The providers of the open placements this person may see whose
    insurance or checks have expired or expire within the warning days,
    soonest first, each with those placements."""
    scope = principal.school_scope()
    records = store.with_open_placements(engine, scope, on + timedelta(days=policy.providers.warn_days))
    lapsing = {pid: found for pid, record in records.items() if (found := problem_out(record, on, policy.providers.warn_days))}
    at = store.open_placements_at_providers(engine, scope, lapsing)  # of those providers alone
    out = []
    for pid, found in lapsing.items():
        out.append(ExpiringOut(provider_id=pid, name=records[pid].provider.name, problems=found,
                               placements=[ExpiringPlacementOut(placement_id=r.placement_id, school_id=r.school_id)
                                           for r in at.get(pid, [])]))
    return sorted(out, key=lambda e: (e.problems[0].expires_on, e.name))


def router(policy: PolicySettings) -> APIRouter:
    r = APIRouter(tags=["providers"])

    def db(request: Request) -> Engine:
        return request.app.state.engine

    @r.get("/api/providers", response_model=paging.PageOut[ProviderSummaryOut])
    def list_providers(
        principal: PrincipalDep,
        request: Request,
        name: Annotated[str | None, Query(min_length=1, max_length=100, description="Part of the name, any case")] = None,
        expiring_by: Annotated[date | None, Query(description="Only those with something blocking lapsing by this day")] = None,
        limit: paging.Limit = paging.DEFAULT_LIMIT,
        cursor: paging.Cursor = None,
    ):
        """The trust's providers by name, a page at a time."""
        after = paging.decode(cursor, lambda v: (str(v[0]), str(v[1])))
        page = store.page(db(request), limit=limit, after=after, name=name, expiring_by=expiring_by)
        return paging.answer(paging.PageOut[ProviderSummaryOut](
            items=[ProviderSummaryOut(**{k: getattr(row, k) for k in ProviderSummaryOut.model_fields}) for row in page.rows],
            total=page.total, total_capped=page.capped,
            next_cursor=paging.encode(page.next_after) if page.next_after else None,
        ))

    @r.post("/api/providers", status_code=201, response_model=ProviderOut)
    def add_provider(body: ProviderIn, principal: PrincipalDep, request: Request):
        """Adds a provider to the trust's list; its id is apflow's (prov-…)."""
        actor = manager(principal)
        record = store.add(db(request), body, actor, datetime.now(UTC), vetted=complete(body, policy))
        return provider_out(record, policy, today())

    @r.get("/api/providers/expiring", response_model=list[ExpiringOut])
    def expiring_providers(principal: PrincipalDep, request: Request):
        """The providers of the open placements this person may see whose insurance
        or checks have expired or expire within APFLOW_POLICY__PROVIDERS__WARN_DAYS."""
        return expiring(db(request), principal, policy, today())

    @r.get("/api/providers/{provider_id}", response_model=ProviderPageOut)
    def get_provider(provider_id: ProviderPath, principal: PrincipalDep, request: Request):
        """One provider: its record, what has expired or soon will, what it lacks,
        and its placements at the schools this person may see."""
        record = store.get(db(request), provider_id)
        if record is None:
            raise HTTPException(404, NOT_FOUND.format(provider_id))
        page, marks = placements_of(db(request), principal, provider_id)
        return ProviderPageOut(
            **provider_out(record, policy, today()).model_dump(),
            placements=[ProviderPlacementOut(
                placement_id=p.placement_id, school_id=p.school_id, state=p.state, kind=p.kind,
                pupil_id=p.data["pupil"]["pupil_id"], start_date=p.start_date, planned_end_date=p.planned_end_date,
                attendance_percent=marks[p.placement_id].percent if p.placement_id in marks else None,
                sessions_marked=marks[p.placement_id].possible if p.placement_id in marks else 0,
                evaluation_total=evaluation_total(p.data),
            ) for p in page.rows],
            placements_total=page.total,
        )

    @r.put("/api/providers/{provider_id}", response_model=ProviderOut,
           responses={409: {"description": "The record changed since `version`"}})
    def change_provider(provider_id: ProviderPath, body: ProviderUpdate, principal: PrincipalDep, request: Request):
        """Replaces a provider's record with a new version (the whole record:
        what is left out is no longer on it)."""
        actor = manager(principal)
        given = ProviderIn.model_validate(body.model_dump(exclude={"version"}))
        try:
            record = store.update(db(request), provider_id, given, actor, datetime.now(UTC),
                                  vetted=complete(given, policy, provider_id), expected_version=body.version)
        except store.Conflict as e:
            return JSONResponse(status_code=409, content={"detail": str(e)})
        if record is None:
            raise HTTPException(404, NOT_FOUND.format(provider_id))
        return provider_out(record, policy, today())

    return r


__all__ = ["ProposalIn", "resolve", "router", "ProviderId"]
