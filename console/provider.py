"""The provider's side: a page and a form behind each signed link.

A provider has no account. Each request the school sends carries a link,
`/provider/<token>`, signed, expiring and scoped to one placement and one
purpose (`documents.links`). `GET` shows what is asked and a form; `POST`
takes the answer as JSON or as the form's fields.

An answer becomes an action on the placement's workflow, as if staff had
entered it, with the provider as actor (role `provider`, user id = the link
id): `record_initial_assessment`, `record_progress_report` or
`record_final_report`. The workflow judges it like any other action; the
deadlines it answers drop off the placement's clock. A report link answers
once.

Refused, with nothing recorded: a link whose signature does not verify (403),
one for another purpose than the answer's (403), one that has expired, was
withdrawn by staff or answered already, or whose placement has ended, for
a report (410), an answer that does not
validate (422, each field's error), an answer the placement cannot take now
(409, with the policy's reasons).

Attendance links verify like the others, and the form asks for one
session's mark, beside the days the pupil attends and the latest sessions
with no mark (each a link that fills the form in); one the register
refuses for what was typed (a day before the start, a session the pattern
does not schedule) is the form again, the reason beside its field. The
register of attendance marks is not part of this module: an answer is
handed to `app.state.attendance_sink(claims, AttendanceAnswer)`, which
records it in the attendance register with every check a register has.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader
from pydantic import Field, TypeAdapter, ValidationError

from apflow.attendance_codes import load_codes
from apflow.settings import Settings
from documents import (
    LinkClaims,
    LinkError,
    LinkPurpose,
    LinkRevoked,
    LinkWrongPurpose,
)
from documents.formatting import clock, date_time, day_and_date, days_in_words, sentence, weekdays
from domain.actions import RecordFinalReport, RecordInitialAssessment, RecordProgressReport
from domain.attendance import SESSION_NAMES, normalise_code
from domain.clock import uk_date
from domain.lifecycle import Refused
from domain.models import Actor, Model, NonEmpty, ProviderReport, Role, field_path
from store import documents as sent
from store import register

from . import link_pages
from .attendance import AttendanceRegister, code_choices, today
from .dates import DATE_PARTS, NOT_A_DATE, boxes, example_day, iso_day, typed_date
from .link_pages import LinkUsed, open_link, read_answer, refuse_if_ended, wants_html

MAX_FORM_FIELDS = 20  # the longest form asks for a handful
SHOWN_MISSING = 10  # the sessions with no mark an attendance link's page lists, as the school's page does
_pages = Environment(loader=FileSystemLoader(str(Path(__file__).parent / "templates")), autoescape=True)


class ReportAnswer(Model):
    purpose: Literal["initial_assessment", "progress_report", "final_report"]
    summary: NonEmpty
    attendance_percent: Annotated[float, Field(ge=0, le=100)] | None = None


class AttendanceAnswer(Model):
    purpose: Literal["attendance"]
    day: date
    session: Literal["am", "pm"]
    code: Annotated[str, Field(min_length=1, max_length=4)]
    note: Annotated[str, Field(max_length=2000)] | None = None


Answer = TypeAdapter(Annotated[Union[ReportAnswer, AttendanceAnswer], Field(discriminator="purpose")])

PAGES: dict[LinkPurpose, dict[str, Any]] = {
    LinkPurpose.initial_assessment: dict(
        title="Send your initial assessment",
        asked="initial assessment",
        intro="Within one week of the referral, please tell the school what you found in your initial assessment "
              "of the pupil's educational needs, and the level of course and support you recommend (§12.1.3).",
        fields=[dict(name="summary", kind="textarea", label="Your assessment",
                     hint="The pupil's needs, the level of course and the support you recommend.")],
    ),
    LinkPurpose.progress_report: dict(
        title="Send a progress report",
        asked="progress report",
        intro="Please report the pupil's progress against each objective, with their attendance and behaviour (§2.6, §12.1.7).",
        fields=[
            dict(name="summary", kind="textarea", label="Progress since the last report",
                 hint="Progress against each objective, achievements, attendance and behaviour."),
            dict(name="attendance_percent", kind="number", label="Attendance in the period (%)", hint="Optional. For example, 92.5"),
        ],
    ),
    LinkPurpose.final_report: dict(
        title="Send the final report",
        asked="final report",
        intro="Please send your final report on the pupil's achievements during the placement, "
              "including attainment and progress, attendance and evidence of change in behaviour (§2.6, §8.2.17).",
        fields=[
            dict(name="summary", kind="textarea", label="Final report",
                 hint="Attainment and progress against each objective, attendance and change in behaviour."),
            dict(name="attendance_percent", kind="number", label="Attendance over the placement (%)", hint="Optional. For example, 92.5"),
        ],
    ),
    LinkPurpose.attendance: dict(
        title="Report attendance",
        asked="attendance mark",
        intro="Please report the pupil's attendance for one session (§10.3, §12.1.4).",
        fields=[
            # Three boxes, as GOV.UK asks for a date; its example is today (`form`).
            dict(name="day", kind="date", label="Day of the session"),
            dict(name="session", kind="choice", label="Session", choices=[("am", "Morning"), ("pm", "Afternoon")]),
            # Its choices are the trust's current codes (`attendance/codes.toml`), filled in by `form`.
            dict(name="code", kind="select", label="Register code", placeholder="Choose a code",
                 hint="B if the pupil attended; if not, the code for why they were absent."),
            dict(name="note", kind="textarea", label="Note", hint="Optional. The reason for an absence, if known."),
        ],
    ),
}
REPORTS = (LinkPurpose.progress_report, LinkPurpose.final_report)  # each reported against the objectives
ACTIONS = {
    "initial_assessment": lambda r: RecordInitialAssessment(assessment=r),
    "progress_report": lambda r: RecordProgressReport(report=r),
    "final_report": lambda r: RecordFinalReport(report=r),
}


def router(settings: Settings) -> APIRouter:
    r = APIRouter(tags=["provider"])

    def check(request: Request, token: str) -> tuple[LinkClaims, sent.ProviderLinkRow]:
        """The link's claims if it may be used now; raises a `LinkError`
        otherwise. A report is a step of the placement's, refused before it is
        written once the placement has ended; an attendance mark is the
        register's, taken for any day up to the end."""
        engine = request.app.state.engine
        claims, row = open_link(settings, engine, token, PAGES)
        if claims.purpose is not LinkPurpose.attendance:
            refuse_if_ended(engine, claims)
        return claims, row

    def page(request: Request, status: int, **values) -> HTMLResponse:
        return HTMLResponse(_pages.get_template("provider.html.j2").render(**values), status_code=status)

    def about(request: Request, claims: LinkClaims) -> dict[str, Any]:
        engine = request.app.state.engine
        row = register.get(engine, claims.placement_id)
        data = row.data if row else {}
        spec = PAGES[claims.purpose]
        pattern = data.get("pattern") if claims.purpose is LinkPurpose.attendance else None
        # The sessions the school has no mark for, the latest first: what the provider is chased for.
        unmarked = AttendanceRegister.of(request).of_placement(engine, row, today()).unmarked if pattern else []
        return dict(
            placement_id=claims.placement_id, purpose=claims.purpose.value, title=spec["title"], asked=spec["asked"],
            intro=spec["intro"], expires=date_time(claims.expires_at),
            school_name=(data.get("school") or {}).get("name"), provider_name=(data.get("provider") or {}).get("name"),
            # The sessions a mark may be for, so a day the pattern does not schedule is not tried.
            attends=f"{weekdays(pattern['days'])}, {clock(pattern['arrival'])} to {clock(pattern['departure'])}" if pattern else None,
            # A report is asked for against each objective: the page lists them, with their baselines.
            objectives=data.get("objectives", []) if claims.purpose in REPORTS else [],
            missing=[(u.day.isoformat(), u.session, f"{day_and_date(u.day)}, {SESSION_NAMES[u.session]}")
                     for u in reversed(unmarked[-SHOWN_MISSING:])], more_missing=max(0, len(unmarked) - SHOWN_MISSING),
        )

    def refused(request: Request, e: LinkError) -> Response:
        return link_pages.refused(request, e, lambda status, **values: page(request, status, **values), "provider")

    # The register code is chosen from the codes a register takes now, each with its meaning.
    codes = code_choices(load_codes(settings.attendance_codes))

    def form(claims: LinkClaims, values: dict[str, Any], errors: dict[str, str]) -> list[dict[str, Any]]:
        return [dict(f, value=_value(f, values), error=errors.get(f["name"]), **_filled_in(f)) for f in PAGES[claims.purpose]["fields"]]

    def _filled_in(f: dict[str, Any]) -> dict[str, Any]:
        """What a field shows that the page works out when it is drawn."""
        if f["kind"] == "select":
            return {"choices": codes}
        if f["kind"] == "date":  # the day a mark is for has happened: the example is today
            return {"hint": f"For example, {example_day()} for today"}
        return {}

    @r.get("/provider/{token}", response_class=HTMLResponse)
    def show(token: str, request: Request):
        """What the school asks, and a form to answer it (a plain function:
        FastAPI runs it, and its reads of the register, off the event loop)."""
        try:
            claims, row = check(request, token)
            if row.used_at is not None and claims.purpose is not LinkPurpose.attendance:
                raise LinkUsed("answered already")
        except LinkError as e:
            return refused(request, e)
        info = about(request, claims)
        if not wants_html(request):
            return JSONResponse({k: info[k] for k in ("placement_id", "purpose", "title", "intro")} | {"expires_at": claims.expires_at.isoformat()})
        return page(request, 200, outcome=None, errors=[], fields=form(claims, _chosen(request), {}), **info)

    @r.post("/provider/{token}")
    async def answer(token: str, request: Request):
        """The provider's answer, as JSON or form fields. It awaits the body and
        the workflow, so its every use of the register goes to a thread."""
        html = wants_html(request)
        try:
            claims, row = await run_in_threadpool(check, request, token)
            if row.used_at is not None and claims.purpose is not LinkPurpose.attendance:
                raise LinkUsed("answered already")
        except LinkError as e:
            return refused(request, e)
        engine = request.app.state.engine
        raw = await read_answer(request, html, MAX_FORM_FIELDS)
        if isinstance(raw, JSONResponse):
            return raw
        typed: dict[str, str] = {}  # what was typed in a date's boxes, shown again if it is refused
        not_dates: dict[str, str] = {}
        if html:
            raw = {k: v.strip() for k, v in raw if v.strip() != "" or k == "summary"}
            typed, not_dates = _read_dates(PAGES[claims.purpose]["fields"], raw)
        if raw.get("purpose", claims.purpose.value) != claims.purpose.value:
            return refused(request, LinkWrongPurpose("link is for another purpose"))
        raw.setdefault("purpose", claims.purpose.value)

        async def asked_again(errors: dict[str, str]) -> HTMLResponse:
            """The form again as it was sent, each problem beside its field."""
            info = await run_in_threadpool(about, request, claims)
            return page(request, 422, outcome=None, fields=form(claims, raw | typed, errors),
                        errors=[{"field": k, "message": v} for k, v in errors.items()], **info)

        try:
            submitted = Answer.validate_python(raw)
        except ValidationError as e:
            errors = {field_path(err, skip=1) or "form": _say(err) for err in e.errors()} | not_dates
            if html:
                return await asked_again(errors)
            return JSONResponse(status_code=422, content={"detail": {
                "error": "invalid", "message": "The answer is incomplete or wrong: nothing was recorded.",
                "fields": [{"field": k, "message": v} for k, v in errors.items()]}})

        if isinstance(submitted, AttendanceAnswer):
            sink = getattr(request.app.state, "attendance_sink", None)
            if sink is None:
                message = "Attendance cannot be reported through this link yet: please tell the school."
                if html:
                    return page(request, 501, outcome="refused", title="Not open yet", message=message, school_name=None)
                return JSONResponse(status_code=501, content={"detail": {"error": "not_open", "message": message}})
            try:
                await sink(claims, submitted)
            except HTTPException as e:
                if not html:
                    raise
                # A mark the register refuses for what was typed (a day before the start, a code
                # it does not take) is the form again, each reason beside its field.
                said = {f["field"]: sentence(f"{f['message']} ({f['clause']})") for f in e.detail.get("fields", [])}
                if e.status_code == 422 and said and set(said) <= {f["name"] for f in PAGES[claims.purpose]["fields"]}:
                    return await asked_again(said)
                return page(request, e.status_code, outcome="refused", title="Not recorded",
                            message=days_in_words(e.detail["message"]), school_name=None)
            return await run_in_threadpool(_received, request, html, page, claims, submitted)

        placement = await run_in_threadpool(register.get, engine, claims.placement_id)
        if placement is None:
            return refused(request, LinkRevoked("no such placement"))
        actor = Actor(user_id=claims.link_id, role=Role.provider, school_id=placement.school_id)
        report = ProviderReport(received_on=uk_date(datetime.now(UTC)), summary=submitted.summary,
                                attendance_percent=submitted.attendance_percent)
        try:
            await link_pages.act_once(request, claims, actor, ACTIONS[submitted.purpose](report))
        except LinkError as e:
            return refused(request, e)
        except Refused as e:
            return link_pages.not_taken(e, html, lambda status, **values: page(request, status, **values))
        return await run_in_threadpool(_received, request, html, page, claims)

    def _received(request: Request, html: bool, page, claims: LinkClaims,
                  mark: AttendanceAnswer | None = None) -> Response:
        info = about(request, claims)
        if html:
            # A mark is one session's: the page says which, and the same link takes the next.
            recorded = [("Session", f"{day_and_date(mark.day)}, {SESSION_NAMES[mark.session]}"),
                        ("Mark", dict(codes).get(normalise_code(mark.code), mark.code))] if mark else []
            return page(request, 200, outcome="received", recorded=recorded, again=request.url.path if mark else None,
                        **(info | {"title": f"Your {info['asked']} has been sent"}))
        return JSONResponse({"received": claims.purpose.value, "placement_id": claims.placement_id})

    return r


