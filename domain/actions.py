"""The staff actions that move a placement, one model each.

Each action is declared once, here: its data (the model), who may take it
(`roles`), the guard that judges the placement with its data folded in
(`guard`), and how it folds in (`fold`). The API's routes, the access table
(`domain.access`) and the chart's conditions (`domain.lifecycle`) are derived
from these; the chart says from which states each action moves where.
`apply` folds an action into a copy of the placement, so a refused action
never touches the placement itself.
"""
from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, ClassVar, Literal, Union

from pydantic import Field

from . import evaluations, guards, visits
from .guards import Context, Guard, Unmet

from .models import (
    SAFEGUARDING_LEADS,
    Actor,
    Closure,
    Concern,
    ContactKind,
    ContactRecord,
    Contact,
    Delivery,
    Destination,
    EvaluationPart,
    EvaluationRequest,
    EvaluationStage,
    Score,
    DocumentId,
    GivenOutside,
    LetterCopy,
    Evaluation,
    EHCPAgreement,
    Insurance,
    CheckEntry,
    LAConsultation,
    Model,
    NonEmpty,
    Notice,
    Person,
    Placement,
    PlacementKind,
    Provider,
    Role,
    ProviderReport,
    ReintegrationPlan,
    RecordedContact,
    ReviewRequest,
    ReviewMeeting,
    ReviewOutcome,
    ReviewRecord,
    Termination,
    Vetting,
    VisitArrangement,
    VisitRecord,
)

# Flags that stand until a review extends the placement with a reason (RULES, Drift).
EXTENSION_RESOLVES = ("drift", "full_time_limit", "part_time_limit")


STAFF = frozenset({Role.ap_lead, Role.headteacher})


class Action(Model):
    """What every action declares besides its data."""

    roles: ClassVar[frozenset[Role]] = STAFF
    guard: ClassVar[Guard]

    @classmethod
    def name(cls) -> str:
        return cls.model_fields["action"].default

    def fold(self, p: Placement, ctx: Context, at: datetime | None) -> None:
        """Folds the action's data into `p`, a copy of the placement."""

    def judge(self, before: Placement, candidate: Placement, ctx: Context) -> list[Unmet]:
        """Every condition the action leaves unmet: its guard on the candidate."""
        return type(self).guard(candidate, ctx)


class Vet(Action):
    """Record the provider checks (§7, §9, appendix checklist)."""

    action: Literal["vet"] = "vet"
    checklist: dict[str, CheckEntry] = Field(default_factory=dict)
    insurance: Insurance | None = None
    safeguarding_confirmation_received_on: date | None = None
    provider: Provider | None = None  # the provider's details as vetted, if changed
    other_sections: dict[str, str] = Field(default_factory=dict)

    guard: ClassVar[Guard] = staticmethod(guards.vetting)

    def fold(self, p, ctx, at):
        p.vetting = Vetting(checklist=self.checklist, insurance=self.insurance, other_sections=self.other_sections,
                            safeguarding_confirmation_received_on=self.safeguarding_confirmation_received_on)
        if self.provider is not None:
            p.provider = self.provider


class ConsultLA(Action):
    """The LA has been told (§8.1) and, for a pupil with an EHC plan, has agreed (§3)."""

    action: Literal["consult_la"] = "consult_la"
    informed_on: date | None = None
    la_contact: str | None = None
    ehcp: EHCPAgreement | None = None

    guard: ClassVar[Guard] = staticmethod(guards.la_consultation)

    def fold(self, p, ctx, at):
        p.la_consultation = LAConsultation(informed_on=self.informed_on, la_contact=self.la_contact, ehcp=self.ehcp)


CLAIMED_DATE = "Not accepted: a letter is dated when it is given. Leave it out and apflow sends the letter now, or record one given outside apflow in `given_outside`."


