"""What the trust's register of placements shows of each one (§3.7, §8.2.3:
progress, achievements, destination and the pupil's own assessment), and
what the school tells the local authority of each placement it commissions
(§8.1, for the LA's record of children not in full-time school, §13.4.1)
and the school census of it. Each is kept with the placement's register row
(`store.register`), so the exports read a few fields, not whole placements.
Pure: a placement in, plain values out."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from .census import leaving_date, sessions_per_week
from .lifecycle import FINAL_STATES
from .models import Destination, Pattern, Placement


def destination(p: Placement) -> Destination | None:
    """Where the pupil went: recorded at close, or as the next destination at termination."""
    if p.closure is not None and p.closure.destination is not None:
        return p.closure.destination
    return p.termination.next_destination if p.termination is not None else None


def progress(p: Placement) -> str | None:
    """The latest word on progress: the last review's record, else the provider's last report."""
    if p.reviews:
        return p.reviews[-1].record
    reports = p.progress_reports or ([p.initial_assessment] if p.initial_assessment else [])
    return reports[-1].summary if reports else None


@dataclass(frozen=True)
class RegisterEntry:
    """What the register shows of a placement; kept with its row as
    `Returns` is, and so changed the same way."""

    placement_id: str
    school_id: str
    pupil_name: str
    state: str
    kind: str
    provider_name: str
    start_date: date
    end_date: date | None  # the day it ended; while it runs, its planned end
    planned_end_date: date | None  # as planned, extensions agreed at reviews included
    progress: str | None
    achievements: str | None
    final_report: str | None
    destination: str | None
    pupil_view: str | None


def register_entry(p: Placement, planned_end: date | None) -> RegisterEntry:
    """`planned_end` as `census.leaving_date` takes it."""
    c, d = p.closure, destination(p)
    return RegisterEntry(
        placement_id=p.placement_id, school_id=p.school.school_id, pupil_name=p.pupil.name, state=p.state.value,
        kind=p.kind.value, provider_name=p.provider.name, start_date=p.start_date, end_date=leaving_date(p, planned_end),
        planned_end_date=planned_end, progress=progress(p), achievements=c.achievements if c else None,
        final_report=c.final_report.summary if c and c.final_report else None,
        destination=f"{d.kind.value.replace('_', ' ').capitalize()}: {d.name}, from {d.from_date.isoformat()}" if d else None,
        pupil_view=c.pupil_view if c else None,
    )


@dataclass(frozen=True)
class Returns:
    """What the LA's notice and the school census return of a placement.
    Its sessions a week are not kept but counted from its pattern at each
    export, under the trust's session boundary as it is then. Rows keep it
    as JSON: a field added here needs a migration that empties the column,
    so that every row is filled again (`store.register.fill_entries`)."""

    placement_id: str
    school_urn: str
    school_name: str
    local_authority: str
    pupil_name: str
    upn: str | None
    date_of_birth: date
    year_group: int
    ehc_plan: bool
    looked_after: bool
    kind: str
    state: str
    provider_name: str
    provider_type: str
    provider_urn: str | None
    provider_ukprn: str | None
    setting_type: str | None
    provider_sites: str
    start_date: date
    planned_end_date: date | None
    leaving_date: date | None  # the day it ended; while it runs, its planned end (`census.leaving_date`)
    pattern: Pattern
    reasons: str
    census_reason: str | None
    la_informed_on: date | None


def returns(p: Placement, planned_end: date | None) -> Returns:
    """`planned_end` as `census.leaving_date` takes it."""
    return Returns(
        placement_id=p.placement_id, school_urn=p.school.school_id, school_name=p.school.name,
        local_authority=p.school.local_authority, pupil_name=p.pupil.name, upn=p.pupil.upn,
        date_of_birth=p.pupil.date_of_birth, year_group=p.pupil.year_group, ehc_plan=p.pupil.ehc_plan,
        looked_after=p.pupil.looked_after, kind=p.kind.value, state=p.state.value, provider_name=p.provider.name,
        provider_type=p.provider.provider_type.value, provider_urn=p.provider.urn, provider_ukprn=p.provider.ukprn,
        setting_type=p.provider.setting_type,
        provider_sites="; ".join(f"{s.name}, {s.address}, {s.postcode}" for s in p.provider.sites),
        start_date=p.start_date, planned_end_date=planned_end, leaving_date=leaving_date(p, planned_end),
        pattern=p.pattern, reasons=p.reasons, census_reason=p.census_reason,
        la_informed_on=p.la_consultation.informed_on if p.la_consultation else None,
    )


@dataclass(frozen=True)
class LANotice:
    """What the school tells the LA of a placement it commissions (§8.1):
    who, where, from when to when, how much of the week, and why."""

    placement_id: str
    school_urn: str
    school_name: str
    local_authority: str
    pupil_name: str
    upn: str | None
    date_of_birth: date
    year_group: int
    ehc_plan: bool
    looked_after: bool
    kind: str
    state: str
    provider_name: str
    provider_type: str
    provider_urn: str | None
    provider_ukprn: str | None
    provider_sites: str
    start_date: date
    planned_end_date: date | None
    end_date: date | None
    full_time: bool
    days: str
    sessions_per_week: int
    reasons: str
    la_informed_on: date | None


def la_notice(r: Returns, boundary: time) -> LANotice:
    return LANotice(
        placement_id=r.placement_id, school_urn=r.school_urn, school_name=r.school_name,
        local_authority=r.local_authority, pupil_name=r.pupil_name, upn=r.upn, date_of_birth=r.date_of_birth,
        year_group=r.year_group, ehc_plan=r.ehc_plan, looked_after=r.looked_after, kind=r.kind, state=r.state,
        provider_name=r.provider_name, provider_type=r.provider_type, provider_urn=r.provider_urn,
        provider_ukprn=r.provider_ukprn, provider_sites=r.provider_sites, start_date=r.start_date,
        planned_end_date=r.planned_end_date, end_date=r.leaving_date if r.state in FINAL_STATES else None,
        full_time=r.pattern.full_time, days=",".join(d.value for d in r.pattern.days),
        sessions_per_week=sessions_per_week(r.pattern, boundary), reasons=r.reasons, la_informed_on=r.la_informed_on,
    )
