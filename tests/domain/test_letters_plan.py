"""The letters plan as policy: who each step writes to, how, and by when the
provider is to answer, from the trust's settings alone (no Temporal, no I/O)."""
from __future__ import annotations

import ast
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest

from apflow import samples
from domain.clock import uk_instant
from domain.deadlines import deadlines, initial_assessment_due, referred_on
from domain.directory import LocalAuthorityContacts, SchoolContacts, StaffMember
from domain.escalations import Escalation
from domain.letters import Kind, Letter, LetterPlan, LinkPurpose, RecipientRole
from domain.lifecycle import decide
from domain.models import Contact, Delivery, Placement, Role
from domain.settings import PolicySettings
from tests.domain.placement_builders import CALENDAR, HEAD, MEETING_DAY, NOTICE_DAY, PREP_DAY, ctx, in_state, proposed

SETTINGS = PolicySettings(initial_assessment_days=10, provider_reply_days=5, provider_link_days=3)
CONTACTS = SchoolContacts(
    address="1 School Lane, Huddersfield", phone="01484 000000", email="office@nexus-valley.example",
    headteacher=StaffMember(name="Sam Head", email="head@nexus-valley.example"),
    ap_lead=StaffMember(name="Alex Lead", email="ap.lead@nexus-valley.example"),
    dsl=StaffMember(name="Dee Safe", email="dsl@nexus-valley.example"),
    la=LocalAuthorityContacts(name="Kirklees Council", email="ap@kirklees.example", send_email="send@kirklees.example"),
)
PLAN = LetterPlan(CONTACTS)


def on(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 30, tzinfo=timezone.utc)


def step(p: Placement, action, day: date) -> tuple[Placement, list[Letter]]:
    """The placement after the action on `day`, and the letters it sends."""
    after = decide(p, action, ctx(day, HEAD, SETTINGS), on(day))
    return after, PLAN.for_step(after, action.action, ctx(day, HEAD, SETTINGS))


def only(letters: list[Letter], kind: Kind) -> Letter:
    found = [x for x in letters if x.kind is kind]
    assert len(found) == 1, found
    return found[0]


def test_the_initial_assessment_request_is_due_the_day_the_clock_chases_it():
    p, letters = step(in_state("la_consulted"), samples.notify(), NOTICE_DAY)
    request = only(letters, Kind.provider_initial_assessment_request)
    clock = [d.due for d in deadlines(p, CALENDAR, SETTINGS, NOTICE_DAY) if d.kind == "initial_assessment"]
    due = initial_assessment_due(referred_on(p), SETTINGS)
    assert due == NOTICE_DAY + timedelta(days=10)
    assert clock == [due]
    assert request.context["due_by"] == due.isoformat()
    assert (request.role, request.to) == (RecipientRole.provider, p.provider.email)


def test_a_providers_link_outlives_its_reply_date_by_the_link_days():
    _, letters = step(in_state("la_consulted"), samples.notify(), NOTICE_DAY)
    request = only(letters, Kind.provider_initial_assessment_request)
    expires = uk_instant(date.fromisoformat(request.context["due_by"]) + timedelta(days=3), time(23, 59))
    assert request.link is not None
    assert (request.link.purpose, request.link.expires_at) == (LinkPurpose.initial_assessment, expires)
    assert request.context["link"]["expires_at"] == expires.isoformat()


@pytest.mark.parametrize("offset", range(7))  # a reply date on each day of the week
def test_the_final_report_is_asked_for_by_a_school_day_within_the_reply_days(offset):
    today = MEETING_DAY + timedelta(days=offset)
    _, letters = step(in_state("under_review"), samples.reintegrate(MEETING_DAY), today)
    due = date.fromisoformat(only(letters, Kind.provider_final_report_request).context["due_by"])
    assert CALENDAR.is_school_day(due)
    assert today < due <= today + timedelta(days=SETTINGS.provider_reply_days)


