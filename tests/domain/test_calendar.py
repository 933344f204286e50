"""School calendars: school-day arithmetic, half-terms and the calendar files."""
from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from apflow.calendars import CalendarFileError, calendar_path, load_calendar
from apflow.settings import Settings
from domain.calendar import (
    CalendarError,
    HalfTerm,
    SchoolCalendar,
    academic_year,
    calendar_from_dict,
    default_calendar,
    england_bank_holidays,
)

ONE_DAY = timedelta(days=1)
REPO_CALENDARS = Path(__file__).resolve().parents[2] / "calendars"
BANK_HOLIDAYS = england_bank_holidays(range(2024, 2031))

DEFAULT = load_calendar("100000", REPO_CALENDARS)  # no file of its own: the trust default
SCHOOL = load_calendar("137000", REPO_CALENDARS)  # own file, different INSET days
WEEKDAYS = SchoolCalendar(school_id="100000", bank_holidays=BANK_HOLIDAYS)  # no term dates at all


def d(text: str) -> date:
    return date.fromisoformat(text)


# -- strategies ------------------------------------------------------------------


@st.composite
def generated_calendars(draw: st.DrawFn) -> SchoolCalendar:
    """Random but well-formed calendars: 1-3 academic years of 1-7 half-terms, with closures."""
    half_terms: list[HalfTerm] = []
    closures: set[date] = set()
    first_year = draw(st.integers(2024, 2027))
    for year in range(first_year, first_year + draw(st.integers(1, 3))):
        day = date(year, 8, 20) + timedelta(days=draw(st.integers(0, 20)))
        for _ in range(draw(st.integers(1, 7))):
            end = day + timedelta(days=draw(st.integers(0, 60)))
            if academic_year(end) != year:
                break
            half_terms.append(HalfTerm(start=day, end=end))
            span = (end - day).days
            for offset in draw(st.lists(st.integers(0, span), max_size=3)):
                closures.add(day + timedelta(days=offset))
            day = end + timedelta(days=draw(st.integers(1, 20)))
    return SchoolCalendar(
        school_id="100001",
        half_terms=tuple(half_terms),
        closures=frozenset(closures),
        bank_holidays=BANK_HOLIDAYS,
    )


calendars = st.one_of(st.sampled_from([DEFAULT, SCHOOL, WEEKDAYS]), generated_calendars())
# Reaches past the recorded years on both sides, where the weekday fallback applies.
days = st.dates(date(2024, 6, 1), date(2029, 12, 31))
counts = st.integers(0, 250)


def naive_is_school_day(calendar: SchoolCalendar, day: date) -> bool:
    """The definition in RULES "Words", written the slow, obvious way."""
    recorded_years = {academic_year(h.start) for h in calendar.half_terms}
    in_term = academic_year(day) not in recorded_years or any(h.start <= day <= h.end for h in calendar.half_terms)
    return day.weekday() < 5 and day not in calendar.bank_holidays and day not in calendar.closures and in_term


def school_day_on_or_after(calendar: SchoolCalendar, day: date) -> date:
    while not calendar.is_school_day(day):
        day += ONE_DAY
    return day


# -- properties ------------------------------------------------------------------


@given(calendars, st.dates(date(2020, 1, 1), date(2034, 12, 31)), st.dates(date(2020, 1, 1), date(2034, 12, 31)))
def test_school_days_between_counts_what_a_walk_counts(calendar: SchoolCalendar, a: date, b: date) -> None:
    """Long counts come from running totals built once a calendar: the same
    answer as walking the days, inside the totals' years and beyond them."""
    lo, hi = min(a, b), max(a, b)
    walked = sum(naive_is_school_day(calendar, lo + timedelta(days=n)) for n in range(1, (hi - lo).days + 1))
    assert calendar.school_days_between(lo, hi) == walked
    assert calendar.school_days_between(hi, lo) == -walked


@given(calendars, days)
def test_is_school_day_matches_the_definition(calendar: SchoolCalendar, day: date) -> None:
    assert calendar.is_school_day(day) == naive_is_school_day(calendar, day)


@given(calendars, days, counts)
def test_adding_then_subtracting_returns_to_the_same_school_day(calendar: SchoolCalendar, day: date, n: int) -> None:
    start = school_day_on_or_after(calendar, day)
    assert calendar.subtract_school_days(calendar.add_school_days(start, n), n) == start
    assert calendar.add_school_days(calendar.subtract_school_days(start, n), n) == start


