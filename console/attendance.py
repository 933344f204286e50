"""Attendance over the API: a whole register in one call, a placement's
marks, and the trust's register codes; and `AttendanceRegister`, through
which the API, the providers' links and the console's attendance pages all
record and read marks.

Marks go straight to the database in bulk (ARCHITECTURE, "High-volume facts");
the placement workflows hear only what the daily sweep finds wrong. Routes are
plain functions, so FastAPI runs their database work in its thread pool.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import lru_cache
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import Engine

from apflow.attendance_codes import load_codes
from apflow.calendars import calendar_path, load_calendar
from domain.access import ACTION_ROLES, WATCHERS
from domain.attendance import AttendanceSettings, CodeBook, CountsAs, PlacementFacts, expected_sessions, normalise_code
from domain.calendar import SchoolCalendar
from domain.clock import uk_date
from domain.models import Actor, Model, Role
from store import attendance as store
from store import register

from .authority import visible_placement
from .identity import PrincipalDep

if TYPE_CHECKING:
    from apflow.settings import Settings

# Who may record a register here: the school's own staff, and the trust
# (`domain.access.OPERATION_ROLES`). Providers send theirs through their
# links, one placement each (`provider_sink`).
RECORD = "record_attendance"
RECORDERS = ACTION_ROLES[RECORD]


class MarkBody(Model):
    placement_id: Annotated[str, Field(min_length=1, max_length=64)]
    day: date
    session: Literal["am", "pm"]
    code: Annotated[str, Field(min_length=1, max_length=4, description="A register code: GET /api/attendance/codes")]
    explained: bool | None = Field(None, description="Absences only: whether the provider knows the reason (default: the code's)")
    note: Annotated[str, Field(max_length=2000)] | None = None

    @field_validator("code")
    @classmethod
    def _upper(cls, v: str) -> str:
        return normalise_code(v)


class RegisterBody(Model):
    """A register for one or more school days: each row one session of one placement."""

    source: Literal["provider", "school"] = Field(
        description="provider: the provider's own marks (sent by it, or keyed in from its return); "
        "school: the school's entry without a provider report (a B is then chased until the provider confirms it)",
    )
    marks: Annotated[list[MarkBody], Field(min_length=1)]


class RecordedOut(BaseModel):
    recorded: int
    created: int
    changed: int
    unchanged: int


class RowErrorOut(BaseModel):
    row: int
    placement_id: str
    day: date
    session: str
    field: str
    message: str
    clause: str = Field(description="The policy clause the row falls foul of")


class RefusedOut(BaseModel):
    message: str
    errors: list[RowErrorOut]


class CodeOut(BaseModel):
    code: str
    meaning: str
    counts_as: CountsAs
    explained: bool | None
    needs_provider_mark: bool
    fits: list[str]
    retired: bool


class MarkOut(BaseModel):
    day: date
    session: str
    code: str
    meaning: str | None
    counts_as: str | None
    explained: bool | None
    note: str | None
    source: str
    provider_code: str | None
    recorded_by: str
    recorded_role: str
    recorded_at: datetime


class AmendmentOut(BaseModel):
    day: date
    session: str
    old_code: str
    new_code: str
    old_explained: bool | None
    new_explained: bool | None
    reason: str | None
    amended_by: str
    amended_role: str
    amended_at: datetime


class SessionOut(BaseModel):
    day: date
    session: str


class AttendanceSummary(BaseModel):
    expected: int
    present: int
    authorised_absence: int
    unauthorised_absence: int
    not_counted: int
    unmarked: int
    attendance_percent: float | None = Field(description="Present over possible sessions (not counted ones left out)")


class PlacementAttendanceOut(BaseModel):
    placement_id: str
    first: date | None
    last: date | None
    marks: list[MarkOut]
    unmarked: list[SessionOut] = Field(description="Sessions the placement owes with no mark yet")
    amendments: list[AmendmentOut]
    summary: AttendanceSummary


@lru_cache(maxsize=512)
def _calendar(school_id: str, folder: Path, path: str | None, stamp: int | None, today_: date) -> SchoolCalendar:
    return load_calendar(school_id, folder)


def calendars_in(folder: Path) -> Callable[[str], SchoolCalendar]:
    """Each school's calendar from `folder`, read again only when its file
    changes (a register call would otherwise spend most of its time reading TOML)."""

    def calendar_for(school_id: str) -> SchoolCalendar:
        path = calendar_path(school_id, folder)
        return _calendar(school_id, folder, str(path) if path else None, path.stat().st_mtime_ns if path else None, date.today())

    return calendar_for


def today() -> date:
    """The date in England; a dependency so tests can move it."""
    return uk_date(datetime.now(timezone.utc))


TodayDep = Annotated[date, Depends(today)]


_synced: weakref.WeakSet = weakref.WeakSet()


def ensure_codes(engine: Engine, book: CodeBook) -> Engine:
    """The codes table follows the file: brought up to it once per process."""
    if engine not in _synced:
        store.sync_codes(engine, book)
        _synced.add(engine)
    return engine


def code_choices(book: CodeBook) -> list[tuple[str, str]]:
    """The codes a new mark may take, in the trust's file's order, each as a
    form offers it: "B: Attending any other approved educational activity…"."""
    return [(c.code, f"{c.code}: {c.meaning}") for c in book if not c.retired]


@dataclass(frozen=True)
class AttendanceRegister:
    """The register as every way in records and reads it (the API, the
    console's page, a provider's link): the trust's codes and each school's
    calendar, read once for the app, and the session boundary that decides
    which sessions a pattern schedules (APFLOW_ATTENDANCE__*)."""

    book: CodeBook
    calendar_for: Callable[[str], SchoolCalendar]
    settings: AttendanceSettings

    @classmethod
    def from_settings(cls, settings: Settings) -> AttendanceRegister:
        return cls(load_codes(settings.attendance_codes), calendars_in(settings.calendars_dir), settings.attendance)

    def engine(self, engine: Engine) -> Engine:
        return ensure_codes(engine, self.book)

    def code_choices(self) -> list[tuple[str, str]]:
        return code_choices(self.book)

    def record(self, engine: Engine, marks: list[store.MarkIn], recorder_at: store.ActorAt, source: str,
               today_: date, may_see: store.MaySee) -> store.Recorded:
        """All rows or none (`store.RegisterRefused` with every row's problem)."""
        return store.record_register(self.engine(engine), self.book, marks, recorder_at, source, today_,
                                     self.calendar_for, may_see, boundary=self.settings.session_boundary)

    def record_for(self, engine: Engine, principal, marks: list[store.MarkIn], source: str, today_: date) -> store.Recorded:
        """A signed-in person's register: each row recorded under the role they
        hold at its placement's school, refused where that role does not record."""

        def recorder_at(school_id: str) -> Actor | None:
            actor = principal.actor_at(school_id, RECORD)
            return actor if actor is not None and actor.role in RECORDERS else None

        return self.record(engine, marks, recorder_at, source, today_, principal.may_see)

    def owed(self, facts: PlacementFacts, school_id: str, first: date, last: date) -> list[tuple[date, str]]:
        """Each session from `first` to `last` the placement's pattern owes a
        mark for, in order: its days that are the school's school days, each
        session its times reach across the boundary."""
        calendar = self.calendar_for(school_id)
        return [(day, s) for day in calendar.iter_school_days(first, last)
                for s in expected_sessions(facts, day, calendar, self.settings.session_boundary)]

    def of_placement(self, engine: Engine, row, today_: date, first: date | None = None,
                     last: date | None = None) -> PlacementAttendanceOut:
        """Every mark of a placement (its register row `row`) with what its
        code means, the sessions still unmarked and the amendments."""
        engine = self.engine(engine)
        book, placement_id = self.book, row.placement_id
        facts = store.expectation(engine, placement_id)
        marks = store.marks_for(engine, placement_id, first, last)
        first = first or (facts.started_on if facts else None)
        last = last or min(filter(None, [today_, facts.ended_on if facts else None]))
        owed = self.owed(facts, row.school_id, first, last) if facts and first and last else []
        have = {(m.day, m.session) for m in marks}
        unmarked = [SessionOut(day=day, session=s) for day, s in owed if (day, s) not in have]
        expected = len(owed)
        counts = {c: 0 for c in CountsAs}
        for m in marks:
            entry = book.get(m.code)
            if entry:
                counts[entry.counts_as] += 1
        possible = counts[CountsAs.present] + counts[CountsAs.authorised_absence] + counts[CountsAs.unauthorised_absence]
        return PlacementAttendanceOut(
            placement_id=placement_id, first=first, last=last,
            marks=[
                MarkOut(
                    day=m.day, session=m.session, code=m.code,
                    meaning=book.get(m.code).meaning if book.get(m.code) else None,
                    counts_as=book.get(m.code).counts_as.value if book.get(m.code) else None,
                    explained=m.explained, note=m.note, source=m.source, provider_code=m.provider_code,
                    recorded_by=m.recorded_by, recorded_role=m.recorded_role, recorded_at=m.recorded_at,
                )
                for m in marks
            ],
            unmarked=unmarked,
            amendments=[
                AmendmentOut(day=a.day, session=a.session, old_code=a.old_code, new_code=a.new_code,
                             old_explained=a.old_explained, new_explained=a.new_explained, reason=a.reason,
                             amended_by=a.amended_by, amended_role=a.amended_role, amended_at=a.amended_at)
                for a in store.amendments_for(engine, placement_id)
                if (first is None or a.day >= first) and (last is None or a.day <= last)
            ],
            summary=AttendanceSummary(
                expected=expected,
                present=counts[CountsAs.present],
                authorised_absence=counts[CountsAs.authorised_absence],
                unauthorised_absence=counts[CountsAs.unauthorised_absence],
                not_counted=counts[CountsAs.not_counted],
                unmarked=len(unmarked),
                attendance_percent=round(100 * counts[CountsAs.present] / possible, 1) if possible else None,
            ),
        )

    @staticmethod
    def of(request: Request) -> AttendanceRegister:
        return request.app.state.attendance_register


def provider_sink(app, attendance_register: AttendanceRegister):
    """What records a mark a provider sends through its attendance link
    (`console.provider` calls ``app.state.attendance_sink(claims, answer)``).
    The link is the provider's authority, scoped to one placement: the mark is
    recorded as the provider's own, under the link's id, with every check a
    register has; a refusal says why and records nothing."""

    async def sink(claims, answer) -> None:
        row = await run_in_threadpool(register.get, app.state.engine, claims.placement_id)
        if row is None:
            raise HTTPException(404, {"error": "revoked", "message": "This link's placement no longer exists."})
        actor = Actor(user_id=claims.link_id, role=Role.provider, school_id=row.school_id)
        mark = store.MarkIn(claims.placement_id, answer.day, answer.session, normalise_code(answer.code), None, answer.note)
        try:
            await run_in_threadpool(
                attendance_register.record, app.state.engine, [mark], lambda school_id: actor if school_id == row.school_id else None,
                "provider", today(), lambda school_id: school_id == row.school_id,
            )
        except store.RegisterRefused as e:
            raise HTTPException(422, {
                "error": "refused",
                "message": "The mark was not recorded: " + "; ".join(f"{x.message} ({x.clause})" for x in e.errors),
                "fields": [{"field": x.field, "message": x.message, "clause": x.clause} for x in e.errors],
            }) from None

    return sink


def router_for(attendance_register: AttendanceRegister) -> APIRouter:
    """The attendance routes over the app's register."""
    limits = attendance_register.settings
    router = APIRouter(tags=["attendance"])

    @router.post(
        "/api/attendance",
        response_model=RecordedOut,
        responses={422: {"model": RefusedOut, "description": "Nothing was recorded: every row that cannot be, with why"}},
    )
    def record(body: RegisterBody, principal: PrincipalDep, request: Request, day_today: TodayDep):
        """Record a register: all rows or none. Sending the same register again changes nothing.
        Each row is recorded under the role its sender holds at the placement's school."""
        held = {g.role for g in principal.grants}
        if not held & RECORDERS:
            what = "sees, never acts" if held <= WATCHERS else "does not record attendance"
            raise HTTPException(403, f"a register is recorded by the school's staff or the trust: your role "
                                     f"({', '.join(sorted(r.value for r in held)) or 'none'}) {what}")
        if len(body.marks) > limits.max_register_rows:
            raise HTTPException(413, f"at most {limits.max_register_rows} rows in one register")
        marks = [store.MarkIn(m.placement_id, m.day, m.session, m.code, m.explained, m.note) for m in body.marks]
        try:
            done = attendance_register.record_for(request.app.state.engine, principal, marks, body.source, day_today)
        except store.RegisterRefused as e:
            refused = RefusedOut(
                message=f"the register was refused: nothing was recorded ({len(e.errors)} problem(s))",
                errors=[RowErrorOut(**{k: getattr(x, k) for k in RowErrorOut.model_fields}) for x in e.errors],
            )
            return JSONResponse(status_code=422, content={"detail": refused.model_dump(mode="json")})
        return RecordedOut(recorded=len(marks), created=done.created, changed=done.changed, unchanged=done.unchanged)

    @router.get("/api/attendance/codes", response_model=list[CodeOut])
    def codes(principal: PrincipalDep) -> list[CodeOut]:
        """The register codes in use (the trust's `attendance/codes.toml`)."""
        return [
            CodeOut(code=c.code, meaning=c.meaning, counts_as=c.counts_as, explained=c.explained if c.is_absence else None,
                    needs_provider_mark=c.needs_provider_mark, fits=[f.value for f in c.fits], retired=c.retired)
            for c in attendance_register.book
        ]

    @router.get("/api/placements/{placement_id}/attendance", response_model=PlacementAttendanceOut)
    def placement_attendance(
        placement_id: str,
        principal: PrincipalDep,
        request: Request,
        day_today: TodayDep,
        first: Annotated[date | None, Query(alias="from", description="First day (default: the start)")] = None,
        last: Annotated[date | None, Query(alias="to", description="Last day (default: today or the end)")] = None,
    ) -> PlacementAttendanceOut:
        """Every mark of a placement with what its code means, the sessions still unmarked and the amendments."""
        engine = request.app.state.engine
        row = visible_placement(engine, principal, placement_id)
        return attendance_register.of_placement(engine, row, day_today, first, last)

    return router
