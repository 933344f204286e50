"""Invented, realistic placements for the demo and the tests. No real people."""
from __future__ import annotations

from datetime import date, time, timedelta

from domain.actions import (
    Close, ConsultLA, Notify, OpenReview, RecordEvaluation, RecordReview, RecordVisit, Reintegrate, Terminate, Vet,
)
from domain.calendar import SchoolCalendar
from domain.checklist import CHECKLIST
from domain.models import (
    RISK_ASSESSMENT_QUESTIONS,
    VISIT_QUESTIONS,
    Contact,
    Delivery,
    Destination,
    DestinationKind,
    EHCPAgreement,
    EvaluationPart,
    EvaluationStage,
    GivenOutside,
    Insurance,
    Objective,
    Pattern,
    Person,
    PlacementKind,
    Proposal,
    Provider,
    ProviderReport,
    ProviderType,
    Pupil,
    ReintegrationPlan,
    ReviewOutcome,
    ReviewRecord,
    School,
    VisitRecord,
    Site,
    Weekday,
)

SCHOOL = School(school_id="137000", name="Nexus Valley Academy", local_authority="Kirklees")
OTHER_SCHOOL = School(school_id="137001", name="Nexus Hill Academy", local_authority="Calderdale")


def provider(**changes) -> Provider:
    base = Provider(
        name="Bridgeway Learning Centre",
        provider_type=ProviderType.unregistered,
        ukprn="10012345",
        sites=[Site(name="Main site", address="14 Mill Lane, Huddersfield", postcode="HD1 4AB")],
        la_approved=True,
        dsl=Person(name="Jo Marsh", role="DSL", phone="01484 000001", email="dsl@bridgeway.example"),
        deputy_dsl=Person(name="Tom Reyes", role="Deputy DSL", phone="01484 000002"),
        named_contact=Person(name="Priya Shah", role="Centre manager", email="office@bridgeway.example"),
        email="office@bridgeway.example",
        full_time_pupils_of_compulsory_age=2,
    )
    return base.model_copy(update=changes)


def registered_provider() -> Provider:
    """A pupil referral unit, with a site and people of its own."""
    return provider(
        name="Northfield Pupil Referral Unit", provider_type=ProviderType.pupil_referral_unit, urn="131999", ukprn=None,
        sites=[Site(name="Northfield PRU", address="7 Northfield Road, Huddersfield", postcode="HD2 1AB")],
        dsl=Person(name="Kim Adeyemi", role="DSL", phone="01484 000021", email="dsl@northfield.example"),
        deputy_dsl=Person(name="Lee Varga", role="Deputy DSL", phone="01484 000022"),
        named_contact=Person(name="Hannah Ito", role="Head of centre", email="office@northfield.example"),
        email="office@northfield.example",
    )


FULL_TIME = Pattern(full_time=True, days=list(Weekday), arrival=time(9, 0), departure=time(15, 0))


def proposal(start: date, kind: PlacementKind = PlacementKind.off_site_direction, **changes) -> Proposal:
    base = Proposal(
        school=SCHOOL,
        pupil=Pupil(pupil_id="P-0001", name="Alex Example", date_of_birth=date(2012, 3, 14), year_group=9, free_school_meals=True),
        provider=provider(),
        kind=kind,
        start_date=start,
        number_of_days=30,
        pattern=Pattern(
            full_time=False,
            days=[Weekday.mon, Weekday.wed],
            arrival=time(9, 0),
            departure=time(15, 0),
        ),
        reasons="Persistent disruption in lessons despite a pastoral support plan and mentoring.",
        objectives=[
            Objective(description="Attend every directed session", baseline="71% attendance last half-term", target="95%"),
            Objective(description="Manage conflict without removal from lessons", baseline="6 removals last half-term"),
        ],
        parent_contacts=[Contact(name="Chris Example", relationship="Parent", phone="07700 900001", email="parent@family.example")],
        emergency_contacts=[Contact(name="Pat Example", relationship="Aunt", phone="07700 900002")],
        report_to=Person(name="Priya Shah", role="Centre manager"),
        reintegration_plan=ReintegrationPlan(
            summary="Phased return over three weeks after the placement",
            school_support="Daily check-in with the pastoral lead; reduced timetable in week one",
            provider_support="Handover report and a joint meeting before return",
        ),
    )
    if kind is PlacementKind.suspension_cover:  # full-time from the sixth day (§13.2)
        base.pattern = FULL_TIME
    return base.model_copy(update=changes)


