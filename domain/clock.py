"""UK civil time without timezone files, so workflow code stays deterministic.

British Summer Time runs from 01:00 UTC on the last Sunday of March to 01:00
UTC on the last Sunday of October (Summer Time Order 2002).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone


def _last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() - 6) % 7)


def uk_offset(at: datetime) -> timedelta:
    """The UK's offset from UTC at an aware instant."""
    utc = at.astimezone(timezone.utc)
    start = datetime.combine(_last_sunday(utc.year, 3), time(1), timezone.utc)
    end = datetime.combine(_last_sunday(utc.year, 10), time(1), timezone.utc)
    return timedelta(hours=1) if start <= utc < end else timedelta(0)


def uk_date(at: datetime) -> date:
    """The date in England at an aware instant."""
    return (at.astimezone(timezone.utc) + uk_offset(at)).date()


def uk_instant(day: date, at: time = time(0)) -> datetime:
    """The UTC instant of a wall-clock time on a day in England."""
    naive = datetime.combine(day, at, timezone.utc)
    return naive - uk_offset(naive - timedelta(hours=1))