class Notify(Action):
    """Written notice to parents (and the LA for an EHC plan) (§6.5-6.6): apflow
    sends it now, by email or onto the school's list of letters to post, or
    records a notice the school gave by hand or by post, with its copy."""

    action: Literal["notify"] = "notify"
    given_outside: GivenOutside | None = None
    dual_registration_from: date | None = None  # §5.1.5, §8.2.4
    # Older versions took a claimed date; kept only so their histories replay.
    sent_on: date | None = Field(None, description=CLAIMED_DATE, json_schema_extra={"deprecated": True})

    guard: ClassVar[Guard] = staticmethod(guards.notice)

    def fold(self, p, ctx, at):
        if self.sent_on is not None:  # as older versions recorded it (refused for new requests)
            p.notice = Notice.model_validate({"sent_on": self.sent_on, "signed_by": ctx.actor.user_id,
                                              "recipients": [who for who, _ in letter_recipients(p)]})
        else:
            p.notice = Notice(signed_by=ctx.actor.user_id, copies=_copies(p, self.given_outside, ctx), for_start=p.start_date)
        p.dual_registration_from = self.dual_registration_from or p.dual_registration_from

    def judge(self, before, candidate, ctx):
        return guards.claimed_dates(self) or super().judge(before, candidate, ctx)


class Start(Action):
    """Start the placement: the workflow does so itself on the start date; staff
    start it by hand once a missing dual registration is recorded (§8.2.4)."""

    action: Literal["start"] = "start"
    dual_registration_from: date | None = None

    roles: ClassVar[frozenset[Role]] = STAFF | {Role.system}
    guard: ClassVar[Guard] = staticmethod(guards.start)

    def fold(self, p, ctx, at):
        p.dual_registration_from = self.dual_registration_from or p.dual_registration_from


class OpenReview(Action):
    """Book a review meeting; parents are invited in writing (§6.8): apflow
    sends the invitation now, or records one the school gave outside apflow."""

    action: Literal["open_review"] = "open_review"
    meeting_on: date
    place: str | None = None
    requested_by: str | None = None
    starts_at: time | None = None
    written_views_to: str | None = None
    given_outside: GivenOutside | None = None
    invitation_sent_on: date | None = Field(None, description=CLAIMED_DATE, json_schema_extra={"deprecated": True})

    roles: ClassVar[frozenset[Role]] = STAFF | SAFEGUARDING_LEADS
    guard: ClassVar[Guard] = staticmethod(guards.review_booking)

    def fold(self, p, ctx, at):
        invited = invites_parents(p) and self.invitation_sent_on is None
        p.review_meetings.append(ReviewMeeting(
            meeting_on=self.meeting_on, booked_on=ctx.today,
            invitation=_copies(p, self.given_outside, ctx) if invited else [],
            invitation_sent_on=self.invitation_sent_on, place=self.place, requested_by=self.requested_by,
            starts_at=self.starts_at, written_views_to=self.written_views_to,
        ))

    def judge(self, before, candidate, ctx):
        return guards.claimed_dates(self) or super().judge(before, candidate, ctx)


class RecordReview(Action):
    """The review was held: the placement continues, or is extended (§6.8, §9.6)."""

    action: Literal["record_review"] = "record_review"
    review: ReviewRecord | None = None

    roles: ClassVar[frozenset[Role]] = STAFF | SAFEGUARDING_LEADS
    guard: ClassVar[Guard] = staticmethod(guards.review_continue)

    def fold(self, p, ctx, at):
        if self.review is None:
            return
        p.reviews.append(self.review)
        if self.review.outcome is ReviewOutcome.extend:
            p.escalations = [
                e.model_copy(update={"resolved_at": at, "resolved_by": ctx.actor, "resolution": extension_note(self.review)})
                if e.kind in EXTENSION_RESOLVES and e.open else e
                for e in p.escalations
            ]

    def judge(self, before, candidate, ctx):
        # A review it carries is judged on when it can have been held (§6.8, §9.6).
        held = guards.review_held(candidate, self.review, ctx) if self.review is not None else []
        return held + super().judge(before, candidate, ctx)


class Reintegrate(Action):
    """A review decided on return, with a plan and support package (§2.4, §2.7, §6.10)."""

    action: Literal["reintegrate"] = "reintegrate"
    review: ReviewRecord | None = None
    plan: ReintegrationPlan | None = None

    guard: ClassVar[Guard] = staticmethod(guards.reintegration)

    def fold(self, p, ctx, at):
        if self.review is not None:
            p.reviews.append(self.review)
        p.reintegration_plan = self.plan or p.reintegration_plan

    def judge(self, before, candidate, ctx):
        # A review it carries is judged on when it can have been held (§6.8, §9.6).
        held = guards.review_held(candidate, self.review, ctx) if self.review is not None else []
        return held + super().judge(before, candidate, ctx)


TYPED_SCORES = "Not accepted: the end evaluation is recorded part by part (`record_evaluation`), and `close` reads it."


