"""A placement's page: the pupil and key facts, where it is on the
lifecycle, what can be done now, its deadlines and escalations, and the
timeline of every action and letter. Another school's placement is not
found, the same as one that does not exist."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from apflow.calendars import load_calendar
from console import pictures
from console.identity import Principal, PrincipalDep
from domain.attendance import CountsAs, expected_sessions
from domain.access import ACTION_ROLES, WATCHERS
from domain.clock import uk_date
from domain.census import leaving_date
from domain.deadlines import deadlines as deadlines_of
from domain.deadlines import planned_end
from domain.evaluations import completed as evaluation_scores
from domain.guards import concern_escalation_id, number_of_days
from domain.lifecycle import NOT_STARTED, Lifecycle
from domain.models import Concern, Escalation, Placement
from store import attendance as marks
from store import accounts, agreements
from store import documents as sent
from store import register
from store.documents import TO_POST, UPLOADED
from store.stuck import TERMINATED_BY_OPERATIONS
from store.tables import AuditEvent

from . import diagram, evaluations, records, wording
from .attendance import mark_link
from .rendering import NO_STORE, not_found, page
from .services import Services, visible
from .steps import new_key

router = APIRouter(include_in_schema=False)

# Steps with a form of their own on the page (beside an escalation, a letter to post).
INLINE = {"resolve_escalation", "record_delivery", "record_evaluation", "request_evaluation"}  # an evaluation's part: its own section
SET_APART = ("raise_concern", "terminate")  # after the way forward


@dataclass
class DeadlineRow:
    description: str
    due: date
    school_days_left: int
    owner: str
    clause: str
    overdue: bool


@dataclass
class Event:
    at: datetime
    what: str
    who: str
    detail: str
    document_id: str | None = None


@dataclass(frozen=True)
class ConcernView:
    """A safeguarding concern as the page shows it: the audit event that
    raised it (who, as what) and its escalation to the DSL, open until they
    record it addressed."""

    concern: Concern
    raised: AuditEvent | None
    escalation: Escalation | None


def concerns_of(p: Placement, trail) -> list[ConcernView]:
    """Each concern, in the order raised: the nth `raise_concern` of the trail raised the nth."""
    raised = [e for e in trail if e.action == "raise_concern"]
    escalations = {e.escalation_id: e for e in p.escalations}
    return [ConcernView(c, raised[i] if i < len(raised) else None, escalations.get(concern_escalation_id(c)))
            for i, c in enumerate(p.concerns)]


def step_buttons(principal: Principal, p: Placement, possible: list[str]) -> tuple[list[str], list[str]]:
    """The steps this person may take now: those that move the placement on
    (in the chart's order), then those that record something."""
    allowed = [a for a in possible if a not in INLINE and principal.may_take(p.school.school_id, a)]
    here = getattr(Lifecycle, p.state)
    moving = [t.event for t in here.transitions if t.target is not here and t.event in allowed]
    moving = sorted(dict.fromkeys(moving), key=lambda a: a in SET_APART)
    return moving, [a for a in allowed if a not in moving]


def attendance_weeks(engine, placement_id: str, calendar, boundary, today: date) -> list[pictures.Week]:
    """Each week since the placement started: its sessions by what their
    marks count as, and those the pattern owed that have no mark yet."""
    facts = marks.expectation(engine, placement_id)
    if facts is None or facts.started_on is None:
        return []
    counted = {(day, session): counts for day, session, counts in marks.counted_marks(engine, placement_id)}
    last = min(filter(None, [today, facts.ended_on]))
    field = {CountsAs.present: "present", CountsAs.authorised_absence: "authorised",
             CountsAs.unauthorised_absence: "unauthorised"}
    weeks: dict[date, dict[str, int]] = {}
    for day in calendar.iter_school_days(facts.started_on, last):
        for session in expected_sessions(facts, day, calendar, boundary):
            week = weeks.setdefault(pictures.monday_of(day), {})
            name = field.get(counted.get((day, session)), "unmarked")
            if counted.get((day, session)) != CountsAs.not_counted:
                week[name] = week.get(name, 0) + 1
    return [pictures.Week(monday, **counts) for monday, counts in sorted(weeks.items())]


def moved(from_state: str | None, to_state: str) -> str:
    """What a step did to the state: "Vetted → LA consulted", or "Active,
    unchanged" for a step that keeps it (a visit, an escalation resolved)."""
    if from_state == to_state:
        return f"{wording.words(to_state)}, unchanged"
    return f"{wording.words(from_state) if from_state else 'new'} → {wording.words(to_state)}"


def letter_title(d) -> str:
    """A letter as its placement's page names it: its subject less the
    placement's id, which the subject carries for the recipient's inbox."""
    return (d.subject or wording.words(d.kind)).removesuffix(f": {d.placement_id}")


def timeline(trail, docs, names: dict[str, str]) -> list[Event]:
    events = [
        Event(e.at, wording.action_title(e.action), f"{names.get(e.actor_id, e.actor_id)} ({wording.words(e.actor_role)})",
              moved(e.from_state, e.to_state) + (f": {e.note}" if e.note else ""))
        for e in trail
    ]
    events += [
        Event(d.sent_at or d.created_at, letter_title(d), wording.words(d.recipient_role),
              wording.words(d.status), d.document_id)
        for d in docs
    ]
    return sorted(events, key=lambda e: e.at)


@router.get("/placements/{placement_id}")
async def placement_page(placement_id: str, principal: PrincipalDep, request: Request, done: str | None = None):
    row = await run_in_threadpool(visible, request, principal, placement_id)
    if row is None:
        return not_found(request, principal, "placement")
    snap = await Services.of(request).snapshot(row)
    # The rest reads the register and files: off the event loop.
    return await run_in_threadpool(_placement_page, request, principal, placement_id, snap, done)


def _placement_page(request: Request, principal, placement_id: str, snap, done: str | None):
    settings = request.app.state.settings
    p = snap.placement
    today = uk_date(datetime.now(UTC))
    calendar = load_calendar(p.school.school_id, settings.calendars_dir)
    due = snap.deadlines if not snap.stale else ([] if p.final else deadlines_of(p, calendar, settings.policy, today))
    rows = [DeadlineRow(d.description, d.due, calendar.school_days_between(today, d.due), wording.words(d.owner.value),
                        d.clause, d.due < today)
            for d in due if d.owner.value != "system"]
    moving, recording = step_buttons(principal, p, snap.possible_actions)
    docs = sent.listed_for(request.app.state.engine, placement_id)
    trail = register.audit_trail(request.app.state.engine, placement_id)
    # Trust operations ended its workflow: no step can be taken and no deadline runs any more.
    ended = next((e for e in trail if e.action == TERMINATED_BY_OPERATIONS), None)
    if ended is not None:
        moving, recording, rows = [], [], []
    weeks = attendance_weeks(request.app.state.engine, placement_id, calendar, settings.attendance.session_boundary, today)
    drawn = [pictures.attendance_by_week(weeks), pictures.evaluation_totals(
        [pictures.Scored("This placement", stage.value.capitalize(), on, score)
         for stage, on, score in evaluation_scores(p)])]
    # Its planned last day, counted from its number of days where no end date was set.
    end = planned_end(p, calendar)
    ended_on = leaving_date(p, end) if p.final else None
    if p.state.value not in NOT_STARTED:
        until = min(today, ended_on or today)
        drawn.append(pictures.time_against_plan([pictures.Span("This placement", p.start_date, end, until)]))
    evaluated = evaluations.section(request.app.state.engine, p, principal, [] if ended else snap.possible_actions)
    names = accounts.names(request.app.state.engine, _actors(trail, p, evaluated["evaluations"]))
    return page(
        request, "placement.html", principal, nav="placements", p=p, planned_end=end, snap=snap, today=today,
        ended_on=ended_on, days_directed=number_of_days(p, calendar),
        watching=principal.roles_at(p.school.school_id) <= WATCHERS,
        lifecycle=diagram.drawn(p.state.value), deadlines=rows, moving=moving, recording=recording,
        escalations=sorted(p.escalations, key=lambda e: (not e.open, e.raised_at)), concerns=concerns_of(p, trail),
        may_resolve=principal.may_take(p.school.school_id, "resolve_escalation"),
        may_record_delivery=principal.may_take(p.school.school_id, "record_delivery"),
        attendance_kept=p.state.value not in NOT_STARTED, mark_link=mark_link,
        may_record_attendance=principal.may_take(p.school.school_id, "record_attendance"),
        may_manage_links=principal.may_take(p.school.school_id, "manage_links"),
        timeline=timeline(trail, docs, names), names=names, documents=docs, letter_title=letter_title,
        ended_by_operations=ended, TO_POST=TO_POST, UPLOADED=UPLOADED,
        done=wording.action_title(done) if done in {*ACTION_ROLES} else None, new_key=new_key,
        pictures=[d for d in drawn if d is not None],
        **records.context(request.app.state.engine, p, calendar, settings.policy, today),
        signed_agreements=agreements.signed_copies(request.app.state.engine, placement_id),
        may_record_agreement=principal.may_take(p.school.school_id, "record_agreement"),
        **evaluated,
    )


def _actors(trail, p, evaluated) -> set[str]:
    """Everyone the page names as having acted: steps, resolved escalations, evaluations and their links."""
    ids = {e.actor_id for e in trail} | {e.resolved_by.user_id for e in p.escalations if e.resolved_by}
    for view in evaluated:
        for part in view.parts:
            ids |= {x.issued_by for x in part.open_links}
            if part.answer is not None:
                ids.add(part.answer.recorded_by.user_id)
    return ids


@router.get("/placements/{placement_id}/documents/{document_id}")
def document_as_sent(placement_id: str, document_id: str, principal: PrincipalDep, request: Request):
    """A letter's HTML exactly as it was sent (its PDF: `GET /api/placements/{id}/documents/{document_id}.pdf`)."""
    row = visible(request, principal, placement_id)
    doc = sent.get(request.app.state.engine, placement_id, document_id) if row is not None else None
    if doc is None or doc.status == UPLOADED:
        return not_found(request, principal, "letter")
    return HTMLResponse(doc.html, headers=NO_STORE)