def full_checklist() -> dict:
    return {k: {"status": "seen"} for k in CHECKLIST if k != "q"}


def vet(**changes) -> Vet:
    fields = dict(
        checklist=full_checklist(),
        insurance=Insurance(public_liability=5_000_000, employers_liability=10_000_000, professional_negligence=2_000_000),
        safeguarding_confirmation_received_on=date(2026, 9, 1),
    )
    return Vet(**{**fields, **changes})


def consult_la(informed_on: date, ehcp: bool = False) -> ConsultLA:
    agreement = EHCPAgreement(agreed=True, recorded_on=informed_on, la_officer="SEN officer", plan_to_be_amended=False)
    return ConsultLA(informed_on=informed_on, la_contact="Inclusion team, Kirklees", ehcp=agreement if ehcp else None)


# The id of an uploaded copy, as `POST /api/placements/{id}/documents` answers.
COPY_DOCUMENT_ID = "doc-" + "c0" * 16


def handed_over(on: date, copy_document_id: str = COPY_DOCUMENT_ID) -> GivenOutside:
    """A letter the school handed to the parents itself, with its copy."""
    return GivenOutside(method=Delivery.by_hand, on=on, copy_document_id=copy_document_id)


def notify(handed_over_on: date | None = None, copy_document_id: str = COPY_DOCUMENT_ID, **changes) -> Notify:
    """Notice sent by apflow now, or (with a day) handed to the parents that day."""
    outside = handed_over(handed_over_on, copy_document_id) if handed_over_on else None
    return Notify(given_outside=outside, **changes)


def open_review(meeting_on: date, handed_over_on: date | None = None, copy_document_id: str = COPY_DOCUMENT_ID) -> OpenReview:
    """A review booked; the invitation sent by apflow now, or handed over on a day."""
    outside = handed_over(handed_over_on, copy_document_id) if handed_over_on else None
    return OpenReview(
        meeting_on=meeting_on, given_outside=outside, place="Nexus Valley Academy, meeting room 2", starts_at=time(15, 30)
    )


def review_bookable(cal: SchoolCalendar, today: date) -> tuple[date, date]:
    """The first review meeting that can be booked today, and the day its
    invitation was handed over (§6.8): the meeting today, or on the next
    school day when today is not one; the parents invited a week before it,
    or today when that is still to come (a meeting after a holiday)."""
    meeting = cal.nth_school_day(today, 1)
    return meeting, min(meeting - timedelta(days=7), today)


def review(held_on: date, outcome: ReviewOutcome = ReviewOutcome.continue_, **changes) -> ReviewRecord:
    return ReviewRecord(
        held_on=held_on,
        record="Attendance up to 90%; two removals this half-term.",
        parents_view="Parent pleased with progress and supports the plan.",
        outcome=outcome,
        **changes,
    )


def record_review(held_on: date) -> RecordReview:
    return RecordReview(review=review(held_on))


def reintegrate(held_on: date) -> Reintegrate:
    return Reintegrate(
        review=review(held_on, ReviewOutcome.reintegrate),
        plan=ReintegrationPlan(
            summary="Return to full timetable from Monday",
            school_support="Mentor twice weekly for six weeks",
            provider_support="Outreach visit in the first week back",
            planned_return=held_on,
        ),
    )


def home_school(on: date) -> Destination:
    return Destination(kind=DestinationKind.home_school, name=SCHOOL.name, from_date=on)


def close(on: date) -> Close:
    return Close(
        final_report=ProviderReport(received_on=on, summary="Good progress against all objectives.", attendance_percent=92.5),
        destination=home_school(on),
        pupil_view="It helped me calm down and I want to go back.",
    )


