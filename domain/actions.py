"""The staff actions that move a placement, one model each.

An action carries only its own data; `apply` folds that data into a copy of
the placement, and the guards then judge the copy. A refused action therefore
never touches the placement itself.
"""
from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal, Union

from pydantic import Field

from .guards import Context

from .models import (
    Actor,
    Closure,
    Concern,
    ContactRecord,
    Contact,
    Delivery,
    Destination,
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
    ProviderReport,
    ReintegrationPlan,
    ReviewRequest,
    ReviewMeeting,
    ReviewOutcome,
    ReviewRecord,
    Termination,
    Vetting,
)
from .deadlines import EXTENSION_RESOLVES


class Vet(Model):
    """Record the provider checks (§7, §9, appendix checklist)."""

    action: Literal["vet"] = "vet"
    checklist: dict[str, CheckEntry] = Field(default_factory=dict)
    insurance: Insurance | None = None
    safeguarding_confirmation_received_on: date | None = None
    provider: Provider | None = None  # the provider's details as vetted, if changed
    other_sections: dict[str, str] = Field(default_factory=dict)


class ConsultLA(Model):
    """The LA has been told (§8.1) and, for a pupil with an EHC plan, has agreed (§3)."""

    action: Literal["consult_la"] = "consult_la"
    informed_on: date | None = None
    la_contact: str | None = None
    ehcp: EHCPAgreement | None = None


CLAIMED_DATE = "Not accepted: a letter is dated when it is given. Leave it out and apflow sends the letter now, or record one given outside apflow in `given_outside`."


class Notify(Model):
    """Written notice to parents (and the LA for an EHC plan) (§6.5-6.6): apflow
    sends it now, by email or onto the school's list of letters to post, or
    records a notice the school gave by hand or by post, with its copy."""

    action: Literal["notify"] = "notify"
    given_outside: GivenOutside | None = None
    dual_registration_from: date | None = None  # §5.1.5, §8.2.4
    # Older versions took a claimed date; kept only so their histories replay.
    sent_on: date | None = Field(None, description=CLAIMED_DATE, json_schema_extra={"deprecated": True})


class Start(Model):
    """Start the placement: the workflow does so itself on the start date; staff
    start it by hand once a missing dual registration is recorded (§8.2.4)."""

    action: Literal["start"] = "start"
    dual_registration_from: date | None = None


class OpenReview(Model):
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


class RecordReview(Model):
    """The review was held: the placement continues, or is extended (§6.8, §9.6)."""

    action: Literal["record_review"] = "record_review"
    review: ReviewRecord | None = None


class Reintegrate(Model):
    """A review decided on return, with a plan and support package (§2.4, §2.7, §6.10)."""

    action: Literal["reintegrate"] = "reintegrate"
    review: ReviewRecord | None = None
    plan: ReintegrationPlan | None = None


class Close(Model):
    action: Literal["close"] = "close"
    final_report: ProviderReport | None = None
    destination: Destination | None = None
    pupil_view: str | None = None
    evaluation: Evaluation | None = None


class Terminate(Model):
    action: Literal["terminate"] = "terminate"
    reason: str | None = None
    safeguarding: bool = False
    next_destination: Destination | None = None
    review: ReviewRecord | None = None


class Amend(Model):
    """Complete or correct details before the placement goes ahead."""

    action: Literal["amend"] = "amend"
    start_date: date | None = None
    planned_end_date: date | None = None
    parent_contacts: list[Contact] | None = None
    emergency_contacts: list[Contact] | None = None
    report_to: Person | None = None
    reintegration_plan: ReintegrationPlan | None = None


class RecordContact(Model):
    """A daily attendance call, weekly wellbeing contact or half-termly visit (§2.5)."""

    action: Literal["record_contact"] = "record_contact"
    contact: ContactRecord


class RaiseConcern(Model):
    """A safeguarding concern: the DSL is told at once and the placement reviewed (§9.7)."""

    action: Literal["raise_concern"] = "raise_concern"
    summary: NonEmpty


class RequestReview(Model):
    """A parent's (or the LA's, for an EHC plan) written request for a review."""

    action: Literal["request_review"] = "request_review"
    requested_by: Literal["parent", "local_authority"]
    received_on: date


class RecordDelivery(Model):
    """A letter on the school's list to post was posted, or one apflow could
    not send was handed over: the clock counts it as given from today (by
    post, from the day it is deemed received)."""

    action: Literal["record_delivery"] = "record_delivery"
    document_id: DocumentId
    method: Literal[Delivery.post, Delivery.by_hand]


class ResolveEscalation(Model):
    """Close an escalation with a note of what was done."""

    action: Literal["resolve_escalation"] = "resolve_escalation"
    escalation_id: NonEmpty
    note: NonEmpty


class RecordInitialAssessment(Model):
    """The provider's initial assessment: the level of course and support that suit the pupil (§12.1.3)."""

    action: Literal["record_initial_assessment"] = "record_initial_assessment"
    assessment: ProviderReport


class RecordProgressReport(Model):
    """A provider's report on progress, attendance and behaviour (§2.6, §12.1.7)."""

    action: Literal["record_progress_report"] = "record_progress_report"
    report: ProviderReport


class RecordFinalReport(Model):
    """The provider's final report on achievements, attendance and behaviour (§2.6, §8.2.17)."""

    action: Literal["record_final_report"] = "record_final_report"
    report: ProviderReport


