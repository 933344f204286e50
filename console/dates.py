"""A date as people type it into the console's forms and the providers'
pages: three boxes, day, month and year, as GOV.UK asks for one; and the
example a date's hint gives."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

from domain.clock import uk_date

DATE_PARTS = ("day", "month", "year")  # a date's three boxes, in the order they are shown
NOT_A_DATE = "{label} must be a real date"  # its hint gives an example


def typed_date(values: Mapping[str, list[str]], path: str) -> date | None:
    """The date typed in the boxes `path.day`, `path.month` and `path.year`
    of a posted form; None if all three are blank, ValueError if they are not
    a real date."""
    parts = [(values.get(f"{path}.{p}") or [""])[0].strip() for p in DATE_PARTS]
    if not any(parts):
        return None
    if any(len(p) > 4 for p in parts):  # int() reads more digits than date() takes, which overflows
        raise ValueError("not a date")
    day, month, year = (int(p) for p in parts)
    return date(year, month, day)


def example_day(day: date | None = None) -> str:
    """A date field's example, as its three boxes take it: `day`, or today,
    which suits a day past (a meeting held) as well as one to come (a start)."""
    d = day or uk_date(datetime.now(UTC))
    return f"{d.day} {d.month} {d.year}"