class Close(Action):
    action: Literal["close"] = "close"
    final_report: ProviderReport | None = None
    destination: Destination | None = None
    pupil_view: str | None = None
    # Older versions took the evaluation's scores here; kept only so their
    # histories replay: `close` now reads the recorded end evaluation.
    evaluation: Evaluation | None = Field(None, description=TYPED_SCORES, json_schema_extra={"deprecated": True})
    achievements: Annotated[str, Field(max_length=4000)] | None = None  # §3.7, §8.2.3

    guard: ClassVar[Guard] = staticmethod(guards.closure)

    def fold(self, p, ctx, at):
        p.closure = Closure(
            # The provider's final report may have come in before (record_final_report).
            final_report=self.final_report or (p.closure.final_report if p.closure else None),
            destination=self.destination, pupil_view=self.pupil_view, evaluation=self.evaluation,
            achievements=self.achievements,
        )


class RecordEvaluation(Action):
    """One part of the mid or end evaluation (appendix): its scores in the
    statements' order (`domain.evaluations.STATEMENTS`), comment and signature."""

    action: Literal["record_evaluation"] = "record_evaluation"
    stage: EvaluationStage
    part: EvaluationPart
    scores: Annotated[list[Score], Field(min_length=1, max_length=7)]
    comment: Annotated[str, Field(max_length=4000)] | None = None
    signed_by: Annotated[str, Field(min_length=1, max_length=200)]
    signed_on: date
    agreed_actions: Annotated[str, Field(max_length=4000)] | None = None  # with the school's part

    roles: ClassVar[frozenset[Role]] = STAFF | {Role.pupil, Role.parent, Role.provider}  # they through their links
    guard: ClassVar[Guard] = staticmethod(guards.nothing_more)  # judged with the action: see `judge`

    def fold(self, p, ctx, at):
        given = evaluations.new_answer(self.scores, self.comment, self.signed_by, self.signed_on, self.part, ctx.actor, at)
        evaluations.fold(p, self.stage, self.part, given, self.agreed_actions)

    def judge(self, before, candidate, ctx):
        return evaluations.judge_part(before, self.stage, self.part, self.scores, self.signed_on, self.agreed_actions, ctx)


class RequestEvaluation(Action):
    """Ask the pupil (through their parents), a parent or the provider for their
    part of the mid or end evaluation: apflow emails them its link."""

    action: Literal["request_evaluation"] = "request_evaluation"
    stage: EvaluationStage
    part: EvaluationPart

    guard: ClassVar[Guard] = staticmethod(guards.nothing_more)  # judged with the action: see `judge`

    def fold(self, p, ctx, at):
        p.evaluation_requests.append(EvaluationRequest(stage=self.stage, part=self.part, on=ctx.today))

    def judge(self, before, candidate, ctx):
        return evaluations.judge_request(before, self.stage, self.part)


class Terminate(Action):
    action: Literal["terminate"] = "terminate"
    reason: str | None = None
    safeguarding: bool = False
    next_destination: Destination | None = None
    review: ReviewRecord | None = None

    roles: ClassVar[frozenset[Role]] = STAFF | SAFEGUARDING_LEADS
    guard: ClassVar[Guard] = staticmethod(guards.termination)

    def fold(self, p, ctx, at):
        if self.review is not None:
            p.reviews.append(self.review)
        p.termination = Termination(reason=self.reason, safeguarding=self.safeguarding,
                                    next_destination=self.next_destination, on=ctx.today)

    def judge(self, before, candidate, ctx):
        # A review it carries is judged on when it can have been held (§6.8, §9.6).
        held = guards.review_held(candidate, self.review, ctx) if self.review is not None else []
        return held + super().judge(before, candidate, ctx)


class Amend(Action):
    """Complete or correct details before the placement goes ahead."""

    action: Literal["amend"] = "amend"
    start_date: date | None = None
    planned_end_date: date | None = None
    parent_contacts: list[Contact] | None = None
    emergency_contacts: list[Contact] | None = None
    report_to: Person | None = None
    reintegration_plan: ReintegrationPlan | None = None

    guard: ClassVar[Guard] = staticmethod(guards.amendment)

    def fold(self, p, ctx, at):
        # As in the other actions, None leaves a detail as it is: a start
        # date or provider of None would break every guard after it.
        for field in self.model_fields_set - {"action"}:
            value = getattr(self, field)
            if value is not None:
                setattr(p, field, value)


