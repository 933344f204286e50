"""Placements in every state of the chart, on a real 2026-27 timeline, and
short ways to ask the domain whether an action goes ahead.

The sample off-site direction starts on Monday 12 October 2026. The school's
calendar is England's weekdays less bank holidays (no term dates are known),
so "school day" arithmetic skips weekends and bank holidays only.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import pytest

from apflow import samples
from apflow.samples import visit
from domain.actions import (
    RequestEvaluation,
    Amend, RaiseConcern, RecordContact, RecordFinalReport, RecordInitialAssessment, RecordProgressReport,
    RecordDelivery, RequestReview, ResolveEscalation, Start,
)
from domain.calendar import default_calendar
from domain.guards import Context, Unmet
from domain.lifecycle import Refused, check, decide, propose
from domain.escalations import Escalation
from domain.models import (
    SYSTEM, Actor, ContactKind, ContactRecord, Delivery, EvaluationPart, EvaluationStage, LetterCopy, Model, Notice, Person,
    Placement, PlacementKind, ProviderReport, Role,
)
from domain.settings import PolicySettings

SCHOOL_ID = samples.SCHOOL.school_id
OTHER_SCHOOL_ID = samples.OTHER_SCHOOL.school_id
CALENDAR = default_calendar(SCHOOL_ID, date(2026, 9, 1))

AP_LEAD = Actor(user_id="ap.lead@nexus-valley", role=Role.ap_lead, school_id=SCHOOL_ID)
HEAD = Actor(user_id="head@nexus-valley", role=Role.headteacher, school_id=SCHOOL_ID)
DSL = Actor(user_id="dsl@nexus-valley", role=Role.dsl, school_id=SCHOOL_ID)
OTHER_AP_LEAD = Actor(user_id="ap.lead@nexus-hill", role=Role.ap_lead, school_id=OTHER_SCHOOL_ID)
OTHER_HEAD = Actor(user_id="head@nexus-hill", role=Role.headteacher, school_id=OTHER_SCHOOL_ID)
OTHER_DSL = Actor(user_id="dsl@nexus-hill", role=Role.dsl, school_id=OTHER_SCHOOL_ID)
TRUST_OPS = Actor(user_id="ops@trust", role=Role.trust_operations)
PROVIDER = Actor(user_id="office@bridgeway", role=Role.provider)
ALL_ACTORS = (AP_LEAD, HEAD, DSL, OTHER_AP_LEAD, OTHER_HEAD, OTHER_DSL, TRUST_OPS, PROVIDER, SYSTEM)

# The sample placement's timeline, autumn term 2026.
PREP_DAY = date(2026, 9, 14)  # Mon: proposed, vetted, LA informed
START = date(2026, 10, 12)  # Mon
NOTICE_DAY = date(2026, 10, 7)  # Wed: the last day, Thu and Fri being the two clear school days before START
INVITE_DAY = date(2026, 11, 9)  # Mon: parents invited to the first review
MEETING_DAY = date(2026, 11, 16)  # Mon: seven days later
CLOSE_DAY = date(2026, 11, 27)  # Fri

AT = datetime(2026, 9, 14, 9, 30)

NON_FINAL = ("proposed", "vetted", "la_consulted", "notified", "active", "under_review", "reintegrating")
FINAL = ("closed", "terminated")
STATES = NON_FINAL + FINAL

# The day a test acts on a placement in each state, on the sample timeline.
ACTING_DAY = {
    "proposed": PREP_DAY,
    "vetted": PREP_DAY,
    "la_consulted": NOTICE_DAY,
    "notified": START,
    "active": INVITE_DAY,
    "under_review": MEETING_DAY,
    "reintegrating": CLOSE_DAY,
    "closed": CLOSE_DAY,
    "terminated": CLOSE_DAY,
}


def ctx(today: date, actor: Actor = HEAD, settings: PolicySettings | None = None) -> Context:
    return Context(today=today, calendar=CALENDAR, actor=actor, settings=settings or PolicySettings())


def unproposed(start: date = START, kind: PlacementKind = PlacementKind.off_site_direction, **changes) -> Placement:
    """A placement as staff fill it in, before `propose` judges it."""
    return Placement(**samples.proposal(start, kind, **changes).model_dump(), placement_id="PL-2026-0001")


def proposed(start: date = START, kind: PlacementKind = PlacementKind.off_site_direction, **changes) -> Placement:
    return propose(unproposed(start, kind, **changes), ctx(PREP_DAY), AT)


def notice_day(start: date) -> date:
    """The last day notice may be given for a start date (§6.5)."""
    return CALENDAR.latest_notice_day(start, 2)


# The chart's way forward from each state, as (action, day) for a placement.
FORWARD: dict[str, Callable[[Placement], tuple[Model, date]]] = {
    "proposed": lambda p: (samples.vet(), PREP_DAY),
    "vetted": lambda p: (samples.consult_la(PREP_DAY, ehcp=p.pupil.ehc_plan), PREP_DAY),
    "la_consulted": lambda p: (samples.notify(notice_day(p.start_date)), notice_day(p.start_date)),
    "notified": lambda p: (
        Start(dual_registration_from=p.start_date if p.provider.registered_school else None),
        p.start_date,
    ),
    "active": lambda p: (samples.open_review(MEETING_DAY, INVITE_DAY), INVITE_DAY),
    "under_review": lambda p: (samples.reintegrate(MEETING_DAY), MEETING_DAY),
    "reintegrating": lambda p: (samples.close(CLOSE_DAY), CLOSE_DAY),
}


def forward(p: Placement, actor: Actor = HEAD) -> Placement:
    action, today = FORWARD[p.state](p)
    if action.action == "close":  # `close` reads the recorded end evaluation
        p = with_end_evaluation(p, today)
    return decide(p, action, ctx(today, actor), AT)


def with_end_evaluation(p: Placement, on: date) -> Placement:
    """`p` with the end evaluation's four parts recorded by the headteacher (the
    pupil's, parent's and provider's on their behalf)."""
    for part in samples.end_evaluation(on):
        p = decide(p, part, ctx(on, HEAD), AT)
    return p


