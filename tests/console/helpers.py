"""What the console's tests share: today in England, invented pupils, school
days, and placements brought to a state through the JSON API."""
from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

from apflow import samples
from domain.clock import uk_date
from tests.api import test_api as api


def today() -> date:
    return uk_date(datetime.now(UTC))


def pupil(name: str = "Alex Example"):
    """An invented pupil under an id of their own (one placement at a time each)."""
    return samples.proposal(today()).pupil.model_copy(update={"pupil_id": f"P-{uuid.uuid4().hex[:8]}", "name": name})


def school_day_on_or_before(cal, day: date) -> date:
    return day if cal.is_school_day(day) else cal.add_school_days(day, -1)


async def until(check, wait_s: float = 20, what: str = "") -> None:
    """Letters and the automatic start follow their step: wait until `check()`
    holds (`what` it waits for, named if it does not)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while not check():
        assert loop.time() < deadline, f"{what or 'the check'}: not within {wait_s} s"
        await asyncio.sleep(0.2)


async def consulted(http, start: date, name: str, **changes) -> str:
    """A placement proposed, vetted and its LA consulted, over the API; its id."""
    snap = await api.propose(http, start, pupil=pupil(name), **changes)
    pid = snap["placement"]["placement_id"]
    await api.act(http, pid, "vet", samples.vet(safeguarding_confirmation_received_on=today()))
    await api.act(http, pid, "consult_la", samples.consult_la(today()))
    return pid


async def started_today(http, cal, name: str, **changes) -> str:
    """A placement recorded after the fact: started on the last school day,
    its notice handed over with a copy three school days before. Its late
    notice is escalated to the headteacher (§6.5)."""
    start = school_day_on_or_before(cal, today())
    pid = await consulted(http, start, name, **changes)
    copy = await api.upload_copy(http, pid)
    await api.act(http, pid, "notify", samples.notify(cal.add_school_days(start, -3), copy), api.HEAD)
    await api.wait_for_state(http, pid, "active")
    return pid


def on_the_first_register_day(monkeypatch, engine, cal, placement_id: str) -> date:
    """The first day on or after the placement started that owes a session
    (a school day its pattern attends), made the attendance pages' today: a
    placement started on a weekend, in a holiday or on a day its pattern
    skips owes nothing until then, and the pages' checks would have none to show."""
    from console.pages import attendance, attendance_week
    from domain.attendance import WEEKDAYS
    from store import attendance as marks

    facts = marks.expectation(engine, placement_id)
    day = facts.started_on
    while not (cal.is_school_day(day) and day.weekday() < 5 and WEEKDAYS[day.weekday()] in facts.days):
        day += timedelta(days=1)
    for module in (attendance, attendance_week):
        monkeypatch.setattr(module, "today", lambda: day)
    return day
