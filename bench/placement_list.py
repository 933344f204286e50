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
import tempfile
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from apflow import samples
from domain.access import Grant
from domain.models import SYSTEM, Escalation, HistoryEntry, Placement, PlacementKind, PlacementState, Role, School
from store.db import make_engine, migrate
from store.register import escalation_values, pupil_search
from store.tables import EscalationRow, PlacementRow

from .served import Ask, compare, served, token, write

SCHOOLS = 20
SEED = 20261201
PAGE = 50
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
    write(engine, PlacementRow, rows)
    write(engine, EscalationRow, escalations)
    print(f"       {len(escalations):,} escalations, {sum(e['resolved_at'] is None for e in escalations):,} open")
    tokens = {"one school": token(engine, "lead@140000.example", "AP lead", Grant(Role.ap_lead, "140000")),
              "trust-wide": token(engine, "ops@trust.example", "Operations", Grant(Role.trust_operations))}
    try:
        async with served(engine, tmp / "var") as s:
            for who, auth in tokens.items():
                school = "140000" if who == "one school" else None
                active = {"state": "active", "limit": PAGE}
                await compare(s.http, auth, args.rounds, f"{who}: first page of active placements ({PAGE} rows)", {
                    "plain SQL": plain_query(engine, school),
                    "JSON /api/placements": Ask("/api/placements", active),
                    "page /placements": Ask("/placements", active),
                    # the web layer alone: refused before any route or register
                    "no token: 401": Ask("/api/placements", active, headers={}, status=401),
                })
                await compare(s.http, auth, args.rounds, f"{who}: first page of open escalations ({PAGE} rows)", {
                    "plain SQL": plain_escalations(engine, school),
                    "JSON /api/escalations": Ask("/api/escalations", {"limit": PAGE}),
                })
    finally:
        engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
