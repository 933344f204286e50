"""The policy's guards, one function per lifecycle step.

Each guard looks at a candidate placement (the placement with the action's
data already folded in) and returns every unmet condition, each naming its
policy clause. An empty list means the step may go ahead.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Callable

from .calendar import SchoolCalendar
from .checklist import CHECKLIST, REQUIRED_ITEMS
from .clock import uk_date
from .models import (
    SAFEGUARDING_LEADS,
    Actor,
    CheckStatus,
    Delivery,
    LetterCopy,
    Concern,
    HistoryEntry,
    PlacementKind,
    Placement,
    Proposal,
    ProviderReport,
    ProviderType,
    ReviewOutcome,
    ReviewRecord,
    Role,
)
from .settings import PolicySettings


@dataclass(frozen=True)
class Unmet:
    """One condition a step is missing, and the clause that asks for it."""

    clause: str
    message: str

    def __str__(self) -> str:
        return f"{self.message} ({self.clause})"


@dataclass(frozen=True)
class Context:
    """What a guard may know besides the placement: the date, the school's
    calendar, the trust's settings and who is acting."""

    today: date
    calendar: SchoolCalendar
    actor: Actor
    settings: PolicySettings = field(default_factory=PolicySettings)


Guard = Callable[[Placement, Context], list[Unmet]]


def proposal(p: Placement, ctx: Context) -> list[Unmet]:
    """What a proposal must hold (§3.6, commissioning agreement)."""
    unmet: list[Unmet] = []
    if not 1 <= len(p.objectives) <= 3:
        unmet.append(Unmet("§3.6; commissioning agreement", "a placement needs one to three objectives, each with a baseline"))
    if p.planned_end_date is None and p.number_of_days is None:
        unmet.append(Unmet("§2.3; DfE guidance 2025", "a placement needs a planned end date or a number of days: it is time-limited"))
    if p.planned_end_date is not None and p.planned_end_date <= p.start_date:
        unmet.append(Unmet("§2.3", "the planned end date must be after the start date"))
    if not ctx.calendar.is_school_day(p.start_date):
        unmet.append(Unmet("RULES: school day", f"the start date {p.start_date} is not a school day"))
    elif p.start_date > ctx.today and (p.notice is None or p.notice.for_start != p.start_date):
        # A start today or before is a placement recorded after the fact: its
        # notice, given outside apflow, is recorded at `notify` with its copy.
        unmet += notice_timing(p, expected_given_on([], ctx), ctx)
    if p.kind is PlacementKind.ehcp_placement and not p.pupil.ehc_plan:
        unmet.append(Unmet("§3", "an EHCP placement is for a pupil with an EHC plan"))
    if p.kind is PlacementKind.suspension_cover:
        if not p.pattern.full_time:
            unmet.append(Unmet("§13.2", "suspension cover must be full-time education"))
        if p.suspension_first_day is None:
            unmet.append(Unmet("§13.2", "suspension cover needs the first day of the suspension"))
        else:
            sixth = ctx.calendar.nth_school_day(p.suspension_first_day, 6)
            if p.start_date > sixth:
                unmet.append(Unmet("§13.2", f"full-time education must start by the sixth school day of the suspension ({sixth})"))
    return unmet


def registration_required(p: Placement, settings: PolicySettings) -> bool:
    """§7.1: an unregistered provider must register to teach full time five or
    more pupils of compulsory school age, or one looked after, or one with an
    EHC plan. The provider's count is of pupils already on its roll."""
    if p.provider.provider_type is not ProviderType.unregistered or not p.pattern.full_time:
        return False
    pupils = p.provider.full_time_pupils_of_compulsory_age + 1
    return pupils >= settings.registration_pupil_threshold or p.pupil.looked_after or p.pupil.ehc_plan


