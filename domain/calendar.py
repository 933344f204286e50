"""School calendars and school-day arithmetic.

RULES, "Words": a *school day* is a weekday inside the commissioning school's
term dates that is not a bank holiday (England) and not an INSET/closure day.
"Two school days before" (§6.5) and "the sixth school day" (§13.2) count
school days; "within one week" and "6 days" count calendar days and need
nothing from here.

A calendar is plain data (dates), built outside workflow code and carried in
workflow state, so that counting school days is deterministic on replay. This
module is pure: it parses a calendar from an already-read mapping
(`calendar_from_dict`) but never touches files; `apflow.calendars` does that.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, field_serializer, field_validator, model_validator

_ONE_DAY = timedelta(days=1)

# The school year begins with the first term to begin after July (Education
# Act 1996, s.579), so 1 August is the boundary: an August INSET day belongs to
# the new year and the summer holiday up to 31 July to the old one.
_YEAR_START_MONTH = 8


def academic_year(day: date) -> int:
    """The calendar year in which the academic year holding `day` begins."""
    return day.year if day.month >= _YEAR_START_MONTH else day.year - 1


def academic_year_label(start_year: int) -> str:
    """The usual name of an academic year, e.g. 2026 -> "2026-27"."""
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def academic_year_bounds(start_year: int) -> tuple[date, date]:
    """First and last day of an academic year (1 August to 31 July)."""
    return date(start_year, _YEAR_START_MONTH, 1), date(start_year + 1, _YEAR_START_MONTH, 1) - _ONE_DAY


# Counts over more days than this come from running totals (`_counted`):
# a short one walks the days, and builds nothing.
_WALKED_DAYS = 31


class CalendarError(ValueError):
    """A calendar's data is wrong.

    `field` locates the problem in the source data (for example
    ``academic_years."2026-27".half_terms[2].end``) and `value` is the offending
    value, so that whoever read the data from a file can point at the line.
    """

    def __init__(self, message: str, field: str = "", value: object = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.message = message
        self.field = field
        self.value = value


class HalfTerm(BaseModel):
    """One of the (usually six) teaching periods of a school year, both ends included.

    The dates are the school's own term dates, INSET days included: INSET days
    are listed as closures inside the half-term, not cut out of it.
    """

    model_config = ConfigDict(frozen=True)
    start: date
    end: date

    @model_validator(mode="after")
    def _end_not_before_start(self) -> HalfTerm:
        if self.end < self.start:
            raise ValueError(f"half-term ends {self.end} before it starts {self.start}")
        return self

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


class _Index(NamedTuple):
    """Lookup structures derived from a calendar's fields, built once per instance."""

    closed: frozenset[date]
    starts: tuple[date, ...]
    ends: tuple[date, ...]
    covered_years: frozenset[int]