def in_state(state: str, start: date = START, kind: PlacementKind = PlacementKind.off_site_direction, **changes) -> Placement:
    """A placement brought to `state` through `decide`, as staff would."""
    p = proposed(start, kind, **changes)
    if state == "terminated":
        return decide(p, samples.terminate(PREP_DAY), ctx(PREP_DAY), AT)
    while p.state != state:
        p = forward(p)
    return p


def refusal(p: Placement, action: Model, today: date, actor: Actor = HEAD, **kw) -> list[Unmet]:
    """Every unmet condition `decide` names when it refuses the action."""
    with pytest.raises(Refused) as refused:
        decide(p, action, ctx(today, actor, **kw), AT)
    assert refused.value.action == action.action  # type: ignore[attr-defined]
    assert refused.value.unmet
    return refused.value.unmet


def only_unmet(p: Placement, action: Model, today: date, actor: Actor = HEAD, **kw) -> Unmet:
    """The single condition the action leaves unmet."""
    found = refusal(p, action, today, actor, **kw)
    assert len(found) == 1, found
    return found[0]


def allowed(p: Placement, action: Model, today: date, actor: Actor = HEAD, **kw) -> Placement:
    """The placement after an action the policy allows (fails the test if refused)."""
    _, found = check(p, action, ctx(today, actor, **kw))
    assert found == [], found
    return decide(p, action, ctx(today, actor, **kw), AT)


def proposal_unmet(start: date = START, kind: PlacementKind = PlacementKind.off_site_direction, **changes) -> list[Unmet]:
    """What `propose` refuses a proposal for (empty: it is proposed)."""
    try:
        propose(unproposed(start, kind, **changes), ctx(PREP_DAY, AP_LEAD), AT)
    except Refused as refused:
        assert refused.unmet
        return refused.unmet
    return []


def changed(p: Placement, **changes) -> Placement:
    """The same placement holding different records (as if kept that way)."""
    return p.model_copy(update=changes, deep=True)


# The chart as RULES.md draws it: proposed → vetted → la_consulted → notified →
# active ⇄ under_review → reintegrating → closed, terminated from any state
# that is not final, and details amended until the notice goes out.
# Possible in every state that is not final; a tuple, so every test process
# collects the parameters in the same order.
_RECORDING = ("raise_concern", "resolve_escalation")
CHART: dict[str, dict[str, str]] = {
    "proposed": {"amend": "proposed", "vet": "vetted", "terminate": "terminated"},
    "vetted": {"amend": "vetted", "consult_la": "la_consulted", "terminate": "terminated"},
    "la_consulted": {"amend": "la_consulted", "notify": "notified", "terminate": "terminated"},
    "notified": {"start": "active", "terminate": "terminated", "record_initial_assessment": "notified",
                 "amend": "la_consulted", "record_delivery": "notified"},
    "active": {"open_review": "under_review", "record_delivery": "active", "terminate": "terminated", "record_contact": "active", "record_visit": "active", "request_review": "active",
               "record_initial_assessment": "active", "record_progress_report": "active", "record_final_report": "active",
               "record_evaluation": "active", "request_evaluation": "active"},
    "under_review": {"record_review": "active", "record_delivery": "under_review", "reintegrate": "reintegrating", "terminate": "terminated", "record_contact": "under_review", "record_visit": "under_review",
                     "record_initial_assessment": "under_review", "record_progress_report": "under_review",
                     "record_final_report": "under_review", "record_evaluation": "under_review", "request_evaluation": "under_review"},
    "reintegrating": {"close": "closed", "record_delivery": "reintegrating", "terminate": "terminated", "record_contact": "reintegrating", "record_visit": "reintegrating",
                      "record_progress_report": "reintegrating", "record_final_report": "reintegrating",
                      "record_evaluation": "reintegrating", "request_evaluation": "reintegrating"},
    "closed": {},
    "terminated": {},
}
for _state, _moves in CHART.items():
    if _moves:
        _moves.update({name: _state for name in _RECORDING})