ALL_ACTIONS = (
    Vet, ConsultLA, Notify, Start, OpenReview, RecordReview, Reintegrate, Close, Terminate, Amend,
    RecordContact, RaiseConcern, RequestReview, ResolveEscalation, RecordDelivery,
    RecordInitialAssessment, RecordProgressReport, RecordFinalReport,
)

Action = Annotated[Union[ALL_ACTIONS], Field(discriminator="action")]  # type: ignore[valid-type]

ACTION_MODELS: dict[str, type[Model]] = {m.model_fields["action"].default: m for m in ALL_ACTIONS}


class ActionRequest(Model):
    """One staff action as it reaches the workflow: who, and what."""

    actor: Actor
    action: Action


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
    given = outside.on if outside.method is Delivery.by_hand else ctx.calendar.deemed_received(
        outside.on, ctx.settings.post_deemed_received_working_days)
    return [
        LetterCopy(recipient=who, delivery=outside.method, given_on=given, given_by=ctx.actor.user_id,
                   posted_on=outside.on if outside.method is Delivery.post else None, document_id=outside.copy_document_id)
        for who, _ in letter_recipients(p)
    ]


def record_delivery(copies: list[LetterCopy], action: RecordDelivery, ctx: Context) -> list[LetterCopy]:
    """The copies with the one the action names given today (or deemed received)."""
    given = ctx.today if action.method is Delivery.by_hand else ctx.calendar.deemed_received(
        ctx.today, ctx.settings.post_deemed_received_working_days)
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


def apply(placement: Placement, action: Model, ctx: Context, at: datetime | None = None) -> Placement:
    """A copy of the placement with the action's data folded in (state unchanged)."""
    today, actor = ctx.today, ctx.actor
    p = placement.model_copy(deep=True)
    match action:
        case Vet():
            p.vetting = Vetting(
                checklist=action.checklist,
                insurance=action.insurance,
                safeguarding_confirmation_received_on=action.safeguarding_confirmation_received_on,
                other_sections=action.other_sections,
            )
            if action.provider is not None:
                p.provider = action.provider
        case ConsultLA():
            p.la_consultation = LAConsultation(
                informed_on=action.informed_on, la_contact=action.la_contact, ehcp=action.ehcp
            )
        case Notify():
            if action.sent_on is not None:  # as older versions recorded it (refused for new requests)
                p.notice = Notice.model_validate({"sent_on": action.sent_on, "signed_by": actor.user_id,
                                                  "recipients": [who for who, _ in letter_recipients(p)]})
            else:
                p.notice = Notice(signed_by=actor.user_id, copies=_copies(p, action.given_outside, ctx), for_start=p.start_date)
            p.dual_registration_from = action.dual_registration_from or p.dual_registration_from
        case Start():
            p.dual_registration_from = action.dual_registration_from or p.dual_registration_from
        case OpenReview():
            p.review_meetings.append(
                ReviewMeeting(
                    meeting_on=action.meeting_on,
                    booked_on=today,
                    invitation=_copies(p, action.given_outside, ctx) if invites_parents(p) and action.invitation_sent_on is None else [],
                    invitation_sent_on=action.invitation_sent_on,
                    place=action.place,
                    requested_by=action.requested_by,
                    starts_at=action.starts_at,
                    written_views_to=action.written_views_to,
                )
            )
        case RecordReview() if action.review is not None:
            p.reviews.append(action.review)
            if action.review.outcome is ReviewOutcome.extend:
                p.escalations = [
                    e.model_copy(update={"resolved_at": at, "resolved_by": actor, "resolution": extension_note(action.review)})
                    if e.kind in EXTENSION_RESOLVES and e.open else e
                    for e in p.escalations
                ]
        case Reintegrate():
            if action.review is not None:
                p.reviews.append(action.review)
            p.reintegration_plan = action.plan or p.reintegration_plan
        case Close():
            p.closure = Closure(
                # The provider's final report may have come in before (record_final_report).
                final_report=action.final_report or (p.closure.final_report if p.closure else None),
                destination=action.destination,
                pupil_view=action.pupil_view,
                evaluation=action.evaluation,
            )
        case Terminate():
            if action.review is not None:
                p.reviews.append(action.review)
            p.termination = Termination(
                reason=action.reason,
                safeguarding=action.safeguarding,
                next_destination=action.next_destination,
                on=today,
            )
        case RecordContact():
            p.contacts.append(action.contact)
        case RaiseConcern():
            p.concerns.append(Concern(concern_id=f"concern-{len(p.concerns) + 1}", raised_on=today, summary=action.summary))
        case RequestReview():
            p.review_requests.append(ReviewRequest(requested_by=action.requested_by, received_on=action.received_on))
        case ResolveEscalation():
            p.escalations = [
                e.model_copy(update={"resolved_at": at, "resolved_by": actor, "resolution": action.note})
                if e.escalation_id == action.escalation_id and e.open else e
                for e in p.escalations
            ]
        case RecordInitialAssessment():
            p.initial_assessment = action.assessment
        case RecordProgressReport():
            p.progress_reports.append(action.report)
        case RecordFinalReport():
            p.closure = (p.closure or Closure()).model_copy(update={"final_report": action.report})
        case RecordDelivery():
            if p.notice is not None:
                p.notice.copies = record_delivery(p.notice.copies, action, ctx)
            for meeting in p.review_meetings:
                meeting.invitation = record_delivery(meeting.invitation, action, ctx)
        case Amend():
            # As in the other actions, None leaves a detail as it is: a start
            # date or provider of None would break every guard after it.
            for field in action.model_fields_set - {"action"}:
                value = getattr(action, field)
                if value is not None:
                    setattr(p, field, value)
    return p
