"""The faults, each at a moment drawn from the run's seed: counted in
actions the API has answered (so a replay breaks in at the same point of
the run), plus a fraction of a second, so it lands anywhere in what the
service is doing then (an update, a register write, a letter mid-send)."""
from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from .lifecycles import Tally
from .stack import Stack

REACH_S = 300  # for the run to get to the fault's moment
OUTAGE_503_S = 60  # for the API to answer 503 while the server is down


@dataclass
class Fault:
    kind: str  # worker_kill or server_restart
    after_actions: int
    at: float  # the kill, or the server stopped
    back: float  # a new worker polling, or the server answering again
    unknown_during: int = 0  # 503s answered between `at` and `back`


async def _moment(tally: Tally, rng: random.Random, after_actions: int) -> None:
    # A run cut short by a failing placement ends before some moments: the fault comes then.
    await tally.until(lambda: tally.done >= after_actions or tally.over, REACH_S)
    await asyncio.sleep(rng.uniform(0, 0.4))


async def kill_worker(stack: Stack, tally: Tally, rng: random.Random, after_actions: int) -> Fault:
    """SIGKILLs the worker and starts another at once, as a supervisor would."""
    await _moment(tally, rng, after_actions)
    loop = asyncio.get_running_loop()
    at, before = loop.time(), tally.unknown
    stack.kill_worker()
    await stack.start_worker()
    return Fault("worker_kill", after_actions, at, loop.time(), tally.unknown - before)


async def restart_server(stack: Stack, tally: Tally, rng: random.Random, after_actions: int) -> Fault:
    """Stops the Temporal dev server while a write awaits its answer, keeps it
    down until the API has said 503 to a write, and starts it again on its file."""
    await _moment(tally, rng, after_actions)
    # Stopped with a write in flight, so the outage meets a write (a placement
    # waiting for its start only reads).
    await tally.until(lambda: tally.writing() or tally.over, REACH_S)
    loop = asyncio.get_running_loop()
    at, before, writes = loop.time(), tally.unknown, tally.unknown_writes
    stack.server.stop()
    await tally.until(lambda: tally.unknown_writes > writes or tally.over, OUTAGE_503_S)
    await asyncio.sleep(rng.uniform(0, 1.0))
    await stack.server.start()
    return Fault("server_restart", after_actions, at, loop.time(), tally.unknown - before)


def recovery(tally: Tally, fault: Fault) -> float | None:
    """Seconds from the fault until every action that was waiting on it was
    answered (or, with none waiting, until the next answer); None if one never was."""
    waiting = tally.spanning(fault.at)
    if waiting:
        if any(a.finished is None for a in waiting):
            return None
        return max(a.finished for a in waiting) - fault.at
    after = tally.finished_after(fault.at)
    return min(a.finished for a in after) - fault.at if after else None


def moments(rng: random.Random, total_actions: int, n: int, lo: float = 0.1, hi: float = 0.75) -> list[int]:
    """`n` distinct moments, in answered actions, between `lo` and `hi` of the run."""
    return sorted(rng.sample(range(max(1, int(total_actions * lo)), int(total_actions * hi)), n))
