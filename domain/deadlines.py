"""The policy clock: every date a placement must meet, from its state, its
records and its school's calendar (RULES.md, "Timers and escalations").

A deadline is missed once its day is over (or, when `immediate`, on its day):
the workflow then raises one escalation for it, named by `escalation_id`, so a
deadline that moves (a contact recorded, a new start date) is a new one.
"""
from __future__ import annotations

from datetime import date, timedelta

from pydantic import BaseModel

from .calendar import SchoolCalendar
from .guards import attends, open_concerns, went_under_review
from .clock import uk_date
from .models import ContactKind, Placement, PlacementKind, Proposal, Role
from .settings import PolicySettings

from .lifecycle import NOT_STARTED as BEFORE_START
from .lifecycle import RUNNING_STATES as RUNNING
# Flags that stand until a review extends the placement with a reason (RULES, Drift).


class Deadline(BaseModel):
    kind: str
    due: date
    clause: str
    owner: Role
    description: str
    immediate: bool = False  # missed on its own day (safeguarding), not the day after
    ref: str | None = None  # what the deadline is about, where its date alone does not say

    @property
    def escalation_id(self) -> str:
        return f"{self.kind}:{self.ref or self.due}"

    def missed(self, today: date) -> bool:
        return self.due <= today if self.immediate else self.due < today


def referred_on(p: Placement) -> date | None:
    """The day the provider was asked for its initial assessment: the day of
    the notice step, when the request goes (§12.1.3)."""
    notified = [h for h in p.history if h.action == "notify"]
    if notified:
        return uk_date(notified[-1].at)
    return p.notice.given_on if p.notice else None


def initial_assessment_due(referred: date, settings: PolicySettings) -> date:
    """§12.1.3: within a week of referral; the letter and the clock both use this."""
    return referred + timedelta(days=settings.initial_assessment_days)


def _last(dates: list[date], since: date) -> date:
    return max([since, *dates])


def planned_end(p: Placement, calendar: SchoolCalendar) -> date | None:
    """The planned last day: as extended at a review, else as proposed (`proposed_end`)."""
    return p.planned_end or proposed_end(p, calendar)


def proposed_end(p: Proposal, calendar: SchoolCalendar) -> date | None:
    """The last day as proposed: its end date, else the last of its number of
    days the pupil attends (none within three years: a pattern whose days never come)."""
    if p.planned_end_date or p.number_of_days is None:
        return p.planned_end_date
    day, left = p.start_date, p.number_of_days
    for _ in range(3 * 366):
        if attends(p, calendar, day):
            left -= 1
            if left == 0:
                return day
        day += timedelta(days=1)
    return None


def half_terms(calendar: SchoolCalendar, start: date, today: date, weeks: int) -> list[tuple[date, date]]:
    """The half-terms from the placement's start to today, as (first, last)
    days; without term dates, blocks of `weeks` weeks from the start."""
    out: list[tuple[date, date]] = []
    day = start
    while day <= today:
        ht = calendar.current_or_next_half_term(day) if calendar.covers(day) else None
        if ht is None:
            block = (day - start).days // (7 * weeks)
            first, last = start + timedelta(days=7 * weeks * block), start + timedelta(days=7 * weeks * (block + 1) - 1)
        else:
            first, last = ht.start, ht.end
        if first > today:
            break
        out.append((max(first, start), last))
        day = last + timedelta(days=1)
    return out


