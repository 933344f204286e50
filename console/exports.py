"""The register of every placement, and its exports for the trust and the
local authority, as CSV (the stdlib's csv) and XLSX (openpyxl).

One service for both ways in: the JSON API's routes here and the console's
register page (`console.pages.register`) call `Exports` with the person and
the same filters. Every export holds exactly the rows the person
may see (`listing_scope`: their schools', every school's for trust-wide
roles) and is recorded in `export_events`: who, what, when, which filter.

Files are written as the rows are read (`store.exports` reads the register a
page at a time; `console.spreadsheets` writes to a temporary file that goes
to disk past 1 MB), so memory does not grow with the register.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from apflow.census_codes import load_census_codes
from apflow.settings import Settings
from domain.access import Principal
from domain.census import CODED_FIELDS, CensusCodes, CensusProblem, CensusRow, census_row, problems
from domain.clock import uk_date
from domain.models import Actor, PlacementKind, PlacementState
from domain.records import LANotice, RegisterEntry, la_notice
from store import exports as store
from store import register
from store.register import Filters

from . import paging
from .authority import listing_scope, visible_placement
from .identity import PrincipalDep
from .spreadsheets import MEDIA, WRITERS, Exported, Format, Table

URN = r"^[0-9]{6}$"
PLACEMENT_ID = r"^placement-[0-9a-f-]{1,64}$"


def today() -> date:
    return uk_date(datetime.now(UTC))


@dataclass(frozen=True)
class Given:
    """The list's filters as the person gave them: nothing about a pupil, so
    they may go in an address and into the audit."""

    state: PlacementState | None = None
    school_id: str | None = None
    provider: str | None = None
    kind: PlacementKind | None = None
    overdue: bool = False
    escalated: bool = False

    def filters(self, principal: Principal) -> Filters:
        """The register's filters, within the schools this person may see
        (403 for a school where they hold no role)."""
        return Filters(state=self.state.value if self.state else None, school_ids=listing_scope(principal, self.school_id),
                       provider=self.provider or None, kind=self.kind.value if self.kind else None,
                       overdue_on=today() if self.overdue else None, escalated=self.escalated)

    def audit(self) -> dict:
        return {k: (v.value if hasattr(v, "value") else v) for k, v in asdict(self).items() if v}


def api_filters(
    state: Annotated[PlacementState | None, Query(description="Only placements in this state")] = None,
    school_id: Annotated[str | None, Query(pattern=URN, description="Only this school's (its URN)")] = None,
    provider: Annotated[str | None, Query(max_length=200, description="Part of the provider's name, any case")] = None,
    kind: Annotated[PlacementKind | None, Query(description="Only this kind of placement")] = None,
    overdue: Annotated[bool, Query(description="Only running placements with a deadline passed")] = False,
    escalated: Annotated[bool, Query(description="Only placements with an open escalation")] = False,
) -> Given:
    return Given(state, school_id, provider, kind, overdue, escalated)


GivenDep = Annotated[Given, Depends(api_filters)]


def actor_of(principal: Principal, school_id: str | None) -> Actor:
    """Who the audit names: the person, as their role at the school asked
    for, else their first role (a trust-wide one first)."""
    if school_id and (at := principal.actor_at(school_id)) is not None:
        return at
    g = sorted(principal.grants, key=lambda g: g.school_id is not None)[0]
    return Actor(user_id=principal.user_id, role=g.role, school_id=g.school_id)


# --- the tables -------------------------------------------------------------------------


def _values(obj) -> list:
    return [getattr(obj, f.name) for f in fields(obj)]


def register_table(engine: Engine, filters: Filters) -> Table:
    return Table("register", [f.name for f in fields(RegisterEntry)],
                 (_values(e) for e in store.register_entries(engine, filters)))


def la_notice_table(engine: Engine, filters: Filters, boundary: time) -> Table:
    return Table("la_notice", [f.name for f in fields(LANotice)],
                 (_values(la_notice(r, boundary)) for r in store.placement_returns(engine, filters)))


CENSUS_HEADINGS = ["placement_id", "school_urn", "upn", "provider_urn", "provider_ukprn", "setting_type",
                   "entry_date", "leaving_date", "primary_reason", "full_or_part_time", "sessions_per_week"]


def _census_values(r: CensusRow) -> list:
    return [r.placement_id, r.school_id, r.upn, r.provider_urn, r.provider_ukprn, r.setting_type, r.entry_date,
            r.leaving_date, r.primary_reason, "full time" if r.full_time else "part time", r.sessions_per_week]


def census_table(engine: Engine, filters: Filters, boundary: time, codes: CensusCodes) -> Table:
    table = Table("census", CENSUS_HEADINGS, [])

    def rows() -> Iterator[list]:
        for r in store.placement_returns(engine, filters):
            row = census_row(r, boundary)
            wrong = problems(row, codes)
            table.problems += [CensusProblem(row.placement_id, row.school_id, m) for m in wrong]
            if not wrong:
                yield _census_values(row)

    table.rows = rows()
    return table


ATTENDANCE_HEADINGS = [f.name for f in fields(store.MarkRow)]


def attendance_table(engine: Engine, school_ids, first: date, last: date, placement_id: str | None) -> Table:
    return Table("attendance", ATTENDANCE_HEADINGS,
                 (_values(m) for m in store.attendance(engine, school_ids, first, last, placement_id)))


class CensusRefused(Exception):
    def __init__(self, found: list[CensusProblem]) -> None:
        super().__init__(f"{len(found)} census row problem(s)")
        self.problems = found


def _scope(schools) -> list[str] | str:
    return "all" if schools is None else sorted(schools)


def _written(engine: Engine, table: Table, fmt: Format, actor: Actor, audit: dict) -> Exported:
    """The table written in `fmt` and recorded as exported by `actor`; a
    census with rows it cannot take is refused (`CensusRefused`), nothing
    recorded."""
    file, n = WRITERS[fmt](table)
    if table.problems:
        file.close()
        raise CensusRefused(table.problems)
    store.record_export(engine, table.name, fmt, actor, audit, n, datetime.now(UTC))
    return Exported(file, n, f"{table.name.replace('_', '-')}-{today().isoformat()}.{fmt}", MEDIA[fmt])


class Exports:
    """The register's services, with the trust's census codes read once (at
    start: a wrong file is found then, not at the first export)."""

    def __init__(self, settings: Settings) -> None:
        self.codes: CensusCodes = load_census_codes(settings.census_codes)
        self.boundary: time = settings.attendance.session_boundary
        # What a form offers for each coded field: the codes, by what they mean.
        self.choices: dict[str, list[tuple[str, str]]] = {
            name: list(getattr(self.codes, table).items()) for name, table in CODED_FIELDS.items()}

    def table(self, name: str, engine: Engine, filters: Filters) -> Table:
        if name == "la_notice":
            return la_notice_table(engine, filters, self.boundary)
        if name == "census":
            return census_table(engine, filters, self.boundary, self.codes)
        return register_table(engine, filters)

    def placements(self, engine: Engine, principal: Principal, name: str, given: Given, fmt: Format) -> Exported:
        """The register, the LA notice or the census of the placements this
        person may see that `given` matches."""
        filters = given.filters(principal)
        return _written(engine, self.table(name, engine, filters), fmt, actor_of(principal, given.school_id),
                        {**given.audit(), "schools": _scope(filters.school_ids)})

    def census_problems(self, engine: Engine, principal: Principal, given: Given) -> list[CensusProblem]:
        """Every row of the census return that breaks its rules, and why."""
        table = census_table(engine, given.filters(principal), self.boundary, self.codes)
        for _ in table.rows:
            pass
        return table.problems

    def attendance(self, engine: Engine, principal: Principal, fmt: Format, first: date, last: date,
                   school_id: str | None, placement_id: str | None) -> Exported:
        """The marks of one placement this person may see, or of the schools
        they may see, from `first` to `last`."""
        if last < first:
            raise HTTPException(422, f"to: {last.isoformat()} is before from ({first.isoformat()})")
        if placement_id is not None:
            row = visible_placement(engine, principal, placement_id)  # 404 for one they may not see
            if school_id and row.school_id != school_id:
                raise HTTPException(422, f"placement_id: placement {placement_id} is not at school {school_id}")
            schools, school_id = {row.school_id}, row.school_id
        else:
            schools = listing_scope(principal, school_id)
        audit = {k: v for k, v in (("school_id", school_id), ("placement_id", placement_id),
                                   ("from", first.isoformat()), ("to", last.isoformat())) if v}
        table = attendance_table(engine, schools, first, last, placement_id)
        return _written(engine, table, fmt, actor_of(principal, school_id), {**audit, "schools": _scope(schools)})


def of(request: Request) -> Exports:
    return request.app.state.exports


def census_refusal(e: CensusRefused) -> JSONResponse:
    return JSONResponse(status_code=409, content={"detail": {
        "message": f"the census export was refused: {len(e.problems)} problem(s) with its rows; nothing was exported",
        "problems": [asdict(p) for p in e.problems],
    }})


# --- the API ----------------------------------------------------------------------------


def cursor_key(cursor: str | None):
    return paging.decode(cursor, lambda v: (date.fromisoformat(v[0]), str(v[1])))


def register_page(engine: Engine, filters: Filters, limit: int, cursor: str | None):
    """A page of the register's entries: the list's keyset page, then those
    rows' records in one read."""
    page = register.placements_page(engine, limit=limit, after=cursor_key(cursor), filters=filters)
    entries = register.entries(engine, [r.placement_id for r in page.rows])
    return page, [entries[r.placement_id] for r in page.rows]