def vetting(p: Placement, ctx: Context) -> list[Unmet]:
    """The provider checklist, insurance, registration, approval and
    safeguarding (§7, §9, appendix)."""
    unmet: list[Unmet] = []
    v = p.vetting
    checklist = v.checklist if v else {}
    for key in REQUIRED_ITEMS:
        entry = checklist.get(key)
        label = CHECKLIST[key]
        if entry is None:
            unmet.append(Unmet(f"appendix checklist ({key})", f"checklist item '{label}' is not recorded"))
        elif entry.status is CheckStatus.not_seen:
            unmet.append(Unmet(f"appendix checklist ({key})", f"checklist item '{label}' has not been seen"))
        elif entry.status is CheckStatus.not_applicable and not entry.note:
            unmet.append(Unmet(f"appendix checklist ({key})", f"checklist item '{label}' is marked not applicable without a reason"))
    unknown = sorted(set(checklist) - set(CHECKLIST))
    if unknown:
        unmet.append(Unmet("appendix checklist", f"unknown checklist items: {', '.join(unknown)}"))

    ins = v.insurance if v else None
    s = ctx.settings
    if ins is None:
        unmet.append(Unmet("appendix: insurance", "the provider's insurance cover is not recorded"))
    else:
        for name, have, need in (
            ("public liability", ins.public_liability, s.min_public_liability),
            ("employer's liability", ins.employers_liability, s.min_employers_liability),
            ("professional negligence", ins.professional_negligence, s.min_professional_negligence),
        ):
            if have < need:
                unmet.append(Unmet("appendix: insurance", f"{name} cover is £{have:,}; at least £{need:,} is required"))
        if p.provider.transports_pupils and not ins.motor_vehicle:
            unmet.append(Unmet("appendix: insurance", "the provider transports pupils but has no motor vehicle insurance"))
        if ins.uses_subcontractors and not ins.subcontractors_same_levels:
            unmet.append(Unmet("appendix: insurance", "subcontractors must hold the same levels of insurance"))

    if registration_required(p, s):
        unmet.append(Unmet("§7.1", "the provider must be registered as an independent school to teach this pupil full time"))
    if not p.provider.la_approved and p.provider.trust_exception is None:
        unmet.append(Unmet("§7.3", "the provider is not LA-approved and has no recorded trust exception"))
    if v is None or v.safeguarding_confirmation_received_on is None:
        unmet.append(Unmet("§9.2", "written confirmation of the provider's safeguarding checks is not recorded"))
    if p.provider.dsl is None:
        unmet.append(Unmet("§9.9", "the provider's designated safeguarding lead is not named"))
    if p.provider.deputy_dsl is None:
        unmet.append(Unmet("§9.9", "the provider's deputy safeguarding lead is not named"))
    if not p.provider.sites:
        unmet.append(Unmet("§9.5", "the actual address of every site the pupil attends is needed"))
    return unmet


def la_consultation(p: Placement, ctx: Context) -> list[Unmet]:
    unmet: list[Unmet] = []
    c = p.la_consultation
    if c is None or c.informed_on is None or not c.la_contact:
        unmet.append(Unmet("§8.1", "the local authority must be informed of the placement (date and contact)"))
    elif c.informed_on > ctx.today:
        unmet.append(Unmet("§8.1", "the date the LA was informed cannot be in the future"))
    if p.pupil.ehc_plan:
        if c is None or c.ehcp is None:
            unmet.append(Unmet("§3.1-3.2, §3.8", "for a pupil with an EHC plan the LA's agreement must be recorded, with whether the plan is to be amended"))
        elif not c.ehcp.agreed:
            unmet.append(Unmet("§3.2", "the LA has not agreed to this placement for a pupil with an EHC plan"))
    return unmet