class SchoolCalendar(BaseModel):
    """The days one school is open, and arithmetic over them.

    Term time is known only for the academic years (1 August to 31 July) in
    which the calendar records at least one half-term; there, a day is in term
    only if it falls inside a recorded half-term. For a date in any other year
    (or when no half-terms are recorded at all) the calendar falls back to
    "every weekday is term time". Bank holidays and closures are excluded
    everywhere. The fallback keeps every count finite (no loop can search
    forever for a school day past the last recorded year), at the price of
    treating unknown holidays as school days: `covers()` tells callers when a
    date is outside the recorded term dates so they can say so.

    Counting runs day by day over cached frozensets and a bisect over the
    sorted half-terms, so each step is O(log half-terms).
    """

    model_config = ConfigDict(frozen=True)
    school_id: str
    half_terms: tuple[HalfTerm, ...] = ()
    closures: frozenset[date] = frozenset()
    bank_holidays: frozenset[date] = frozenset()

    @field_validator("half_terms")
    @classmethod
    def _sorted_and_apart(cls, half_terms: tuple[HalfTerm, ...]) -> tuple[HalfTerm, ...]:
        # Bisect needs them sorted; overlapping half-terms are always a typo.
        ordered = tuple(sorted(half_terms, key=lambda h: h.start))
        for earlier, later in zip(ordered, ordered[1:]):
            if later.start <= earlier.end:
                raise ValueError(
                    f"half-terms overlap: {earlier.start}..{earlier.end} and {later.start}..{later.end}"
                )
        return ordered

    @field_serializer("closures", "bank_holidays")
    def _sorted_dates(self, days: frozenset[date]) -> list[date]:
        # Sorted so that the same calendar always serialises to the same JSON.
        return sorted(days)

    @cached_property
    def _index(self) -> _Index:
        covered: set[int] = set()
        for h in self.half_terms:
            covered.update((academic_year(h.start), academic_year(h.end)))
        return _Index(
            closed=self.closures | self.bank_holidays,
            starts=tuple(h.start for h in self.half_terms),
            ends=tuple(h.end for h in self.half_terms),
            covered_years=frozenset(covered),
        )

    @cached_property
    def _counted(self) -> tuple[int, tuple[int, ...]]:
        """(first day's ordinal, school days from it up to each day): a year
        before the recorded term dates (or the bank holidays known) to two
        after, so a count within them is one subtraction, not a walk."""
        known = [h.start for h in self.half_terms] + [h.end for h in self.half_terms] or sorted(self.bank_holidays)
        if not known:
            return 0, ()
        first = date(academic_year(min(known)) - 1, _YEAR_START_MONTH, 1)
        last = date(academic_year(max(known)) + 3, _YEAR_START_MONTH, 1) - _ONE_DAY
        running, counts = 0, []
        for n in range((last - first).days + 1):
            running += self.is_school_day(first + timedelta(days=n))
            counts.append(running)
        return first.toordinal(), tuple(counts)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> SchoolCalendar:
        copy = super().model_copy(update=update, deep=deep)
        for derived in ("_index", "_counted"):  # derived from the fields, which may have changed
            copy.__dict__.pop(derived, None)
        return copy

    # -- what kind of day is it -------------------------------------------------

    def covers(self, day: date) -> bool:
        """Whether term dates are recorded for the academic year holding `day`."""
        return academic_year(day) in self._index.covered_years

    def _position(self, day: date) -> int:
        """Index of the last half-term starting on or before `day` (-1 if none)."""
        return bisect_right(self._index.starts, day) - 1

    def half_term_of(self, day: date) -> HalfTerm | None:
        """The half-term `day` falls in; None in a holiday or outside the recorded years."""
        i = self._position(day)
        if i >= 0 and day <= self._index.ends[i]:
            return self.half_terms[i]
        return None

    def in_term(self, day: date) -> bool:
        if not self.covers(day):
            return True  # fallback: see the class docstring
        return self.half_term_of(day) is not None

    def is_school_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._index.closed and self.in_term(day)

    # -- half-terms ("at least once a half-term", §2.5, §8.2.6, §9.6) ---------

    def half_term_end(self, day: date) -> date | None:
        """Last day of the half-term `day` falls in; None outside one."""
        current = self.half_term_of(day)
        return current.end if current else None

    def next_half_term(self, day: date) -> HalfTerm | None:
        """The first recorded half-term starting after `day`; None past the last."""
        i = self._position(day) + 1
        return self.half_terms[i] if i < len(self.half_terms) else None

    def next_half_term_start(self, day: date) -> date | None:
        following = self.next_half_term(day)
        return following.start if following else None

    def current_or_next_half_term(self, day: date) -> HalfTerm | None:
        """The half-term `day` falls in, or in a holiday the one that follows.

        "At least once a half-term" asked during a holiday is owed by the end
        of the coming half-term.
        """
        return self.half_term_of(day) or self.next_half_term(day)

    # -- counting school days ---------------------------------------------------

    def add_school_days(self, day: date, n: int) -> date:
        """The n-th school day after `day` (before it when n is negative).

        `day` itself never counts, and need not be a school day; n = 0 returns
        `day` unchanged. So the notice deadline for a start date is
        ``add_school_days(start, -2)`` (§6.5: not less than two school days
        before the start).
        """
        step = _ONE_DAY if n >= 0 else -_ONE_DAY
        remaining = abs(n)
        while remaining:
            day += step
            if self.is_school_day(day):
                remaining -= 1
        return day

    def subtract_school_days(self, day: date, n: int) -> date:
        """The n-th school day before `day` (`day` itself never counts)."""
        return self.add_school_days(day, -n)

    def nth_school_day(self, first_day: date, n: int) -> date:
        """The n-th school day of a period starting on `first_day`, counting
        `first_day` itself when it is a school day (n >= 1).

        §13.2: full-time education from the sixth school day of a suspension
        is ``nth_school_day(first_day_of_suspension, 6)``.
        """
        if n < 1:
            raise ValueError(f"n counts from 1, got {n}")
        return self.add_school_days(first_day - _ONE_DAY, n)

    def school_days_between(self, a: date, b: date) -> int:
        """School days after `a` up to and including `b`; negative when b < a.

        Consistent with `add_school_days`: for n >= 0,
        ``school_days_between(a, add_school_days(a, n)) == n``, and notice given
        on day `a` for a start on day `b` satisfies §6.5 when the result is >= 2.
        """
        if b < a:
            return -self.school_days_between(b, a)
        if (b - a).days > _WALKED_DAYS:  # a long count: from the running totals, built once a calendar
            first, counts = self._counted
            i, j = a.toordinal() - first, b.toordinal() - first
            if 0 <= i and j < len(counts):
                return counts[j] - counts[i]
        return sum(1 for _ in self.iter_school_days(a + _ONE_DAY, b))

    def clear_school_days(self, given: date, start: date) -> int:
        """School days strictly between the day notice is given and the first
        day: neither counts (RULES, "Two school days' notice")."""
        return self.school_days_between(given, start - _ONE_DAY) if start > given else 0

    def latest_notice_day(self, start: date, clear_days: int) -> date:
        """The last day notice can be given for a start on `start`."""
        return self.add_school_days(start, -clear_days) - _ONE_DAY

    def earliest_start(self, given: date, clear_days: int) -> date:
        """The first start date that notice given on `given` allows."""
        return self.add_school_days(given, clear_days + 1)

    def deemed_received(self, posted: date, working_days: int) -> date:
        """The day a letter posted on `posted` is deemed received: the n-th
        working day after (Monday to Friday, not a bank holiday; term dates
        do not matter to the post)."""
        day, left = posted, working_days
        while left:
            day += _ONE_DAY
            if day.weekday() < 5 and day not in self.bank_holidays:
                left -= 1
        return day

    def iter_school_days(self, start: date, end: date) -> Iterator[date]:
        """Every school day from `start` to `end`, both included, in order."""
        day = start
        while day <= end:
            if self.is_school_day(day):
                yield day
            day += _ONE_DAY


