"""What crosses into and out of workflows: the placement workflow's input
and snapshot, and one pydantic model per activity's input and result,
imported by both sides, so workflow code never imports an activity's
implementation (its database, its mail relay) and an activity never imports
workflow code. Pure data, no behaviour. Workflow code imports it passed
through the sandbox, so these models are built once a process rather than
for every workflow the worker starts."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel

from domain.calendar import SchoolCalendar
from domain.deadlines import Deadline
from domain.directory import SchoolContacts
from domain.letters import LinkRequest, RecipientRole
from domain.models import Placement
from domain.settings import PolicySettings

# The error type of a letter the mail relay refuses: never retried.
REFUSED_BY_RELAY = "LetterRefusedByRelay"


class PlacementInput(BaseModel):
    placement: Placement
    calendar: SchoolCalendar
    settings: PolicySettings = PolicySettings()
    # The school's entry in the trust's directory: who signs and receives its
    # letters. Without one the placement sends no letters.
    directory: SchoolContacts | None = None
    # Continue-as-new once history holds this many events (Temporal also
    # suggests it on its own well before its hard limits).
    max_history_events: int = 10_000
    start_blocked: list[dict] = []
    continued: bool = False
    # How often a letter is tried before it is recorded as not sent (a relay
    # that refuses it outright is not retried at all).
    letter_attempts: int = 10


class Snapshot(BaseModel):
    placement: Placement
    possible_actions: list[str]
    deadlines: list[Deadline]
    start_blocked: list[dict]
    """What stopped the automatic start on the start date, until staff resolve it."""
    stale: bool = False
    """True when the workflow did not answer and this is the register's copy, which may be behind it."""


class Projection(BaseModel):
    """The placement as the register should hold it (`project_placement`)."""

    placement: Placement
    next_deadline: date | None = None
    planned_end: date | None = None
    """Its planned last day; for a stated number of days, counted on the school's calendar."""


class LetterRequest(BaseModel):
    """One letter to send exactly once (`send_document`)."""

    idempotency_key: str  # placement id : event : kind : recipient role
    placement_id: str
    event: str  # the history seq or escalation id the letter answers
    kind: str
    role: RecipientRole
    to: str
    context: dict[str, Any]
    link: LinkRequest | None = None  # a provider's link to issue and put in `context.link.url`
    # "post": rendered and put on the school's list of letters to print and post.
    delivery: Literal["email", "post"] = "email"


class LetterResult(BaseModel):
    document_id: str
    status: Literal["sent", "already_sent", "unconfirmed", "to_post"]
    sha256: str
    sent_at: datetime | None = None  # when it left: the moment its rules count from


class HandOver(BaseModel):
    """A letter on the list to post was posted, or one was handed over (`record_hand_over`)."""

    document_id: str
    method: Literal["post", "by_hand"]
    by: str


class SweepRequest(BaseModel):
    """Which sessions of a day the attendance sweep checks (`sweep_attendance`)."""

    day: date
    sessions: list[Literal["am", "pm"]]


class SweepReport(BaseModel):
    day: date
    sessions: list[str]
    schools_open: int = 0
    schools_closed: int = 0
    missing: int = 0  # missing marks this sweep acted on: chased, or escalated
    unexplained_absence: int = 0
    chased: int = 0  # providers sent a chase
    not_chased: int = 0  # missing marks escalated at once: the provider could not be chased
    signalled: int = 0
    not_found: int = 0
    query_seconds: float = 0.0  # finding them, in the database
    signal_seconds: float = 0.0  # telling their workflows and recording it


class ProviderSweepRequest(BaseModel):
    """The day the providers' sweep looks ahead from (`sweep_providers`)."""

    day: date


class ProviderSweepReport(BaseModel):
    day: date
    providers: int = 0  # providers of running placements with something expiring or expired
    signalled: int = 0  # placements told
    not_found: int = 0  # placements with no running workflow