def notice(p: Placement, ctx: Context) -> list[Unmet]:
    """The written notice and its timing (§6.4-6.6)."""
    unmet: list[Unmet] = []
    if not p.provider.sites:
        unmet.append(Unmet("§6.6.1", "the notice needs the address where education will be provided"))
    if p.report_to is None:
        unmet.append(Unmet("§6.6.2", "the notice needs the person the pupil reports to on the first day"))
    if number_of_days(p, ctx.calendar) is None:
        unmet.append(Unmet("§6.6.3", "the notice needs the number of days of the placement"))
    if not p.reasons or not p.objectives:
        unmet.append(Unmet("§6.6.4", "the notice needs the reasons for and objectives of the placement"))
    if not p.parent_contacts:
        unmet.append(Unmet("commissioning agreement", "parent or carer contact details are needed"))
    if not p.emergency_contacts:
        unmet.append(Unmet("commissioning agreement", "emergency contacts are needed"))
    if p.kind in (PlacementKind.off_site_direction, PlacementKind.suspension_cover) and p.reintegration_plan is None:
        unmet.append(Unmet("§2.4", "a reintegration plan must be agreed at the beginning of the placement"))
    if p.kind is PlacementKind.off_site_direction and ctx.actor.role is not Role.headteacher:
        unmet.append(Unmet("§6.4-6.5", "the headteacher gives the notice of an off-site direction"))
    if p.notice is not None:
        if any(_handed_over_after(c, ctx.today) for c in p.notice.copies):
            unmet.append(Unmet("§6.5", "a notice cannot be recorded as given (or posted) in the future"))
        unmet += notice_timing(p, expected_given_on(p.notice.copies, ctx), ctx)
    return unmet


def _handed_over_after(c: LetterCopy, today: date) -> bool:
    day = c.posted_on or c.given_on
    return day is not None and day > today


def counts_from(delivery: Delivery, day: date, ctx: Context) -> date:
    """The day a letter sent, handed over or posted on `day` counts as given:
    that day, or for the post the day it is deemed received (RULES, Words)."""
    if delivery is Delivery.post:
        return ctx.calendar.deemed_received(day, ctx.settings.post_deemed_received_working_days)
    return day


def expected_given_on(copies: list[LetterCopy], ctx: Context) -> date:
    """When every copy will have been given if apflow sends the rest now: an
    email today, a letter posted today once deemed received."""
    return max((c.given_on or counts_from(c.delivery, ctx.today, ctx) for c in copies), default=ctx.today)


def notice_timing(p: Placement, given: date, ctx: Context) -> list[Unmet]:
    """§6.5: two clear school days between the day notice is given (or deemed
    received) and the first day; neither counts (RULES, Words)."""
    need, cal = ctx.settings.notice_school_days, ctx.calendar
    if cal.clear_school_days(given, p.start_date) >= need:
        return []
    return [Unmet("§6.5", (
        f"notice given on {given} leaves {max(cal.clear_school_days(given, p.start_date), 0)} clear school days before "
        f"the start date {p.start_date}; {need} are needed, so notice had to be given by {cal.latest_notice_day(p.start_date, need)}: "
        f"a new start date is needed, {cal.earliest_start(given, need)} at the earliest"
    ))]


def concern_escalation_id(concern: Concern) -> str:
    """The escalation the clock raises to the DSL for a concern (§9.7)."""
    return f"safeguarding:{concern.concern_id}"


def open_concerns(p: Placement) -> list[Concern]:
    """Safeguarding concerns the DSL has not yet recorded as addressed, by
    resolving the concern's escalation (§9.7)."""
    addressed = {e.escalation_id for e in p.escalations if not e.open}
    return [c for c in p.concerns if concern_escalation_id(c) not in addressed]


def _open_concerns_block(p: Placement, what: str) -> list[Unmet]:
    return [
        Unmet("§9.7", f"safeguarding concern {c.concern_id} raised on {c.raised_on} is open: {what} until the "
                      "designated safeguarding lead records it as addressed; otherwise the placement is terminated")
        for c in open_concerns(p)
    ]


def start(p: Placement, ctx: Context) -> list[Unmet]:
    unmet = _open_concerns_block(p, "the placement cannot start")
    if ctx.today < p.start_date:
        unmet.append(Unmet("§6.5", f"the start date {p.start_date} has not been reached"))
    if p.notice is None:
        unmet.append(Unmet("§6.5", "written notice has not been given"))
    elif p.notice.given_on is None:
        waiting = [c for c in p.notice.copies if c.given_on is None]
        unmet.append(Unmet("§6.5", "the notice has not been given to " + ", ".join(
            f"{c.recipient} ({_waiting_for(c)})" for c in waiting)))
    else:
        unmet += notice_timing(p, p.notice.given_on, ctx)
    if p.provider.registered_school and (p.dual_registration_from is None or p.dual_registration_from > p.start_date):
        unmet.append(Unmet("§5.1.5, §8.2.4", "the pupil must be dual registered from the first day at a provider that is a registered school"))
    return unmet


