"""What a placement carries: the proposal, the provider, and the records the
policy asks the school to keep. Pure pydantic models, no behaviour beyond
shape checks; the lifecycle's guards live in `domain.guards`.
"""
from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from functools import cache
from typing import Annotated, Literal, get_args

import email_validator  # noqa: F401  (pydantic loads it on first use: in a workflow that would be mid-run)
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationInfo, WrapValidator, create_model, model_validator

NonEmpty = Annotated[str, Field(min_length=1, max_length=4000)]
Short = Annotated[str, Field(min_length=1, max_length=200)]  # a name, a role
# Validation context for a record read back from the register, which stored
# it from a model already checked: its addresses are not checked again.
STORED = {"stored": True}


def _stored(info: ValidationInfo) -> bool:
    """Whether the model is read back from the register (`STORED`)."""
    return bool(info.context and info.context.get("stored"))


def _mailbox(value, check, info: ValidationInfo):
    if isinstance(value, str) and _stored(info):
        return value
    return check(value)


# One mailbox, checked as an address (email-validator): no display name, no
# second recipient after a comma, no line break that could start a header.
# (Not again when read back from the register: `STORED`.)
EmailAddress = Annotated[EmailStr, WrapValidator(_mailbox), Field(max_length=254)]


def field_path(error: dict, skip: int = 0) -> str:
    """Where one of pydantic's errors points, as the forms and messages name
    a field ("objectives.0.baseline"); `skip` leaves out the first parts of
    its location (FastAPI's "body", a tagged union's tag)."""
    return ".".join(str(part) for part in error["loc"][skip:])


def problems(errors: list, skip: int = 0, whole: str = "input") -> list[str]:
    """Each of pydantic's `errors()` as "where: what"; `whole` names an error
    on the whole input, which points nowhere."""
    return [f"{field_path(err, skip) or whole}: {err['msg']}" for err in errors]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _days_are_written_as_days(cls, data, info: ValidationInfo):
        # Lax pydantic reads a number as a date (0 is 1 January 1970): a day
        # must be written as one ("2026-12-01"), never guessed from a number.
        # (Not again when read back from the register, which wrote it as a day.)
        if isinstance(data, dict) and not _stored(info):
            for name in _day_fields(cls):
                value = data.get(name)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    raise ValueError(f"{name}: a date is written as YYYY-MM-DD, not as a number")
        return data


def _is_day(annotation) -> bool:
    return annotation in (date, datetime) or any(a in (date, datetime) for a in get_args(annotation))


@cache
def _day_fields(cls) -> tuple[str, ...]:
    """A model's fields that hold a day or an instant: worked out once a
    class, not for every record read (a register export reads thousands)."""
    return tuple(name for name, field in cls.model_fields.items() if _is_day(field.annotation))


class PlacementState(StrEnum):
    """Where a placement is in its lifecycle (the chart, `domain.lifecycle`, moves it)."""

    proposed = "proposed"
    vetted = "vetted"
    la_consulted = "la_consulted"
    notified = "notified"
    active = "active"
    under_review = "under_review"
    reintegrating = "reintegrating"
    closed = "closed"
    terminated = "terminated"


class PlacementKind(StrEnum):
    off_site_direction = "off_site_direction"  # §2.3, §6
    suspension_cover = "suspension_cover"  # §2.4, §13.2
    ehcp_placement = "ehcp_placement"  # §3
    health_package = "health_package"  # §1.2.1, §2.2


class Role(StrEnum):
    ap_lead = "ap_lead"
    headteacher = "headteacher"
    dsl = "dsl"
    read_only = "read_only"  # a school's governor or auditor: sees, never acts
    trust_operations = "trust_operations"
    trust_dsl = "trust_dsl"  # the trust's safeguarding lead: a DSL at every school
    provider = "provider"
    pupil = "pupil"  # a pupil answering their part of an evaluation through its link
    parent = "parent"  # a parent or carer answering their part of an evaluation through its link
    system = "system"


# Who holds no account and acts only through the signed link they were sent.
LINK_ROLES = frozenset({Role.provider, Role.pupil, Role.parent})