@given(calendars, days, st.integers(-250, 250).filter(bool))
def test_adding_lands_on_a_school_day(calendar: SchoolCalendar, day: date, n: int) -> None:
    result = calendar.add_school_days(day, n)
    assert calendar.is_school_day(result)
    assert (result > day) == (n > 0)


@given(calendars, days, counts)
def test_school_days_between_is_consistent_with_add(calendar: SchoolCalendar, day: date, n: int) -> None:
    later = calendar.add_school_days(day, n)
    assert calendar.school_days_between(day, later) == n
    assert calendar.school_days_between(later, day) == -n
    start = school_day_on_or_after(calendar, day)
    assert calendar.school_days_between(start, calendar.subtract_school_days(start, n)) == -n


@given(calendars, days, days, days)
def test_school_days_between_adds_up(calendar: SchoolCalendar, a: date, b: date, c: date) -> None:
    assert calendar.school_days_between(a, b) + calendar.school_days_between(b, c) == calendar.school_days_between(a, c)


@given(calendars, days, days, counts, counts)
def test_add_is_monotonic(calendar: SchoolCalendar, a: date, b: date, n: int, m: int) -> None:
    a, b = min(a, b), max(a, b)
    n, m = min(n, m), max(n, m)
    assert calendar.add_school_days(a, n) <= calendar.add_school_days(b, n)
    assert calendar.add_school_days(a, n) <= calendar.add_school_days(a, m)
    assert calendar.subtract_school_days(a, n) <= calendar.subtract_school_days(b, n)


@given(calendars, days)
def test_first_school_day_is_the_first_on_or_after(calendar: SchoolCalendar, day: date) -> None:
    first = calendar.nth_school_day(day, 1)
    assert first >= day and calendar.is_school_day(first)
    assert not list(calendar.iter_school_days(day, first - ONE_DAY))


@given(calendars, days, st.integers(1, 250))
def test_nth_school_day_counts_the_first_day(calendar: SchoolCalendar, day: date, n: int) -> None:
    nth = calendar.nth_school_day(day, n)
    assert len(list(calendar.iter_school_days(day, nth))) == n


@given(calendars, days)
def test_half_term_of_agrees_with_the_half_terms(calendar: SchoolCalendar, day: date) -> None:
    containing = [h for h in calendar.half_terms if h.contains(day)]
    assert calendar.half_term_of(day) == (containing[0] if containing else None)
    later = [h for h in calendar.half_terms if h.start > day]
    assert calendar.next_half_term(day) == (later[0] if later else None)


@given(generated_calendars())
def test_calendar_json_round_trip(calendar: SchoolCalendar) -> None:
    assert SchoolCalendar.model_validate_json(calendar.model_dump_json()) == calendar


@settings(max_examples=20)
@given(days, st.integers(1, 400))
def test_counting_past_the_recorded_years_terminates(day: date, n: int) -> None:
    # A school with a single short half-term: almost every day is a holiday in
    # that year, but counting must still reach the weekdays beyond it.
    sparse = SchoolCalendar(school_id="100002", half_terms=(HalfTerm(start=d("2026-01-05"), end=d("2026-01-06")),))
    assert sparse.is_school_day(sparse.add_school_days(day, n))
    assert sparse.is_school_day(sparse.add_school_days(day, -n))


# -- real dates ------------------------------------------------------------------


def test_christmas_2026_boxing_day_substitute() -> None:
    assert {d("2026-12-25"), d("2026-12-28")} <= DEFAULT.bank_holidays
    # With no term dates, only the bank holidays stop the count: Fri 25 and Mon 28 Dec.
    assert WEEKDAYS.add_school_days(d("2026-12-24"), 1) == d("2026-12-29")
    assert WEEKDAYS.add_school_days(d("2026-12-31"), 1) == d("2027-01-04")  # Fri 1 Jan
    # In term dates: autumn 2 ends Fri 18 Dec, Mon 4 Jan is INSET.
    assert DEFAULT.add_school_days(d("2026-12-18"), 1) == d("2027-01-05")
    assert DEFAULT.school_days_between(d("2026-12-18"), d("2027-01-05")) == 1
    assert DEFAULT.half_term_of(d("2026-12-28")) is None