def _waiting_for(c: LetterCopy) -> str:
    if c.failed:
        return f"apflow could not send it: {c.failed}; hand it over or post it and record that"
    if c.delivery is Delivery.post:
        return "on the school's list of letters to post: mark it posted once it is"
    return "being sent"


def review_booking(p: Placement, ctx: Context) -> list[Unmet]:
    """A review meeting on a school day with parents invited in writing (§6.8)."""
    unmet: list[Unmet] = []
    meeting = p.review_meetings[-1]
    days = ctx.settings.review_invitation_days
    if meeting.meeting_on < ctx.today:
        unmet.append(Unmet("§6.8", "the review meeting cannot be in the past"))
    if not ctx.calendar.is_school_day(meeting.meeting_on):
        unmet.append(Unmet("§6.8, §9.6", f"the review meeting is booked on {meeting.meeting_on}, which is not a school day at this school"))
    if meeting.invitation:
        if any(_handed_over_after(c, ctx.today) for c in meeting.invitation):
            unmet.append(Unmet("§6.8", "an invitation cannot be given in the future"))
        invited = expected_given_on(meeting.invitation, ctx)
        if meeting.meeting_on - invited < timedelta(days=days):
            earliest = invited + timedelta(days=days)
            unmet.append(Unmet("§6.8", f"parents must be invited at least {days} days before the meeting: invited on {invited}, the earliest meeting date is {earliest}"))
    return unmet


def claimed_dates(action) -> list[Unmet]:
    """Dates older versions let a caller claim for a letter apflow sends now."""
    if getattr(action, "sent_on", None) is not None:
        return [Unmet("§6.5", "`sent_on` is not accepted: a notice is dated when it is given; leave it out and apflow sends it now, or record a notice given by hand or by post in `given_outside` with its copy")]
    if getattr(action, "invitation_sent_on", None) is not None:
        return [Unmet("§6.8", "`invitation_sent_on` is not accepted: an invitation is dated when it is given; leave it out and apflow sends it now, or record one given by hand or by post in `given_outside` with its copy")]
    return []


def delivery_record(p: Placement, ctx: Context, action) -> list[Unmet]:
    """A copy waiting to be posted or handed over is recorded as given."""
    copies = (p.notice.copies if p.notice else []) + [c for m in p.review_meetings for c in m.invitation]
    match = [c for c in copies if c.document_id == action.document_id]
    if not match:
        return [Unmet("§6.5, §6.8", f"no notice or invitation {action.document_id} waits to be given on this placement")]
    if all(c.given_on is not None for c in match):
        return [Unmet("§6.5, §6.8", f"{action.document_id} was given already, on {max(c.given_on for c in match)}")]
    return []


def _reviews_opened(p: Placement) -> list[HistoryEntry]:
    """Each step that put the placement under review: a meeting booked
    (`open_review`) or a safeguarding concern (`raise_concern`)."""
    return [h for h in p.history if h.to_state == "under_review" and h.from_state != "under_review"]


def went_under_review(p: Placement) -> HistoryEntry | None:
    opened = _reviews_opened(p)
    return opened[-1] if opened else None


def _current_review(p: Placement) -> list[Unmet]:
    # Each time the placement goes under review it needs a review of its own:
    # under review for a concern there may be no meeting booked.
    if len(p.reviews) < max(len(p.review_meetings), len(_reviews_opened(p))) or not p.reviews:
        return [Unmet("§6.8", "the review must be recorded in writing, with the parents' view")]
    return []