class Actor(Model):
    """Who acts. `school_id` scopes school staff; trust-wide roles have none.
    `name` is the person's as their account held it when they acted (a record
    they made says so); none for apflow itself or one known only by an id."""

    user_id: NonEmpty
    role: Role
    school_id: str | None = None
    name: str | None = Field(None, max_length=200)


SYSTEM = Actor(user_id="apflow", role=Role.system)

# Who may act as a designated safeguarding lead (§9): the school's, or the trust's.
SAFEGUARDING_LEADS = frozenset({Role.dsl, Role.trust_dsl})


# --- people and places -----------------------------------------------------


class Pupil(Model):
    pupil_id: Annotated[str, Field(min_length=1, max_length=64)]  # the school's pseudonymous id
    name: Short  # the register's column holds 200
    # The DfE's unique pupil number: 13 characters, a letter then 11 digits,
    # then a digit (a letter for a temporary UPN).
    upn: Annotated[str | None, Field(pattern=r"^[A-Z][0-9]{11}[0-9A-Z]$")] = None
    date_of_birth: date
    year_group: Annotated[int, Field(ge=0, le=14)]  # 0 = Reception
    ehc_plan: bool = False
    looked_after: bool = False
    free_school_meals: bool = False
    sen_support: bool = False
    eal: bool = False


class Contact(Model):
    name: NonEmpty
    relationship: NonEmpty
    phone: NonEmpty
    email: EmailAddress | None = None
    address: str | None = None


class Person(Model):
    name: NonEmpty
    role: str | None = None
    phone: str | None = None
    email: EmailAddress | None = None


class Site(Model):
    """An actual address where the pupil is taught (§9.5)."""

    name: NonEmpty
    address: NonEmpty
    postcode: NonEmpty


# A school's unique reference number: six digits (it also names the school's calendar file).
Urn = Annotated[str, Field(pattern=r"^[0-9]{6}$")]


class School(Model):
    school_id: Urn
    name: NonEmpty
    local_authority: NonEmpty


class ProviderType(StrEnum):
    maintained_school = "maintained_school"
    academy = "academy"  # includes AP academies and free schools
    pupil_referral_unit = "pupil_referral_unit"
    independent_school = "independent_school"  # registered with the DfE
    college = "college"
    unregistered = "unregistered"


REGISTERED_SCHOOL_TYPES = {
    ProviderType.maintained_school,
    ProviderType.academy,
    ProviderType.pupil_referral_unit,
    ProviderType.independent_school,
}


class TrustException(Model):
    """The trust's approval of a provider that is not LA-approved (§7.3)."""

    approved_by: NonEmpty
    approved_on: date
    reason: NonEmpty


# A code of the trust's census table (`census/codes.toml`): a setting type or
# a reason for placement. Its shape is checked here; that the table knows it,
# by the census check (`domain.census`), as the table is the trust's to edit.
CensusCode = Annotated[str, Field(pattern=r"^[A-Z0-9_]{1,16}$")]


class Provider(Model):
    name: Short  # the register's column holds 200
    provider_type: ProviderType
    # The school census identifies the AP setting by its URN, its UK provider
    # reference number (eight digits, starting with 1) or, with neither, its
    # type of setting: one of the three (`domain.census`).
    urn: Urn | None = None
    ukprn: Annotated[str, Field(pattern=r"^1[0-9]{7}$")] | None = None
    setting_type: CensusCode | None = None
    sites: list[Site] = Field(default_factory=list)
    la_approved: bool = False
    trust_exception: TrustException | None = None
    dsl: Person | None = None
    deputy_dsl: Person | None = None
    named_contact: Person | None = None  # §12.1.8
    email: EmailAddress | None = None
    transports_pupils: bool = False
    full_time_pupils_of_compulsory_age: Annotated[int, Field(ge=0)] = 0

    @property
    def registered_school(self) -> bool:
        return self.provider_type in REGISTERED_SCHOOL_TYPES


# --- the plan ---------------------------------------------------------------


class Weekday(StrEnum):
    mon = "mon"
    tue = "tue"
    wed = "wed"
    thu = "thu"
    fri = "fri"


WEEKDAYS = tuple(Weekday)  # by `date.weekday()`, Monday first


