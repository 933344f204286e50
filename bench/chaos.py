"""Benchmark: placements through their lifecycles while the worker is
SIGKILLed and the Temporal dev server stopped and started under them, beside
the same placements with nothing breaking.

    .venv/bin/python -m bench.chaos                            # 50 placements, 8 worker kills, 2 server restarts, SMTP
    .venv/bin/python -m bench.chaos --seed 7 --mail outbox     # replay a run's choices; letters to the outbox folder
    .venv/bin/python -m bench.chaos --kills 20 --restarts 4 --at-once 20

The long version of the tests in tests/chaos, on their machinery
(`tests/chaos/stack.py`): the Temporal dev server as `apflow up` starts it
(file-backed, on a fixed port), the worker as its own process
(`python worker.py`), the API served by uvicorn in this process with its
wait for Temporal at 5 s, and letters to a real SMTP server on loopback (or
the outbox folder). Staff act with personal API tokens, as an integration
does; each write carries an Idempotency-Key and is sent again with it while
the API answers 503 "safe to retry".

Each placement follows a path drawn from the seed (about half to closed
through every step, the rest terminated at each point on the way); at most
`--at-once` are driven at a time. First the run with no faults (the
comparison), then the same placements in a new stack with the faults in a
seeded order, each at a seeded moment (after so many actions answered, plus
up to 0.4 s). A killed worker is replaced at once, as a supervisor would; a
stopped server is kept down until the API has answered a write 503, then
started again on its file.

Printed: placements by final state; letters expected from the steps,
recorded in all (escalations' messages too), sent and received once,
unconfirmed (a send cut off by a kill: not sent again, staff told),
received twice, and left half-written in the outbox's private folder by a
killed write (out of sight; nothing half-written in sight is a problem the
checks report); audit events expected and found; every problem the checks
found (none is the result wanted); for each fault when it came, how long
the service was down, the 503s answered meanwhile and the recovery (from
the fault until every action waiting on it was answered), with the p50 and
maximum recovery after a kill; and the wall time of each run.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import random
import secrets
import statistics
import tempfile
from pathlib import Path

from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

from domain.models import Role
from tests.chaos.checks import Figures
from tests.chaos.faults import recovery
from tests.chaos.lifecycles import Staff
from tests.chaos.scenario import Outcome, play
from tests.chaos.stack import API_WAIT_S, running

from .lifecycle import staff_accounts


def staff(engine) -> Staff:
    made = staff_accounts(engine, [Role.ap_lead, Role.headteacher])
    (lead, lead_token), (head, head_token) = made[Role.ap_lead], made[Role.headteacher]
    return Staff({"lead": {"Authorization": f"Bearer {lead_token}"}, "head": {"Authorization": f"Bearer {head_token}"}},
                 {"lead": lead, "head": head, "system": "apflow"})


async def one_run(folder: Path, args, kills: int, restarts: int) -> Outcome:
    async with running(folder, mail=args.mail) as stack:
        return await play(stack, random.Random(args.seed), args.placements, kills, restarts, at_once=args.at_once,
                          staff=staff(stack.engine))


def figures_rows(f: Figures) -> list[tuple[str, object]]:
    rows = [(f"placements {state}", n) for state, n in sorted(f.placements.items())]
    return rows + [
        ("letters expected from the steps", f.letters_expected),
        ("letters recorded in all", f.letters),
        ("  sent and received once", f.sent_once),
        ("  unconfirmed", f.unconfirmed),
        ("    of which had arrived (once)", f.unconfirmed_received),
        ("  received twice or more", f.duplicates),
        ("  half-written, out of sight", f.partial_out_of_sight),
        ("audit events expected", f.audit_expected),
        ("audit events found", f.audit_found),
        ("problems found", len(f.problems)),
    ]


def report(args, calm: Outcome, chaos: Outcome) -> None:
    print()
    print(f"{'':36} {'no faults':>10} {'with faults':>12}")
    for (label, a), (_, b) in zip(figures_rows(calm.figures), figures_rows(chaos.figures)):
        print(f"{label:36} {a:>10} {b:>12}")
    print(f"{'API answers 503 (safe to retry)':36} {calm.tally.unknown:>10} {chaos.tally.unknown:>12}")
    print(f"{'  to writes, each sent again':36} {calm.tally.unknown_writes:>10} {chaos.tally.unknown_writes:>12}")
    other = lambda o: sum(n for s, n in o.tally.statuses.items() if s >= 500 and s != 503)  # noqa: E731
    print(f"{'API answers 5xx other than 503':36} {other(calm):>10} {other(chaos):>12}")
    print(f"{'wall time (s)':36} {calm.seconds:>10.1f} {chaos.seconds:>12.1f}")
    print()
    print(f"{'fault':16} {'after actions':>13} {'down s':>7} {'503s meanwhile':>15} {'recovered s':>12}")
    kills = []
    for fault in chaos.faults:
        back = recovery(chaos.tally, fault)
        if fault.kind == "worker_kill" and back is not None:
            kills.append(back)
        shown = f"{back:.1f}" if back is not None else "never"
        print(f"{fault.kind:16} {fault.after_actions:>13} {fault.back - fault.at:>7.1f} {fault.unknown_during:>15} {shown:>12}")
    if kills:
        print(f"recovery after a worker kill: p50 {statistics.median(kills):.1f} s, max {max(kills):.1f} s "
              f"({len(kills)} kills)")
    for label, o in (("no faults", calm), ("with faults", chaos)):
        if o.figures.problems:
            print(f"\nproblems ({label}):")
            for problem in o.figures.problems:
                print(f"  {problem}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--placements", type=int, default=50, help="placements driven (50)")
    parser.add_argument("--kills", type=int, default=8, help="worker SIGKILLs (8)")
    parser.add_argument("--restarts", type=int, default=2, help="Temporal dev server restarts (2)")
    parser.add_argument("--at-once", type=int, default=10, help="placements driven at a time (10)")
    parser.add_argument("--seed", type=int, help="the run's choices (random, printed)")
    parser.add_argument("--mail", choices=["smtp", "outbox"], default="smtp", help="where letters go (smtp)")
    args = parser.parse_args()
    args.seed = args.seed if args.seed is not None else secrets.randbelow(2**32)
    # The API's own 503 lines, and its client's retries while the server is down, would drown the figures.
    logging.basicConfig(level=logging.ERROR)
    quiet = TelemetryFilter(core_level="ERROR", other_level="ERROR")
    Runtime.set_default(Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=quiet))))
    print(f"Chaos: {args.placements} placements ({args.at_once} at a time), {args.kills} worker kills, "
          f"{args.restarts} server restarts, letters by {args.mail}, the API waiting {API_WAIT_S:.0f} s for Temporal; "
          f"seed {args.seed} (--seed {args.seed} replays it)", flush=True)
    with tempfile.TemporaryDirectory(prefix="apflow-chaos-") as tmp:
        print("Run 1: no faults ...", flush=True)
        calm = await one_run(Path(tmp) / "calm", args, 0, 0)
        print(f"Run 2: {args.kills} worker kills and {args.restarts} server restarts ...", flush=True)
        chaos = await one_run(Path(tmp) / "chaos", args, args.kills, args.restarts)
    report(args, calm, chaos)
    if calm.figures.problems or chaos.figures.problems:
        raise SystemExit(1)


if __name__ == "__main__":
    asyncio.run(main())