def test_easter_2027() -> None:
    good_friday, easter_monday = d("2027-03-26"), d("2027-03-29")
    assert {good_friday, easter_monday} <= DEFAULT.bank_holidays
    # Good Friday is inside spring 2 as the school states it, but never a school day.
    assert DEFAULT.in_term(good_friday) and not DEFAULT.is_school_day(good_friday)
    assert WEEKDAYS.add_school_days(d("2027-03-25"), 1) == d("2027-03-30")
    assert DEFAULT.add_school_days(d("2027-03-25"), 1) == d("2027-04-12")
    assert SCHOOL.add_school_days(d("2027-03-25"), 1) == d("2027-04-13")  # 12 April is INSET there


def test_may_bank_holidays_2027() -> None:
    assert {d("2027-05-03"), d("2027-05-31")} <= DEFAULT.bank_holidays
    assert DEFAULT.in_term(d("2027-05-03")) and not DEFAULT.is_school_day(d("2027-05-03"))
    assert DEFAULT.add_school_days(d("2027-04-30"), 1) == d("2027-05-04")
    assert WEEKDAYS.add_school_days(d("2027-05-28"), 1) == d("2027-06-01")
    assert DEFAULT.add_school_days(d("2027-05-28"), 1) == d("2027-06-08")  # half-term, then INSET 7 June


def test_october_half_term_2026() -> None:
    for day in ("2026-10-26", "2026-10-28", "2026-10-30"):
        assert not DEFAULT.is_school_day(d(day))
        assert DEFAULT.half_term_of(d(day)) is None
    assert DEFAULT.half_term_end(d("2026-10-14")) == d("2026-10-23")
    assert DEFAULT.half_term_end(d("2026-10-28")) is None
    assert DEFAULT.next_half_term_start(d("2026-10-28")) == d("2026-11-02")
    assert DEFAULT.next_half_term_start(d("2026-10-14")) == d("2026-11-02")
    assert DEFAULT.half_term_of(d("2026-11-02")) == HalfTerm(start=d("2026-11-02"), end=d("2026-12-18"))
    autumn_2 = DEFAULT.current_or_next_half_term(d("2026-10-28"))
    assert autumn_2 == HalfTerm(start=d("2026-11-02"), end=d("2026-12-18"))
    assert DEFAULT.current_or_next_half_term(d("2026-11-20")) == autumn_2


def test_february_half_term_2027() -> None:
    assert DEFAULT.school_days_between(d("2027-02-12"), d("2027-02-22")) == 1
    assert DEFAULT.add_school_days(d("2027-02-22"), -1) == d("2027-02-12")
    assert SCHOOL.add_school_days(d("2027-02-22"), -1) == d("2027-02-11")  # 12 Feb is INSET there
    assert DEFAULT.next_half_term_start(d("2027-02-16")) == d("2027-02-22")


def test_inset_days_differ_by_school() -> None:
    assert not DEFAULT.is_school_day(d("2026-09-02")) and SCHOOL.is_school_day(d("2026-09-02"))
    assert DEFAULT.is_school_day(d("2026-10-23")) and not SCHOOL.is_school_day(d("2026-10-23"))
    assert DEFAULT.nth_school_day(d("2026-09-01"), 1) == d("2026-09-03")
    assert SCHOOL.nth_school_day(d("2026-09-01"), 1) == d("2026-09-02")


def test_notice_two_school_days_before_a_monday_start_after_half_term() -> None:
    """§6.5: notice not less than two school days before the start."""
    start = d("2026-11-02")  # Monday after the October half-term
    assert DEFAULT.subtract_school_days(start, 2) == d("2026-10-22")  # Thu: Fri 23 is the other day
    assert SCHOOL.subtract_school_days(start, 2) == d("2026-10-21")  # Fri 23 is INSET there
    assert DEFAULT.school_days_between(d("2026-10-22"), start) == 2
    assert DEFAULT.school_days_between(d("2026-10-23"), start) == 1


def test_sixth_school_day_of_a_suspension() -> None:
    """§13.2: full-time education from the sixth school day of a suspension."""
    assert DEFAULT.nth_school_day(d("2026-10-15"), 6) == d("2026-10-22")
    # Across the half-term: Tue 20, Wed 21, Thu 22, Fri 23, Mon 2, Tue 3 November.
    assert DEFAULT.nth_school_day(d("2026-10-20"), 6) == d("2026-11-03")
    assert SCHOOL.nth_school_day(d("2026-10-20"), 6) == d("2026-11-04")
    # Starting on a holiday day, the count starts at the next school day.
    assert DEFAULT.nth_school_day(d("2026-10-24"), 1) == d("2026-11-02")
    with pytest.raises(ValueError):
        DEFAULT.nth_school_day(d("2026-10-20"), 0)