# A part's scores in the statements' order (`domain.evaluations.STATEMENTS`): 106 of 125 in all.
SCORES = {EvaluationPart.pupil: [4] * 7, EvaluationPart.parent: [4] * 5, EvaluationPart.provider: [5] * 6,
          EvaluationPart.school: [4] * 7}
SIGNED_BY = {EvaluationPart.pupil: "Alex Example", EvaluationPart.parent: "Chris Example",
             EvaluationPart.provider: "Priya Shah", EvaluationPart.school: "Head Teacher"}


def evaluation_part(stage: EvaluationStage, part: EvaluationPart, on: date, scores: list[int] | None = None,
                    **changes) -> RecordEvaluation:
    """One part of the mid or end evaluation (appendix), signed on `on`; the
    school's part comes with the agreed actions."""
    fields = dict(
        stage=stage, part=part, scores=scores or SCORES[part], signed_by=SIGNED_BY[part], signed_on=on,
        comment="Going well; keep the mentoring going.",
        agreed_actions="Keep the weekly mentor check-in; review attendance at half-term."
        if part is EvaluationPart.school else None,
    )
    return RecordEvaluation(**{**fields, **changes})


def evaluation(stage: EvaluationStage, on: date) -> list[RecordEvaluation]:
    """All four parts of an evaluation, the school's last."""
    return [evaluation_part(stage, part, on) for part in EvaluationPart]


def end_evaluation(on: date) -> list[RecordEvaluation]:
    """The end evaluation, all four parts: what `close` needs."""
    return evaluation(EvaluationStage.end, on)


def terminate(on: date, safeguarding: bool = False) -> Terminate:
    return Terminate(
        reason="Safeguarding concern at the provider not resolved" if safeguarding else "Placement no longer meets the pupil's needs",
        safeguarding=safeguarding,
        next_destination=home_school(on),
    )




def provider_record(details: Provider, seen_on: date, insured_until: date, **insurance_changes):
    """An invented provider's record on the trust's list: every required
    check seen on `seen_on`, its insurance in force until `insured_until`
    (one cover's own date changed by `insurance_changes`)."""
    from domain.checklist import REQUIRED_ITEMS
    from domain.providers import CheckRecord, InsuranceRecord, ProviderDetails, ProviderIn

    cover = dict(public_liability=5_000_000, employers_liability=10_000_000, professional_negligence=2_000_000,
                 public_liability_expires_on=insured_until, employers_liability_expires_on=insured_until,
                 professional_negligence_expires_on=insured_until)
    return ProviderIn(
        provider=ProviderDetails.model_validate(details.model_dump(exclude_unset=True)),
        checklist={k: CheckRecord(status="seen", seen_on=seen_on) for k in REQUIRED_ITEMS},
        insurance=InsuranceRecord(**{**cover, **insurance_changes}),
        safeguarding_confirmation_received_on=seen_on,
    )


# A progress visit as a member of staff records it (appendix), for the sample
# placement (`proposal`: two objectives).
def visit_record(on: date, no: tuple[str, ...] = (), **changes) -> VisitRecord:
    """Every answer yes but those named in `no`."""
    data = dict(
        visited_by="Sam Okafor", role="Assistant head, AP lead", on=on, at=time(10, 30), arrangement="planned",
        checks={name: name not in no for name in VISIT_QUESTIONS},
        risk_assessment={name: name not in no for name in RISK_ASSESSMENT_QUESTIONS},
        objectives_progress=["Attended 9 of 10 sessions since the start", "One removal, handled by the key worker"],
        pupil_views="Likes the workshop sessions; finds mornings hard",
        parents_views="Pleased with attendance so far",
        provider_views="Settling well; needs support with transitions",
        actions=["Key worker to share the weekly timetable with home", "Review the morning routine at the next visit"],
    )
    return VisitRecord.model_validate(data | changes)


def visit(on: date, no: tuple[str, ...] = (), **changes) -> RecordVisit:
    return RecordVisit(visit=visit_record(on, no, **changes))
