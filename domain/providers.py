"""The trust's providers: each vetted once, its record serving every
placement there until something on it expires (policy appendix, §7, §9).

A record holds the provider's details as a placement carries them
(`Provider`), the vetting checklist with when each item was seen and, for
an item that lapses, when it expires, and the insurance with its amounts
and expiry dates. `problems` says what has expired or expires soon, each
with its clause; an expired certificate or required check blocks a new
placement there (`blocking`). `gaps` says what the record lacks to serve
as a vetting: the placement's own vetting guard, less what depends on the
pupil (§7.1 registration). Pure: no I/O.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import Field, model_validator

from . import guards
from .checklist import CHECKLIST, REQUIRED_ITEMS
from .models import CheckEntry, Escalation, Insurance, Model, Person, Provider, Role, Site, TrustException, Vetting
from .settings import PolicySettings

# Opaque, made by apflow: never a name, in addresses and in logs.
ProviderId = Annotated[str, Field(pattern=r"^prov-[0-9a-f]{32}$")]
PROVIDER_ID_PATTERN = r"^prov-[0-9a-f]{32}$"

ChecklistKey = Literal["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q"]
assert set(ChecklistKey.__args__) == set(CHECKLIST)  # the appendix's items, no more

SectionKey = Literal["voice", "quality", "documents"]
Short = Annotated[str, Field(min_length=1, max_length=200)]
Note = Annotated[str, Field(max_length=2000)]

INSURANCE = "appendix: insurance"


def check_clause(key: str) -> str:
    return f"appendix checklist ({key})"


class SiteDetails(Site):
    name: Short
    address: Annotated[str, Field(min_length=1, max_length=500)]
    postcode: Annotated[str, Field(pattern=r"(?i)^[A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2}$")]  # a UK postcode


class PersonDetails(Person):
    name: Short
    role: Annotated[str, Field(max_length=100)] | None = None
    phone: Annotated[str, Field(pattern=r"^[0-9+() -]{3,40}$")] | None = None


class TrustExceptionDetails(TrustException):
    approved_by: Short
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class ProviderDetails(Provider):
    """A provider's details as the trust's list keeps them: a placement's
    `Provider`, each part with the sizes and shapes a list can hold."""

    name: Short
    sites: Annotated[list[SiteDetails], Field(max_length=20)] = Field(default_factory=list)
    trust_exception: TrustExceptionDetails | None = None
    dsl: PersonDetails | None = None
    deputy_dsl: PersonDetails | None = None
    named_contact: PersonDetails | None = None
    full_time_pupils_of_compulsory_age: Annotated[int, Field(ge=0, le=100_000)] = 0


class CheckRecord(CheckEntry):
    """One checklist item: seen (when), not seen, or not applicable with a
    reason; an item that lapses (a DBS check, a risk assessment) with the
    day it expires."""

    note: Note | None = None
    seen_on: date | None = None
    expires_on: date | None = None

    @model_validator(mode="after")
    def _expires_after_seen(self) -> CheckRecord:
        if self.seen_on and self.expires_on and self.expires_on < self.seen_on:
            raise ValueError("expires_on: an item cannot expire before it was seen")
        return self


class InsuranceRecord(Insurance):
    """The certificates seen: each cover's amount in pounds (`Insurance`)
    and the last day it is in force."""

    public_liability: Annotated[int, Field(ge=0, le=10**12)]
    employers_liability: Annotated[int, Field(ge=0, le=10**12)]
    professional_negligence: Annotated[int, Field(ge=0, le=10**12)]
    public_liability_expires_on: date
    employers_liability_expires_on: date
    professional_negligence_expires_on: date
    motor_vehicle_expires_on: date | None = None  # with motor vehicle insurance

    def cover(self) -> Insurance:
        """The amounts as a placement's vetting records them."""
        return Insurance(**self.model_dump(include=set(Insurance.model_fields)))

    def expiries(self) -> list[tuple[str, date]]:
        found = [("public liability insurance", self.public_liability_expires_on),
                 ("employer's liability insurance", self.employers_liability_expires_on),
                 ("professional negligence insurance", self.professional_negligence_expires_on)]
        if self.motor_vehicle and self.motor_vehicle_expires_on:
            found.append(("motor vehicle insurance", self.motor_vehicle_expires_on))
        return found