class Pattern(Model):
    """When the pupil attends the provider."""

    full_time: bool
    days: Annotated[list[Weekday], Field(min_length=1, max_length=5)]
    arrival: time
    departure: time

    @model_validator(mode="after")
    def _times_in_order(self) -> Pattern:
        if self.departure <= self.arrival:
            raise ValueError("departure must be after arrival")
        if len(set(self.days)) != len(self.days):
            raise ValueError("a day is listed twice")
        return self

    def includes(self, day: date) -> bool:
        """Whether `day` falls on one of the pattern's weekdays."""
        n = day.weekday()
        return n < 5 and WEEKDAYS[n] in self.days


class Objective(Model):
    """One of up to three objectives, with the baseline it is measured against (§3.6)."""

    description: NonEmpty
    baseline: NonEmpty
    target: str | None = None


class Responsibility(Model):
    """One part of a reintegration plan: who does what, and by when (§6.10)."""

    who: Short
    what: NonEmpty
    by: date | None = None


class ReintegrationPlan(Model):
    """How the pupil returns, with a support package from both sides (§2.4, §2.7, §6.10)."""

    summary: NonEmpty
    school_support: NonEmpty
    provider_support: NonEmpty
    planned_return: date | None = None
    who_does_what: Annotated[list[Responsibility], Field(max_length=10)] = Field(default_factory=list)


class Proposal(Model):
    """Everything needed to propose a placement (§3.6; the commissioning agreement)."""

    school: School
    pupil: Pupil
    provider: Provider
    kind: PlacementKind
    start_date: date
    planned_end_date: date | None = None
    number_of_days: Annotated[int, Field(ge=1, le=400)] | None = None
    pattern: Pattern
    reasons: NonEmpty
    objectives: Annotated[list[Objective], Field(max_length=10)]  # 1-3: a guard (§3.6)
    parent_contacts: list[Contact] = Field(default_factory=list)
    emergency_contacts: list[Contact] = Field(default_factory=list)
    report_to: Person | None = None  # who meets the pupil on day one (§6.6.2)
    suspension_first_day: date | None = None  # suspension cover (§13.2)
    reintegration_plan: ReintegrationPlan | None = None
    # The primary reason for the placement as the school census codes it
    # (the trust's table, `census/codes.toml`); `reasons` says it in words.
    census_reason: CensusCode | None = None
    # The trust's record of the provider (`domain.providers`), when it was
    # picked from the list: `provider` then holds that record's details.
    provider_id: Annotated[str, Field(pattern=r"^prov-[0-9a-f]{32}$")] | None = None


# --- records kept along the way ---------------------------------------------


class CheckStatus(StrEnum):
    seen = "seen"
    not_seen = "not_seen"
    not_applicable = "not_applicable"


class CheckEntry(Model):
    status: CheckStatus
    note: str | None = None


class Insurance(Model):
    """Cover in pounds, as on the certificates seen (policy appendix)."""

    public_liability: Annotated[int, Field(ge=0)]
    employers_liability: Annotated[int, Field(ge=0)]
    professional_negligence: Annotated[int, Field(ge=0)]
    motor_vehicle: bool = False
    uses_subcontractors: bool = False
    subcontractors_same_levels: bool = False


class Vetting(Model):
    checklist: dict[str, CheckEntry] = Field(default_factory=dict)
    insurance: Insurance | None = None
    safeguarding_confirmation_received_on: date | None = None  # §9.2
    other_sections: dict[str, str] = Field(default_factory=dict)  # voice, quality, documents


class EHCPAgreement(Model):
    agreed: bool
    recorded_on: date
    la_officer: NonEmpty
    plan_to_be_amended: bool


class LAConsultation(Model):
    informed_on: date | None = None  # §8.1
    la_contact: str | None = None
    ehcp: EHCPAgreement | None = None  # §3.1-3.2, §3.8


class Delivery(StrEnum):
    """How one copy of a notice or invitation reaches its recipient (RULES, Words)."""

    email = "email"  # sent by apflow: given the moment it is sent
    post = "post"  # printed and posted by the school: given when deemed received
    by_hand = "by_hand"  # handed over: given that day


DocumentId = Annotated[str, Field(pattern=r"^doc-[0-9a-f]{32}$")]