router = APIRouter(tags=["register"])
_FILE = {200: {"content": {MEDIA["csv"]: {}, MEDIA["xlsx"]: {}}, "description": "The file, as a download"}}


@router.get("/api/register", response_model=paging.PageOut[RegisterEntry])
def register_list(principal: PrincipalDep, request: Request, given: GivenDep,
                  limit: paging.Limit = paging.DEFAULT_LIMIT, cursor: paging.Cursor = None):
    """The register of every placement ever made, closed and terminated ones
    too (§3.7, §8.2.3): progress, achievements, destination and the pupil's
    own view, newest start first, a page at a time."""
    page, entries = register_page(request.app.state.engine, given.filters(principal), limit, cursor)
    return paging.answer(paging.PageOut[RegisterEntry](
        items=entries, total=page.total, total_capped=page.capped,
        next_cursor=paging.encode(page.next_after) if page.next_after else None))


@router.get("/api/register/census/problems", response_model=list[CensusProblem])
def census_check(principal: PrincipalDep, request: Request, given: GivenDep):
    """Every row the census return cannot take as it is, and why: the
    provider named by more or fewer than one of URN, UKPRN and setting
    type, a code not in the trust's table, a reason missing."""
    return of(request).census_problems(request.app.state.engine, principal, given)


def _download(name: str):
    def download(principal: PrincipalDep, request: Request, given: GivenDep, fmt: Format):
        try:
            return of(request).placements(request.app.state.engine, principal, name, given, fmt).response()
        except CensusRefused as e:
            return census_refusal(e)

    download.__name__ = f"export_{name}"
    return download


