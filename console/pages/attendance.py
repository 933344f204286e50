"""A placement's attendance in the console: what its register holds (each
session's mark, what it counts as, who recorded it), the sessions it owes
with no mark yet, and a form for school staff to record one session's mark
(one the provider phoned in or sent on paper, or the school's own).

A mark goes through the same register the API and the providers' links
write to (`console.attendance.AttendanceRegister`), with every check it
has: a refused mark shows the form again with each reason and its clause
beside its field, and records nothing. Sent again, the same mark changes
nothing; a different one for the same session replaces it and leaves an
amendment with its note.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from pydantic import Field

from console import exports
from console.attendance import RECORD, AttendanceRegister, today
from console.dates import boxes, example_day, iso_day
from console.identity import Principal, PrincipalDep
from console.signin.csrf import FormPrincipal
from documents.formatting import long_date, sentence
from domain.attendance import SESSION_NAMES
from domain.models import Model, Role
from store import accounts
from store import attendance as store

from . import forms, wording
from .rendering import not_found, page
from .services import posted_for, pupil_of, visible

router = APIRouter(include_in_schema=False)

SHOWN_MARKS = 40  # about four weeks of a full-time pattern; the register's export has every one
SHOWN_UNMARKED = 10


class MarkEntry(Model):
    """One session's mark as staff enter it."""

    day: date
    session: Literal["am", "pm"]
    code: Annotated[str, Field(min_length=1, max_length=4)]
    source: Literal["provider", "school"]
    note: Annotated[str, Field(max_length=2000)] | None = None


LABELS = {"day": "Date of the session", "session": "Session", "code": "Register code", "source": "Whose mark is this?",
          "note": "Note"}
HINTS = {
    "code": "B if the pupil attended; if not, the code for why they were absent.",
    "note": "Optional. The reason for an absence, if known; for a changed mark, why it changed.",
}
# What each field left blank says, as GOV.UK words it ("… is needed" reads wrong for a choice).
LEFT_BLANK = {"day": "Enter the date of the session", "session": "Choose the session",
              "code": "Choose the register code", "source": "Choose whose mark it is"}
SOURCES = [
    ("provider", "The provider's, told by phone or on paper"),
    ("school", "The school's own: the provider has not reported it (a B is chased until the provider confirms it)"),
]


def session_words(day: date, session: str) -> str:
    """Tuesday 1 December 2026, morning."""
    return f"{day:%A} {long_date(day)}, {SESSION_NAMES[session]}"


# What an open attendance escalation asks of whoever reads it on the placement's page.
MARK_LINKS = {
    "attendance_missing": "Record the mark the provider gives",
    "unexplained_absence": "Record the code for the reason, once it is known",
}


def mark_link(placement_id: str, escalation) -> tuple[str, str] | None:
    """An open attendance escalation's link to the mark's form, its session
    filled in from the escalation's id ("<kind>:<day>:<session>"), and the link's words."""
    kind, _, when = escalation.escalation_id.partition(":")
    day, _, session = when.partition(":")
    if kind not in MARK_LINKS or not escalation.open or iso_day(day) is None or session not in SESSION_NAMES:
        return None
    return f"/placements/{placement_id}/attendance?day={day}&session={session}#record-mark", MARK_LINKS[kind]


def _form(register: AttendanceRegister, values: forms.Values, today_: date, problems=()) -> tuple[list[forms.Widget], list]:
    tree = forms.widgets(MarkEntry, values)
    for w in tree:
        w.label, w.hint = LABELS[w.name], HINTS.get(w.name)
        if w.name == "day":  # a register records what happened: the example is today, not a day to come
            w.hint = f"For example, {example_day(today_)} for today"
        elif w.name == "session":
            w.choices = [(s, SESSION_NAMES[s].capitalize()) for s in ("am", "pm")]
        elif w.name == "source":
            w.choices, w.inline = SOURCES, False
        elif w.name == "code":
            w.kind, w.choices = "select", register.code_choices()
    return tree, forms.place_errors(tree, problems)


