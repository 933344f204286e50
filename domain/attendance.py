"""Attendance: register codes as data, which sessions a placement expects,
and whether a mark fits the placement it is for.

RULES, "Records": every session is kept with its register code. The School
Attendance (Pupil Registration) (England) Regulations 2024 changed the set of
codes, so codes are a table the trust edits (`attendance/codes.toml`), parsed
here from an already-read mapping (`codes_from_dict`); `apflow.attendance_codes`
reads the file. A code says what it counts as, whether an absence under it has
a known reason, whether the school may record it without the provider's own
mark (B, K, D: "a B with no provider report is a chase, not a present") and
which placements it fits (D only at a provider that is itself a registered
school; C2 only on a part-time timetable).

Pure: no I/O, no database, no Temporal.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from .calendar import SchoolCalendar
from .lifecycle import FINAL_STATES, RUNNING_STATES
from .models import field_path

Session = Literal["am", "pm"]
SESSIONS: tuple[Session, ...] = ("am", "pm")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SESSION_NAMES = {"am": "morning", "pm": "afternoon"}

# The clauses a refused mark names: the register is kept twice a day, am and
# pm, for the sessions the placement schedules (§10.3); its codes (§10.4).
REGISTER_CLAUSE = "§10.3"
CODES_CLAUSE = "§10.4"

# States in which a placement runs and its sessions are expected (§10.3, §12.1.4).
ATTENDING_STATES = RUNNING_STATES


class AttendanceSettings(BaseModel):
    """When the registers are checked and how big a register may be. Defaults
    follow RULES.md ("chase the provider the same day"); a trust changes them
    by configuration (APFLOW_ATTENDANCE__AM_CHECK=10:00 and so on)."""

    model_config = ConfigDict(frozen=True)

    # UK wall-clock times of the school-day checks. At the am check the
    # morning register is checked; at the pm check both (a morning mark
    # corrected to an unexplained absence at lunchtime still reaches the DSL
    # the same day).
    am_check: time = time(10, 30)
    pm_check: time = time(14, 30)
    # A pattern that starts before this time has a morning session, one that
    # ends after it an afternoon session (a 9:00-12:00 timetable is am only).
    session_boundary: time = time(12, 30)
    # How many placement workflows the sweep signals at once.
    signal_concurrency: int = 32
    # Rows in one register call (a whole trust's day is 2 x active placements).
    max_register_rows: int = 20_000
    # A chase for a missing mark carries the provider's attendance link,
    # working until the end of this many days after the day it asks about.
    chase_link_days: int = 7
    schedules_enabled: bool = True


class CountsAs(StrEnum):
    """The 2024 regulations' statistical categories."""

    present = "present"  # attending, here or at approved education off-site
    authorised_absence = "authorised_absence"
    unauthorised_absence = "unauthorised_absence"
    not_counted = "not_counted"  # not a possible session (e.g. D, X, Y1-Y7)


class Fit(StrEnum):
    """Conditions under which a code may be used for a placement."""

    registered_school_provider = "registered_school_provider"
    part_time_pattern = "part_time_pattern"
    not_dual_registered = "not_dual_registered"


FIT_REASONS = {
    Fit.registered_school_provider: "only where the provider is itself a registered school (a PRU, an AP academy or a registered independent school), and this provider is not",
    Fit.part_time_pattern: "only for a placement on a part-time timetable, and this placement is full time",
    Fit.not_dual_registered: "not while the pupil is dual registered at the provider: use D",
}