def review_continue(p: Placement, ctx: Context) -> list[Unmet]:
    unmet = _open_concerns_block(p, "the review cannot continue the placement")
    missing = _current_review(p)
    if missing:
        return missing + unmet
    r = p.reviews[-1]
    if r.outcome not in (ReviewOutcome.continue_, ReviewOutcome.extend):
        unmet.append(Unmet("§6.8", f"a review with outcome '{r.outcome}' does not continue the placement"))
    if r.outcome is ReviewOutcome.continue_ and r.new_end_date is not None:
        # A new end date moves the planned end (Placement.planned_end): that is an extension.
        unmet.append(Unmet("DfE guidance 2025: maximum period", "only an extension, with a reason, changes the end date"))
    if r.outcome is ReviewOutcome.extend:
        earlier_ends = [x.new_end_date for x in p.reviews[:-1] if x.new_end_date]
        current_end = earlier_ends[-1] if earlier_ends else p.planned_end_date
        if r.new_end_date is None or (current_end and r.new_end_date <= current_end):
            unmet.append(Unmet("DfE guidance 2025: maximum period", "an extension needs a new end date after the current one"))
        if not r.extension_reason:
            unmet.append(Unmet("DfE guidance 2025: maximum period", "an extension needs a reason"))
    return unmet


def _day_of(at: datetime) -> date:
    return uk_date(at) if at.tzinfo else at.date()


def review_held(p: Placement, review: ReviewRecord, ctx: Context) -> list[Unmet]:
    """A review is recorded as held only on a day it can have been: once the
    placement had started, not before the placement went under review (the
    meeting's booking, or the concern), and not in the future (§6.8, §9.6)."""
    clause = "§6.8, §9.6"
    held = review.held_on
    unmet: list[Unmet] = []
    if held > ctx.today:
        unmet.append(Unmet(clause, f"a review held on {held} is in the future (today is {ctx.today}): it cannot be recorded before it is held"))
    starts = [h for h in p.history if h.action == "start"]
    started_on = max(p.start_date, _day_of(starts[0].at)) if starts else None
    if started_on is None:
        unmet.append(Unmet(clause, f"the placement has not started: no review of it can have been held on {held}"))
    elif held < started_on:
        unmet.append(Unmet(clause, f"the placement started on {started_on}: a review held on {held} is before it"))
    opened = went_under_review(p)
    if opened is not None and held < _day_of(opened.at):
        why = "the review meeting was booked" if opened.action == "open_review" else "a safeguarding concern put it under review"
        unmet.append(Unmet(clause, f"{why} on {_day_of(opened.at)}: a review held on {held} is before it"))
    if review.next_review_on is not None and review.next_review_on <= held:
        unmet.append(Unmet("§9.6", f"the next review, on {review.next_review_on}, must be after this one, held on {held}"))
    return unmet


def reintegration(p: Placement, ctx: Context) -> list[Unmet]:
    unmet = _current_review(p)
    if not unmet and p.reviews[-1].outcome is not ReviewOutcome.reintegrate:
        unmet.append(Unmet("§2.7", "the review must decide on reintegration"))
    unmet += _open_concerns_block(p, "the placement cannot move to reintegration")
    if p.reintegration_plan is None:
        unmet.append(Unmet("§2.4, §2.7, §6.10, §8.2.7", "a reintegration plan with a support package from school and provider is needed"))
    return unmet


def closure(p: Placement, ctx: Context) -> list[Unmet]:
    unmet: list[Unmet] = []
    c = p.closure
    if c is None or c.final_report is None:
        unmet.append(Unmet("§2.6, §8.2.17", "the provider's final report is needed"))
    if c is None or c.destination is None:
        unmet.append(Unmet("§3.7, §8.2.19", "the pupil's destination must be recorded"))
    if c is None or not c.pupil_view:
        unmet.append(Unmet("§3.7, §8.2.18", "the pupil's own view of the placement must be recorded"))
    from .evaluations import end_evaluation_unmet  # it judges with these guards' types: imported late

    unmet += end_evaluation_unmet(p)  # the recorded end evaluation, all four parts
    return unmet


def termination(p: Placement, ctx: Context) -> list[Unmet]:
    """Ending early: with a reason and the pupil's next destination (§9.7, §10.1, §13.4.4).
    A safeguarding concern needs nothing more: termination is immediate (§9.7)."""
    unmet: list[Unmet] = []
    t = p.termination
    if t is None or not t.reason:
        unmet.append(Unmet("§9.7", "a reason for ending the placement is needed"))
    if t is None or t.next_destination is None:
        unmet.append(Unmet("§10.1, §13.4.4", "the pupil's next destination is needed: every child stays on a school roll"))
    return unmet


