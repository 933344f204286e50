"""Attendance fixtures: a school calendar built around a real England bank
holiday (so every run, whatever the date, has a half-term with an INSET day,
a bank holiday and a holiday week after it), placements written straight to
the register, and the API in-process."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, time, timedelta

import httpx
import pytest
import pytest_asyncio

from apflow import samples
from apflow.attendance_codes import load_codes
from apflow.calendars import load_calendar
from apflow.settings import Settings
from domain.access import may_see
from domain.calendar import academic_year, academic_year_label, england_bank_holidays
from domain.clock import uk_instant
from domain.models import SYSTEM, Actor, HistoryEntry, Placement, Role
from store import attendance, register
from tests.proxy import SECRET_HEADER

SCHOOL = samples.SCHOOL.school_id
LEAD = Actor(user_id="aplead-137000", role=Role.ap_lead, school_id=SCHOOL)
HEAD = Actor(user_id="head-137000", role=Role.headteacher, school_id=SCHOOL)
OPS = Actor(user_id="ops-1", role=Role.trust_operations)


def monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


@dataclass(frozen=True)
class Term:
    """Two half-terms with a holiday week between them (and, before them,
    term time from the start of the academic year, so that notice can be given):

    week 1-4   first half-term: INSET on the Thursday of week 2; a bank holiday in week 3
    week 5     half-term holiday
    week 6-9   second half-term
    """

    first: date  # Monday of week 1
    inset: date
    bank_holiday: date
    first_end: date
    second: date
    second_end: date

    @property
    def holiday(self) -> list[date]:
        return [self.first_end + timedelta(days=n) for n in range(3, 8)]


def term_after(now: date) -> Term:
    """The term around the first spring or summer bank holiday (England) at
    least four weeks away, so the placement can be proposed and notified first
    and both half-terms stay inside one academic year."""
    holidays = sorted(england_bank_holidays(range(now.year, now.year + 3)))
    bh = next(d for d in holidays if d >= now + timedelta(days=28) and 3 <= d.month <= 6 and d.weekday() < 5)
    first = monday(bh) - timedelta(days=14)
    return Term(
        first=first,
        inset=first + timedelta(days=10),
        bank_holiday=bh,
        first_end=first + timedelta(days=25),
        second=first + timedelta(days=35),
        second_end=first + timedelta(days=60),
    )


def write_calendar(folder, term: Term, school_id: str = SCHOOL) -> None:
    year = academic_year(term.first)
    (folder / f"{school_id}.toml").write_text(
        f'[academic_years."{academic_year_label(year)}"]\n'
        f"half_terms = [\n"
        f"  {{ start = {date(year, 8, 1)}, end = {term.first - timedelta(days=10)} }},\n"
        f"  {{ start = {term.first}, end = {term.first_end} }},\n"
        f"  {{ start = {term.second}, end = {term.second_end} }},\n"
        f"]\n"
        f"closures = [{term.inset}]\n"
    )


@pytest.fixture
def calendars(tmp_path, monkeypatch):
    """Points the calendar loader at a folder of the test's own; returns a
    function that writes the term for a given 'now' there."""
    folder = tmp_path / "calendars"
    folder.mkdir()
    monkeypatch.setenv("APFLOW_CALENDARS_DIR", str(folder))

    def make(now: date, school_id: str = SCHOOL) -> Term:
        term = term_after(now)
        write_calendar(folder, term, school_id)
        return term

    make.folder = folder
    return make


def calendars_of(request) -> dict:
    """The test's own calendar folder, when it has one, for an app's `Settings`:
    the API reads the folder its settings name, whichever fixture came first."""
    if "calendars" not in request.fixturenames:
        return {}
    return {"calendars_dir": request.getfixturevalue("calendars").folder}


def active_placement(start: date, dual: bool = False, **changes) -> Placement:
    """A placement that started on `start`, as its workflow would have projected it."""
    p = samples.proposal(start, **changes)
    at = uk_instant(start - timedelta(days=10), time(9))
    steps = [("propose", "", "proposed"), ("vet", "proposed", "vetted"), ("consult_la", "vetted", "la_consulted"),
             ("notify", "la_consulted", "notified")]
    history = [HistoryEntry(seq=i + 1, action=a, actor=LEAD, at=at, from_state=f, to_state=t) for i, (a, f, t) in enumerate(steps)]
    history.append(HistoryEntry(seq=5, action="start", actor=SYSTEM, at=uk_instant(start, time(0, 5)), from_state="notified", to_state="active"))
    return Placement(
        placement_id=f"placement-{uuid.uuid4()}", state="active", history=history,
        dual_registration_from=start if dual else None, **p.model_dump(),
    )


def put(engine, placement: Placement) -> Placement:
    register.project(engine, placement, None)
    return placement


def record(engine, marks, today: date, source: str = "provider", actor: Actor = LEAD) -> attendance.Recorded:
    """The store function the API's POST /api/attendance uses."""
    rows = [m if isinstance(m, attendance.MarkIn) else attendance.MarkIn(*m) for m in marks]
    return attendance.record_register(engine, CODES, rows, lambda school_id: actor if may_see(actor, school_id) else None,
                                     source, today, lambda school_id: load_calendar(school_id, Settings().calendars_dir),
                                     lambda school_id: may_see(actor, school_id))