def _read_dates(fields: list[dict[str, Any]], raw: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Each date field's three boxes taken out of a posted form's `raw`
    values and put back as the one day the answer validates. Returns the
    boxes as typed, and each field whose boxes hold no real date, with why."""
    typed, not_dates = {}, {}
    for f in (f for f in fields if f["kind"] == "date"):
        boxes = {k: raw.pop(k) for k in (f"{f['name']}.{p}" for p in DATE_PARTS) if k in raw}
        typed |= boxes
        try:
            day = typed_date({k: [v] for k, v in boxes.items()}, f["name"])
        except ValueError:
            not_dates[f["name"]] = NOT_A_DATE.replace("{label}", f["label"])
            continue
        if day is not None:
            raw[f["name"]] = day.isoformat()
    return typed, not_dates


def _chosen(request: Request) -> dict[str, str]:
    """A session chosen from the page's list of those with no mark: its day
    and session in the address, filled in on the form."""
    day, session = iso_day(request.query_params.get("day", "")), request.query_params.get("session", "")
    return boxes(day, "day") | {"session": session} if day is not None and session in SESSION_NAMES else {}


def _value(f: dict[str, Any], values: dict[str, Any]) -> Any:
    """A field's value as its form shows it: a date's as its three boxes."""
    if f["kind"] == "date":
        return {p: values.get(f"{f['name']}.{p}", "") for p in DATE_PARTS}
    return values.get(f["name"])


def _say(err: dict) -> str:
    field = str(err["loc"][-1]) if err["loc"] else "answer"
    kind = err.get("type", "")
    if kind == "missing" or (kind == "string_too_short" and field == "summary"):
        return {"summary": "Enter your report", "day": "Enter the day of the session", "session": "Choose the session",
                "code": "Choose the register code"}.get(field, f"Enter {field.replace('_', ' ')}")
    if field == "attendance_percent":
        return "Attendance must be a number from 0 to 100"
    return f"{field.replace('_', ' ').capitalize()}: {err['msg']}"
