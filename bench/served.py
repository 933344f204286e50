"""What the benchmarks of the served app share: a register written straight
in SQL, personal API tokens, the real app served by uvicorn on loopback
beside a Temporal dev server, and requests alternated with a plain query of
the same rows, printed as p50/p99 tables.

Alternating (each way once, then the next round) keeps the machine's state
the same for every way, so the ratio to the plain query is fair on a
shared machine even when the absolute figures drift.
"""
from __future__ import annotations

import asyncio
import statistics
import sys
import time as clock
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine, insert
from temporalio.testing import WorkflowEnvironment

from apflow.settings import Settings
from apflow.temporal import data_converter, register_search_attributes
from domain.access import Grant
from store import accounts

BIN = Path(sys.executable).parent
CHUNK = 500  # rows a statement: well under SQLite's bound values


def write(engine: Engine, table, rows: Iterable[dict], chunk: int = CHUNK) -> int:
    """`rows` inserted into `table` in statements of `chunk`, one transaction."""
    batch, n = [], 0
    with engine.begin() as c:
        for row in rows:
            batch.append(row)
            if len(batch) == chunk:
                c.execute(insert(table), batch)
                n, batch = n + len(batch), []
        if batch:
            c.execute(insert(table), batch)
            n += len(batch)
    return n


def token(engine: Engine, email: str, name: str, grant: Grant) -> dict[str, str]:
    """A new account holding `grant`, and the header its personal API token goes in."""
    now = datetime.now(UTC)
    user = accounts.add_user(engine, email, name, now)
    accounts.add_grant(engine, user.user_id, grant)
    made = accounts.create_token(engine, user.user_id, "bench", now, timedelta(days=1))
    return {"Authorization": f"Bearer {made.token}"}


@dataclass
class Served:
    url: str
    http: httpx.AsyncClient
    env: WorkflowEnvironment


@asynccontextmanager
async def served(engine: Engine, var_dir: Path, **settings) -> AsyncIterator[Served]:
    """The real app on `engine`, served on loopback, connected to a fresh
    Temporal dev server (no workflows unless the caller starts some)."""
    from console.api import create_app
    from tests.api.conftest import serving  # the test suite's loopback server

    env = await WorkflowEnvironment.start_local(dev_server_existing_path=str(BIN / "temporal"),
                                                data_converter=data_converter(b"A" * 43 + b"="), ui=False)
    try:
        await register_search_attributes(env.client, env.client.namespace)
        app = create_app(Settings(var_dir=var_dir, log_level="ERROR", **settings), client=env.client, engine=engine)
        async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
            yield Served(url, http, env)
    finally:
        await env.shutdown()


@dataclass(frozen=True)
class Ask:
    """A GET over HTTP, and the answer meant (a status other than 200 for a refusal)."""

    path: str
    params: dict = field(default_factory=dict)
    headers: dict | None = None  # None: the comparison's own
    status: int = 200


@dataclass(frozen=True)
class Figures:
    p50: float
    p99: float
    ratio: float  # p50 over the plain query's p50, in the same run


def percentiles(samples_ms: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return statistics.median(samples_ms), q[98]


async def compare(http: httpx.AsyncClient, auth: dict, rounds: int, title: str,
                  ways: dict[str, Callable[[], object] | Ask], floor: str = "plain SQL") -> dict[str, Figures]:
    """Each way in turn, `rounds` times, then p50/p99 beside the p50 of
    `floor` (a plain query: a callable run in a thread). An asked way whose
    first answer is not the one meant is left out, and said."""
    def ask(way: Ask):
        return http.get(way.path, params=way.params, headers=auth if way.headers is None else way.headers)

    ways = dict(ways)
    for name, way in list(ways.items()):  # warm, and check the answer is the one meant
        if isinstance(way, Ask):
            r = await ask(way)
            if r.status_code != way.status:
                print(f"  {way.path}: {r.status_code} (left out): {r.text[:200]}")
                del ways[name]
        else:
            await asyncio.to_thread(way)
    timings: dict[str, list[float]] = {k: [] for k in ways}
    for _ in range(rounds):
        for name, way in ways.items():
            t0 = clock.perf_counter()
            if isinstance(way, Ask):
                if (await ask(way)).status_code != way.status:
                    raise SystemExit(f"{way.path}: the answer changed during the run")
            else:
                await asyncio.to_thread(way)
            timings[name].append((clock.perf_counter() - t0) * 1000)
    base = statistics.median(timings[floor])
    print(f"\n{title}, {rounds} requests each, alternating")
    print(f"  {'':34} {'p50 ms':>8} {'p99 ms':>8} {'p50 / plain':>12}")
    out = {}
    for name in ways:
        p50, p99 = percentiles(timings[name])
        out[name] = Figures(p50, p99, p50 / base)
        print(f"  {name:34} {p50:8.2f} {p99:8.2f} {p50 / base:11.1f}x")
    return out