class AttendanceCode(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    meaning: str
    counts_as: CountsAs
    # For an absence: whether the code itself gives the reason. N ("reason not
    # yet established") and O ("other or unknown") do not: §9.3-9.4.
    explained: bool = True
    # The school may not record this alone: the provider's own mark must be behind it.
    needs_provider_mark: bool = False
    fits: tuple[Fit, ...] = ()
    # Kept so that old marks keep their meaning; refused for new marks.
    retired: bool = False

    @property
    def is_absence(self) -> bool:
        return self.counts_as in (CountsAs.authorised_absence, CountsAs.unauthorised_absence)


class CodeError(ValueError):
    """The codes file is wrong; `field` locates the problem (e.g. ``codes.B.counts_as``)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.message = message
        self.field = field


class CodeBook(BaseModel):
    """Every code the trust's register knows, by code."""

    model_config = ConfigDict(frozen=True)
    codes: dict[str, AttendanceCode]

    def get(self, code: str) -> AttendanceCode | None:
        return self.codes.get(code)

    def __iter__(self):
        return iter(self.codes.values())

    def __len__(self) -> int:
        return len(self.codes)


_CODE_KEYS = frozenset(AttendanceCode.model_fields) - {"code"}


def normalise_code(code: str) -> str:
    return code.strip().upper()


def codes_from_dict(data: Mapping[str, Any]) -> CodeBook:
    """Build the code book from the file's tables: ``{"codes": {"B": {...}}}``.

    Raises `CodeError` naming the field for an unknown key, a missing meaning,
    an unknown category or fit condition, or `explained = false` on a code
    that is not an absence.
    """
    if set(data) - {"codes"}:
        raise CodeError(f"unknown key(s) {', '.join(sorted(set(data) - {'codes'}))}; expected codes")
    raw = data.get("codes")
    if not isinstance(raw, Mapping) or not raw:
        raise CodeError('expected at least one code, e.g. [codes.B]', "codes")
    out: dict[str, AttendanceCode] = {}
    for key, entry in raw.items():
        field = f"codes.{key}"
        code = normalise_code(str(key))
        if not code or len(code) > 4:
            raise CodeError("a code is 1 to 4 characters", field)
        if code in out:
            raise CodeError("listed twice", field)
        if not isinstance(entry, Mapping):
            raise CodeError("expected a table", field)
        unknown = sorted(set(entry) - _CODE_KEYS)
        if unknown:
            raise CodeError(f"unknown key(s) {', '.join(unknown)}; expected {', '.join(sorted(_CODE_KEYS))}", field)
        if not str(entry.get("meaning", "")).strip():
            raise CodeError("missing meaning", field)
        try:
            counts_as = CountsAs(entry.get("counts_as"))
        except ValueError:
            raise CodeError(f"counts_as must be one of {', '.join(c.value for c in CountsAs)}", f"{field}.counts_as") from None
        fits = []
        for i, f in enumerate(entry.get("fits", [])):
            try:
                fits.append(Fit(f))
            except ValueError:
                raise CodeError(f"unknown condition {f!r}; known: {', '.join(x.value for x in Fit)}", f"{field}.fits[{i}]") from None
        try:
            item = AttendanceCode(code=code, **{**entry, "counts_as": counts_as, "fits": tuple(fits)})
        except ValidationError as e:
            err = e.errors()[0]
            raise CodeError(err["msg"], ".".join(filter(None, [field, field_path(err)]))) from None
        if not item.is_absence and "explained" in entry:
            raise CodeError("explained is only for absence codes", f"{field}.explained")
        out[code] = item
    return CodeBook(codes=out)


# --- the placement as attendance sees it -------------------------------------------


@dataclass(frozen=True, slots=True)
class PlacementFacts:
    """What deciding about a placement's marks needs (see `store.attendance`)."""

    placement_id: str
    school_id: str
    state: str
    started_on: date | None  # the day it became active; None if it never did
    ended_on: date | None  # the day it closed or was terminated
    days: frozenset[str]  # pattern weekdays, "mon".."fri"
    arrival: time
    departure: time
    provider_registered: bool
    full_time: bool
    dual_registration_from: date | None

    def running_on(self, day: date) -> bool:
        if self.started_on is None or day < self.started_on:
            return False
        return self.ended_on is None or day <= self.ended_on

    def dual_registered_on(self, day: date) -> bool:
        return self.dual_registration_from is not None and self.dual_registration_from <= day


def session_times_expected(arrival: time, departure: time, boundary: time) -> tuple[Session, ...]:
    """The sessions a pattern covers: am if it starts before the boundary, pm if it ends after it."""
    return tuple(s for s, on in (("am", arrival < boundary), ("pm", departure > boundary)) if on)


def expected_sessions(facts: PlacementFacts, day: date, calendar: SchoolCalendar, boundary: time) -> tuple[Session, ...]:
    """The sessions of `day` for which the placement owes a mark: it runs
    that day, the day is a school day of the commissioning school and a day
    of the pattern. Holidays, INSET and bank holidays owe nothing."""
    if facts.state not in ATTENDING_STATES | FINAL_STATES or not facts.running_on(day):
        return ()
    if not calendar.is_school_day(day) or WEEKDAYS[day.weekday()] not in facts.days:
        return ()
    return session_times_expected(facts.arrival, facts.departure, boundary)


# --- judging one mark ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarkProblem:
    field: str
    message: str
    clause: str = REGISTER_CLAUSE


def _day_list(days: frozenset[str]) -> str:
    names = [DAY_NAMES[i] for i, d in enumerate(WEEKDAYS) if d in days]
    if not names:
        return "no day at all"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def unscheduled(facts: PlacementFacts, day: date, session: str, boundary: time) -> MarkProblem | None:
    """Why the placement's pattern owes no mark for this session of a school
    day it runs on, or None when it does: the day is not one of the pattern's
    weekdays, or the pattern's times do not reach the session (a 9:00-12:00
    timetable has no afternoon). A mark there would count a session nobody
    was due to attend (§10.3)."""
    weekday = WEEKDAYS[day.weekday()] if day.weekday() < len(WEEKDAYS) else None
    if weekday not in facts.days:
        return MarkProblem("day", (
            f"{day} is a {DAY_NAMES[day.weekday()]}: the placement's pattern does not schedule "
            f"{DAY_NAMES[day.weekday()]} (it schedules {_day_list(facts.days)}), so no mark is owed"
        ))
    if session not in session_times_expected(facts.arrival, facts.departure, boundary):
        times = f"{facts.arrival:%H:%M} to {facts.departure:%H:%M}"
        edge = "starts" if session == "am" else "ends"
        side = "after" if session == "am" else "before"
        return MarkProblem("session", (
            f"the placement's pattern does not cover the {SESSION_NAMES.get(session, session)} session: "
            f"it runs {times} and {edge} {side} the session boundary at {boundary:%H:%M}, so no mark is owed"
        ))
    return None


def mark_problems(
    book: CodeBook,
    facts: PlacementFacts,
    day: date,
    code: str,
    explained: bool | None,
    calendar: SchoolCalendar,
    today: date,
    session: str | None = None,
    boundary: time | None = None,
) -> list[MarkProblem]:
    """Why a mark cannot be recorded for this placement; empty when it can.

    With `session` and the session `boundary`, a mark for a session the
    placement's pattern does not schedule is refused too (`unscheduled`):
    it would otherwise count as present on a day nobody was due."""
    problems: list[MarkProblem] = []
    if day > today:
        problems.append(MarkProblem("day", f"{day} is in the future: a register records what happened"))
    elif not facts.running_on(day):
        if facts.started_on is None:
            problems.append(MarkProblem("placement_id", f"the placement has not started (it is {facts.state.replace('_', ' ')})"))
        elif day < facts.started_on:
            problems.append(MarkProblem("day", f"{day} is before the placement started on {facts.started_on}"))
        else:
            problems.append(MarkProblem("day", f"{day} is after the placement ended on {facts.ended_on}"))
    elif not calendar.is_school_day(day):
        problems.append(MarkProblem("day", f"{day} is not a school day in the school's calendar: no register is taken"))
    elif session is not None and boundary is not None and (off := unscheduled(facts, day, session, boundary)):
        problems.append(off)

    entry = book.get(code)
    if entry is None:
        problems.append(MarkProblem("code", f"unknown register code {code!r}: see GET /api/attendance/codes", CODES_CLAUSE))
        return problems
    if entry.retired:
        problems.append(MarkProblem("code", f"{code} is no longer in use (School Attendance Regulations 2024): see GET /api/attendance/codes", CODES_CLAUSE))
    for fit in entry.fits:
        ok = {
            Fit.registered_school_provider: facts.provider_registered,
            Fit.part_time_pattern: not facts.full_time,
            Fit.not_dual_registered: not facts.dual_registered_on(day),
        }[fit]
        if not ok:
            problems.append(MarkProblem("code", f"{code} ({entry.meaning}) is {FIT_REASONS[fit]}", CODES_CLAUSE))
    if explained is not None:
        if not entry.is_absence:
            problems.append(MarkProblem("explained", f"{code} is not an absence: leave 'explained' out", CODES_CLAUSE))
        elif explained and not entry.explained:
            problems.append(MarkProblem(
                "explained", f"{code} means the reason is not known; record the code for the reason instead", CODES_CLAUSE,
            ))
    return problems


def effective_explained(entry: AttendanceCode, explained: bool | None) -> bool | None:
    """Stored with the mark: None unless an absence, else the provider's word or the code's."""
    if not entry.is_absence:
        return None
    return entry.explained if explained is None else explained