for _name, _summary in (("register", "The register of every placement (§3.7, §8.2.3)"),
                        ("la_notice", "The notice to the LA of placements commissioned (§8.1, §13.4.1)"),
                        ("census", "The school census's AP placements arranged by schools")):
    _responses = {**_FILE, 409: {"description": "Rows the census cannot take, each with why: nothing exported"}}
    _path = "/api/register" if _name == "register" else f"/api/register/{_name.replace('_', '-')}"
    router.get(_path + ".{fmt}", summary=_summary,
               responses=_responses if _name == "census" else _FILE)(_download(_name))


@router.get("/api/register/attendance.{fmt}", summary="Attendance marks with their register codes", responses=_FILE)
def export_attendance(
    principal: PrincipalDep, request: Request, fmt: Format,
    first: Annotated[date, Query(alias="from", description="The first day (YYYY-MM-DD)")],
    last: Annotated[date, Query(alias="to", description="The last day (YYYY-MM-DD)")],
    school_id: Annotated[str | None, Query(pattern=URN, description="Only this school's placements")] = None,
    placement_id: Annotated[str | None, Query(pattern=PLACEMENT_ID, max_length=80, description="Only this placement")] = None,
):
    """Every mark of a placement, or of the schools this person may see,
    from `from` to `to`, each with its register code and what it means."""
    return of(request).attendance(request.app.state.engine, principal, fmt, first, last, school_id, placement_id).response()


def install(app: FastAPI, settings: Settings) -> None:
    app.state.exports = Exports(settings)
    app.include_router(router)
