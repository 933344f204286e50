"""Placements for the records' tests, brought to a state over the JSON API."""
from __future__ import annotations

from datetime import date

from apflow import samples
from tests.api import test_api as api
from tests.console.helpers import consulted, school_day_on_or_before, today


def half_term_start(cal) -> date:
    """The first school day of the half-term holding today (a placement
    running since then owes this half-term's visit, §2.5, §8.2.6)."""
    d = today()
    ht = cal.current_or_next_half_term(d)
    first = cal.nth_school_day(ht.start, 1) if ht is not None and ht.start <= d else d
    return min(first, school_day_on_or_before(cal, d))


async def running_since(http, cal, start: date, name: str, **changes) -> str:
    """A placement recorded after the fact, running since `start`: its notice
    handed over with a copy three school days before."""
    pid = await consulted(http, start, name, **changes)
    copy = await api.upload_copy(http, pid)
    await api.act(http, pid, "notify", samples.notify(cal.add_school_days(start, -3), copy), api.HEAD)
    await api.wait_for_state(http, pid, "active")
    return pid