class ProviderIn(Model):
    """What staff record of a provider: its details and its vetting."""

    provider: ProviderDetails
    checklist: dict[ChecklistKey, CheckRecord] = Field(default_factory=dict)
    insurance: InsuranceRecord | None = None
    safeguarding_confirmation_received_on: date | None = None  # §9.2
    other_sections: dict[SectionKey, Note] = Field(default_factory=dict)  # voice, quality, documents


class ProviderRecord(ProviderIn):
    """A provider on the trust's list, as stored: its id and version are apflow's."""

    provider_id: ProviderId
    version: Annotated[int, Field(ge=1)] = 1

    def vetting(self) -> Vetting:
        """The record as a placement's vetting (`Vet`'s data)."""
        return Vetting(
            checklist={k: CheckEntry(status=c.status, note=c.note) for k, c in self.checklist.items()},
            insurance=self.insurance.cover() if self.insurance else None,
            safeguarding_confirmation_received_on=self.safeguarding_confirmation_received_on,
            other_sections=dict(self.other_sections),
        )

    def as_provider(self) -> Provider:
        """The details a placement at this provider carries."""
        return Provider.model_validate(self.provider.model_dump())


@dataclass(frozen=True)
class Problem:
    """Something on a provider's record that has expired or soon will."""

    what: str  # "public liability insurance", "checklist item 'k. Child protection …'"
    clause: str
    expires_on: date
    expired: bool  # past its last day: blocks new placements there

    def message(self, today: date) -> str:
        if self.expired:
            return (f"the provider's {self.what} expired on {self.expires_on}: no new placement can be proposed there "
                    "until a current one is recorded on the provider's record")
        days = (self.expires_on - today).days
        when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
        return f"the provider's {self.what} expires on {self.expires_on} ({when}): record the renewed one before then"


def problems(record: ProviderIn, today: date, warn_days: int) -> list[Problem]:
    """What on the record has expired (its last day before `today`) or
    expires within `warn_days`, soonest first, each with its clause. An
    expired insurance or required check blocks new placements (§7.3, the
    appendix); "other" (q) is the trust's own and only warns."""
    horizon = today + timedelta(days=warn_days)
    found: list[Problem] = []
    if record.insurance is not None:
        for what, last in record.insurance.expiries():
            if last <= horizon:
                found.append(Problem(what, INSURANCE, last, last < today))
    for key, check in record.checklist.items():
        if check.expires_on is None or check.status.value == "not_applicable" or check.expires_on > horizon:
            continue
        expired = check.expires_on < today and key in REQUIRED_ITEMS
        found.append(Problem(f"checklist item '{key}. {CHECKLIST[key]}'", check_clause(key), check.expires_on, expired))
    return sorted(found, key=lambda p: (p.expires_on, p.what))


def blocking(record: ProviderIn, today: date) -> list[guards.Unmet]:
    """Why no new placement may be proposed at this provider today: each
    expired certificate or required check, with its clause."""
    return [guards.Unmet(p.clause, p.message(today)) for p in problems(record, today, 0) if p.expired]


def next_expiry(record: ProviderIn) -> date | None:
    """The first day anything on the record that blocks placements lapses after."""
    days = [d for _, d in record.insurance.expiries()] if record.insurance else []
    days += [c.expires_on for k, c in record.checklist.items()
             if c.expires_on and k in REQUIRED_ITEMS and c.status.value != "not_applicable"]
    return min(days, default=None)