CODES = load_codes(Settings().attendance_codes)


@pytest.fixture
def codes_synced(engine):
    attendance.sync_codes(engine, CODES)
    return engine


def headers(actor: Actor) -> dict[str, str]:
    h = {"X-User": actor.user_id, "X-Role": actor.role.value, **SECRET_HEADER}
    if actor.school_id:
        h["X-School"] = actor.school_id
    return h


class ApiClient:
    def __init__(self, http: httpx.AsyncClient, app):
        self.http = http
        self.app = app

    def today_is(self, day: date) -> None:
        from console.attendance import today

        self.app.dependency_overrides[today] = lambda: day


@pytest_asyncio.fixture
async def api(engine, tmp_path, request):
    """The whole app in-process (no Temporal needed for attendance)."""
    from console.api import create_app

    app = create_app(Settings(var_dir=tmp_path / "var", **calendars_of(request)), client=object(), engine=engine)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://apflow.test") as http:
            yield ApiClient(http, app)


def school_days(term: Term, first: date, last: date) -> list[date]:
    cal = load_calendar(SCHOOL, Settings().calendars_dir)
    return list(cal.iter_school_days(first, last))




# --- live placements on a Temporal test server ---------------------------------------


async def env_today(env) -> date:
    from domain.clock import uk_date

    return uk_date(await env.get_current_time())


async def sleep_until(env, day: date, at: time) -> None:
    gap = uk_instant(day, at) - await env.get_current_time()
    if gap.total_seconds() > 0:
        await env.sleep(gap)


async def live_placement(env, task_queue: str, start: date, **changes) -> str:
    """A placement workflow proposed, vetted, LA-consulted and notified today,
    to start by itself on `start`."""
    from workflows.client import act, start_placement

    today = await env_today(env)
    handle, _ = await start_placement(
        env.client, task_queue, samples.proposal(start, **changes), LEAD, load_calendar(SCHOOL, Settings().calendars_dir), now=await env.get_current_time(),
    )
    await act(env.client, handle.id, LEAD, samples.vet())
    await act(env.client, handle.id, LEAD, samples.consult_la(today))
    await act(env.client, handle.id, HEAD, samples.notify(today))
    return handle.id


async def sweep(env, task_queue: str, sessions: list[str], day: date | None = None):
    from workflows.attendance import AttendanceSweepWorkflow, SweepInput

    # The sweep runs at the time the test has moved to: the test server
    # would otherwise skip ahead to the placements' next timers while the
    # client waits for the result.
    with env.auto_time_skipping_disabled():
        return await env.client.execute_workflow(
            AttendanceSweepWorkflow.run, SweepInput(sessions=sessions, day=day),
            id=f"attendance-sweep-test-{uuid.uuid4()}", task_queue=task_queue,
        )


ATTENDANCE_KINDS = ("attendance_missing", "unexplained_absence")


async def attendance_escalations(env, placement_id: str, expected_count: int | None = None, wait_s: float = 10) -> list:
    """The placement's attendance escalations, from its workflow's snapshot;
    waits (a little) until `expected_count` have arrived, signals being async."""
    import asyncio

    from workflows.client import snapshot

    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        snap = await snapshot(env.client, placement_id)
        found = [e for e in snap.placement.escalations if e.kind in ATTENDANCE_KINDS]
        if expected_count is None or len(found) >= expected_count or loop.time() > deadline:
            return found
        await asyncio.sleep(0.1)