class RecordContact(Action):
    """A daily attendance call, weekly wellbeing contact or half-termly visit (§2.5)."""

    action: Literal["record_contact"] = "record_contact"
    contact: ContactRecord

    roles: ClassVar[frozenset[Role]] = STAFF | SAFEGUARDING_LEADS
    guard: ClassVar[Guard] = staticmethod(guards.contact)

    def fold(self, p, ctx, at):
        # Named by the step that records it: `seq` counts every step, kept or not.
        p.contacts.append(RecordedContact(**self.contact.model_dump(), contact_id=f"contact-{p.seq + 1}"))


class RecordVisit(Action):
    """A progress visit to the pupil and the provider, with its whole record
    (§2.5, §8.2.6, appendix): recorded as a `visit` contact, so it meets the
    half-termly visit deadline as one does."""

    action: Literal["record_visit"] = "record_visit"
    visit: VisitRecord

    roles: ClassVar[frozenset[Role]] = STAFF | SAFEGUARDING_LEADS
    guard: ClassVar[Guard] = staticmethod(visits.visit_record)

    def fold(self, p, ctx, at):
        p.contacts.append(RecordedContact(
            kind=ContactKind.visit, on=self.visit.on, notes=visits.summary(self.visit),
            unannounced=self.visit.arrangement is VisitArrangement.unannounced, visit=self.visit,
            contact_id=f"contact-{p.seq + 1}",
        ))


class RaiseConcern(Action):
    """A safeguarding concern: the DSL is told at once and the placement reviewed (§9.7)."""

    action: Literal["raise_concern"] = "raise_concern"
    summary: NonEmpty

    roles: ClassVar[frozenset[Role]] = STAFF | SAFEGUARDING_LEADS | {Role.provider}
    guard: ClassVar[Guard] = staticmethod(guards.nothing_more)

    def fold(self, p, ctx, at):
        p.concerns.append(Concern(concern_id=f"concern-{len(p.concerns) + 1}", raised_on=ctx.today, summary=self.summary))


class RequestReview(Action):
    """A parent's (or the LA's, for an EHC plan) written request for a review."""

    action: Literal["request_review"] = "request_review"
    requested_by: Literal["parent", "local_authority"]
    received_on: date

    guard: ClassVar[Guard] = staticmethod(guards.review_request)

    def fold(self, p, ctx, at):
        p.review_requests.append(ReviewRequest(requested_by=self.requested_by, received_on=self.received_on))


class RecordDelivery(Action):
    """A letter on the school's list to post was posted, or one apflow could
    not send was handed over: the clock counts it as given from today (by
    post, from the day it is deemed received)."""

    action: Literal["record_delivery"] = "record_delivery"
    document_id: DocumentId
    method: Literal[Delivery.post, Delivery.by_hand]

    guard: ClassVar = staticmethod(guards.delivery_record)  # judged with the action: see `judge`

    def fold(self, p, ctx, at):
        if p.notice is not None:
            p.notice.copies = record_delivery(p.notice.copies, self, ctx)
        for meeting in p.review_meetings:
            meeting.invitation = record_delivery(meeting.invitation, self, ctx)

    def judge(self, before, candidate, ctx):
        return guards.delivery_record(before, ctx, self)  # the copy must be waiting before


class ResolveEscalation(Action):
    """Close an escalation with a note of what was done."""

    action: Literal["resolve_escalation"] = "resolve_escalation"
    escalation_id: NonEmpty
    note: NonEmpty

    roles: ClassVar[frozenset[Role]] = STAFF | SAFEGUARDING_LEADS
    guard: ClassVar = staticmethod(guards.escalation_resolution)  # judged with the action: see `judge`

    def fold(self, p, ctx, at):
        p.escalations = [
            e.model_copy(update={"resolved_at": at, "resolved_by": ctx.actor, "resolution": self.note})
            if e.escalation_id == self.escalation_id and e.open else e
            for e in p.escalations
        ]

    def judge(self, before, candidate, ctx):
        return guards.escalation_resolution(before, ctx, self)  # the candidate has it resolved already


class RecordInitialAssessment(Action):
    """The provider's initial assessment: the level of course and support that suit the pupil (§12.1.3)."""

    action: Literal["record_initial_assessment"] = "record_initial_assessment"
    assessment: ProviderReport

    roles: ClassVar[frozenset[Role]] = STAFF | {Role.provider}  # the provider through its link (§12)
    guard: ClassVar[Guard] = staticmethod(guards.initial_assessment)

    def fold(self, p, ctx, at):
        p.initial_assessment = self.assessment


