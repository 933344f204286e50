"""Benchmark: a worker's memory per open placement, and the bound its
workflow cache (APFLOW_WORKER_CACHE_SIZE) puts on it.

    .venv/bin/python -m bench.memory                          # 1,000 and 10,000 open; the bound at 10,000 with a cache of 1,000
    .venv/bin/python -m bench.memory --quick                  # 100 and 500 open; the bound at 500 with a cache of 100
    .venv/bin/python -m bench.memory --sizes 1000 5000 --bound-cache 500 --concurrency 20

Each run starts `apflow up` itself, as `bench.lifecycle` does (a fresh var
dir, free ports, no demo), with one worker process, and opens placements
through the API as a school's AP lead with a personal API token: POST
/api/placements, a new pupil each, `concurrency` at once. A proposal answers
once the register holds it, so its workflow has run and sits waiting, in
the worker's cache. Before each measurement every open placement is sent a
query (`snapshot`): one still in the cache answers from memory, one evicted
is replayed from its history into the cache, so the figures are of a cache
holding every placement it can. The worker's RSS is read from
/proc/<pid>/status (the child of `apflow up` running `apflow worker`).

Run 1, a cache larger than every size: RSS at start, after a warm-up of a
few placements (the baseline: the code and the first sandbox loaded), and
at each size; the figure per open placement is the RSS over the baseline
divided by the placements opened since. Run 2, a fresh `apflow up` with a
cache of `--bound-cache`: the largest size opened and every placement
touched (each query beyond the cache a replay), its RSS beside run 1's at
the size nearest the cache. Printed with each: how long opening took, and
the queries' p50 and p90 (from memory in run 1, mostly replays in run 2).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import httpx
from temporalio.client import Client

from apflow import samples
from apflow.demo import Demo
from apflow.settings import Settings
from apflow.temporal import connect
from domain.models import Pupil, Role
from workflows.placement import PlacementWorkflow

from .lifecycle import ApflowUp

WARMUP = 20
RETRIES = 5
QUERY_WAIT = timedelta(seconds=60)  # a replay on a busy 2-core machine, not the API's 5 s


def worker_pid(up: ApflowUp) -> int:
    """The one child of `apflow up` running `apflow worker`."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            argv = Path(entry.path, "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])  # the name in brackets may hold spaces
        if ppid == up.proc.pid and b"apflow" in argv and b"worker" in argv:
            found.append(int(entry.name))
    if len(found) != 1:
        raise SystemExit(f"expected one worker process under apflow up ({up.proc.pid}), found {found}")
    return found[0]


def status_kib(pid: int, key: str) -> int:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith(key + ":"):
            return int(row.split()[1])
    raise SystemExit(f"no {key} for process {pid}")


async def settled_rss(pid: int, samples_: int = 5, every_s: float = 1.0) -> int:
    """The worker's RSS in KiB once it has been idle a moment: the median of
    a few readings a second apart (its pollers and the SDK's threads allocate
    a little all the time)."""
    readings = []
    for _ in range(samples_):
        await asyncio.sleep(every_s)
        readings.append(status_kib(pid, "VmRSS"))
    return int(statistics.median(readings))


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


@dataclass
class Row:
    run: str
    cache: int
    open: int
    what: str
    rss_kib: int
    over_kib: int | None = None  # over the run's baseline
    per_kib: float | None = None
    opened: int = 0  # in open_s
    open_s: float | None = None
    queries: list[float] = field(default_factory=list)
    query_s: float | None = None
    load: str = field(default_factory=lambda: Path("/proc/loadavg").read_text().split()[0])  # 1-minute, when read


