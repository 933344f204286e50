"""Benchmark: how the pages grow with the register, at 100, 1,000 and 10,000
placements, each beside a plain SQL query of the same rows in the same run.

    .venv/bin/python -m bench.growth                                # 100, 1,000 and 10,000 placements
    .venv/bin/python -m bench.growth --sizes 1000 --rounds 50
    .venv/bin/python -m bench.growth --marks-for 0.1                # a year of marks for one placement in ten

For each size a fresh SQLite register is written straight in SQL (setup,
not a result): placements at 20 schools and 100 providers on the trust's
list (half active, a tenth under review, a tenth proposed to start soon,
three in ten closed), every step in the audit trail, two letters each (some
waiting to be posted), open and resolved escalations, and a year of
attendance marks for every placement that started (190 school days, am and
pm: about 380 marks a placement, 3.4 million rows at 10,000). A handful are
stuck at every size (deadlines passed with no escalation, escalations open
too long, placements proposed or under review too long, letters refused),
the same number whatever the size, so the stuck report's answer stays the
same length and what grows is what it costs to find them.

The real app is served by uvicorn on loopback (`bench.served`) and asked
with a personal API token, one school's AP lead's and trust operations',
each request alternating with a plain SQLAlchemy Core query (text SQL, no
web layer, no models) that reads the rows the answer is made of:

- Today (`/`): its lists' rows (open escalations, review escalations,
  deadlines due, starts, letters to post, providers lapsing, quick contacts);
- the placement list's first page (`/placements`): its rows;
- a placement's page (`/placements/{id}`, an active one with a year of
  marks): its row, marks with what they count as, audit trail, letters,
  escalations;
- the register export of one school (`/api/register.csv?school_id=…`): that
  school's rows with their entries (`entry`);
- the same school's LA notice and census (`/api/register/la-notice.csv`,
  `/api/register/census.csv`, the AP lead's): its rows with what the
  returns take (`returns`);
- the stuck report (`/api/operations/stuck` and `/operations/stuck`,
  operations only): the register's checks as plain SQL;
- `/metrics` (its own token): the four GROUP BYs of its series.

Temporal: a dev server with no workflows. A placement's page asks it for
the workflow's snapshot (answered not found: the page falls back to the
register's copy, so one loopback RPC is in the figure and the workflow's
query is not); the stuck report lists marked and running workflows from
visibility (both empty: the comparison of workflows' states with the
register costs nothing here, and describes only the few placements with a
letter refused, each answered not found); /metrics lists marked workflows.
So these figures hold the register's side; what a busy server adds grows
with the running workflows and is not measured here.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import tempfile
import time as clock
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import text

from apflow import samples
from apflow.attendance_codes import load_codes
from apflow.settings import Settings
from domain.access import Grant
from domain.clock import uk_date
from domain.lifecycle import FINAL_STATES, NOT_STARTED, RUNNING_STATES
from domain.models import SYSTEM, Actor, Escalation, HistoryEntry, Placement, PlacementState, Role, School
from store import attendance, providers
from store.db import make_engine, migrate
from store.documents import DocumentRow
from store.register import audit_values, escalation_values, placement_values
from store.tables import AuditEvent, EscalationRow, PlacementRow

from .served import Ask, Figures, compare, served, token, write

SCHOOLS = 20
PROVIDERS = 100
SEED = 20261203
SCHOOL = "140000"  # the AP lead's school, and the one exported
YEAR_DAYS = 190  # school days of marks a started placement has
STUCK = 5  # placements stuck for each reason, at every size
METRICS_TOKEN = "bench-metrics-token-0123456789abcdef"
LETTER_HTML = "<p>" + "A letter as it was sent. " * 60 + "</p>"
LETTER_PDF = b"%PDF-1.7\n" + bytes(3000)
FINAL = FINAL_STATES
REVIEW_KINDS = ("review", "requested_review", "drift", "full_time_limit", "part_time_limit")


def weekdays_from(first: date, n: int, until: date) -> list[date]:
    out, day = [], first
    while len(out) < n and day <= until:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out


def history_to(state: PlacementState, proposed_at: datetime, started_at: datetime | None,
               ended_at: datetime | None, reviewed_at: datetime | None) -> list[HistoryEntry]:
    lead = Actor(user_id="lead@140000.example", role=Role.ap_lead, school_id=SCHOOL)
    steps = [("propose", "", "proposed", proposed_at)]
    if started_at is not None:
        steps += [("vet", "proposed", "vetted", proposed_at + timedelta(days=2)),
                  ("consult_la", "vetted", "la_consulted", proposed_at + timedelta(days=4)),
                  ("notify", "la_consulted", "notified", proposed_at + timedelta(days=6)),
                  ("start", "notified", "active", started_at)]
    if reviewed_at is not None:
        steps.append(("open_review", "active", "under_review", reviewed_at))
    if ended_at is not None:
        steps.append(("close", "active", "closed", ended_at))
    return [HistoryEntry(seq=i, action=a, actor=SYSTEM if a == "start" else lead, at=at, from_state=f, to_state=t)
            for i, (a, f, t, at) in enumerate(steps, 1)]


class Fill:
    """One size's register, written straight in SQL; what it holds is kept
    for the plain queries and the report."""

    def __init__(self, engine, n: int, marks_for: float, today: date):
        self.engine, self.n, self.today = engine, n, today
        self.rng = random.Random(SEED)
        self.marks = 0
        self.marked: set[str] = set()
        self.timings: dict[str, float] = {}
        t0 = clock.perf_counter()
        attendance.sync_codes(engine, load_codes(Settings().attendance_codes))
        self.providers = self._providers()
        placements, deadlines = self._placements()
        self.timings["placements"] = clock.perf_counter() - t0
        t0 = clock.perf_counter()
        self._write(placements, deadlines)
        self.timings["register"] = clock.perf_counter() - t0
        t0 = clock.perf_counter()
        self._marks(placements, marks_for)
        self.timings["marks"] = clock.perf_counter() - t0
        self.open_marked = next(p.placement_id for p in placements
                                if p.state is PlacementState.active and p.school.school_id == SCHOOL and p.placement_id in self.marked)
        self.states = {s: sum(p.state is s for p in placements) for s in PlacementState}

    def _providers(self) -> list[tuple[str, object]]:
        out = []
        now = datetime.now(UTC)
        ops = Actor(user_id="ops@trust.example", role=Role.trust_operations)
        for i in range(PROVIDERS):
            details = samples.provider().model_copy(update={"name": f"Provider {i:03d}"})
            lapses = self.today + timedelta(days=10 + i) if i < STUCK else self.today + timedelta(days=400)
            record = providers.add(self.engine, samples.provider_record(details, self.today - timedelta(days=100), lapses),
                                   ops, now, vetted=True)
            out.append((record.provider_id, details))
        return out

    def _placements(self) -> tuple[list[Placement], list[date | None]]:
        rng, today, now = self.rng, self.today, datetime.now(UTC)
        placements, deadlines = [], []
        stuck_deadline = stuck_proposed = stuck_review = stuck_escalation = 0
        for i in range(self.n):
            school = School(school_id=f"{140000 + i % SCHOOLS}", name=f"School {i % SCHOOLS}", local_authority="Kirklees")
            provider_id, provider = self.providers[i % PROVIDERS]
            r = rng.random()
            state = (PlacementState.active if r < 0.5 else PlacementState.under_review if r < 0.6
                     else PlacementState.proposed if r < 0.7 else PlacementState.closed)
            started_at = ended_at = reviewed_at = None
            if state is PlacementState.proposed:
                start = today + timedelta(days=rng.randrange(3, 60))
                stuck = stuck_proposed < STUCK and i % SCHOOLS == 0
                stuck_proposed += stuck
                proposed_at = now - timedelta(days=30 if stuck else rng.randrange(1, 10))
                planned_end = start + timedelta(days=300)
            else:
                if state is PlacementState.closed:  # a year from some day in the year before last
                    start = today - timedelta(days=700 - rng.randrange(200))
                else:  # a year of school days ago, give or take a fortnight
                    start = today - timedelta(days=270 + rng.randrange(14))
                proposed_at = datetime.combine(start - timedelta(days=14), time(9), UTC)
                started_at = datetime.combine(start, time(0, 5), UTC)
                planned_end = start + timedelta(days=400)
                if state is PlacementState.closed:
                    ended_at = datetime.combine(start + timedelta(days=270), time(15), UTC)
                    planned_end = start + timedelta(days=266)
                if state is PlacementState.under_review:
                    stuck = stuck_review < STUCK and i % SCHOOLS == 0
                    stuck_review += stuck
                    reviewed_at = now - timedelta(days=30 if stuck else rng.randrange(1, 14))
            p = samples.proposal(start, school=school, provider=provider, provider_id=provider_id, planned_end_date=planned_end,
                                 census_reason="BEHAVIOUR")
            placement = Placement(
                placement_id=f"placement-{uuid.UUID(int=rng.getrandbits(128), version=4)}", state=state, version=1,
                history=history_to(state, proposed_at, started_at, ended_at, reviewed_at),
                **p.model_dump(exclude={"state"}),
            )
            escalations = []
            if state in (PlacementState.active, PlacementState.under_review) and rng.random() < 0.3:
                overdue = stuck_escalation < STUCK and i % SCHOOLS == 0
                stuck_escalation += overdue
                for k in range(rng.randrange(1, 4)):  # open ones raised this week, some resolved
                    raised = now - (timedelta(days=20) if overdue else timedelta(hours=rng.randrange(1, 200)))
                    escalations.append(Escalation(
                        escalation_id=f"missed:{k}", kind="missed_sessions" if k else "review", owner=Role.ap_lead,
                        clause="7.2", message="Two sessions missed in a week", raised_at=raised,
                        resolved_at=now if k == 2 else None, resolved_by=SYSTEM if k == 2 else None))
            placement = placement.model_copy(update={"escalations": escalations})
            deadline = None
            if not placement.final:
                late = stuck_deadline < STUCK and i % SCHOOLS == 0 and state is PlacementState.active
                stuck_deadline += late
                deadline = today - timedelta(days=3) if late else today + timedelta(days=rng.randrange(1, 40))
            placements.append(placement)
            deadlines.append(deadline)
        return placements, deadlines

    def _write(self, placements: list[Placement], deadlines: list[date | None]) -> None:
        e = self.engine
        write(e, PlacementRow, (placement_values(p, d) for p, d in zip(placements, deadlines)))
        write(e, AuditEvent, (a for p in placements for a in audit_values(p)))
        write(e, EscalationRow, (escalation_values(p, x) for p in placements for x in p.escalations))
        with e.begin() as c:
            attendance.upsert_expectations(c, placements)
        refused = 0
        letters = []
        for i, p in enumerate(placements):
            for k, kind in enumerate(("placement_notice", "direction_notice")):
                if k == 1 and i % 50 == 0:
                    status = "to_post"
                elif k == 0 and refused < STUCK and not p.final and i % SCHOOLS == 0:
                    status, refused = "failed", refused + 1
                else:
                    status = "sent"
                at = p.history[0].at + timedelta(hours=k)
                letters.append(dict(
                    document_id=f"doc-{uuid.UUID(int=self.rng.getrandbits(128), version=4).hex}",
                    idempotency_key=f"{p.placement_id}:{k}", placement_id=p.placement_id, event=str(k + 1), kind=kind,
                    recipient_role="parent" if k else "local_authority", recipient="someone@example.org",
                    subject=f"Letter {k + 1}", html=LETTER_HTML, pdf=LETTER_PDF, sha256="0" * 64, status=status,
                    delivery_mode="email", message_id=None, link_id=None, created_at=at,
                    sent_at=at if status == "sent" else None, failure="refused by the relay" if status == "failed" else None,
                    handed_over_by=None))
        write(e, DocumentRow, letters)

    def _marks(self, placements: list[Placement], marks_for: float) -> None:
        """A year of marks (am and pm) for each started placement, or for the
        share `marks_for` of them (then always the placement whose page is asked)."""
        rng = random.Random(SEED + 1)
        started = [p for p in placements if p.state.value not in NOT_STARTED]
        chosen = [p for i, p in enumerate(started) if rng.random() < marks_for or (p.school.school_id == SCHOOL and i < 50)]
        codes = ["B"] * 90 + ["I"] * 5 + ["N"] * 3 + ["M"] * 2
        recorded_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        sql = ("INSERT INTO attendance_marks (placement_id, day, session, code, explained, note, source, provider_code, "
               "recorded_by, recorded_role, recorded_at) VALUES (?, ?, ?, ?, ?, NULL, 'provider', ?, 'provider', "
               "'provider', ?)")

        def rows():
            for p in chosen:
                last = min(self.today - timedelta(days=1), p.start_date + timedelta(days=300))
                for day in weekdays_from(p.start_date, YEAR_DAYS, last):
                    d = day.isoformat()
                    for session in ("am", "pm"):
                        code = codes[rng.randrange(100)]
                        yield p.placement_id, d, session, code, (0 if code == "N" else None), code, recorded_at

        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.executemany(sql, rows())
            raw.commit()
            cur.execute("SELECT count(*) FROM attendance_marks")
            self.marks = cur.fetchone()[0]
        finally:
            raw.close()
        self.marked = {p.placement_id for p in chosen}


# --- the plain queries: the rows each answer is made of ------------------------------------


def _sql_list(values) -> str:
    return ", ".join(f"'{getattr(v, 'value', v)}'" for v in sorted(values))


def _scope(school: str | None, column: str = "school_id") -> str:
    return f" AND {column} = :school" if school else ""


def _run(engine, statements: list[tuple[str, dict]]):
    def run() -> int:
        n = 0
        with engine.connect() as c:
            for sql, params in statements:
                n += len(c.execute(text(sql), params).all())
        return n
    return run


def plain_today(engine, school: str | None, owners: list[str] | None, today: date, warn: date):
    s = {"school": school, "today": today, "until": today + timedelta(days=14), "warn": warn}
    owned = f" AND owner_role IN ({_sql_list(owners)})" if owners else ""
    final = _sql_list(FINAL)
    running = _sql_list(RUNNING_STATES)
    not_started = _sql_list(NOT_STARTED)
    kinds = _sql_list(REVIEW_KINDS)
    letters = [] if school is None else [(
        "SELECT d.document_id, d.placement_id, d.kind, d.recipient_role, d.subject, d.created_at FROM documents d "
        "JOIN placements p ON p.placement_id = d.placement_id WHERE d.status = 'to_post' AND p.school_id = :school "
        "ORDER BY d.created_at LIMIT 21", s)]
    return _run(engine, [
        (f"SELECT * FROM escalations WHERE resolved_at IS NULL{_scope(school)}{owned} "
         "ORDER BY raised_at, placement_id, escalation_id LIMIT 21", s),
        (f"SELECT * FROM escalations WHERE resolved_at IS NULL{_scope(school)} AND kind IN ({kinds}) "
         "ORDER BY raised_at, placement_id, escalation_id LIMIT 21", s),
        (f"SELECT placement_id, school_id, next_deadline, data FROM placements WHERE next_deadline <= :until "
         f"AND state NOT IN ({final}){_scope(school)} ORDER BY next_deadline, placement_id LIMIT 21", s),
        (f"SELECT placement_id, school_id, pupil_name, provider_name, start_date FROM placements "
         f"WHERE start_date >= :today AND start_date <= :until AND state IN ({not_started}){_scope(school)} "
         "ORDER BY start_date, placement_id LIMIT 21", s),
        *letters,
        (f"SELECT provider_id, name, data FROM providers pr WHERE next_warning <= :warn AND EXISTS "
         f"(SELECT 1 FROM placements p WHERE p.provider_id = pr.provider_id AND p.state NOT IN ({final})"
         f"{_scope(school, 'p.school_id')}) ORDER BY next_warning LIMIT 21", s),
        (f"SELECT placement_id, pupil_name, provider_name, next_deadline FROM placements WHERE state IN ({running})"
         f"{_scope(school)} ORDER BY next_deadline, placement_id LIMIT 20", s),
    ])


def plain_list(engine, school: str | None):
    return _run(engine, [(
        "SELECT placement_id, school_id, state, kind, pupil_name, provider_name, start_date, next_deadline "
        f"FROM placements WHERE 1 = 1{_scope(school)} ORDER BY start_date DESC, placement_id DESC LIMIT 26",
        {"school": school})])


def plain_placement(engine, placement_id: str):
    p = {"id": placement_id}
    return _run(engine, [
        ("SELECT * FROM placements WHERE placement_id = :id", p),
        ("SELECT m.day, m.session, c.counts_as FROM attendance_marks m JOIN attendance_codes c ON c.code = m.code "
         "WHERE m.placement_id = :id ORDER BY m.day, m.session", p),
        ("SELECT * FROM audit_events WHERE placement_id = :id ORDER BY seq", p),
        ("SELECT document_id, kind, recipient_role, subject, status, created_at, sent_at FROM documents "
         "WHERE placement_id = :id ORDER BY created_at", p),
        ("SELECT * FROM escalations WHERE placement_id = :id ORDER BY raised_at", p),
    ])


def plain_export(engine, school: str, column: str = "entry"):
    return _run(engine, [(f"SELECT placement_id, start_date, {column}, planned_end_date FROM placements "
                          "WHERE school_id = :school ORDER BY start_date DESC, placement_id DESC", {"school": school})])


def plain_stuck(engine, now: datetime, stuck_days: dict[str, int]):
    final = _sql_list(FINAL)
    now = now.replace(tzinfo=None)  # as SQLite holds instants
    s = {"before": uk_date(now - timedelta(hours=1)), "opened": now - timedelta(days=1)}
    statements = [
        (f"SELECT p.placement_id, p.school_id, p.state, p.next_deadline FROM placements p WHERE p.next_deadline < :before "
         f"AND p.state NOT IN ({final}) AND NOT EXISTS (SELECT 1 FROM escalations e WHERE e.placement_id = p.placement_id "
         "AND e.due = p.next_deadline) ORDER BY p.next_deadline, p.placement_id LIMIT 1000", s),
        (f"SELECT e.placement_id, e.school_id, e.escalation_id, e.kind, e.owner_role, e.clause, e.raised_at "
         f"FROM escalations e JOIN placements p ON p.placement_id = e.placement_id WHERE e.resolved_at IS NULL "
         f"AND e.raised_at < :opened AND p.state NOT IN ({final}) ORDER BY e.raised_at, e.placement_id LIMIT 1000", s),
        (f"SELECT d.document_id, d.placement_id, d.kind, d.status, d.failure, d.created_at FROM documents d "
         f"JOIN placements p ON p.placement_id = d.placement_id WHERE d.status IN ('failed', 'sending') "
         f"AND p.state NOT IN ({final}) ORDER BY d.created_at LIMIT 1000", s),
    ]
    for state, days in stuck_days.items():
        statements.append((
            "SELECT placement_id, school_id, state_since FROM placements WHERE state = :state AND state_since < :since "
            "ORDER BY state_since, placement_id LIMIT 1000", {"state": state, "since": now - timedelta(days=days)}))
    return _run(engine, statements)


def plain_metrics(engine, today: date):
    final = _sql_list(FINAL)
    return _run(engine, [
        ("SELECT state, school_id, count(*) FROM placements GROUP BY state, school_id", {}),
        (f"SELECT school_id, count(*) FROM placements WHERE next_deadline < :today AND state NOT IN ({final}) "
         "GROUP BY school_id", {"today": today}),
        ("SELECT owner_role, school_id, count(*) FROM escalations WHERE resolved_at IS NULL GROUP BY owner_role, school_id", {}),
        ("SELECT kind, status, count(*) FROM documents GROUP BY status, kind", {}),
    ])


# --- one size ----------------------------------------------------------------------------


async def one_size(n: int, rounds: int, marks_for: float) -> dict[str, Figures]:
    today = uk_date(datetime.now(UTC))
    tmp = Path(tempfile.mkdtemp(prefix="apflow-growth-"))
    engine = make_engine(f"sqlite:///{tmp / 'register.db'}")
    migrate(engine)
    t0 = clock.perf_counter()
    fill = Fill(engine, n, marks_for, today)
    print(f"\n=== {n:,} placements across {SCHOOLS} schools, {PROVIDERS} providers "
          f"({', '.join(f'{k.value} {v:,}' for k, v in fill.states.items() if v)})")
    print(f"setup: {fill.marks:,} attendance marks for {len(fill.marked):,} started placements"
          f"{'' if marks_for >= 1 else f' (a sample: {marks_for:.0%} of them)'}; "
          f"written in {clock.perf_counter() - t0:.1f} s "
          f"(building {fill.timings['placements']:.1f} s, register {fill.timings['register']:.1f} s, marks {fill.timings['marks']:.1f} s)")
    settings = Settings()
    stuck_days = dict(settings.policy.stuck.state_days)
    warn = today + timedelta(days=settings.policy.providers.warn_days)
    lead = token(engine, "lead@140000.example", "AP lead", Grant(Role.ap_lead, SCHOOL))
    ops = token(engine, "ops@trust.example", "Operations", Grant(Role.trust_operations))
    out: dict[str, Figures] = {}

    async def pair(key: str, http, auth, title: str, plain, ask: Ask | dict[str, Ask]) -> None:
        asks = ask if isinstance(ask, dict) else {key: ask}
        found = await compare(http, auth, rounds, title, {"plain SQL": plain, **asks})
        for name, figures in found.items():
            if name != "plain SQL":
                out[name] = figures

    try:
        async with served(engine, tmp / "var", metrics_token=METRICS_TOKEN) as s:
            for who, auth, school, owners in (("AP lead", lead, SCHOOL, ["ap_lead"]), ("trust operations", ops, None, None)):
                await pair(f"{who}: Today", s.http, auth, f"{who}: Today (/)", plain_today(engine, school, owners, today, warn),
                           Ask("/"))
                await pair(f"{who}: list", s.http, auth, f"{who}: the placement list's first page (/placements)",
                           plain_list(engine, school), Ask("/placements"))
                await pair(f"{who}: placement", s.http, auth, f"{who}: an active placement's page, a year of marks",
                           plain_placement(engine, fill.open_marked), Ask(f"/placements/{fill.open_marked}"))
                await pair(f"{who}: export", s.http, auth, f"{who}: the register export of school {SCHOOL} (CSV)",
                           plain_export(engine, SCHOOL), Ask("/api/register.csv", {"school_id": SCHOOL}))
            for name in ("la-notice", "census"):
                await pair(f"AP lead: {name}", s.http, lead, f"AP lead: the {name.replace('-', ' ')} of school {SCHOOL} (CSV)",
                           plain_export(engine, SCHOOL, "returns"), Ask(f"/api/register/{name}.csv", {"school_id": SCHOOL}))
            await pair("stuck", s.http, ops, "trust operations: the stuck report", plain_stuck(engine, datetime.now(UTC), stuck_days),
                       {"stuck: JSON": Ask("/api/operations/stuck"), "stuck: page": Ask("/operations/stuck")})
            await pair("/metrics", s.http, {"Authorization": f"Bearer {METRICS_TOKEN}"}, "monitoring: /metrics",
                       plain_metrics(engine, today), Ask("/metrics"))
            found = (await s.http.get("/api/operations/stuck", headers=ops)).json()
            print(f"\n  the stuck report lists {len(found)} placements")
    finally:
        engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)  # a 10,000 register with its marks is most of a gigabyte
    return out


def growth_table(results: dict[int, dict[str, Figures]]) -> None:
    sizes = sorted(results)
    print("\n=== growth: p50 ms (p50 / its plain query) by placements in the register")
    print(f"  {'':30}" + "".join(f"{n:>20,}" for n in sizes) + f"{'p50 x, first to last':>24}")
    for name in results[sizes[0]]:
        cells = [results[n].get(name) for n in sizes]
        line = "".join(f"{c.p50:10.2f} ({c.ratio:5.1f}x)" if c else f"{'-':>20}" for c in cells)
        grows = f"{cells[-1].p50 / cells[0].p50:20.1f}x" if cells[0] and cells[-1] else ""
        print(f"  {name:30}{line}    {grows}")
    last = results[sizes[-1]]
    met = [k for k, f in last.items() if f.ratio <= 2]
    print(f"\n  within 2 times the plain query at {sizes[-1]:,}: {', '.join(met) if met else 'none'}")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,1000,10000", help="placements in the register, comma separated")
    ap.add_argument("--rounds", type=int, default=100, help="requests of each kind, alternating")
    ap.add_argument("--marks-for", type=float, default=1.0,
                    help="the share of started placements given a year of marks (1: all)")
    args = ap.parse_args()
    results = {}
    for n in (int(s) for s in args.sizes.split(",")):
        results[n] = await one_size(n, args.rounds, args.marks_for)
    growth_table(results)


if __name__ == "__main__":
    asyncio.run(main())