class GivenOutside(Model):
    """A notice or invitation the school gave outside apflow, recorded with
    an uploaded copy (`POST /api/placements/{id}/documents`). apflow sends no
    letter for it; its rules count from the day it was handed over, or from
    the day a posted letter is deemed received."""

    method: Literal[Delivery.by_hand, Delivery.post]
    on: date  # handed over, or posted
    copy_document_id: DocumentId


class LetterCopy(Model):
    """One recipient's copy of a notice or invitation, and when it was given."""

    recipient: str  # "parent or carer 1", "the local authority": a role, never a name
    delivery: Delivery
    given_on: date | None = None  # unknown until sent, posted or handed over
    posted_on: date | None = None
    document_id: str | None = None
    given_by: str | None = None  # who posted or handed it over
    failed: str | None = None  # why apflow could not send it (the relay's answer)


def given_on(copies: list[LetterCopy]) -> date | None:
    """The day the last copy was given: a notice is given once everyone has it."""
    if not copies or any(c.given_on is None for c in copies):
        return None
    return max(c.given_on for c in copies if c.given_on)


class Notice(Model):
    """The written notice (§6.5-6.6): one copy per recipient."""

    signed_by: str
    copies: list[LetterCopy] = Field(default_factory=list)
    for_start: date | None = None  # the start date it announced

    @model_validator(mode="before")
    @classmethod
    def _from_claimed_date(cls, data):
        # Placements recorded before copies were kept held one claimed date.
        if isinstance(data, dict) and "sent_on" in data:
            data = dict(data)
            on, recipients = data.pop("sent_on"), data.pop("recipients", ["parents"])
            data["copies"] = [{"recipient": r, "delivery": "by_hand", "given_on": on} for r in recipients]
        return data

    @property
    def given_on(self) -> date | None:
        return given_on(self.copies)


class ReviewOutcome(StrEnum):
    continue_ = "continue"
    extend = "extend"
    reintegrate = "reintegrate"
    terminate = "terminate"


class ReviewMeeting(Model):
    meeting_on: date
    booked_on: date | None = None
    invitation: list[LetterCopy] = Field(default_factory=list)  # §6.8, one copy per recipient
    invitation_sent_on: date | None = None  # a claimed date, as older placements recorded it
    place: str | None = None
    requested_by: str | None = None
    starts_at: time | None = None  # the invitation gives the time (§6.8)
    written_views_to: str | None = None  # where parents may send views instead (§6.8); the AP lead when unset

    @property
    def invited_on(self) -> date | None:
        return given_on(self.invitation) if self.invitation else self.invitation_sent_on


class ReviewRecord(Model):
    """A review held and recorded in writing with the parents' view (§6.8):
    the views of everyone at it, the support the school and the provider
    give from now, and when the next review is."""

    held_on: date
    record: NonEmpty
    parents_view: NonEmpty
    outcome: ReviewOutcome
    new_end_date: date | None = None
    extension_reason: Annotated[str, Field(max_length=4000)] | None = None
    pupil_view: Annotated[str, Field(max_length=4000)] | None = None  # §3.7
    provider_view: Annotated[str, Field(max_length=4000)] | None = None
    school_view: Annotated[str, Field(max_length=4000)] | None = None
    school_support: Annotated[str, Field(max_length=4000)] | None = None  # §2.5, §3.4
    provider_support: Annotated[str, Field(max_length=4000)] | None = None
    next_review_on: date | None = None  # §9.6: at least half-termly


class DestinationKind(StrEnum):
    home_school = "home_school"
    another_school = "another_school"
    special_school = "special_school"
    alternative_provision = "alternative_provision"
    further_education = "further_education"
    apprenticeship_or_training = "apprenticeship_or_training"
    employment_with_training = "employment_with_training"
    elective_home_education = "elective_home_education"


class Destination(Model):
    """Where the pupil goes next (§3.7, §8.2.19); every child stays on a roll (§10.1)."""

    kind: DestinationKind
    name: NonEmpty
    from_date: date


class ProviderReport(Model):
    received_on: date
    summary: NonEmpty
    attendance_percent: Annotated[float, Field(ge=0, le=100)] | None = None