class RecordProgressReport(Action):
    """A provider's report on progress, attendance and behaviour (§2.6, §12.1.7)."""

    action: Literal["record_progress_report"] = "record_progress_report"
    report: ProviderReport

    roles: ClassVar[frozenset[Role]] = STAFF | {Role.provider}
    guard: ClassVar[Guard] = staticmethod(guards.progress_report)

    def fold(self, p, ctx, at):
        p.progress_reports.append(self.report)


class RecordFinalReport(Action):
    """The provider's final report on achievements, attendance and behaviour (§2.6, §8.2.17)."""

    action: Literal["record_final_report"] = "record_final_report"
    report: ProviderReport

    roles: ClassVar[frozenset[Role]] = STAFF | {Role.provider}
    guard: ClassVar[Guard] = staticmethod(guards.final_report)

    def fold(self, p, ctx, at):
        p.closure = (p.closure or Closure()).model_copy(update={"final_report": self.report})


ALL_ACTIONS = (
    Vet, ConsultLA, Notify, Start, OpenReview, RecordReview, Reintegrate, Close, Terminate, Amend,
    RecordContact, RecordVisit, RaiseConcern, RequestReview, ResolveEscalation, RecordDelivery,
    RecordInitialAssessment, RecordProgressReport, RecordFinalReport, RecordEvaluation,
    RequestEvaluation,
)

AnyAction = Annotated[Union[ALL_ACTIONS], Field(discriminator="action")]  # type: ignore[valid-type]

ACTION_MODELS: dict[str, type[Action]] = {m.name(): m for m in ALL_ACTIONS}


class ActionRequest(Model):
    """One staff action as it reaches the workflow: who, and what."""

    actor: Actor
    action: AnyAction


def letter_recipients(p: Placement) -> list[tuple[str, Delivery]]:
    """Who gets a notice or invitation, and how apflow sends each copy: by
    email, or onto the school's list to post for a parent with no address."""
    out = [
        (f"parent or carer {i}", Delivery.email if c.email else Delivery.post)
        for i, c in enumerate(p.parent_contacts, 1)
    ]
    return out + ([("the local authority", Delivery.email)] if p.pupil.ehc_plan else [])


def invites_parents(p: Placement) -> bool:
    """§6.8: parents are invited in writing to the reviews of an off-site direction."""
    return p.kind is PlacementKind.off_site_direction


def _copies(p: Placement, outside: GivenOutside | None, ctx: Context) -> list[LetterCopy]:
    if outside is None:
        return [LetterCopy(recipient=who, delivery=how) for who, how in letter_recipients(p)]
    given = guards.counts_from(outside.method, outside.on, ctx)
    return [
        LetterCopy(recipient=who, delivery=outside.method, given_on=given, given_by=ctx.actor.user_id,
                   posted_on=outside.on if outside.method is Delivery.post else None, document_id=outside.copy_document_id)
        for who, _ in letter_recipients(p)
    ]


def record_delivery(copies: list[LetterCopy], action: RecordDelivery, ctx: Context) -> list[LetterCopy]:
    """The copies with the one the action names given today (or deemed received)."""
    given = guards.counts_from(action.method, ctx.today, ctx)
    return [
        c.model_copy(update=dict(
            delivery=action.method, given_on=given, given_by=ctx.actor.user_id,
            posted_on=ctx.today if action.method is Delivery.post else None,
        )) if c.document_id == action.document_id and c.given_on is None else c
        for c in copies
    ]


def with_outcome(copies: list[LetterCopy], recipient: str, document_id: str, given_on: date | None, failed: str | None) -> list[LetterCopy]:
    """The copies with what became of apflow's letter to `recipient`: sent
    (given that day), on the list to post, or not sent and why."""
    return [
        c.model_copy(update=dict(document_id=document_id, given_on=given_on, failed=failed))
        if c.recipient == recipient and c.given_on is None else c
        for c in copies
    ]


def extension_note(review: ReviewRecord) -> str:
    """How an extension at review resolves the drift and national-limit flags."""
    return f"extended at the review held on {review.held_on} to {review.new_end_date}: {review.extension_reason}"


def apply(placement: Placement, action: Action, ctx: Context, at: datetime | None = None) -> Placement:
    """A copy of the placement with the action's data folded in (state unchanged)."""
    p = placement.model_copy(deep=True)
    action.fold(p, ctx, at)
    return p