class Placements:
    """Opens placements through the API, each for a pupil of its own, and queries them through Temporal."""

    def __init__(self, up: ApflowUp, tokens: dict[Role, str], client: Client, concurrency: int):
        self.up, self.client, self.concurrency = up, client, concurrency
        self.headers = {"Authorization": f"Bearer {tokens[Role.ap_lead]}"}
        self.run_id = uuid.uuid4().hex[:6]
        # A school day three weeks off: proposed placements wait for it, as most open ones do.
        self.start = Demo(up.api, Settings().calendars_dir, tokens).school_day(15)
        self.ids: list[str] = []

    async def open(self, n: int) -> float:
        """Opens `n` more, `concurrency` at once; the seconds it took."""
        left = iter(range(len(self.ids), len(self.ids) + n))

        async def one(http: httpx.AsyncClient, i: int) -> str:
            pupil = Pupil(pupil_id=f"M-{self.run_id}-{i}", name="Bench Pupil", date_of_birth=date(2012, 3, 14), year_group=9)
            body = samples.proposal(self.start, pupil=pupil).model_dump(mode="json")
            headers = {**self.headers, "Idempotency-Key": f"bench-memory:{self.run_id}:{i}"}
            for attempt in range(RETRIES):  # 503: outcome unknown, the same key again
                r = await http.post("/api/placements", json=body, headers=headers)
                if r.status_code != 503:
                    break
                await asyncio.sleep(1 + attempt)
            if r.status_code != 201:
                raise SystemExit(f"POST /api/placements -> {r.status_code}: {r.text[:500]}")
            return r.json()["placement"]["placement_id"]

        async def loop(http: httpx.AsyncClient) -> None:
            while (i := next(left, None)) is not None:
                self.ids.append(await one(http, i))

        t0 = time.perf_counter()
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        async with httpx.AsyncClient(base_url=self.up.api, timeout=120, limits=limits) as http:
            await asyncio.gather(*(loop(http) for _ in range(self.concurrency)))
        return time.perf_counter() - t0

    async def touch(self, order: list[str] | None = None) -> tuple[list[float], float]:
        """Queries every placement opened (in `order`), `concurrency` at once:
        each latency, and the seconds it all took."""
        left = iter(order or self.ids)
        latencies: list[float] = []

        async def loop() -> None:
            while (pid := next(left, None)) is not None:
                t0 = time.perf_counter()
                handle = self.client.get_workflow_handle_for(PlacementWorkflow.run, pid)
                snap = await handle.query(PlacementWorkflow.snapshot, rpc_timeout=QUERY_WAIT)
                latencies.append(time.perf_counter() - t0)
                if snap.placement.state != "proposed":
                    raise SystemExit(f"{pid} is {snap.placement.state}, not proposed")

        t0 = time.perf_counter()
        await asyncio.gather(*(loop() for _ in range(self.concurrency)))
        return latencies, time.perf_counter() - t0


async def run(label: str, cache: int, sizes: list[int], concurrency: int, warmup: int, shuffle: bool) -> list[Row]:
    """One `apflow up` with a cache of `cache`: a warm-up, then each size opened and measured."""
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="apflow-bench-memory-") as tmp:
        up = ApflowUp(Path(tmp) / "var", workers=1)
        up.env["APFLOW_WORKER_CACHE_SIZE"] = str(cache)
        print(f"run {label}: apflow up in {tmp}, one worker, cache of {cache:,} ...", flush=True)
        up.start()
        try:
            pid = worker_pid(up)
            tokens = up.tokens()
            client = await connect(Settings(var_dir=up.var, temporal_address=up.temporal))
            places = Placements(up, tokens, client, concurrency)
            start_rss = await settled_rss(pid)
            rows.append(Row(label, cache, 0, "at start", start_rss))
            print(f"  worker {pid}: {start_rss / 1024:.1f} MiB at start", flush=True)

            await places.open(warmup)
            await places.touch()
            base = await settled_rss(pid)
            rows.append(Row(label, cache, warmup, f"baseline (after {warmup} warm-up)", base))
            print(f"  {base / 1024:.1f} MiB after {warmup} warm-up placements (the baseline)", flush=True)

            for size in sizes:
                more = size - len(places.ids)
                print(f"  opening {more:,} to {size:,} open ({concurrency} at once) ...", flush=True)
                open_s = await places.open(more)
                print(f"    {more:,} opened in {open_s:.0f} s ({more / open_s:.1f}/s); querying all {size:,} ...", flush=True)
                order = random.sample(places.ids, len(places.ids)) if shuffle else None
                queries, query_s = await places.touch(order)
                rss = await settled_rss(pid)
                row = Row(label, cache, size, "every one queried", rss, rss - base, (rss - base) / (size - warmup),
                          more, open_s, queries, query_s)
                rows.append(row)
                print(f"    {rss / 1024:.1f} MiB; queries in {query_s:.0f} s, p50 {pct(queries, .5) * 1000:.1f} ms", flush=True)
            peak = status_kib(pid, "VmHWM")
            rows.append(Row(label, cache, len(places.ids), "peak (VmHWM) over the run", peak))
        finally:
            up.stop()
    return rows