# A safeguarding concern puts a running placement under review at once (§9.7).
CHART["active"]["raise_concern"] = CHART["reintegrating"]["raise_concern"] = "under_review"
ACTIONS = (
    "amend", "vet", "consult_la", "notify", "start", "open_review", "record_review", "reintegrate", "close", "terminate",
    "record_contact", "record_visit", "raise_concern", "request_review", "resolve_escalation",
    "record_initial_assessment", "record_progress_report", "record_final_report", "record_delivery", "record_evaluation", "request_evaluation",
)
SAMPLE_ESCALATION = "vetting:2026-09-28"
SAMPLE_LETTER_TO_POST = "doc-" + "a1" * 16
NEW_START = date(2026, 10, 19)  # Mon, a week after START


def sample_action(name: str, today: date) -> Model:
    """A complete, well-formed action of each kind for the sample placement."""
    return {
        "amend": Amend(report_to=Person(name="Priya Shah", role="Centre manager", phone="01484 000003")),
        "vet": samples.vet(),
        "consult_la": samples.consult_la(PREP_DAY),
        "notify": samples.notify(NOTICE_DAY),
        "start": Start(),
        "open_review": samples.open_review(MEETING_DAY, INVITE_DAY),
        "record_review": samples.record_review(MEETING_DAY),
        "reintegrate": samples.reintegrate(MEETING_DAY),
        "close": samples.close(CLOSE_DAY),
        "terminate": samples.terminate(today, safeguarding=True),
        "record_contact": RecordContact(contact=ContactRecord(kind=ContactKind.wellbeing, on=today, notes="Spoke with the pupil at the provider")),
        "record_visit": visit(today),
        "raise_concern": RaiseConcern(summary="Pupil reports an adult at the provider made threats"),
        "request_review": RequestReview(requested_by="parent", received_on=today),
        "resolve_escalation": ResolveEscalation(escalation_id=SAMPLE_ESCALATION, note="Provider vetted on the next day"),
        "record_initial_assessment": RecordInitialAssessment(
            assessment=ProviderReport(received_on=today, summary="Entry 3 maths and English; small-group support")),
        "record_progress_report": RecordProgressReport(
            report=ProviderReport(received_on=today, summary="Settled well; two objectives on track", attendance_percent=90)),
        "record_final_report": RecordFinalReport(
            report=ProviderReport(received_on=today, summary="Met two of three objectives", attendance_percent=88)),
        "record_delivery": RecordDelivery(document_id=SAMPLE_LETTER_TO_POST, method=Delivery.post),
        "record_evaluation": samples.evaluation_part(EvaluationStage.mid, EvaluationPart.school, today),
        "request_evaluation": RequestEvaluation(stage=EvaluationStage.mid, part=EvaluationPart.parent),
    }[name]


def with_letter_to_post(p: Placement) -> Placement:
    """The placement with a copy of its notice on the school's list to post."""
    copy = LetterCopy(recipient="parent or carer 2", delivery=Delivery.post, document_id=SAMPLE_LETTER_TO_POST)
    notice = p.notice or Notice(signed_by=HEAD.user_id, for_start=p.start_date)
    return p.model_copy(update={"notice": notice.model_copy(update={"copies": [*notice.copies, copy]})}, deep=True)


def prepared(p: Placement, name: str, today: date) -> tuple[Placement, Model]:
    """The placement made ready for the sample action `name`, and the action:
    an open escalation to resolve, a letter waiting to be posted, a new start
    date where notice was given."""
    if name == "resolve_escalation":
        p = with_escalation(p)
    if name == "record_delivery":
        p = with_letter_to_post(p)
    if name == "close":
        p = with_end_evaluation(p, today)
    if name == "amend" and p.state == "notified":
        return p, Amend(start_date=NEW_START)
    return p, sample_action(name, today)


def with_escalation(p: Placement) -> Placement:
    """The placement with one open escalation, for `resolve_escalation`."""
    e = Escalation(
        escalation_id=SAMPLE_ESCALATION, kind="vetting", clause="§7, §9", owner=Role.ap_lead,
        message="vet the provider", raised_at=AT, due=date(2026, 9, 28),
    )
    return p.model_copy(update={"escalations": [e]})


ALLOWED = [(state, action, to) for state, moves in CHART.items() for action, to in moves.items()]