def contact(p: Placement, ctx: Context) -> list[Unmet]:
    c = p.contacts[-1]
    if c.on > ctx.today:
        return [Unmet("§2.5", "a contact cannot be recorded before it happens")]
    if c.on < p.start_date:
        return [Unmet("§2.5", f"the placement started on {p.start_date}: this contact is before it")]
    return []


def nothing_more(p: Placement, ctx: Context) -> list[Unmet]:
    return []


def last_review_within(p: Placement, day: date, weeks: int) -> date | None:
    held = [r.held_on for r in p.reviews if day - timedelta(weeks=weeks) < r.held_on <= day]
    return max(held) if held else None


def review_request(p: Placement, ctx: Context) -> list[Unmet]:
    """A written request from a parent, or the LA for an EHC plan, must be met
    unless a review was held in the last 10 weeks (2010 regulations as amended 2012)."""
    clause = "Education (Educational Provision for Improving Behaviour) Regulations 2010, as amended 2012"
    r = p.review_requests[-1]
    unmet: list[Unmet] = []
    if r.requested_by == "local_authority" and not p.pupil.ehc_plan:
        unmet.append(Unmet("§6.5, §8.2.8", "the LA requests reviews for a pupil with an EHC plan"))
    if r.received_on > ctx.today:
        unmet.append(Unmet(clause, "the request cannot be dated in the future"))
    weeks = ctx.settings.review_request_window_weeks
    held = last_review_within(p, r.received_on, weeks)
    if held:
        unmet.append(Unmet(clause, f"a review was held on {held}, within the last {weeks} weeks: a new one need not be held yet"))
    return unmet


def escalation_resolution(p: Placement, ctx: Context, action) -> list[Unmet]:
    match = [e for e in p.escalations if e.escalation_id == action.escalation_id]
    if not match:
        return [Unmet("escalations", f"no escalation {action.escalation_id} on this placement")]
    if not match[0].open:
        return [Unmet("escalations", f"escalation {action.escalation_id} was resolved already")]
    if match[0].kind == "safeguarding" and ctx.actor.role not in SAFEGUARDING_LEADS:
        return [Unmet("§9.7", f"only the designated safeguarding lead records a safeguarding concern as addressed ({action.escalation_id})")]
    return []


def _report(report: ProviderReport | None, ctx: Context, clause: str, what: str) -> list[Unmet]:
    if report is None:
        return [Unmet(clause, f"the {what} is missing")]
    if report.received_on > ctx.today:
        return [Unmet(clause, f"the {what} cannot be dated in the future")]
    return []


def initial_assessment(p: Placement, ctx: Context) -> list[Unmet]:
    return _report(p.initial_assessment, ctx, "§12.1.3", "provider's initial assessment")


def progress_report(p: Placement, ctx: Context) -> list[Unmet]:
    return _report(p.progress_reports[-1] if p.progress_reports else None, ctx, "§2.6, §12.1.7", "provider's progress report")


def final_report(p: Placement, ctx: Context) -> list[Unmet]:
    return _report(p.closure.final_report if p.closure else None, ctx, "§2.6, §8.2.17", "provider's final report")


def amendment(p: Placement, ctx: Context) -> list[Unmet]:
    unmet = proposal(p, ctx)
    if p.state == "notified" and p.notice and p.notice.for_start == p.start_date:
        unmet.append(Unmet("§6.5", "notice has been given: only a new start date can be amended now, and the notice is then given again"))
    return unmet


def attends(p: Proposal, calendar: SchoolCalendar, day: date) -> bool:
    """Whether the pupil is directed to the provider on `day`: one of the
    pattern's weekdays, and a school day."""
    return p.pattern.includes(day) and calendar.is_school_day(day)


def number_of_days(p: Placement, calendar: SchoolCalendar) -> int | None:
    """Days the pupil is directed to attend (§6.6.3): stated, or counted from
    the pattern's weekdays on school days between start and planned end."""
    if p.number_of_days is not None:
        return p.number_of_days
    if p.planned_end_date is None:
        return None
    days = (p.planned_end_date - p.start_date).days + 1
    return sum(attends(p, calendar, p.start_date + timedelta(days=n)) for n in range(days))
