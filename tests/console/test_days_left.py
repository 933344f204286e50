"""A deadline's school days left as the Today page and a placement's page
show it: a deadline after today with no school day before it is not "today"."""
from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from console.pages.rendering import env

FRIDAY = date(2026, 12, 4)


def days_left(due: date, school_days_left: int, overdue: bool = False) -> str:
    row = SimpleNamespace(due=due, school_days_left=school_days_left, overdue=overdue)
    html = str(env.get_template("_bits.html").module.days_left(row, FRIDAY))
    return " ".join(html.split())


def test_a_deadline_shows_the_school_days_left_to_it():
    assert days_left(FRIDAY, 0) == '<strong class="govuk-tag govuk-tag--orange">Today</strong>'
    # Due on the Sunday: no school day is left before it, but it is not due today.
    assert days_left(date(2026, 12, 6), 0) == '<strong class="govuk-tag govuk-tag--orange">No school day left</strong>'
    assert days_left(date(2026, 12, 7), 1) == "1 school day"
    assert days_left(date(2026, 12, 8), 2) == "2 school days"
    assert days_left(date(2026, 12, 1), -3, overdue=True) == '<strong class="govuk-tag govuk-tag--red">Overdue</strong>'
