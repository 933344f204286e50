"""The commissioning agreement (policy appendix, "Commissioning Agreement"):
what the school, the parents, the pupil and the provider sign before the
placement starts.

Most of the form is already in the proposal, and is read from it, never
asked twice: the parent or carer (name, email, address), the emergency
contacts, the start date, the arrival and departure times, the three key
objectives, the pupil's FSM flag and the provider's DSL and named contact
(`documents.agreement.context` says which field comes from where). `CommissioningAgreement` holds the rest: what only this form
asks. Every field is optional, so the school can fill it in over several
sittings; the printed agreement leaves a line for whatever is still blank,
to be completed by hand at the meeting where it is signed.
"""
from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from .models import EmailAddress, Model, Person

ShortText = Annotated[str, Field(min_length=1, max_length=300)]
LongText = Annotated[str, Field(min_length=1, max_length=4000)]
# A telephone number as people write one: digits, spaces, +, brackets, dashes.
Phone = Annotated[str, Field(pattern=r"^[0-9+() .-]{3,30}$")]

# Key stage 4: years 10 and 11, where the form asks about post-16/18 planning.
KS4_YEARS = frozenset({10, 11})


class PhoneNumbers(Model):
    """The parent's or carer's numbers, as the form asks them (home, mobile, work)."""

    home: Phone | None = None
    mobile: Phone | None = None
    work: Phone | None = None


class ForwardTo(StrEnum):
    """Who a completed copy is forwarded to (the form's closing list)."""

    parent_carer = "parent_carer"
    pupil = "pupil"
    school_contact = "school_contact"
    ap_contact = "ap_contact"
    la_adviser = "la_adviser"
    yot_key_worker = "yot_key_worker"
    nhs_professional = "nhs_professional"
    local_authority = "local_authority"
    other_professional = "other_professional"


FORWARD_TO_WORDS = {
    ForwardTo.parent_carer: "Parent/carer",
    ForwardTo.pupil: "Pupil",
    ForwardTo.school_contact: "School contact",
    ForwardTo.ap_contact: "AP contact",
    ForwardTo.la_adviser: "LA Adviser",
    ForwardTo.yot_key_worker: "YOT Key worker",
    ForwardTo.nhs_professional: "NHS professional",
    ForwardTo.local_authority: "Local Authority",
    ForwardTo.other_professional: "Other relevant professional",
}


class CommissioningAgreement(Model):
    """What the agreement asks beyond the proposal, in the form's order."""

    parent_phones: PhoneNumbers | None = None
    course_offer: LongText | None = None
    taster_date: date | None = None
    social_worker_email: EmailAddress | None = None
    cla_adviser_email: EmailAddress | None = None
    yot_keyworker_email: EmailAddress | None = None
    gp_contact: ShortText | None = None
    progress_communication: LongText | None = None
    post_16_planning: LongText | None = None  # asked only of a pupil in KS4
    send_cla_health_yot: LongText | None = None
    plan_targets: LongText | None = None  # EHCP/PEP/ILP/BSP targets
    eal_requirement: LongText | None = None
    health_requirements: LongText | None = None
    safeguarding_process: LongText | None = None
    attendance_procedures: LongText | None = None
    academy_dsl: Person | None = None
    transport: LongText | None = None
    lunch: LongText | None = None  # including the transfer of FSM funds
    school_referrer: Person | None = None
    ap_lead: Person | None = None  # when not the provider's named contact
    other_professional: Person | None = None
    forward_to: Annotated[list[ForwardTo], Field(max_length=len(ForwardTo))] = Field(default_factory=list)
