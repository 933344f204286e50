"""One chaos run: placements driven concurrently over the API while the
faults break in at their seeded moments, then every end-state check."""
from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

import httpx

from . import checks
from .faults import Fault, kill_worker, moments, restart_server
from .lifecycles import PROXIED, Driver, Placement, Staff, Tally, choose_paths
from .stack import Stack


@dataclass
class Outcome:
    placements: list[Placement]
    tally: Tally
    faults: list[Fault]
    figures: checks.Figures
    seconds: float


async def play(stack: Stack, rng: random.Random, placements: int, kills: int = 0, restarts: int = 0,
               at_once: int | None = None, staff: Staff = PROXIED) -> Outcome:
    """`placements` driven (at most `at_once` at a time), with `kills` worker
    kills and `restarts` server restarts in a seeded order at seeded moments."""
    t0 = time.perf_counter()
    driven = [Placement(i, path) for i, path in enumerate(choose_paths(rng, placements))]
    kinds = ["worker_kill"] * kills + ["server_restart"] * restarts
    rng.shuffle(kinds)
    points = moments(rng, sum(len(p.steps) for p in driven), len(kinds))
    tally = Tally()
    faults: list[Fault] = []
    async with httpx.AsyncClient(base_url=stack.url, timeout=60) as http:
        driver = Driver(http, tally, staff)
        turns = asyncio.Semaphore(at_once or placements)

        async def drive(p: Placement) -> None:
            async with turns:
                await driver.drive(p)

        async def drive_all() -> None:
            try:
                await asyncio.gather(*(drive(p) for p in driven))
            finally:
                tally.over = True
                tally.note()

        driving = asyncio.create_task(drive_all())
        try:
            for kind, point in zip(kinds, points):
                fault = kill_worker if kind == "worker_kill" else restart_server
                faults.append(await fault(stack, tally, rng, point))
            await driving
        finally:
            driving.cancel()
            await asyncio.gather(driving, return_exceptions=True)
    results = await checks.settle(stack, driven)
    figures = checks.check(stack, driven, results, staff)
    # Nothing but 503 "safe to retry" may be a 5xx.
    figures.problems += [f"answered {status} {n} times" for status, n in sorted(tally.statuses.items())
                         if status >= 500 and status != 503]
    figures.problems += tally.unexpected
    return Outcome(driven, tally, faults, figures, time.perf_counter() - t0)