def test_fallback_outside_the_recorded_years() -> None:
    assert DEFAULT.covers(d("2028-07-31")) and not DEFAULT.covers(d("2028-08-01"))
    assert not DEFAULT.is_school_day(d("2028-07-31"))  # summer holiday of a recorded year
    assert DEFAULT.is_school_day(d("2028-08-01"))  # unknown year: a weekday counts
    assert not DEFAULT.is_school_day(d("2028-08-28"))  # ... but a bank holiday never does
    assert DEFAULT.half_term_of(d("2029-01-10")) is None
    assert DEFAULT.next_half_term(d("2028-07-01")) is None
    assert DEFAULT.add_school_days(d("2028-07-21"), 1) == d("2028-08-01")


def test_default_calendar_is_weekdays_less_bank_holidays() -> None:
    calendar = default_calendar("100000", d("2027-01-01"))
    assert not calendar.is_school_day(d("2027-03-29"))
    assert calendar.is_school_day(d("2027-08-02"))
    assert not calendar.is_school_day(d("2027-08-07"))  # Saturday


# -- the model -----------------------------------------------------------------


def test_real_calendar_json_round_trip() -> None:
    text = SCHOOL.model_dump_json()
    assert SchoolCalendar.model_validate_json(text) == SCHOOL
    assert SchoolCalendar.model_validate(json.loads(text)) == SCHOOL
    assert SchoolCalendar.model_validate_json(text).model_dump_json() == text  # stable: sets sorted


def test_copy_with_changes_forgets_derived_lookups() -> None:
    assert DEFAULT.is_school_day(d("2026-10-22"))
    before = DEFAULT.school_days_between(d("2026-09-01"), d("2026-12-01"))
    closed = DEFAULT.model_copy(update={"closures": DEFAULT.closures | {d("2026-10-22")}})
    assert not closed.is_school_day(d("2026-10-22"))
    assert closed.school_days_between(d("2026-09-01"), d("2026-12-01")) == before - 1


def test_model_rejects_overlapping_or_backwards_half_terms() -> None:
    with pytest.raises(ValidationError, match="before it starts"):
        HalfTerm(start=d("2026-10-23"), end=d("2026-09-01"))
    with pytest.raises(ValidationError, match="overlap"):
        SchoolCalendar(
            school_id="100000",
            half_terms=(
                HalfTerm(start=d("2026-09-01"), end=d("2026-10-23")),
                HalfTerm(start=d("2026-10-20"), end=d("2026-12-18")),
            ),
        )


# -- parsing and loading -------------------------------------------------------