# -- building calendars -----------------------------------------------------------


def england_bank_holidays(years: Iterable[int]) -> frozenset[date]:
    """England's bank holidays for the given years, from the `holidays` package.

    Imported here rather than at module level: workflow code only ever holds
    calendars already built, and should not pay for loading the package.
    """
    import holidays

    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=list(years)).keys())


def default_calendar(school_id: str, around: date) -> SchoolCalendar:
    """Weekdays less England's bank holidays, for the years around a date.

    The last resort when no term dates are known for a school at all.
    """
    return SchoolCalendar(
        school_id=school_id,
        bank_holidays=england_bank_holidays(range(around.year - 1, around.year + 3)),
    )


_YEAR_LABEL = re.compile(r"^(\d{4})-(\d{2})$")
_TOP_KEYS = frozenset({"academic_years"})
_YEAR_KEYS = frozenset({"half_terms", "closures"})
_HALF_TERM_KEYS = frozenset({"start", "end"})


def _as_date(value: object, field: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise CalendarError(f"expected a date such as 2026-09-01, got {value!r}", field, value)


def _expect_keys(table: object, allowed: frozenset[str], field: str, required: Iterable[str] = ()) -> Mapping[str, Any]:
    if not isinstance(table, Mapping):
        raise CalendarError(f"expected a table, got {table!r}", field, table)
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise CalendarError(f"unknown key(s) {', '.join(unknown)}; expected {', '.join(sorted(allowed))}", field)
    for key in required:
        if key not in table:
            raise CalendarError(f"missing {key}", field)
    return table


def _expect_list(value: object, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise CalendarError(f"expected a list, got {value!r}", field, value)
    return value


def calendar_from_dict(school_id: str, data: Mapping[str, Any], bank_holidays: Iterable[date]) -> SchoolCalendar:
    """Build a calendar from term dates as a trust writes them (see `calendars/`).

    Expected shape, one table per academic year::

        {"academic_years": {"2026-27": {
            "half_terms": [{"start": date, "end": date}, ...],   # usually six
            "closures": [date, ...],                             # INSET and other closures
        }}}

    Dates are `datetime.date` (as TOML gives them) or ISO strings. Raises
    `CalendarError` naming the field for: an unknown key, a value that is not
    a date, a half-term that ends before it starts, lies outside its academic
    year or overlaps another, and a closure that is not inside a half-term
    (almost always a typo in the date).
    """
    top = _expect_keys(data, _TOP_KEYS, "", required=("academic_years",))
    years = top["academic_years"]
    if not isinstance(years, Mapping) or not years:
        raise CalendarError("expected at least one academic year, e.g. [academic_years.\"2026-27\"]", "academic_years")

    located: list[tuple[HalfTerm, str]] = []
    closures: list[tuple[date, str]] = []
    for label, entry in years.items():
        where = f'academic_years."{label}"'
        match = _YEAR_LABEL.match(str(label))
        if not match or (int(match[1]) + 1) % 100 != int(match[2]):
            raise CalendarError("an academic year is named like 2026-27", where, label)
        first, last = academic_year_bounds(int(match[1]))
        entry = _expect_keys(entry, _YEAR_KEYS, where, required=("half_terms",))
        half_terms = _expect_list(entry["half_terms"], f"{where}.half_terms")
        if not half_terms:
            raise CalendarError("expected at least one half-term", f"{where}.half_terms")
        for i, raw in enumerate(half_terms):
            field = f"{where}.half_terms[{i}]"
            raw = _expect_keys(raw, _HALF_TERM_KEYS, field, required=("start", "end"))
            start = _as_date(raw["start"], f"{field}.start")
            end = _as_date(raw["end"], f"{field}.end")
            if end < start:
                raise CalendarError(f"half-term ends {end}, before it starts {start}", f"{field}.end", end)
            for name, day in (("start", start), ("end", end)):
                if not first <= day <= last:
                    raise CalendarError(f"{day} is not in academic year {label} ({first} to {last})", f"{field}.{name}", day)
            located.append((HalfTerm(start=start, end=end), field))
        for i, raw in enumerate(_expect_list(entry.get("closures", []), f"{where}.closures")):
            closures.append((_as_date(raw, f"{where}.closures[{i}]"), f"{where}.closures[{i}]"))

    located.sort(key=lambda pair: pair[0].start)
    for (earlier, earlier_field), (later, later_field) in zip(located, located[1:]):
        if later.start <= earlier.end:
            raise CalendarError(
                f"half-term {later.start}..{later.end} overlaps {earlier_field} ({earlier.start}..{earlier.end})",
                f"{later_field}.start",
                later.start,
            )

    calendar = SchoolCalendar(
        school_id=school_id,
        half_terms=tuple(h for h, _ in located),
        closures=frozenset(day for day, _ in closures),
        bank_holidays=frozenset(bank_holidays),
    )
    for day, field in closures:
        if calendar.half_term_of(day) is None:
            raise CalendarError(f"closure {day} is not inside any half-term", field, day)
    return calendar