def table(rows: list[Row]) -> str:
    out = [f"{'run':4} {'cache':>7} {'open':>7}  {'':34} {'RSS MiB':>8} {'KiB/open':>9} {'open s':>7} {'/s':>6} "
           f"{'query p50':>10} {'p90':>8} {'queries s':>9} {'load':>5}"]
    for r in rows:
        per = f"{r.per_kib:9.1f}" if r.per_kib is not None else f"{'':9}"
        opened = f"{r.open_s:7.0f} {r.opened / r.open_s:6.1f}" if r.open_s else f"{'':7} {'':6}"
        q = (f"{pct(r.queries, .5) * 1000:8.1f}ms {pct(r.queries, .9) * 1000:6.1f}ms {r.query_s:9.0f}"
             if r.queries else f"{'':10} {'':8} {'':9}")
        out.append(f"{r.run:4} {r.cache:7,} {r.open:7,}  {r.what:34} {r.rss_kib / 1024:8.1f} {per} {opened} {q} {r.load:>5}")
    return "\n".join(out)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000], help="open placements to measure at (1000 10000)")
    parser.add_argument("--bound-cache", type=int, default=1000, help="run 2's cache, with the largest size open (1000)")
    parser.add_argument("--concurrency", type=int, default=20, help="proposals (and queries) at once (20)")
    parser.add_argument("--quick", action="store_true", help="a short check: --sizes 100 500 --bound-cache 100")
    parser.add_argument("--no-bound", action="store_true", help="run 1 only")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.bound_cache = [100, 500], 100
    sizes = sorted(set(args.sizes))
    if sizes[0] <= WARMUP:
        raise SystemExit(f"each size must be more than the {WARMUP} warm-up placements")

    t0 = time.perf_counter()
    # Run 1's cache holds every placement with room to spare (the attendance sweep's workflows too).
    rows = await run("1", sizes[-1] + WARMUP + 100, sizes, args.concurrency, WARMUP, shuffle=False)
    if not args.no_bound:
        # Run 2 touches the placements in a random order, so what the cache holds is no help.
        rows += await run("2", args.bound_cache, [sizes[-1]], args.concurrency, WARMUP, shuffle=True)
    print()
    print(f"load average at the end: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}; "
          f"{os.cpu_count()} CPUs; whole benchmark {time.perf_counter() - t0:.0f} s")
    print()
    print(table(rows))
    print()
    one = {r.open: r for r in rows if r.run == "1" and r.per_kib is not None}
    for r in rows:
        if r.run == "1" and r.per_kib is not None:
            print(f"cache {r.cache:,}: {r.open:,} open, {r.over_kib / 1024:.1f} MiB over the baseline, "
                  f"{r.per_kib:.1f} KiB ({r.per_kib / 1024:.3f} MiB) a placement")
    bound = [r for r in rows if r.run == "2" and r.per_kib is not None]
    if bound:
        b = bound[-1]
        near = min(one.values(), key=lambda r: abs(r.open - args.bound_cache))
        most = one[max(one)]
        print(f"cache {b.cache:,}: {b.open:,} open, all queried: {b.rss_kib / 1024:.1f} MiB, beside "
              f"{near.rss_kib / 1024:.1f} MiB with {near.open:,} open and cached, and {most.rss_kib / 1024:.1f} MiB "
              f"with {most.open:,} open and cached (run 1); query p50 {pct(b.queries, .5) * 1000:.1f} ms against "
              f"{pct(most.queries, .5) * 1000:.1f} ms from the cache")


if __name__ == "__main__":
    asyncio.run(main())