class Evaluation(Model):
    """The appendix evaluation: 25 statements scored 1-5, out of 125."""

    pupil: Annotated[list[Annotated[int, Field(ge=1, le=5)]], Field(min_length=7, max_length=7)]
    parent: Annotated[list[Annotated[int, Field(ge=1, le=5)]], Field(min_length=5, max_length=5)]
    provider: Annotated[list[Annotated[int, Field(ge=1, le=5)]], Field(min_length=6, max_length=6)]
    school: Annotated[list[Annotated[int, Field(ge=1, le=5)]], Field(min_length=7, max_length=7)]

    @property
    def total(self) -> int:
        return sum(self.pupil) + sum(self.parent) + sum(self.provider) + sum(self.school)


class EvaluationStage(StrEnum):
    """The appendix's "Mid and End of Placement Evaluation": one of each."""

    mid = "mid"
    end = "end"


class EvaluationPart(StrEnum):
    """Whose part of an evaluation: the statements each scores are `domain.evaluations.STATEMENTS`."""

    pupil = "pupil"
    parent = "parent"
    provider = "provider"
    school = "school"


Score = Annotated[int, Field(ge=1, le=5)]  # Strongly disagree 1 … Strongly agree 5


class EvaluationAnswer(Model):
    """One part of an evaluation as recorded: its scores in the appendix's
    order, its general comment and signature, and who recorded it (the person
    through their link, or staff on their behalf, as `on_behalf` says)."""

    scores: Annotated[list[Score], Field(min_length=1, max_length=7)]
    comment: Annotated[str, Field(max_length=4000)] | None = None
    signed_by: Annotated[str, Field(min_length=1, max_length=200)]
    signed_on: date
    recorded_by: Actor
    recorded_at: datetime
    on_behalf: bool = False


class EvaluationRecord(Model):
    """A mid or end evaluation, part by part as each comes in (appendix)."""

    stage: EvaluationStage
    pupil: EvaluationAnswer | None = None
    parent: EvaluationAnswer | None = None
    provider: EvaluationAnswer | None = None
    school: EvaluationAnswer | None = None
    agreed_actions: Annotated[str, Field(max_length=4000)] | None = None  # with the school's part


class EvaluationRequest(Model):
    """A part of an evaluation asked for by email, with its link (`request_evaluation`)."""

    stage: EvaluationStage
    part: EvaluationPart
    on: date


class Closure(Model):
    final_report: ProviderReport | None = None
    destination: Destination | None = None
    pupil_view: str | None = None
    # What the pupil achieved (qualifications, accreditations, attainment),
    # as the trust's register of placements records it (§3.7, §8.2.3).
    achievements: Annotated[str, Field(max_length=4000)] | None = None
    evaluation: Evaluation | None = None  # scores typed in at close, as older versions took them


class Termination(Model):
    reason: str | None = None
    safeguarding: bool = False
    next_destination: Destination | None = None
    on: date


class ContactKind(StrEnum):
    attendance_call = "attendance_call"  # daily (§2.5)
    wellbeing = "wellbeing"  # weekly, with the pupil (§2.5, §3.4)
    visit = "visit"  # to the pupil and the provider, half-termly (§2.5, §8.2.6)


# --- the progress visit record (policy appendix) -----------------------------

# The appendix's yes/no questions of a progress visit, in its order and its
# words: the form, the record and the page all read them from here.
VISIT_QUESTIONS: dict[str, str] = {
    "identity_checked": "On arrival, was your identity checked?",
    "safeguarding_information": "On arrival, were you provided with any safeguarding information?",
    "fire_evacuation_information": "On arrival, were you provided with any fire evacuation information?",
    "signed_in_effectively": "On arrival, were you signed in effectively?",
    "site_felt_safe": "Did the site feel safe?",
    "staff_easy_to_identify": "Was it easy to identify staff (e.g., uniforms/lanyards)?",
    "pupils_effectively_supported": "Were the pupils on site being effectively supported?",
    "risk_assessment_followed": "Is the pupil risk assessment being followed?",
    "risk_assessment_meets_need": "Does the current risk assessment meet need?",
    "communicates_on_attendance": "Is the AP setting communicating well with the school on attendance?",
    "communicates_on_engagement": "Is the AP setting communicating well with the school on engagement?",
    "communicates_on_progress": "Is the AP setting communicating well with the school on progress?",
    "communicates_on_behaviour": "Is the AP setting communicating well with the school on behaviour?",
}
# The appendix's questions about the pupil's risk assessment, also yes or no.
RISK_ASSESSMENT_QUESTIONS: dict[str, str] = {
    "risk_assessment_seen": "Most recent risk assessment seen",
    "school_risk_assessment_updated": "School risk assessment updated",
    "copy_received": "Copy received",
}