def next_warning(record: ProviderIn) -> date | None:
    """The first day anything on the record `problems` would name lapses
    after, blocking or not: `problems` finds none while it is beyond the
    warning days."""
    days = [d for _, d in record.insurance.expiries()] if record.insurance else []
    days += [c.expires_on for c in record.checklist.values() if c.expires_on and c.status.value != "not_applicable"]
    return min(days, default=None)


@dataclass(frozen=True)
class _Plan:
    full_time: bool = False


@dataclass(frozen=True)
class _AnyPupil:
    looked_after: bool = False
    ehc_plan: bool = False


@dataclass(frozen=True)
class _Candidate:
    """What the vetting guard reads of a placement, for a provider alone."""

    provider: Provider
    vetting: Vetting
    pattern: _Plan = _Plan()
    pupil: _AnyPupil = _AnyPupil()


def gaps(record: ProviderRecord, settings: PolicySettings) -> list[guards.Unmet]:
    """What the record lacks to serve as a placement's vetting: the vetting
    guard's own conditions (checklist, insurance minimums, LA approval or a
    trust exception, safeguarding confirmation, DSL and deputy, sites),
    less §7.1, which depends on the pupil and the pattern and is judged at
    each placement's `vet`."""
    candidate = _Candidate(provider=record.as_provider(), vetting=record.vetting())
    found = guards.vetting(candidate, guards.Context(today=date.min, calendar=None, actor=None, settings=settings))  # type: ignore[arg-type]
    found += [guards.Unmet(check_clause(k), f"checklist item '{CHECKLIST[k]}' is marked seen without the day it was seen")
              for k, c in sorted(record.checklist.items()) if c.status.value == "seen" and c.seen_on is None]
    if record.insurance is None:
        return [u for u in found if u.clause != "§7.1"]
    if record.insurance.motor_vehicle and record.insurance.motor_vehicle_expires_on is None:
        found.append(guards.Unmet(INSURANCE, "the motor vehicle insurance's expiry date is not recorded"))
    return [u for u in found if u.clause != "§7.1"]


def status(record: ProviderRecord, today: date, settings: PolicySettings) -> str:
    """In a word: `expired` (blocks new placements), `expiring` (within the
    warning days), `not_vetted` (the record lacks something), `current`."""
    found = problems(record, today, settings.providers.warn_days)
    if any(p.expired for p in found):
        return "expired"
    if gaps(record, settings):
        return "not_vetted"
    return "expiring" if found else "current"


# --- the escalation ahead of time ------------------------------------------------


class ProviderAlert(Model):
    """What the daily providers' sweep found on the record of a running
    placement's provider: a certificate or check expiring, or expired."""

    provider_id: ProviderId
    what: Annotated[str, Field(min_length=1, max_length=300)]
    clause: Annotated[str, Field(min_length=1, max_length=100)]
    expires_on: date
    expired: bool
    found_on: date

    @classmethod
    def of(cls, provider_id: str, problem: Problem, today: date) -> ProviderAlert:
        return cls(provider_id=provider_id, what=problem.what, clause=problem.clause, expires_on=problem.expires_on,
                   expired=problem.expired, found_on=today)


def provider_escalation(alert: ProviderAlert, at) -> Escalation:
    """The AP lead's escalation: once ahead of the day (the warning days), and
    once more when it has passed; a renewed certificate, with its new date, is
    a new cause only when it too comes near its end."""
    stage = "expired" if alert.expired else "expiring"
    problem = Problem(alert.what, alert.clause, alert.expires_on, alert.expired)
    return Escalation(
        escalation_id=f"provider_{stage}:{alert.provider_id}:{alert.clause}:{alert.expires_on}",
        kind=f"provider_{stage}", clause=alert.clause, owner=Role.ap_lead,
        message=problem.message(alert.found_on) + (
            "; this placement goes on, but see that the provider is covered" if alert.expired else ""),
        raised_at=at, due=alert.expires_on,
    )
