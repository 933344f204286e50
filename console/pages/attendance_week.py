"""A week of a placement's marks keyed in at once: the provider's weekly
return, on paper or by email. Each session the week owes is listed with the
mark it has now and a choice of code; only the sessions given one are
recorded, all of them or none, through the same register as a single mark
(`console.attendance.AttendanceRegister`). A refused row's reason and clause
sit beside its session; a session left alone keeps its mark and its note.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from console.attendance import RECORD, AttendanceRegister, today
from console.dates import iso_day
from console.identity import Principal, PrincipalDep
from console.signin.csrf import FormPrincipal
from domain.attendance import normalise_code
from store import attendance as store

from . import forms
from .attendance import SOURCES, posted_to_record, refusal, session_words
from .rendering import not_found, page
from .services import pupil_of, visible

router = APIRouter(include_in_schema=False)

NONE_CHOSEN = "Choose a code for at least one session"
MAX_NOTE = 2000  # as a single mark's (`MarkEntry.note`)


@dataclass
class Row:
    """One session the week owes, as the form shows it."""

    day: date
    session: str
    now: str | None  # its mark as recorded, in words
    value: str = ""
    error: str | None = None

    @property
    def name(self) -> str:
        return f"code.{self.day}.{self.session}"

    @property
    def id(self) -> str:
        return f"code-{self.day}-{self.session}"


@dataclass
class Week:
    monday: date
    rows: list[Row]
    previous: date | None
    next: date | None
    # This week, listed up to today: its days to come (before the placement's end) are keyed in once passed.
    cut_at_today: bool = False


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _now(mark) -> str:
    whose = "the provider's" if mark.source == "provider" else "the school's own"
    return f"Now {mark.code} ({whose})"


def week_of(request: Request, row, asked: date | None, values: forms.Values | None = None) -> Week | None:
    """The week holding `asked` (by default this week, or the placement's
    last), kept within the weeks it ran; none before it has started."""
    engine = request.app.state.engine
    facts = store.expectation(engine, row.placement_id)
    if facts is None or facts.started_on is None:
        return None
    last_day = min(filter(None, [today(), facts.ended_on]))
    first_week, last_week = monday_of(facts.started_on), monday_of(last_day)
    monday = min(max(monday_of(asked or last_day), first_week), last_week)
    first, last = max(monday, facts.started_on), min(monday + timedelta(days=4), last_day)
    owed = AttendanceRegister.of(request).owed(facts, row.school_id, first, last) if first <= last else []
    marks = {(m.day, m.session): m for m in store.marks_for(engine, row.placement_id, first, last)}
    rows = [Row(day, s, _now(marks[(day, s)]) if (day, s) in marks else None) for day, s in owed]
    for r in rows:
        r.value = ((values or {}).get(r.name) or [""])[0]
    return Week(monday, rows, monday - timedelta(days=7) if monday > first_week else None,
                monday + timedelta(days=7) if monday < last_week else None,
                cut_at_today=last == today() < min(filter(None, [monday + timedelta(days=4), facts.ended_on])))


def _page(request: Request, principal: Principal, row, week: Week | None, values: forms.Values, errors=(), status=200):
    register = AttendanceRegister.of(request)
    recorded = request.query_params.get("recorded", "")
    return page(
        request, "attendance_week.html", principal, status=status, nav="placements", row=row, week=week,
        pupil=pupil_of(row), session_words=session_words,
        may_record=principal.may_take(row.school_id, RECORD), codes=register.code_choices(), sources=SOURCES,
        source=(values.get("source") or [""])[0], note=(values.get("note") or [""])[0], errors=list(errors),
        error_at={e.href: e.text for e in errors if e.href in ("#source", "#note")},
        recorded=int(recorded) if recorded.isdigit() and len(recorded) < 4 else None,
    )


@router.get("/placements/{placement_id}/attendance/week")
def week_page(placement_id: str, principal: PrincipalDep, request: Request):
    row = visible(request, principal, placement_id)
    if row is None:
        return not_found(request, principal, "placement")
    return _page(request, principal, row, week_of(request, row, iso_day(request.query_params.get("of", ""))), {})


def _refused(week: Week, problems: list[tuple[str, str]]) -> list[forms.ErrorItem]:
    """Each problem beside its session's select (or the whose-mark radios),
    and all of them for the error summary, in the form's order."""
    by_name = {r.name: r for r in week.rows}
    items = []
    for name, message in problems:
        if name in by_name:
            by_name[name].error = message
            items.append(forms.ErrorItem(f"{session_words(by_name[name].day, by_name[name].session)}: {message}",
                                         f"#{by_name[name].id}"))
        else:
            items.append(forms.ErrorItem(message, f"#{name}" if name in ("source", "note") else None))
    return items


@router.post("/placements/{placement_id}/attendance/week")
async def record_week(placement_id: str, principal: FormPrincipal, request: Request):
    values, row, refused = await posted_to_record(request, principal, placement_id)
    if refused is not None:
        return refused
    week = await run_in_threadpool(week_of, request, row, iso_day((values.get("week") or [""])[0]), values)
    if week is None:
        return await run_in_threadpool(_page, request, principal, row, None, values, [], 409)
    source = (values.get("source") or [""])[0]
    note = (values.get("note") or [""])[0].strip() or None
    chosen = [r for r in week.rows if r.value]
    problems: list[tuple[str, str]] = []
    if source not in {s for s, _ in SOURCES}:
        problems.append(("source", "Choose whose marks these are"))
    if note is not None and len(note) > MAX_NOTE:
        problems.append(("note", f"Note takes at most {MAX_NOTE} characters"))
    if not chosen and week.rows:
        problems.append((week.rows[0].name, NONE_CHOSEN))
    if not problems:
        marks = [store.MarkIn(placement_id, r.day, r.session, normalise_code(r.value), None, note) for r in chosen]
        try:
            await run_in_threadpool(AttendanceRegister.of(request).record_for, request.app.state.engine, principal,
                                    marks, source, today())
            return RedirectResponse(f"/placements/{placement_id}/attendance/week?of={week.monday}&recorded={len(marks)}",
                                    status_code=303)
        except store.RegisterRefused as e:
            problems = [(chosen[x.row].name if x.field != "placement_id" else "", refusal(x)) for x in e.errors]
    return await run_in_threadpool(_page, request, principal, row, week, values, _refused(week, problems), 422)
