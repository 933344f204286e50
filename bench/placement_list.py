"""Benchmark: the placement list's first page at 10,000 placements, as the
console's page and as JSON, beside a plain SQL query of the same rows.

    .venv/bin/python -m bench.placement_list              # 10,000 placements, SQLite
    .venv/bin/python -m bench.placement_list -n 1000 --rounds 300

What is measured, in one run, alternating so that the machine's state is
the same for all three:

1. the plain query: the page's rows (the summary columns the list shows,
   filtered by state, newest start first) read with SQLAlchemy Core on the
   same database, no web layer at all;
2. `GET /api/placements?state=active&limit=50` over real HTTP (uvicorn on
   loopback), signed in with a personal API token;
3. the console's page `GET /placements?state=active`, the same way;
4. `GET /api/escalations` (open ones, oldest first), beside a plain query
   of the same escalation rows;
5. the same address without a token, refused (401) before the register is
   read: what the web layer and the HTTP client cost alone.

Each for one school's AP lead and for the trust's operations staff (every
school). The register is written straight into the database (setup, not a
result); the API is the real app, connected to a Temporal dev server it
does not use for a list.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time as clock
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert, text
from temporalio.testing import WorkflowEnvironment

from apflow import samples
from apflow.settings import Settings
from apflow.temporal import data_converter, register_search_attributes
from console.api import create_app
from domain.access import Grant
from domain.models import SYSTEM, Escalation, HistoryEntry, Placement, PlacementKind, PlacementState, Role, School
from store import accounts
from store.db import make_engine, migrate
from store.register import escalation_values, pupil_search
from store.tables import EscalationRow, PlacementRow

SCHOOLS = 20
SEED = 20261201
PAGE = 50
BIN = Path(sys.executable).parent
STATES = [PlacementState.active] * 5 + [PlacementState.closed] * 3 + [PlacementState.proposed, PlacementState.under_review]
KINDS = list(PlacementKind)


def invented_placements(n: int) -> tuple[list[dict], list[dict]]:
    rng = random.Random(SEED)
    base = samples.proposal(date(2026, 9, 7))
    providers = [base.provider.model_copy(update={"name": f"Provider {i:03d}"}) for i in range(100)]
    now = datetime.now(UTC)
    rows, escalations = [], []
    for i in range(n):
        start = date(2025, 9, 1) + timedelta(days=rng.randrange(450))
        school = School(school_id=f"{140000 + i % SCHOOLS}", name=f"School {i % SCHOOLS}", local_authority="Kirklees")
        p = base.model_copy(update={"school": school, "provider": providers[i % len(providers)], "start_date": start,
                                    "planned_end_date": start + timedelta(days=84), "kind": KINDS[i % len(KINDS)]})
        state = STATES[rng.randrange(len(STATES))]
        placement = Placement(
            placement_id=f"placement-{uuid.UUID(int=rng.getrandbits(128), version=4)}", state=state,
            history=[HistoryEntry(seq=1, action="propose", actor=SYSTEM, at=now, from_state="", to_state="proposed")],
            **p.model_dump(exclude={"state"}),
        )
        if state is PlacementState.active and rng.random() < 0.3:  # a few open escalations each, some resolved
            for k in range(rng.randrange(1, 4)):
                e = Escalation(escalation_id=f"missed:{k}", kind="missed_sessions", owner=Role.ap_lead, clause="7.2",
                               message="Two sessions missed in a week", raised_at=now - timedelta(hours=rng.randrange(2000)),
                               resolved_at=now if k == 2 else None, resolved_by=SYSTEM if k == 2 else None)
                escalations.append(escalation_values(placement, e))
        rows.append(dict(
            placement_id=placement.placement_id, school_id=school.school_id, state=state.value, kind=p.kind.value,
            pupil_id=p.pupil.pupil_id, pupil_name=p.pupil.name, pupil_search=pupil_search(p.pupil), provider_name=p.provider.name, start_date=start, planned_end_date=p.planned_end_date,
            next_deadline=start + timedelta(days=rng.randrange(60)), version=1, seq=1,
            data=placement.model_dump(mode="json"), updated_at=now,
        ))
    return rows, escalations


def plain_query(engine, school_id: str | None):
    """The rows the page shows, straight from the table: the floor."""
    where = "state = :state" + (" AND school_id = :school" if school_id else "")
    sql = text(f"SELECT placement_id, school_id, state, kind, pupil_id, pupil_name, provider_name, start_date, planned_end_date, "
               f"next_deadline FROM placements WHERE {where} ORDER BY start_date DESC, placement_id DESC LIMIT :n")

    def run() -> int:
        with engine.connect() as c:
            return len(c.execute(sql, {"state": "active", "school": school_id, "n": PAGE + 1}).all())
    return run


def plain_escalations(engine, school_id: str | None):
    """The open escalation rows the list shows, oldest first: its floor."""
    where = "resolved_at IS NULL" + (" AND school_id = :school" if school_id else "")
    sql = text(f"SELECT placement_id, escalation_id, school_id, kind, owner_role, clause, message, raised_at, due, "
               f"resolved_at, resolved_by_id, resolved_by_role, resolution FROM escalations WHERE {where} "
               f"ORDER BY raised_at, placement_id, escalation_id LIMIT :n")

    def run() -> int:
        with engine.connect() as c:
            return len(c.execute(sql, {"school": school_id, "n": PAGE + 1}).all())
    return run


def percentiles(samples_ms: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return statistics.median(samples_ms), q[98]


async def compare(http: httpx.AsyncClient, auth: dict, rounds: int, title: str, ways: dict) -> None:
    """Each way in turn, `rounds` times, then p50/p99 beside the plain query's
    p50. A way is a plain query to call, or a (path, params) to ask."""
    def ask(way):  # (path, params), or (path, params, status) for an answer other than 200
        return http.get(way[0], params=way[1], headers=auth if len(way) == 2 else {})

    for name, way in list(ways.items()):  # warm, and check the answer is the one meant
        if isinstance(way, tuple):
            r = await ask(way)
            if r.status_code != (way[2] if len(way) > 2 else 200):
                print(f"  {way[0]}: {r.status_code} (left out)")
                del ways[name]
    timings: dict[str, list[float]] = {k: [] for k in ways}
    for _ in range(rounds):
        for name, way in ways.items():
            t0 = clock.perf_counter()
            if isinstance(way, tuple):
                if (await ask(way)).status_code != (way[2] if len(way) > 2 else 200):
                    raise SystemExit(f"{way[0]}: the answer changed during the run")
            else:
                await asyncio.to_thread(way)
            timings[name].append((clock.perf_counter() - t0) * 1000)
    floor = statistics.median(timings["plain SQL"])
    print(f"\n{title}, {rounds} requests each, alternating")
    print(f"  {'':24} {'p50 ms':>8} {'p99 ms':>8} {'p50 / plain':>12}")
    for name in ways:
        p50, p99 = percentiles(timings[name])
        print(f"  {name:24} {p50:8.2f} {p99:8.2f} {p50 / floor:11.1f}x")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=10_000, help="placements in the register")
    ap.add_argument("--rounds", type=int, default=200, help="requests of each kind, alternating")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="apflow-bench-"))
    engine = make_engine(f"sqlite:///{tmp / 'register.db'}")
    migrate(engine)
    print(f"setup: {args.n:,} placements across {SCHOOLS} schools (written straight into the register)")
    rows, escalations = invented_placements(args.n)
    with engine.begin() as c:
        for i in range(0, len(rows), 500):
            c.execute(insert(PlacementRow), rows[i:i + 500])
        for i in range(0, len(escalations), 500):
            c.execute(insert(EscalationRow), escalations[i:i + 500])
    print(f"       {len(escalations):,} escalations, {sum(e['resolved_at'] is None for e in escalations):,} open")
    now = datetime.now(UTC)
    lead = accounts.add_user(engine, "lead@140000.example", "AP lead", now)
    accounts.add_grant(engine, lead.user_id, Grant(Role.ap_lead, "140000"))
    ops = accounts.add_user(engine, "ops@trust.example", "Operations", now)
    accounts.add_grant(engine, ops.user_id, Grant(Role.trust_operations))
    tokens = {who: accounts.create_token(engine, u.user_id, "bench", now, timedelta(days=1)).token
              for who, u in (("one school", lead), ("trust-wide", ops))}

    env = await WorkflowEnvironment.start_local(dev_server_existing_path=str(BIN / "temporal"),
                                                data_converter=data_converter(b"A" * 43 + b"="), ui=False)
    await register_search_attributes(env.client, env.client.namespace)
    settings = Settings(var_dir=tmp / "var", log_level="ERROR")
    app = create_app(settings, client=env.client, engine=engine)
    from tests.api.conftest import serving  # the test suite's loopback server

    try:
        async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
            for who, token in tokens.items():
                school = "140000" if who == "one school" else None
                auth = {"Authorization": f"Bearer {token}"}
                active = {"state": "active", "limit": PAGE}
                await compare(http, auth, args.rounds, f"{who}: first page of active placements ({PAGE} rows)", {
                    "plain SQL": plain_query(engine, school),
                    "JSON /api/placements": ("/api/placements", active),
                    "page /placements": ("/placements", active),
                    # the web layer alone: refused before any route or register
                    "no token: 401": ("/api/placements", active, 401),
                })
                await compare(http, auth, args.rounds, f"{who}: first page of open escalations ({PAGE} rows)", {
                    "plain SQL": plain_escalations(engine, school),
                    "JSON /api/escalations": ("/api/escalations", {"limit": PAGE}),
                })
    finally:
        await env.shutdown()
        engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
