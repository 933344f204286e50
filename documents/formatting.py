"""How dates, times and codes read in a letter (GOV.UK style: "2 March 2026",
"9:30am"). Values may be `date`/`time` objects or the ISO strings they become
after a JSON round trip, so the filters accept both."""
from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

# Times in letters are read in England; stored instants are usually UTC.
LOCAL = ZoneInfo("Europe/London")

WEEKDAYS = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}

DESTINATIONS = {
    "home_school": "Return to the home school",
    "another_school": "Another school",
    "special_school": "A special school",
    "alternative_provision": "Alternative provision",
    "further_education": "Further education",
    "apprenticeship_or_training": "Apprenticeship or training",
    "employment_with_training": "Employment with training",
    "elective_home_education": "Elective home education",
}

PROVIDER_TYPES = {
    "maintained_school": "Maintained school",
    "academy": "Academy",
    "pupil_referral_unit": "Pupil referral unit",
    "independent_school": "Registered independent school",
    "college": "College",
    "unregistered": "Unregistered provider",
}

PLACEMENT_KINDS = {
    "off_site_direction": "Off-site direction to improve behaviour",
    "suspension_cover": "Education during a suspension",
    "ehcp_placement": "Placement for a pupil with an EHC plan",
    "health_package": "Health needs or personalised package",
}


def as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value).date() if "T" in value else date.fromisoformat(value)
    raise TypeError(f"not a date: {type(value).__name__}")


def as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    raise TypeError(f"not a date and time: {type(value).__name__}")


def as_time(value: Any) -> time:
    if isinstance(value, datetime):
        return value.time()
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        return time.fromisoformat(value)
    raise TypeError(f"not a time: {type(value).__name__}")


def long_date(value: Any) -> str:
    d = as_date(value)
    return f"{d.day} {d:%B %Y}"


# A day as the policy's messages write it (ISO), not inside an id ("notice:2027-01-06").
_ISO_DAY = re.compile(r"(?<![\w:-])(\d{4})-(\d{2})-(\d{2})(?![\w-]|:\w)")


def _day_in_words(m: re.Match) -> str:
    try:
        return long_date(date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
    except ValueError:
        return m.group(0)


def days_in_words(text: str) -> str:
    """A message of the policy's with each day in words ("expires on 24 December 2026")."""
    return _ISO_DAY.sub(_day_in_words, text)


def sentence(text: str) -> str:
    """A message of the policy's as it is shown on its own: its days in words
    and its first letter a capital."""
    text = days_in_words(text)
    return text[:1].upper() + text[1:]


def day_and_date(value: Any) -> str:
    d = as_date(value)
    return f"{d:%A} {d.day} {d:%B %Y}"


def clock(value: Any) -> str:
    t = as_time(value)
    hour = t.hour % 12 or 12
    suffix = "am" if t.hour < 12 else "pm"
    if t.hour == 12 and t.minute == 0:
        return "midday"
    return f"{hour}{suffix}" if t.minute == 0 else f"{hour}:{t.minute:02d}{suffix}"


def date_time(value: Any) -> str:
    dt = as_datetime(value)
    if dt.tzinfo is not None:
        dt = dt.astimezone(LOCAL)
    return f"{clock(dt)} on {long_date(dt)}"


def weekdays(values: Iterable[Any]) -> str:
    return and_join(WEEKDAYS.get(str(v).lower(), str(v)) for v in values)


def and_join(values: Iterable[Any], last: str = "and") -> str:
    """'a, b and c' (or `last`: 'a, b or c')."""
    items = [str(v) for v in values if v]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {last} " + items[-1]


def or_join(values: Iterable[Any]) -> str:
    return and_join(values, "or")


def label(value: Any, table: dict[str, str]) -> str:
    return table.get(str(value), str(value).replace("_", " ").capitalize())


def lines(value: Any) -> list[str]:
    """An address held as one string with commas or newlines, or as a list."""
    if value is None:
        return []
    if isinstance(value, str):
        parts = value.replace("\r", "").replace("\n", ",").split(",")
        return [p.strip() for p in parts if p.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


FILTERS = {
    "long_date": long_date,
    "sentence": sentence,
    "day_and_date": day_and_date,
    "clock": clock,
    "date_time": date_time,
    "weekdays": weekdays,
    "and_join": and_join,
    "lines": lines,
    "destination": lambda v: label(v, DESTINATIONS),
    "provider_type": lambda v: label(v, PROVIDER_TYPES),
    "placement_kind": lambda v: label(v, PLACEMENT_KINDS),
}