def _prefilled(request: Request) -> dict[str, list[str]]:
    """A session chosen from the list of unmarked ones: a day and a session
    in the address, nothing about the pupil."""
    d, session = iso_day(request.query_params.get("day", "")), request.query_params.get("session", "")
    if d is None or session not in SESSION_NAMES:
        return {}
    return {k: [v] for k, v in boxes(d, "day").items()} | {"session": [session]}


def _recorded_banner(request: Request) -> str | None:
    day, _, session = request.query_params.get("recorded", "").partition(".")
    d = iso_day(day)
    return f"Mark recorded for {session_words(d, session)}" if d is not None and session in SESSION_NAMES else None


def _page(request: Request, principal: Principal, row, values: forms.Values, problems=(), status: int = 200):
    engine = request.app.state.engine
    register = AttendanceRegister.of(request)
    day = today()
    record = register.of_placement(engine, row, day)
    marks = sorted(record.marks, key=lambda m: (m.day, m.session), reverse=True)
    names = accounts.names(engine, {m.recorded_by for m in marks[:SHOWN_MARKS]} | {a.amended_by for a in record.amendments})
    may_record = principal.may_take(row.school_id, RECORD)
    tree, errors = _form(register, values, day, problems) if may_record else ([], [])
    return page(
        request, "attendance.html", principal, status=status, nav="placements", row=row, record=record,
        pupil=pupil_of(row),
        marks=marks[:SHOWN_MARKS], more_marks=max(0, len(marks) - SHOWN_MARKS),
        unmarked=list(reversed(record.unmarked))[:SHOWN_UNMARKED], names=names, session_words=session_words,
        who=lambda user_id, role: "The provider, through its link" if role == Role.provider.value else
        f"{names.get(user_id, user_id)} ({wording.words(role)})",
        may_record=may_record, tree=tree, errors=errors, recorded=_recorded_banner(request),
        today=day, checks={"am": register.settings.am_check, "pm": register.settings.pm_check},
    )


async def posted_to_record(request: Request, principal: Principal, placement_id: str):
    """A posted form of marks: its values and its placement's row, or the page refusing it."""
    return await posted_for(request, principal, placement_id, RECORD, "You cannot record attendance",
                            "A register is kept by the school's staff and the trust; no role you hold at this school records it.")


def refusal(error: store.RowError) -> str:
    """What the register says of a refused mark, as a sentence (its days in
    words) with its clause."""
    return f"{sentence(error.message)} ({error.clause})"


@router.get("/placements/{placement_id}/attendance")
def attendance_page(placement_id: str, principal: PrincipalDep, request: Request):
    row = visible(request, principal, placement_id)
    if row is None:
        return not_found(request, principal, "placement")
    return _page(request, principal, row, _prefilled(request))


@router.get("/placements/{placement_id}/attendance.{fmt}")
def download_marks(placement_id: str, fmt: exports.Format, principal: PrincipalDep, request: Request):
    """Every mark of the placement, from its start to today, as the
    register's attendance download writes them (and audited as it is)."""
    row = visible(request, principal, placement_id)
    if row is None:
        return not_found(request, principal, "placement")
    return exports.of(request).attendance(request.app.state.engine, principal, fmt, row.start_date,
                                          max(row.start_date, today()), None, placement_id).response()


@router.post("/placements/{placement_id}/attendance")
async def record_mark(placement_id: str, principal: FormPrincipal, request: Request):
    values, row, refused = await posted_to_record(request, principal, placement_id)
    if refused is not None:
        return refused
    entry, problems = forms.read(MarkEntry, values, LEFT_BLANK)
    status = 422
    if entry is not None:
        mark = store.MarkIn(placement_id, entry.day, entry.session, entry.code, None, entry.note)
        try:
            await run_in_threadpool(AttendanceRegister.of(request).record_for, request.app.state.engine, principal,
                                    [mark], entry.source, today())
            return RedirectResponse(f"/placements/{placement_id}/attendance?recorded={entry.day}.{entry.session}",
                                    status_code=303)
        except store.RegisterRefused as e:
            problems = [(x.field, refusal(x)) for x in e.errors]
    return await run_in_threadpool(_page, request, principal, row, values, problems, status)