VisitChecks = create_model(
    "VisitChecks", __base__=Model, __doc__="Every yes/no visit check of the appendix, each answered.",
    **{name: (bool, Field(description=question)) for name, question in VISIT_QUESTIONS.items()},
)
RiskAssessmentChecks = create_model(
    "RiskAssessmentChecks", __base__=Model, __doc__="The pupil's risk assessment as the visit found it.",
    **{name: (bool, Field(description=question)) for name, question in RISK_ASSESSMENT_QUESTIONS.items()},
)
LongText = Annotated[str, Field(min_length=1, max_length=4000)]


class VisitArrangement(StrEnum):
    planned = "planned"
    unannounced = "unannounced"


class VisitRecord(Model):
    """A progress visit to the pupil and the provider, as the appendix's
    progress record has it (§2.5, §8.2.6): every answer, the progress against
    each of the placement's objectives (in their order), everyone's views and
    the actions agreed. General comments are needed when any answer is no."""

    visited_by: Short
    role: Short
    on: date
    at: time
    arrangement: VisitArrangement
    checks: VisitChecks  # type: ignore[valid-type]
    risk_assessment: RiskAssessmentChecks  # type: ignore[valid-type]
    general_comments: LongText | None = None
    objectives_progress: Annotated[list[LongText], Field(max_length=3)] = Field(default_factory=list)
    pupil_views: LongText | None = None
    parents_views: LongText | None = None
    provider_views: LongText | None = None
    actions: Annotated[list[LongText], Field(max_length=3)] = Field(default_factory=list)

    def answers(self) -> dict[str, bool]:
        """Every yes/no answer, by question name."""
        return {**self.checks.model_dump(), **self.risk_assessment.model_dump()}

    def answered_no(self) -> list[str]:
        """The questions answered no, in their words."""
        words = {**VISIT_QUESTIONS, **RISK_ASSESSMENT_QUESTIONS}
        return [words[name] for name, yes in self.answers().items() if not yes]


class ContactRecord(Model):
    kind: ContactKind
    on: date
    notes: NonEmpty
    unannounced: bool = False
    # A visit's whole progress record (`record_visit`). The workflow keeps it
    # only on the contact just recorded; the register keeps every one.
    visit: VisitRecord | None = Field(None, json_schema_extra={"form": False})  # the form of `record_visit`

    @model_validator(mode="after")
    def _a_visit_record_is_a_visits(self) -> ContactRecord:
        if self.visit is not None and (self.kind is not ContactKind.visit or self.visit.on != self.on):
            raise ValueError("a progress visit record belongs to a visit on its own day")
        return self


class RecordedContact(ContactRecord):
    """A contact as the placement keeps it: named by the step that recorded
    it (`contact-<seq>`), so the register stores each once however often the
    placement is projected."""

    contact_id: Annotated[str, Field(min_length=1, max_length=64)]


def contact_ids(contacts: list[dict], history: list[dict]) -> list[str]:
    """Ids for contacts recorded before contacts had one: the i-th contact was
    recorded by the i-th `record_contact` step, whose seq names it. A list
    that does not pair up (built by hand, not by steps) is named by position,
    in a form no step's id takes. The register's migration 0010 names the
    contacts it finds in stored placements the same way."""
    steps = [h["seq"] for h in history if h.get("action") == "record_contact"]
    if len(steps) == len(contacts):
        return [f"contact-{seq}" for seq in steps]
    return [f"contact-listed-{i}" for i in range(1, len(contacts) + 1)]


class ReviewRequest(Model):
    """A parent's (or for an EHC plan, the LA's) written request for a review."""

    requested_by: Literal["parent", "local_authority"]
    received_on: date