def deadlines(p: Placement, calendar: SchoolCalendar, settings: PolicySettings, today: date | None = None) -> list[Deadline]:
    """Every deadline the placement has now, earliest first."""
    today = today or p.start_date
    out: list[Deadline] = []
    add = out.append
    s = settings

    if p.state == "proposed" and p.history:
        add(Deadline(kind="vetting", due=calendar.add_school_days(uk_date(p.history[0].at), s.vetting_school_days),
                     clause="§7, §9", owner=Role.ap_lead, description="vet the provider"))
    if p.state in ("proposed", "vetted", "la_consulted"):
        add(Deadline(kind="notice", due=calendar.latest_notice_day(p.start_date, s.notice_school_days),
                     clause="§6.5", owner=Role.headteacher,
                     description="the last day to give parents written notice; after it the start cannot happen and a new start date is needed"))
    if p.kind is PlacementKind.suspension_cover and p.suspension_first_day and p.state in BEFORE_START:
        add(Deadline(kind="sixth_school_day", due=calendar.nth_school_day(p.suspension_first_day, 6),
                     clause="§13.2", owner=Role.headteacher,
                     description="full-time education must start by the sixth school day of the suspension"))
    if p.state == "notified":
        add(Deadline(kind="start", due=p.start_date, clause="§6.5", owner=Role.system, description="the placement starts"))

    referred = referred_on(p)
    if p.state in ("notified", *RUNNING) and referred and p.initial_assessment is None:
        add(Deadline(kind="initial_assessment", due=initial_assessment_due(referred, s),
                     clause="§12.1.3", owner=Role.ap_lead, description="chase the provider's initial assessment"))

    for concern in open_concerns(p):
        add(Deadline(kind="safeguarding", due=concern.raised_on, ref=concern.concern_id, clause="§9.7", owner=Role.dsl, immediate=True,
                         description=f"safeguarding concern ({concern.concern_id}): review at once; end the placement if it is not resolved"))

    if p.state not in RUNNING or today < p.start_date:
        return sorted(out, key=lambda d: d.due)

    def contacts(kind: ContactKind) -> list[date]:
        return [c.on for c in p.contacts if c.kind is kind]

    if s.daily_attendance_call:  # on the pattern's days when the school is open: never in a holiday
        day = _last(contacts(ContactKind.attendance_call), p.start_date - timedelta(days=1)) + timedelta(days=1)
        while not attends(p, calendar, day):
            day += timedelta(days=1)
        add(Deadline(kind="attendance_call", due=day, clause="§2.5", owner=Role.ap_lead,
                     description="make the daily attendance call"))
    # Not due while the school is closed (a holiday, a weekend, a bank holiday
    # or closure): it falls due on the first school day after. Only where the
    # school's term dates are known: without them its holidays are not.
    wellbeing = _last(contacts(ContactKind.wellbeing), p.start_date) + timedelta(days=s.wellbeing_contact_days)
    if calendar.covers(wellbeing):
        wellbeing = calendar.nth_school_day(wellbeing, 1)
    add(Deadline(kind="wellbeing", due=wellbeing,
                 clause="§2.5, §3.4", owner=Role.ap_lead, description="weekly wellbeing contact with the pupil"))

    # At least once a half-term (§2.5, §9.6); a half-term the placement joined
    # in its last two weeks is not counted.
    for first, last in half_terms(calendar, p.start_date, today, s.fallback_half_term_weeks):
        if (last - first).days < 14:
            continue
        if not any(first <= d <= last for d in contacts(ContactKind.visit)):
            add(Deadline(kind="visit", due=last, clause="§2.5, §8.2.6", owner=Role.ap_lead,
                         description="visit the pupil and the provider this half-term"))
        if not any(first <= r.held_on <= last for r in p.reviews):
            add(Deadline(kind="review", due=last, clause="§9.6", owner=Role.headteacher,
                         description="review the placement this half-term"))

    last_report = _last([r.received_on for r in p.progress_reports], p.start_date)
    add(Deadline(kind="progress_report", due=last_report + timedelta(days=s.progress_report_days),
                 clause="§2.6, §12.1.7", owner=Role.ap_lead, description="chase the provider's progress report"))

    end = planned_end(p, calendar)
    if end:
        if p.state != "reintegrating":
            add(Deadline(kind="end_of_placement", due=calendar.add_school_days(end, -s.end_of_placement_school_days),
                         clause="§2.6-2.7", owner=Role.ap_lead,
                         description="request the final report and hold the end-of-placement discussion"))
        if p.state in ("active", "under_review"):
            add(Deadline(kind="drift", due=end, clause="DfE guidance 2025: maximum period", owner=Role.headteacher,
                         description="past its planned end: end the placement or extend it at a review, with a reason"))
    out.extend(national_limits(p, end, s))

    # The meeting is this review's only when a booking put the placement under
    # review; a concern's review has none (an earlier round's meeting is past).
    opened = went_under_review(p)
    if p.state == "under_review" and p.review_meetings and (opened is None or opened.action == "open_review"):
        add(Deadline(kind="review_meeting", due=p.review_meetings[-1].meeting_on, clause="§6.8, §9.6",
                     owner=Role.ap_lead, description="hold the review and record it with the parents' view"))
    for request in p.review_requests:
        if not any(r.held_on >= request.received_on for r in p.reviews):
            add(Deadline(kind="requested_review",
                         due=calendar.add_school_days(request.received_on, s.requested_review_school_days),
                         clause="Education (Educational Provision for Improving Behaviour) Regulations 2010",
                         owner=Role.headteacher, description=f"hold the review the {request.requested_by.replace('_', ' ')} asked for"))
    return sorted(out, key=lambda d: d.due)


def national_limits(p: Placement, end: date | None, s: PolicySettings) -> list[Deadline]:
    """The proposed national limits: a full-time placement planned to last
    longer than `max_full_time_weeks`, or a part-time one on more than
    `max_part_time_days_per_week` days a week, is flagged once past the limit
    until a review extends it with a reason (RULES, Drift)."""
    if p.state not in ("active", "under_review") or any(r.extension_reason for r in p.reviews if r.new_end_date):
        return []
    clause = "DfE guidance 2025: proposed national limits"
    limit = p.start_date + timedelta(weeks=s.max_full_time_weeks)
    if p.pattern.full_time and end and end > limit:
        return [Deadline(kind="full_time_limit", due=limit, clause=clause, owner=Role.headteacher,
                         description=f"full time for more than {s.max_full_time_weeks} weeks (planned to {end}): "
                                     "end the placement or extend it at a review, with a reason")]
    if not p.pattern.full_time and len(p.pattern.days) > s.max_part_time_days_per_week:
        return [Deadline(kind="part_time_limit", due=p.start_date, clause=clause, owner=Role.headteacher,
                         description=f"part time on {len(p.pattern.days)} days a week, more than {s.max_part_time_days_per_week}: "
                                     "end the placement or extend it at a review, with a reason")]
    return []


def missed(p: Placement, calendar: SchoolCalendar, settings: PolicySettings, today: date) -> list[Deadline]:
    """Deadlines past that have no escalation yet (the automatic start aside)."""
    raised = {e.escalation_id for e in p.escalations}
    return [
        d for d in deadlines(p, calendar, settings, today)
        if d.owner is not Role.system and d.missed(today) and d.escalation_id not in raised
    ]


def next_check(p: Placement, calendar: SchoolCalendar, settings: PolicySettings, today: date) -> date | None:
    """The first day on which a deadline still to come will have been missed."""
    raised = {e.escalation_id for e in p.escalations}
    days = [
        d.due if d.immediate else d.due + timedelta(days=1)
        for d in deadlines(p, calendar, settings, today)
        if d.escalation_id not in raised and d.owner is not Role.system
    ]
    return min(days) if days else None
