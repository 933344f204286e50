"""Reading school calendars from the trust's TOML files.

The trust edits term dates as files, one per school that differs from the
default (``calendars/<URN>.toml``) and ``calendars/default.toml`` for the rest;
the format is described at the top of ``default.toml``. Parsing and checking
are pure and live in `domain.calendar`; this module only finds and reads the
file, adds England's bank holidays, and turns a data error into a message that
names the file and line. The folder is the caller's (`Settings.calendars_dir`).
"""
from __future__ import annotations

import re
import tomllib
from datetime import date
from functools import lru_cache
from pathlib import Path

from domain.calendar import (
    CalendarError,
    SchoolCalendar,
    academic_year,
    calendar_from_dict,
    default_calendar,
    england_bank_holidays,
)

SETTING = "APFLOW_CALENDARS_DIR"  # named in errors: where the folder is set
DEFAULT_NAME = "default"

# A school id becomes a file name: allow nothing that could leave the folder.
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_TOML_LINE = re.compile(r"at line (\d+)")


class CalendarFileError(CalendarError):
    """A calendar file cannot be used; the message names the file and line."""

    def __init__(self, path: Path, line: int | None, message: str, field: str = "", value: object = None) -> None:
        where = f"{path}, line {line}" if line else str(path)
        ValueError.__init__(self, f"{where}: {field}: {message}" if field else f"{where}: {message}")
        self.message = message
        self.field = field
        self.value = value
        self.path = path
        self.line = line


def calendar_path(school_id: str, folder: Path) -> Path | None:
    """The file in `folder` that holds a school's calendar: its own, else the default, else None."""
    if not _SAFE_ID.match(school_id):
        raise ValueError(f"not a usable school id for a calendar file: {school_id!r}")
    where = Path(folder)
    if not where.is_dir():
        # A wrong setting must not silently turn every weekday into a school day.
        raise FileNotFoundError(f"calendar folder {where} does not exist (set {SETTING})")
    for name in (school_id, DEFAULT_NAME):
        path = where / f"{name}.toml"
        if path.is_file():
            return path
    return None


def load_calendar(school_id: str, folder: Path, years: range | None = None) -> SchoolCalendar:
    """The calendar of one school (a URN), with England's bank holidays.

    Reads ``<school_id>.toml`` from `folder`, else ``default.toml``.
    `years` are the calendar years whose bank holidays to include; by default
    the years of the recorded term dates and two beyond, so that counting past
    the last recorded year (where the calendar falls back to weekdays) still
    skips bank holidays. With neither file present, falls back to
    `default_calendar` (weekdays less bank holidays) around today.

    Raises `CalendarFileError` for a malformed file, naming file, line and field.
    """
    path = calendar_path(school_id, folder)
    if path is None:
        return default_calendar(school_id, date.today()) if years is None else SchoolCalendar(
            school_id=school_id, bank_holidays=england_bank_holidays(years)
        )
    # Read again only once the file has changed: parsing it and working out
    # the bank holidays costs milliseconds, and pages ask for a calendar at
    # every request (Today for every school it lists).
    stat = path.stat()
    return _read(school_id, path, stat.st_mtime_ns, stat.st_size, years)


@lru_cache(maxsize=512)
def _read(school_id: str, path: Path, _mtime_ns: int, _size: int, years: range | None) -> SchoolCalendar:
    """The calendar in `path` as it is at that modification time and size (a
    frozen model, so one copy serves every caller)."""
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_LINE.search(str(exc))
        raise CalendarFileError(path, int(found[1]) if found else None, f"not valid TOML: {exc}") from exc
    try:
        calendar = calendar_from_dict(school_id, data, frozenset())
    except CalendarError as exc:
        raise CalendarFileError(path, _line_of(text, exc), exc.message, exc.field, exc.value) from exc

    if years is None:
        first = academic_year(calendar.half_terms[0].start)
        last = academic_year(calendar.half_terms[-1].end)
        years = range(first, last + 3)
    return calendar.model_copy(update={"bank_holidays": england_bank_holidays(years)})


def _line_of(text: str, error: CalendarError) -> int | None:
    """Best guess at the line a data error comes from (1-based), for the message.

    TOML parsers keep no positions, so walk the text: to the academic year's
    table, then to each key named in the field (``half_terms``, ``closures``),
    then to the first line showing the offending value.
    """
    lines = text.splitlines()
    at = 0
    year = re.search(r'academic_years\."([^"]*)"', error.field)
    if year:
        header = re.compile(r'^\s*\[\s*academic_years\s*\.\s*"?' + re.escape(year[1]) + r'"?\s*\]')
        at = next((i for i, line in enumerate(lines) if header.match(line)), 0)
    for key in re.findall(r"\.(half_terms|closures)\b", error.field):
        pattern = re.compile(rf"^\s*{key}\s*=")
        at = next((i for i in range(at, len(lines)) if pattern.match(lines[i])), at)
    if error.value is not None:
        needle = error.value.isoformat() if isinstance(error.value, date) else str(error.value)
        hit = next((i for i in range(at, len(lines)) if needle in lines[i].split("#", 1)[0]), None)
        if hit is not None:
            return hit + 1
    return at + 1 if (year or error.field) else None