class Concern(Model):
    """A safeguarding concern: reviewed at once, the placement ended if it is not resolved (§9.7)."""

    concern_id: str
    raised_on: date
    summary: NonEmpty


class Escalation(Model):
    """What is late or worrying, who must act, and until when it stays open:
    raised once per cause (its id), kept until resolved with a note."""

    escalation_id: str  # "<kind>:<what it is about>", unique on the placement
    kind: str
    clause: str
    owner: Role  # who should act: ap_lead, headteacher or dsl
    message: str
    raised_at: datetime
    due: date | None = None
    resolved_at: datetime | None = None
    resolved_by: Actor | None = None
    resolution: str | None = None

    @property
    def open(self) -> bool:
        return self.resolved_at is None


class HistoryEntry(Model):
    """Who did what, when, and from which state to which."""

    seq: int
    action: str
    actor: Actor
    at: datetime
    from_state: str
    to_state: str
    note: str | None = None


class Placement(Proposal):
    """A placement as the workflow holds it: the proposal and every record since."""

    placement_id: str
    state: PlacementState = PlacementState.proposed
    # Raised by the workflow at every change it publishes (escalations too):
    # the register applies a projection only when it is newer than its row.
    version: int = 0
    vetting: Vetting | None = None
    la_consultation: LAConsultation | None = None
    notice: Notice | None = None
    dual_registration_from: date | None = None
    review_meetings: list[ReviewMeeting] = Field(default_factory=list)
    reviews: list[ReviewRecord] = Field(default_factory=list)
    closure: Closure | None = None
    termination: Termination | None = None
    initial_assessment: ProviderReport | None = None  # §12.1.3
    progress_reports: list[ProviderReport] = Field(default_factory=list)  # §2.6, §12.1.7
    # What the deadlines and guards need of the contacts, not every one
    # (`domain.window`): the register keeps them all (`placement_contacts`).
    contacts: list[RecordedContact] = Field(default_factory=list)
    review_requests: list[ReviewRequest] = Field(default_factory=list)
    concerns: list[Concern] = Field(default_factory=list)
    escalations: list[Escalation] = Field(default_factory=list)
    evaluations: list[EvaluationRecord] = Field(default_factory=list)
    evaluation_requests: list[EvaluationRequest] = Field(default_factory=list)  # the last is the one just sent  # the mid and end evaluations (appendix)
    # The last steps and those the guards and deadlines read (`domain.window`);
    # the register keeps every one (`audit_events`).
    history: list[HistoryEntry] = Field(default_factory=list)
    # Steps no longer in `history`, so `seq` counts every step taken: letters'
    # idempotency keys and document ids are made from it. A placement stored
    # before history was trimmed has none: its history is whole.
    trimmed_history: Annotated[int, Field(ge=0)] = 0

    @model_validator(mode="before")
    @classmethod
    def _contacts_are_named(cls, data):
        # Contacts recorded before they had ids (a placement stored, or a
        # workflow continued, before then) are named from the steps that recorded them.
        if not isinstance(data, dict) or not data.get("contacts"):
            return data
        contacts = data["contacts"]
        if all(isinstance(c, RecordedContact) or (isinstance(c, dict) and c.get("contact_id")) for c in contacts):
            return data
        plain = [c.model_dump() if isinstance(c, BaseModel) else dict(c) for c in contacts]
        history = [h.model_dump() if isinstance(h, BaseModel) else h for h in data.get("history") or []]
        ids = contact_ids(plain, history)
        data = dict(data)
        data["contacts"] = [c if c.get("contact_id") else {**c, "contact_id": i} for c, i in zip(plain, ids)]
        return data

    @property
    def final(self) -> bool:
        from .lifecycle import FINAL_STATES  # the chart's: imported late, the chart is built on these models

        return self.state in FINAL_STATES

    @property
    def seq(self) -> int:
        return self.trimmed_history + len(self.history)

    @property
    def planned_end(self) -> date | None:
        return self.reviews_extended_end or self.planned_end_date

    @property
    def reviews_extended_end(self) -> date | None:
        ends = [r.new_end_date for r in self.reviews if r.new_end_date]
        return ends[-1] if ends else None
