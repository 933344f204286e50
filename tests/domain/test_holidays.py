"""The policy clock pauses for the school's holidays: a weekly wellbeing
contact or a daily attendance call is not due while the school is closed,
and falls due on the first school day after (§2.5, §3.4)."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from apflow import samples
from apflow.calendars import load_calendar
from apflow.settings import Settings
from domain.calendar import HalfTerm, SchoolCalendar, england_bank_holidays
from domain.deadlines import deadlines, missed
from domain.escalations import Escalation
from domain.models import ContactKind, ContactRecord, Placement
from domain.settings import PolicySettings

SETTINGS = PolicySettings()
# Autumn 2026 with a half-term (24 October to 1 November) and Christmas (19 December to 3 January).
CALENDAR = SchoolCalendar(
    school_id="137000",
    half_terms=(
        HalfTerm(start=date(2026, 9, 1), end=date(2026, 10, 23)),
        HalfTerm(start=date(2026, 11, 2), end=date(2026, 12, 18)),
        HalfTerm(start=date(2027, 1, 4), end=date(2027, 2, 12)),
    ),
    bank_holidays=england_bank_holidays([2026, 2027]),
)


def running(start: date, end: date, calendar: SchoolCalendar = CALENDAR, **contacts: date) -> Placement:
    """An active placement (Mondays and Wednesdays) with the contacts given by kind."""
    p = Placement(placement_id="placement-h", state="active",
                  **samples.proposal(start, planned_end_date=end, number_of_days=None).model_dump())
    p.contacts = [ContactRecord(kind=ContactKind(kind), on=on, notes="Spoke with the pupil") for kind, on in contacts.items()]
    return p


def due(p: Placement, kind: str, today: date, calendar: SchoolCalendar = CALENDAR) -> date:
    [d] = [d for d in deadlines(p, calendar, SETTINGS, today) if d.kind == kind]
    return d.due


def test_a_wellbeing_contact_due_in_half_term_falls_due_on_the_first_school_day_after():
    p = running(date(2026, 10, 5), date(2027, 2, 12), wellbeing=date(2026, 10, 21))  # Wed before half-term
    assert due(p, "wellbeing", date(2026, 10, 21)) == date(2026, 11, 2)
    assert [d.kind for d in missed(p, CALENDAR, SETTINGS, date(2026, 10, 30)) if d.kind == "wellbeing"] == []


def test_a_wellbeing_contact_due_at_christmas_falls_due_on_the_first_day_of_spring_term():
    p = running(date(2026, 10, 5), date(2027, 2, 12), wellbeing=date(2026, 12, 18))  # last day of autumn term
    assert due(p, "wellbeing", date(2026, 12, 18)) == date(2027, 1, 4)


def test_a_wellbeing_contact_due_in_term_is_due_seven_days_on():
    p = running(date(2026, 10, 5), date(2027, 2, 12), wellbeing=date(2026, 11, 4))
    assert due(p, "wellbeing", date(2026, 11, 4)) == date(2026, 11, 11)


def test_the_daily_attendance_call_is_not_due_in_the_christmas_holiday():
    p = running(date(2026, 10, 5), date(2027, 2, 12), attendance_call=date(2026, 12, 16))  # the last Wednesday of term
    assert due(p, "attendance_call", date(2026, 12, 16)) == date(2027, 1, 4)  # the next Monday the school is open
    assert [d.kind for d in missed(p, CALENDAR, SETTINGS, date(2027, 1, 4)) if d.kind == "attendance_call"] == []


def first_school_day_of_its_week(calendar: SchoolCalendar, day: date) -> bool:
    monday = day - timedelta(days=day.weekday())
    return calendar.is_school_day(day) and not any(calendar.is_school_day(monday + timedelta(days=n)) for n in range(day.weekday()))


def test_a_year_with_a_wellbeing_contact_every_school_week_raises_no_wellbeing_escalation():
    calendar = load_calendar("137000", Settings().calendars_dir)
    start, end = date(2026, 9, 2), date(2027, 7, 21)
    p = running(start, end, calendar)
    day = start
    while day <= end:
        for d in missed(p, calendar, SETTINGS, day):  # the clock, at midnight
            p.escalations.append(Escalation(escalation_id=d.escalation_id, kind=d.kind, clause=d.clause, owner=d.owner,
                                            message=d.description, raised_at=datetime.combine(day, datetime.min.time()), due=d.due))
        if first_school_day_of_its_week(calendar, day):
            p.contacts.append(ContactRecord(kind=ContactKind.wellbeing, on=day, notes="Spoke with the pupil"))
        day += timedelta(days=1)

    assert [e.escalation_id for e in p.escalations if e.kind == "wellbeing"] == []


def test_without_term_dates_a_wellbeing_contact_stays_due_on_its_day():
    from domain.calendar import default_calendar

    calendar = default_calendar("137000", date(2026, 12, 1))  # no holidays known but bank holidays
    p = running(date(2026, 12, 21), date(2027, 2, 12), calendar)
    assert due(p, "wellbeing", date(2026, 12, 21), calendar) == date(2026, 12, 28)  # Boxing Day's substitute
