"""A date as people type it into the console's forms and the providers'
pages: three boxes, day, month and year, as GOV.UK asks for one; the
example a date's hint gives; and a day as an address or a hidden field
writes it ("2026-12-07")."""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime

from domain.clock import uk_date

DATE_PARTS = ("day", "month", "year")  # a date's three boxes, in the order they are shown
NOT_A_DATE = "{label} must be a real date"  # its hint gives an example
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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


def boxes(day: date, path: str) -> dict[str, str]:
    """`day` as its three boxes `path.day`, `path.month` and `path.year` hold it."""
    return {f"{path}.{p}": str(getattr(day, p)) for p in DATE_PARTS}


def iso_day(text: str) -> date | None:
    """A day written in an address or a hidden field ("2026-12-07"), if it is one."""
    if not _ISO_DAY.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def example_day(day: date | None = None) -> str:
    """A date field's example, as its three boxes take it: `day`, or today,
    which suits a day past (a meeting held) as well as one to come (a start)."""
    d = day or uk_date(datetime.now(UTC))
    return f"{d.day} {d.month} {d.year}"
