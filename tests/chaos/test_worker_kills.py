"""The worker SIGKILLed at random moments while placements move through
their lifecycles over the API, letters on to a real SMTP server: each time a
new worker process takes over, and in the end every placement is where its
path leads, every step is in its workflow and audit trail once with its
actor, and every letter arrived at most once, each either sent or marked
`unconfirmed` with the AP lead told (a send cut off between the relay's
answer and the register's record cannot be known to have gone). Written
to the outbox folder instead, no letter is left half-written in sight and
none is unconfirmed: a retry writes it again under its key."""
from __future__ import annotations

import random

import pytest

from .checks import summary
from .faults import recovery
from .scenario import play
from .stack import running

PLACEMENTS = 10
KILLS = 2


@pytest.mark.parametrize("mail", ["smtp", "outbox"])
async def test_the_worker_killed_at_random_moments_loses_and_repeats_nothing(tmp_path, chaos_seed, mail):
    async with running(tmp_path, mail=mail) as stack:
        outcome = await play(stack, random.Random(chaos_seed), PLACEMENTS, kills=KILLS)
        workers = stack.workers
    figures = outcome.figures
    report = f"{summary(figures)}\nthe workers' and server's logs: {tmp_path}"
    assert figures.problems == [], report
    assert [f.kind for f in outcome.faults] == ["worker_kill"] * KILLS
    assert len(workers) == KILLS + 1
    assert all(recovery(outcome.tally, f) is not None for f in outcome.faults)
    assert figures.placements["closed"] + figures.placements["terminated"] == PLACEMENTS
    if mail == "outbox":  # delivery there is idempotent by key: a cut-off write is simply made again
        assert figures.unconfirmed == 0 and figures.sent_once == figures.letters
    print(summary(figures), f"\n{outcome.tally.unknown} answers 503, {outcome.seconds:.1f} s")
