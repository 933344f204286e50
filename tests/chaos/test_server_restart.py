"""The Temporal dev server (file-backed, as `apflow up` runs it) stopped and
started again while placements move through their lifecycles over the API,
letters on to a real SMTP server. While it is down the API answers 503
"outcome unknown: safe to retry with the same Idempotency-Key", never a
500; the client sends each write again with its key, and once the server is
back on its file every action has happened exactly once: the same end-state
checks as for a killed worker."""
from __future__ import annotations

import random

from .checks import summary
from .faults import recovery
from .scenario import play
from .stack import running

PLACEMENTS = 10


async def test_the_server_restarted_mid_run_loses_and_repeats_nothing(tmp_path, chaos_seed):
    async with running(tmp_path, mail="smtp") as stack:
        outcome = await play(stack, random.Random(chaos_seed), PLACEMENTS, restarts=1)
        starts = stack.server.starts
    figures = outcome.figures
    assert figures.problems == [], f"{summary(figures)}\nthe workers' and server's logs: {tmp_path}"
    (outage,) = outcome.faults
    assert outage.kind == "server_restart" and starts == 2
    # Meanwhile: 503 saying a retry is safe (any other 503 is a problem above), and no other 5xx.
    assert outage.unknown_during >= 1 and outcome.tally.unknown_writes >= 1
    assert not [s for s in outcome.tally.statuses if s >= 500 and s != 503], outcome.tally.statuses
    # A write answered 503 was sent again with its key and done once (the checks above).
    assert any(a.retries and a.step != "start" for a in outcome.tally.actions)
    assert recovery(outcome.tally, outage) is not None
    assert figures.placements["closed"] + figures.placements["terminated"] == PLACEMENTS
    print(summary(figures), f"\n{outcome.tally.unknown} answers 503, {outcome.seconds:.1f} s")