def test_a_reply_date_on_a_saturday_moves_back_to_the_friday():
    # Monday 16 November and five days: Saturday 21; the provider is asked for Friday 20.
    _, letters = step(in_state("under_review"), samples.reintegrate(MEETING_DAY), MEETING_DAY)
    assert only(letters, Kind.provider_final_report_request).context["due_by"] == "2026-11-20"


def test_the_progress_report_is_due_before_the_review_meeting_on_a_school_day():
    invite_day = MEETING_DAY - timedelta(days=7)
    _, letters = step(in_state("active"), samples.open_review(MEETING_DAY), invite_day)
    request = only(letters, Kind.provider_progress_report_request)
    # Two days before Monday's meeting is a Saturday: the Friday before.
    assert request.context["due_by"] == "2026-11-13"
    assert request.link is not None and request.link.purpose is LinkPurpose.progress_report
    later = PolicySettings(progress_report_before_review_days=0)
    p = decide(in_state("active"), samples.open_review(MEETING_DAY), ctx(invite_day, HEAD, later), on(invite_day))
    assert only(PLAN.for_step(p, "open_review", ctx(invite_day, HEAD, later)), Kind.provider_progress_report_request).context["due_by"] == "2026-11-16"


def test_the_notice_goes_to_each_parent_and_a_parent_without_email_gets_it_by_post():
    parents = [
        Contact(name="Chris Example", relationship="Parent", phone="07700 900001", email="parent@family.example"),
        Contact(name="Jo Example", relationship="Parent", phone="07700 900003", address="2 Home Street"),
    ]
    p = in_state("la_consulted", parent_contacts=parents)
    posted_in_time = NOTICE_DAY - timedelta(days=2)  # a posted notice counts as received two working days on
    _, letters = step(p, samples.notify(), posted_in_time)
    notices = [x for x in letters if x.kind is Kind.offsite_direction_notice]
    assert [(x.role, x.to, x.delivery) for x in notices] == [
        (RecipientRole.parent, "parent@family.example", Delivery.email),
        (RecipientRole.parent, None, Delivery.post),
    ]
    assert notices[0].context["signed_by"] == {"name": "Sam Head", "role": "Headteacher"}
    assert notices[0].context["review_invitation_days"] == SETTINGS.review_invitation_days


def test_a_notice_given_outside_apflow_sends_no_parent_letter():
    _, letters = step(in_state("la_consulted"), samples.notify(NOTICE_DAY), NOTICE_DAY)
    assert [x.kind for x in letters] == [Kind.provider_initial_assessment_request]


def test_an_ehc_plan_consultation_goes_to_the_las_send_team():
    p = proposed(pupil=samples.proposal(PREP_DAY).pupil.model_copy(update={"ehc_plan": True}))
    _, letters = step(p, samples.vet(), PREP_DAY)
    assert [(x.kind, x.role, x.to) for x in letters] == [(Kind.la_ehcp_consultation, RecipientRole.la, "send@kirklees.example")]


def test_an_overdue_progress_report_tells_its_owner_and_asks_the_provider_again():
    p = in_state("active")
    today = date(2026, 11, 2)
    e = Escalation(escalation_id="progress_report:2026-11-02", kind="progress_report", clause="§2.6", owner=Role.ap_lead,
                   message="chase the provider's progress report", raised_at=on(today), due=today)
    letters = PLAN.for_escalation(p, e, ctx(today, HEAD, SETTINGS))
    assert [(x.kind, x.to) for x in letters] == [
        (Kind.staff_escalation, "ap.lead@nexus-valley.example"),
        (Kind.provider_progress_report_request, p.provider.email),
    ]
    assert letters[1].context["due_by"] == "2026-11-06"  # Friday: Saturday 7 is no school day


def test_domain_imports_nothing_outside_domain():
    """README: `domain → nothing`. The letters plan is policy, so it lives here too."""
    outside = {"documents", "messages", "workflows", "activities", "store", "console", "apflow", "temporalio"}
    for path in Path("domain").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            assert not {n.split(".")[0] for n in names} & outside, f"{path} imports {names}"
