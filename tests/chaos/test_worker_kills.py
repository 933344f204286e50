"""The worker SIGKILLed at random moments while placements move through
their lifecycles over the API, letters on to a real SMTP server: each time a
new worker process takes over, and in the end every placement is where its
path leads, every step is in its workflow and audit trail once with its
actor, and every letter arrived at most once, each either sent or marked
`unconfirmed` with the AP lead told (a send cut off between the relay's
answer and the register's record cannot be known to have gone)."""
from __future__ import annotations

import random

from .checks import summary
from .faults import recovery
from .scenario import play
from .stack import running

PLACEMENTS = 10
KILLS = 2


async def test_the_worker_killed_at_random_moments_loses_and_repeats_nothing(tmp_path, chaos_seed):
    async with running(tmp_path, mail="smtp") as stack:
        outcome = await play(stack, random.Random(chaos_seed), PLACEMENTS, kills=KILLS)
        workers = stack.workers
    figures = outcome.figures
    report = f"{summary(figures)}\nthe workers' and server's logs: {tmp_path}"
    assert figures.problems == [], report
    assert [f.kind for f in outcome.faults] == ["worker_kill"] * KILLS
    assert len(workers) == KILLS + 1
    assert all(recovery(outcome.tally, f) is not None for f in outcome.faults)
    assert figures.placements["closed"] + figures.placements["terminated"] == PLACEMENTS
    print(summary(figures), f"\n{outcome.tally.unknown} answers 503, {outcome.seconds:.1f} s")
