"""Benchmark: a school day's attendance for thousands of active placements,
recorded through the API, then the sweep that chases what is missing.

    .venv/bin/python -m bench.attendance                  # 5,000 placements, SQLite, Temporal dev server
    .venv/bin/python -m bench.attendance --no-temporal    # the database parts only
    .venv/bin/python -m bench.attendance --db postgresql+psycopg://...   # an empty database of your own

What is measured, in one run on one machine:

1. setup (not a result): N active placements written straight into the
   register and the expectations projection, in one transaction.
2. the day's registers through the real API, in-process (httpx over ASGI:
   routing, validation of every row against its placement and the code
   table, the bulk upsert), one call per provider as providers send them;
   then the same registers again (idempotent: nothing changes); then the
   previous day's registers as one call for the whole trust.
3. the baseline: the same number of marks inserted naively, one row per
   transaction with no validation at all, as a service taking one mark per
   request would at best. Measured on a sample and scaled: see the output.
4. the sweep's query (which placements owe a mark, have a mark the provider
   has not stood behind, or an unexplained absence), over all N placements.
5. with Temporal: the sweep workflow end to end on a local dev server,
   signalling the placements it found. Workflows are started only for those
   placements, because by design the sweep never touches any other; the time
   until every signalled workflow shows its escalation is measured too.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time as clock
import uuid
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import httpx
from sqlalchemy import insert, select

from apflow.attendance_codes import load_codes
from apflow.calendars import load_calendar
from apflow.settings import Settings
from domain.access import Grant
from domain.clock import uk_date, uk_instant
from domain.models import SYSTEM, HistoryEntry, Pattern, Placement, Role, School, Weekday
from store import accounts, attendance
from store.db import make_engine, migrate
from store.tables import PlacementRow

SCHOOLS = 20
PROVIDERS = 200
RNG_SEED = 20261129
# The trust's files (calendars, codes) where the environment's settings say.
SETTINGS = Settings()


def ops_token(engine) -> dict[str, str]:
    """The bench's own trust operations account and a token for it: the API
    answers only a person it can name, and a token is how an integration is named."""
    now = datetime.now(timezone.utc)
    user = accounts.add_user(engine, f"bench-{uuid.uuid4().hex[:8]}@trust.example", "Benchmark", now)
    accounts.add_grant(engine, user.user_id, Grant(Role.trust_operations))
    return {"Authorization": f"Bearer {accounts.create_token(engine, user.user_id, 'bench', now, timedelta(hours=2)).token}"}


def last_school_day(before: date) -> date:
    cal = load_calendar("140000", SETTINGS.calendars_dir)
    day = before
    while not cal.is_school_day(day):
        day -= timedelta(days=1)
    return day


def build_placements(n: int, start: date, days: list[date]) -> list[Placement]:
    """Invented placements: 20 schools, 200 providers (one in ten a pupil
    referral unit, where pupils are dual registered), four in five full time."""
    from apflow import samples

    rng = random.Random(RNG_SEED)
    weekdays = {Weekday(("mon", "tue", "wed", "thu", "fri")[d.weekday()]) for d in days}
    providers = []
    for i in range(PROVIDERS):
        pru = i % 10 == 0
        base = samples.registered_provider() if pru else samples.provider()
        providers.append(base.model_copy(update={"name": f"Provider {i:03d}"}))
    out = []
    for i in range(n):
        provider = providers[i % PROVIDERS]
        if rng.random() < 0.8:
            pattern = samples.FULL_TIME
        else:
            pattern = Pattern(full_time=False, days=sorted(weekdays | {Weekday.mon}), arrival=time(9), departure=time(15))
        school = School(school_id=f"{140000 + i % SCHOOLS}", name=f"School {i % SCHOOLS}", local_authority="Kirklees")
        p = samples.proposal(start, school=school, provider=provider, pattern=pattern)
        at = uk_instant(start, time(0, 5))
        history = [
            HistoryEntry(seq=1, action="propose", actor=SYSTEM, at=at - timedelta(days=14), from_state="", to_state="proposed"),
            HistoryEntry(seq=2, action="start", actor=SYSTEM, at=at, from_state="notified", to_state="active"),
        ]
        out.append(Placement(
            placement_id=f"placement-{uuid.UUID(int=rng.getrandbits(128), version=4)}", state="active", history=history,
            dual_registration_from=start if provider.registered_school else None, **p.model_dump(),
        ))
    return out


def write_register(engine, placements: list[Placement]) -> None:
    now = datetime.now(timezone.utc)
    rows = [dict(
        placement_id=p.placement_id, school_id=p.school.school_id, state=p.state, kind=p.kind.value,
        pupil_id=p.pupil.pupil_id, provider_name=p.provider.name, start_date=p.start_date,
        planned_end_date=p.planned_end_date, next_deadline=None, seq=p.seq, data=p.model_dump(mode="json"), updated_at=now,
    ) for p in placements]
    with engine.begin() as conn:
        for i in range(0, len(rows), 500):
            conn.execute(insert(PlacementRow), rows[i:i + 500])
            attendance.upsert_expectations(conn, placements[i:i + 500])


def plan_marks(placements: list[Placement], day: date) -> tuple[dict[str, list[dict]], set[tuple[str, str, str]]]:
    """The day's registers by provider, and the (placement, session, problem)
    the sweep must then find: 1 % with no afternoon mark, 1 % an unexplained
    absence in the morning, some illness and part-time (C2) sessions."""
    rng = random.Random(RNG_SEED + day.toordinal())
    registers: dict[str, list[dict]] = defaultdict(list)
    expected: set[tuple[str, str, str]] = set()
    for p in placements:
        for session in ("am", "pm"):
            r = rng.random()
            if session == "pm" and r < 0.01:
                expected.add((p.placement_id, "pm", "missing"))
                continue
            if session == "am" and r < 0.01:
                code = "N"
                expected.add((p.placement_id, "am", "unexplained_absence"))
            elif r < 0.03:
                code = "I"
            elif not p.pattern.full_time and session == "pm" and r < 0.2:
                code = "C2"
            else:
                code = "D" if p.provider.registered_school else "B"
            registers[p.provider.name].append(
                {"placement_id": p.placement_id, "day": day.isoformat(), "session": session, "code": code})
    return registers, expected


def naive_inserts(engine, placements: list[Placement], day: date, limit: int) -> tuple[int, float]:
    """One INSERT and one COMMIT per mark, nothing checked."""
    t0 = clock.perf_counter()
    n = 0
    now = datetime.now(timezone.utc)
    for p in placements:
        for session in ("am", "pm"):
            if n >= limit:
                return n, clock.perf_counter() - t0
            with engine.begin() as conn:
                conn.execute(insert(attendance.AttendanceMark).values(
                    placement_id=p.placement_id, day=day, session=session, code="D" if p.provider.registered_school else "B",
                    explained=None, note=None, source="provider", provider_code="B", recorded_by="bench",
                    recorded_role="trust_operations", recorded_at=now))
            n += 1
    return n, clock.perf_counter() - t0


def line(label: str, seconds: float, per: str = "", extra: str = "") -> None:
    print(f"  {label:<58} {seconds:8.3f} s  {per:>22}  {extra}")


async def run(args) -> None:
    from console import attendance as api_attendance
    from console.api import create_app

    n = args.placements
    tmp = Path(tempfile.mkdtemp(prefix="apflow-bench-"))
    url = args.db or f"sqlite:///{tmp / 'bench.db'}"
    engine = make_engine(url)
    migrate(engine)
    attendance.sync_codes(engine, load_codes(SETTINGS.attendance_codes))
    ops = ops_token(engine)

    day = args.day or last_school_day(uk_date(datetime.now(timezone.utc)))
    cal = load_calendar("140000", SETTINGS.calendars_dir)
    day_before = cal.add_school_days(day, -1)
    day_naive = cal.add_school_days(day, -2)
    start = cal.add_school_days(day, -5)
    print(f"apflow attendance benchmark: {n:,} active placements, {SCHOOLS} schools, {PROVIDERS} providers")
    print(f"database {engine.dialect.name} ({'temporary file' if not args.db else 'given URL'}); school day {day} ({day:%A}); python {sys.version.split()[0]}")
    print()

    t0 = clock.perf_counter()
    placements = build_placements(n, start, [day, day_before, day_naive])
    write_register(engine, placements)
    print("setup")
    line(f"{n:,} active placements into the register + expectations", clock.perf_counter() - t0)

    registers, expected = plan_marks(placements, day)
    whole_day, expected_before = plan_marks(placements, day_before)
    marks_today = sum(len(r) for r in registers.values())

    app = create_app(Settings(var_dir=tmp / "var"), client=object(), engine=engine)
    app.dependency_overrides[api_attendance.today] = lambda: day
    print()
    print("recording the day's attendance through POST /api/attendance (in-process ASGI)")
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600) as http:
            await http.get("/api/attendance/codes", headers=ops)  # warm up: codes synced, routes built

            async def post_all(regs) -> tuple[float, list[dict]]:
                t = clock.perf_counter()
                results = []
                for rows in regs:
                    r = await http.post("/api/attendance", json={"source": "provider", "marks": rows}, headers=ops)
                    if r.status_code != 200:
                        raise SystemExit(f"register refused: {r.status_code} {r.text[:500]}")
                    results.append(r.json())
                return clock.perf_counter() - t, results

            took, results = await post_all(registers.values())
            created = sum(r["created"] for r in results)
            line(f"{len(registers)} provider registers, {marks_today:,} marks", took,
                 f"{1000 * took / n:.3f} ms/placement", f"{marks_today / took:,.0f} marks/s, created {created:,}")
            again, results = await post_all(registers.values())
            line("the same registers again (idempotent)", again, f"{1000 * again / n:.3f} ms/placement",
                 f"unchanged {sum(r['unchanged'] for r in results):,}, changed {sum(r['changed'] for r in results)}")
            rows = [row for regs in whole_day.values() for row in regs]
            one, _ = await post_all([rows])
            line(f"the previous day as one call for the trust, {len(rows):,} marks", one,
                 f"{1000 * one / n:.3f} ms/placement", f"{len(rows) / one:,.0f} marks/s")

    print()
    print("baseline: naive row-by-row insert, one transaction per mark, no validation")
    sample = min(args.naive_sample, 2 * n)
    done, naive = naive_inserts(engine, placements, day_naive, sample)
    scaled = naive * marks_today / done
    line(f"{done:,} marks measured", naive, f"{1000 * naive / done * 2:.3f} ms/placement", f"{done / naive:,.0f} marks/s")
    line(f"scaled to {marks_today:,} marks" + ("" if done >= marks_today else " (estimate)"), scaled,
         f"{1000 * scaled / n:.3f} ms/placement", f"the API path is {scaled / took:.1f}x faster")

    print()
    print("the sweep's query over every active placement (both sessions)")
    from activities.attendance import AttendanceActivities
    from messages import SweepReport

    finder = AttendanceActivities(
        engine, None, SETTINGS.attendance, lambda school_id: load_calendar(school_id, SETTINGS.calendars_dir), lambda school: None,
    )
    report = SweepReport(day=day, sessions=["am", "pm"])
    t = clock.perf_counter()
    found = finder.find(day, ["am", "pm"], report)
    q = clock.perf_counter() - t
    got = {(c.placement_id, c.session, c.problem) for c in found}
    line(f"{len(found)} to signal among {n:,} placements", q, f"{1000 * q / n:.4f} ms/placement",
         f"missing {report.missing}, unexplained {report.unexplained_absence}; as planned: {got == expected}")
    if got != expected:
        raise SystemExit(f"the sweep found {len(got ^ expected)} placements other than planned")

    print()
    print("baseline: the same check one placement at a time (what a timer per placement would each do)")
    t = clock.perf_counter()
    owing = 0
    with engine.connect() as conn:
        for p in placements:
            for session in ("am", "pm"):
                owing += 1
                conn.execute(select(attendance.AttendanceMark.code, attendance.AttendanceMark.explained,
                                    attendance.AttendanceMark.provider_code).where(
                    attendance.AttendanceMark.placement_id == p.placement_id, attendance.AttendanceMark.day == day,
                    attendance.AttendanceMark.session == session)).first()
    per = clock.perf_counter() - t
    line(f"{owing:,} single-session queries, no workflow woken", per, f"{1000 * per / n:.4f} ms/placement",
         f"the sweep's query is {per / q:.0f}x faster")

    if args.no_temporal:
        print()
        print(f"signals not sent (--no-temporal): the sweep would send {len(found)}, one per placement above, none to the other {n - len(found):,}")
    else:
        await with_temporal(engine, placements, day, found, n)
    engine.dispose()


async def with_temporal(engine, placements, day, found, n) -> None:
    from cryptography.fernet import Fernet
    from temporalio.testing import WorkflowEnvironment

    from apflow.temporal import data_converter, register_search_attributes
    from worker import build_worker
    from workflows.attendance import AttendanceSweepWorkflow, SweepInput
    from workflows.client import snapshot
    from workflows.placement import PlacementInput, PlacementWorkflow

    print()
    print("with Temporal (local dev server): the sweep workflow end to end")
    key = Fernet.generate_key()
    t = clock.perf_counter()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"), data_converter=data_converter(key), ui=False,
    )
    try:
        await register_search_attributes(env.client, env.client.namespace)
        line("dev server start (not a result)", clock.perf_counter() - t)
        task_queue = f"bench-{uuid.uuid4()}"
        by_id = {p.placement_id: p for p in placements}
        targets = sorted({c.placement_id for c in found})
        async with build_worker(env.client, task_queue, engine, settings=SETTINGS):
            t = clock.perf_counter()
            calendars = {s: load_calendar(s, SETTINGS.calendars_dir) for s in {by_id[pid].school.school_id for pid in targets}}
            await asyncio.gather(*(
                env.client.start_workflow(
                    PlacementWorkflow.run,
                    PlacementInput(placement=by_id[pid], calendar=calendars[by_id[pid].school.school_id]),
                    id=pid, task_queue=task_queue,
                )
                for pid in targets
            ))
            await settle(env.client, targets)
            line(f"start + settle the {len(targets)} workflows the sweep will signal (not a result)",
                 clock.perf_counter() - t)

            t = clock.perf_counter()
            report = await env.client.execute_workflow(
                AttendanceSweepWorkflow.run, SweepInput(sessions=["am", "pm"], day=day),
                id=f"attendance-sweep-bench-{uuid.uuid4()}", task_queue=task_queue,
            )
            sweep = clock.perf_counter() - t
            line(f"sweep workflow: query {n:,}, signal {report.signalled}, record alerts", sweep,
                 f"{1000 * sweep / n:.4f} ms/placement", f"not found {report.not_found}")
            line("  of which the query (in the activity)", report.query_seconds)
            line("  of which signals and alert records", report.signal_seconds, f"{1000 * report.signal_seconds / max(report.signalled, 1):.1f} ms/signal",
                 "(the same worker is busy with the signalled workflows meanwhile)")

            want = {pid: sum(1 for c in found if c.placement_id == pid) for pid in targets}
            t = clock.perf_counter()
            pending = dict(want)
            while pending:
                snaps = await asyncio.gather(*(snapshot(env.client, pid) for pid in pending))
                for pid, snap in zip(list(pending), snaps):
                    if sum(1 for e in snap.placement.escalations if e.kind in ("attendance_missing", "unexplained_absence")) >= pending[pid]:
                        del pending[pid]
                if pending:
                    await asyncio.sleep(0.1)
            line(f"until all {sum(want.values())} escalations are on their workflows", clock.perf_counter() - t + sweep,
                 "", "(includes the sweep above)")

            t = clock.perf_counter()
            again = await env.client.execute_workflow(
                AttendanceSweepWorkflow.run, SweepInput(sessions=["am", "pm"], day=day),
                id=f"attendance-sweep-bench-{uuid.uuid4()}", task_queue=task_queue,
            )
            line("the next check the same day (nothing new to signal)", clock.perf_counter() - t,
                 f"{1000 * (clock.perf_counter() - t) / n:.4f} ms/placement", f"signalled {again.signalled}")
            for pid in targets:
                await env.client.get_workflow_handle(pid).terminate("benchmark over")
    finally:
        await env.shutdown()


async def settle(client, ids: list[str]) -> None:
    """Waits until the workflows have done their start-up work (projections,
    the policy clock's first escalations), so the sweep is measured alone."""
    quiet = 0
    while quiet < 2:
        descs = await asyncio.gather(*(client.get_workflow_handle(i).describe() for i in ids))
        busy = any(d.raw_description.pending_activities or d.raw_description.HasField("pending_workflow_task") for d in descs)
        quiet = 0 if busy else quiet + 1
        await asyncio.sleep(0.2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.attendance", description=__doc__.split("\n\n")[0])
    parser.add_argument("--placements", type=int, default=5_000)
    parser.add_argument("--db", help="a database URL (an empty database: the benchmark migrates it); default a temporary SQLite file")
    parser.add_argument("--day", type=date.fromisoformat, help="the school day to record (default: the last one)")
    parser.add_argument("--naive-sample", type=int, default=2_000, help="marks inserted one by one for the baseline (scaled to the day)")
    parser.add_argument("--no-temporal", action="store_true", help="skip the Temporal part")
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