GOOD = """\
[academic_years."2026-27"]
half_terms = [
  { start = 2026-09-01, end = 2026-10-23 },
  { start = 2026-11-02, end = 2026-12-18 },
]
closures = [
  2026-09-01,  # INSET
]
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_calendar_from_dict_accepts_iso_strings() -> None:
    data = {"academic_years": {"2026-27": {"half_terms": [{"start": "2026-09-01", "end": "2026-10-23"}]}}}
    calendar = calendar_from_dict("100000", data, BANK_HOLIDAYS)
    assert calendar.half_terms == (HalfTerm(start=d("2026-09-01"), end=d("2026-10-23")),)


def test_repository_files_parse_into_six_half_terms_a_year() -> None:
    for calendar in (DEFAULT, SCHOOL):
        years = [academic_year(h.start) for h in calendar.half_terms]
        assert {y: years.count(y) for y in set(years)} == {2025: 6, 2026: 6, 2027: 6}
    assert SCHOOL.half_terms == DEFAULT.half_terms
    assert SCHOOL.closures != DEFAULT.closures


def test_load_school_file(tmp_path: Path) -> None:
    write(tmp_path, "default", GOOD.replace("2026-09-01,  # INSET", "2026-09-02,"))
    write(tmp_path, "137000", GOOD)
    calendar = load_calendar("137000", tmp_path)
    assert calendar.school_id == "137000"
    assert calendar.closures == {d("2026-09-01")}
    assert d("2026-12-25") in calendar.bank_holidays  # bank holidays come from the package
    assert load_calendar("137000", tmp_path, years=range(2026, 2027)).bank_holidays == england_bank_holidays([2026])


def test_a_file_is_read_once_until_it_changes(tmp_path: Path) -> None:
    write(tmp_path, "137000", GOOD)
    first = load_calendar("137000", tmp_path)
    assert load_calendar("137000", tmp_path) is first  # the same file: not parsed again
    path = write(tmp_path, "137000", GOOD.replace("2026-09-01,  # INSET", "2026-09-02,  # INSET"))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))  # the edit's new time, surely
    changed = load_calendar("137000", tmp_path)
    assert changed.closures == {d("2026-09-02")} and first.closures == {d("2026-09-01")}


def test_default_file_when_the_school_has_none(tmp_path: Path) -> None:
    write(tmp_path, "default", GOOD)
    assert calendar_path("123456", tmp_path) == tmp_path / "default.toml"
    calendar = load_calendar("123456", tmp_path)
    assert calendar.school_id == "123456" and len(calendar.half_terms) == 2


def test_weekdays_when_no_file_at_all(tmp_path: Path) -> None:
    calendar = load_calendar("123456", tmp_path, years=range(2026, 2028))
    assert not calendar.half_terms
    assert calendar.is_school_day(d("2026-08-03")) and not calendar.is_school_day(d("2026-08-31"))


def test_env_var_overrides_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "default", GOOD)
    monkeypatch.setenv("APFLOW_CALENDARS_DIR", str(tmp_path))
    assert calendar_path("137000", Settings().calendars_dir) == tmp_path / "default.toml"
    assert len(load_calendar("137000", Settings().calendars_dir).half_terms) == 2
    monkeypatch.setenv("APFLOW_CALENDARS_DIR", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="APFLOW_CALENDARS_DIR"):
        load_calendar("137000", Settings().calendars_dir)


def test_school_id_cannot_leave_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="school id"):
        load_calendar("../default", tmp_path)


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        pytest.param(
            GOOD.replace("end = 2026-12-18", "end = 2026-10-30"),
            4,
            'academic_years."2026-27".half_terms[1].end',
            "before it starts",
            id="end-before-start",
        ),
        pytest.param(
            GOOD.replace("start = 2026-11-02", "start = 2026-10-19"),
            4,
            'academic_years."2026-27".half_terms[1].start',
            "overlaps",
            id="overlapping-half-terms",
        ),
        pytest.param(
            GOOD.replace("2026-09-01,  # INSET", "2026-10-28,  # INSET"),
            7,
            'academic_years."2026-27".closures[0]',
            "not inside any half-term",
            id="closure-outside-term",
        ),
        pytest.param(
            GOOD.replace("start = 2026-11-02, end = 2026-12-18", "start = 2027-11-01, end = 2027-12-17"),
            4,
            'academic_years."2026-27".half_terms[1].start',
            "not in academic year 2026-27",
            id="half-term-in-the-wrong-year",
        ),
        pytest.param(
            GOOD.replace("closures", "closure"),
            1,
            'academic_years."2026-27"',
            "unknown key(s) closure",
            id="misspelt-key",
        ),
        pytest.param(
            GOOD.replace("2026-09-01,  # INSET", '"1st September",'),
            7,
            'academic_years."2026-27".closures[0]',
            "expected a date",
            id="not-a-date",
        ),
        pytest.param(GOOD.replace("end = 2026-10-23", "end = 2026-10-"), 3, "", "not valid TOML", id="bad-toml"),
    ],
)
def test_malformed_file_names_file_line_and_field(
    tmp_path: Path, text: str, line: int, field: str, message: str
) -> None:
    path = write(tmp_path, "137000", text)
    with pytest.raises(CalendarFileError) as caught:
        load_calendar("137000", tmp_path)
    error = caught.value
    assert error.path == path and error.line == line and error.field == field
    assert str(error).startswith(f"{path}, line {line}: {field}")
    assert message in str(error)
    assert isinstance(error, CalendarError)


def test_malformed_school_file_is_not_silently_replaced_by_the_default(tmp_path: Path) -> None:
    write(tmp_path, "default", GOOD)
    write(tmp_path, "137000", "academic_years = 3\n")
    with pytest.raises(CalendarFileError, match="137000.toml"):
        load_calendar("137000", tmp_path)
