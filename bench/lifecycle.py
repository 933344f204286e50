"""Benchmark: a placement's whole lifecycle through apflow's API against a
bare Temporal workflow taking the same number of updates, on one server.

    .venv/bin/python -m bench.lifecycle                      # letters off, then on: 40 lifecycles each, at 10 and 20 at once
    .venv/bin/python -m bench.lifecycle --letters off        # the engine alone
    .venv/bin/python -m bench.lifecycle --lifecycles 200 --rounds 3
    .venv/bin/python -m bench.lifecycle --workers 2          # two worker processes on the task queue

For each letters setting it starts `apflow up` itself (so the Temporal dev
server runs exactly as `apflow up` starts it: same flags, same SQLite file),
in a fresh var dir on free ports, without the demo. Then, alternating in one
run, at each concurrency:

(a) bare: a workflow defined in `bench.bare` that takes as many updates as
    apflow's lifecycle makes POSTs (counted in the warm-up: 12 now that the
    end evaluation's four parts come before `close`; the issue's bare
    lifecycle took 8, `--bare-steps 8`), each running one activity, and
    completes. Its worker runs in this process, on its own task queue of
    the same server. Letters off, every activity is a
    no-op. Letters on, as many of them as apflow sends letters a lifecycle
    (counted in the warm-up) send one: `bench.letters`' mix of letters (a
    parent's notice, the LA's notice, a provider's chase with its signed
    link, a staff escalation) through apflow's own send activity
    (`DocumentActivities.send_document`: templates, the same PDF renderer,
    a register of its own, an outbox), each under a new key.
(b) apflow: the lifecycle over the real API with a personal API token, as
    an integration drives it (the same steps as `apflow demo`): propose,
    vet, consult_la, notify (a notice handed over three school days before,
    its copy uploaded), start (the workflow's own, on its start date),
    open_review (an invitation handed over, its copy uploaded), reintegrate,
    close. Any escalation the clock raises on the way is resolved as staff
    do, and counted as an action.

Letters: `--letters off` starts `apflow up` with APFLOW_LETTERS=false, so a
placement carries no directory entry and sends none; `on` is `apflow up`'s
default, letters rendered to PDF and written to the outbox under the
bench's var dir.

Printed for each: lifecycles per second and the p50 (and p90) of one
action's latency as the client sees it (a bare update; an apflow POST),
and the ratio apflow/bare, beside the issue's target.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from apflow import samples
from apflow.demo import ACTING, Demo
from apflow.settings import Settings, environment_for_child
from domain.access import Grant
from domain.models import PlacementKind, Pupil, Role
from store import accounts
from store.db import make_engine
from workflows.sandbox import RUNNER

from activities.documents import DocumentActivities
from documents import DeliverySettings
from domain.clock import uk_date
from store.db import migrate

from . import letters as mix
from .bare import LETTER_ACTIVITY, STEPS, BareLifecycle, noop

APFLOW = Path(sys.executable).parent / "apflow"
BARE_QUEUE = "bench-bare-lifecycle"
UP_WAIT_S = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Result:
    kind: str
    concurrency: int
    lifecycles: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    actions: int = 0
    letters: int = 0
    sample: str = ""  # one lifecycle's workflow id

    @property
    def rate(self) -> float:
        return self.lifecycles / self.seconds

    def pct(self, q: float) -> float:
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


class ApflowUp:
    """`apflow up` in a fresh var dir on free ports, its output in a file."""

    def __init__(self, var: Path, workers: int | None = None, letters: bool = True):
        self.var = var
        self.temporal = f"127.0.0.1:{free_port()}"
        self.api = f"http://127.0.0.1:{(port := free_port())}"
        self.env = environment_for_child(
            APFLOW_VAR_DIR=str(var), APFLOW_TEMPORAL_ADDRESS=self.temporal, APFLOW_TEMPORAL_UI_PORT=str(free_port()),
            APFLOW_API_PORT=str(port), APFLOW_DEMO_ON_FIRST_START="false", APFLOW_LETTERS=str(letters).lower(),
            **({"APFLOW_WORKER_PROCESSES": str(workers)} if workers else {}),
        )
        self.log = var.parent / "up.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.var.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([str(APFLOW), "up"], cwd=self.var.parent, env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + UP_WAIT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"apflow up exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.api}/healthz", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise SystemExit(f"apflow up not healthy within {UP_WAIT_S} s:\n{self.log.read_text()}")

    def letters(self) -> int:
        """Letters in the outbox so far."""
        outbox = self.var / "outbox"
        return len(list(outbox.glob("*.eml"))) if outbox.exists() else 0

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def tokens(self) -> dict[Role, str]:
        """The sample school's AP lead, headteacher and DSL, each a staff account with a token."""
        engine = make_engine(f"sqlite:///{(self.var / 'apflow.db').resolve()}")
        try:
            return {role: token for role, (_, token) in staff_accounts(engine).items()}
        finally:
            engine.dispose()


def staff_accounts(engine, roles=ACTING) -> dict[Role, tuple[str, str]]:
    """The sample school's staff in `roles`, each a new account in the
    register `engine` with a personal API token: (user id, token)."""
    now = datetime.now(timezone.utc)
    made = {}
    for role in roles:
        user = accounts.add_user(engine, f"bench-{role.value}-{uuid.uuid4().hex[:6]}@trust.example", "Benchmark", now)
        accounts.add_grant(engine, user.user_id, Grant(role, samples.SCHOOL.school_id))
        made[role] = (user.user_id, accounts.create_token(engine, user.user_id, "bench", now, timedelta(hours=6)).token)
    return made


class Lifecycle(Demo):
    """The demo's steps, each POST timed, each placement a new pupil."""

    def __init__(self, api: str, calendars_dir: Path, tokens: dict[Role, str], latencies: list[float], lock: threading.Lock):
        super().__init__(api, calendars_dir, tokens)
        self.latencies, self.lock, self.actions = latencies, lock, 0

    def call(self, method, path, headers, body=None):
        t0 = time.perf_counter()
        out = super().call(method, path, headers, body)
        if method == "POST":
            with self.lock:
                self.latencies.append(time.perf_counter() - t0)
                self.actions += 1
        return out

    def propose(self, i, start, kind=PlacementKind.off_site_direction, **changes):
        pupil = Pupil(pupil_id=f"B-{uuid.uuid4().hex[:10]}", name="Bench Pupil",
                      date_of_birth=date(2012, 3, 14), year_group=9)
        proposal = samples.proposal(start, kind, pupil=pupil, **changes)
        return self.call("POST", "/api/placements", self.lead, proposal.model_dump(mode="json"))["placement"]["placement_id"]

    def whole(self) -> str:
        pid = self.reviewed(0)
        self.act(pid, "reintegrate", samples.reintegrate(self.today))
        for part in samples.end_evaluation(self.today):
            self.act(pid, "record_evaluation", part)
        snap = self.act(pid, "close", samples.close(self.today))
        if snap["placement"]["state"] != "closed":
            raise SystemExit(f"{pid} ended {snap['placement']['state']}, not closed")
        return pid


def run_apflow(up: ApflowUp, token: dict[Role, str], n: int, concurrency: int) -> Result:
    result = Result("apflow", concurrency, n, 0.0)
    lock = threading.Lock()
    left = iter(range(n))
    settings = Settings()

    def loop() -> int:
        lc = Lifecycle(up.api, settings.calendars_dir, token, result.latencies, lock)
        done = 0
        while True:
            with lock:
                if next(left, None) is None:
                    return lc.actions
            result.sample = lc.whole()
            done += 1

    sent = up.letters()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        result.actions = sum(pool.map(lambda _: loop(), range(concurrency)))
    result.seconds = time.perf_counter() - t0
    result.letters = up.letters() - sent
    return result


class BareLetters:
    """The bare workflow's letters: `bench.letters`' mix through apflow's own
    send activity, each under a new key, to a register and outbox of their own."""

    def __init__(self, tmp: Path):
        self.engine = make_engine(f"sqlite:///{tmp / 'bare-register.db'}")
        migrate(self.engine)
        self.outbox = tmp / "bare-outbox"
        self.documents = DocumentActivities(self.engine, DeliverySettings(outbox_dir=self.outbox), [mix.SECRET], mix.BASE_URL)
        self.today = uk_date(datetime.now(timezone.utc))
        self.numbers = itertools.count()

    @activity.defn(name=LETTER_ACTIVITY)
    def send(self, step: str) -> str:
        req = mix.letter(next(self.numbers), self.today)
        result = self.documents.send_document(req.model_copy(update={"idempotency_key": f"{req.idempotency_key}:{uuid.uuid4()}"}))
        if result.status != "sent":
            raise RuntimeError(f"bare letter {req.kind} was {result.status}")
        return result.status

    def sent(self) -> int:
        return len(list(self.outbox.glob("*.eml"))) if self.outbox.exists() else 0


async def run_bare(client: Client, n: int, concurrency: int, steps: int, letters: int = 0,
                   outbox: BareLetters | None = None) -> Result:
    result = Result("bare", concurrency, n, 0.0)
    left = iter(range(n))
    sent = outbox.sent() if outbox else 0

    async def one() -> None:
        handle = await client.start_workflow(BareLifecycle.run, args=[letters, steps], id=f"bench-bare-{uuid.uuid4()}",
                                             task_queue=BARE_QUEUE)
        for step in range(steps):
            t0 = time.perf_counter()
            await handle.execute_update(BareLifecycle.step, f"step-{step}")
            result.latencies.append(time.perf_counter() - t0)
            result.actions += 1
        assert await handle.result() == steps
        result.sample = handle.id

    async def loop() -> None:
        while next(left, None) is not None:
            await one()

    t0 = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - t0
    result.letters = outbox.sent() - sent if outbox else 0
    return result


async def history_profile(client: Client, workflow_id: str) -> str:
    """What one lifecycle cost the server: its history's events by kind and size."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    kinds = Counter(EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in history.events)
    size = History(events=history.events).ByteSize()
    return (f"{len(history.events)} events, {size / 1024:.1f} KB; "
            f"{kinds['ACTIVITY_TASK_SCHEDULED']} activities, {kinds['WORKFLOW_TASK_COMPLETED']} workflow tasks, "
            f"{kinds['UPSERT_WORKFLOW_SEARCH_ATTRIBUTES']} search-attribute upserts, "
            f"{kinds['WORKFLOW_EXECUTION_UPDATE_ACCEPTED']} updates, {kinds['TIMER_STARTED']} timers")


def line(r: Result) -> str:
    return (f"{r.kind:7} x{r.concurrency:<3} {r.lifecycles:4} lifecycles in {r.seconds:7.2f} s: {r.rate:7.2f}/s   "
            f"action p50 {r.pct(0.5) * 1000:7.1f} ms  p90 {r.pct(0.9) * 1000:7.1f} ms   "
            f"({r.actions / r.lifecycles:.1f} actions" + (f", {r.letters / r.lifecycles:.1f} letters" if r.letters else "")
            + " a lifecycle)")


TARGET = {False: 0.9, True: 0.8}  # the issue's: apflow/bare with letters off, and with letters


async def compare(args, tmp: Path, letters: bool) -> list[str]:
    """One `apflow up` with letters on or off, alternated with its bare
    lifecycle; returns the summary's lines."""
    label = "on" if letters else "off"
    up = ApflowUp(tmp / f"var-letters-{label}", args.workers, letters)
    print(f"Letters {label}: starting apflow up in {up.var} ...", flush=True)
    up.start()
    try:
        token = up.tokens()
        client = await Client.connect(up.temporal)
        bare_letters = BareLetters(tmp)
        with ThreadPoolExecutor(16, thread_name_prefix="bare-activity") as executor:
            async with Worker(client, task_queue=BARE_QUEUE, workflows=[BareLifecycle],
                              activities=[noop, bare_letters.send], activity_executor=executor,
                              workflow_runner=RUNNER):
                print(f"Warming up ({args.warmup} of each) ...", flush=True)
                before = up.letters()
                warm = await asyncio.to_thread(run_apflow, up, token, args.warmup, min(args.warmup, 5))
                await asyncio.sleep(5)  # a step's letters follow it
                # The bare lifecycle takes as many updates as apflow's makes POSTs
                # (`--bare-steps` for another number), and sends as many letters.
                steps = args.bare_steps or round(warm.actions / warm.lifecycles)
                per_lifecycle = min(steps, round((up.letters() - before) / args.warmup))
                print(f"The bare lifecycle takes {steps} updates, {per_lifecycle} of them sending a letter", flush=True)
                await run_bare(client, args.warmup, min(args.warmup, 5), steps, per_lifecycle, bare_letters)
                results: dict[tuple[str, int], list[Result]] = {}
                for rnd in range(args.rounds):
                    for c in args.concurrency:
                        for r in (await run_bare(client, args.lifecycles, c, steps, per_lifecycle, bare_letters),
                                  await asyncio.to_thread(run_apflow, up, token, args.lifecycles, c)):
                            print(f"letters {label}, round {rnd + 1}: {line(r)}", flush=True)
                            results.setdefault((r.kind, c), []).append(r)
                for kind in ("bare", "apflow"):
                    sample = results[(kind, args.concurrency[-1])][-1].sample
                    print(f"letters {label}: one {kind} lifecycle's history: {await history_profile(client, sample)}")
        bare_letters.engine.dispose()
        out = []
        for c in args.concurrency:
            b, a = (merge(results[(k, c)]) for k in ("bare", "apflow"))
            out.append(f"{label:>7} {c:7}  {b.rate:8.2f} {a.rate:10.2f} {a.rate / b.rate:7.3f} {TARGET[letters]:>7} "
                       f"{b.pct(0.5) * 1000:8.1f}ms {a.pct(0.5) * 1000:9.1f}ms  {per_lifecycle:>7}")
        return out
    finally:
        up.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lifecycles", type=int, default=40, help="lifecycles of each kind at each concurrency (40)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[10, 20], help="placements at once (10 20)")
    parser.add_argument("--rounds", type=int, default=1, help="times to alternate bare and apflow (1)")
    parser.add_argument("--bare-steps", type=int, help=f"updates the bare lifecycle takes (default: as many as apflow's "
                                                       f"lifecycle makes POSTs; the issue's was {STEPS})")
    parser.add_argument("--workers", type=int, help="worker processes apflow up starts (its default)")
    parser.add_argument("--warmup", type=int, default=5, help="lifecycles of each kind before measuring (5)")
    parser.add_argument("--letters", choices=["off", "on"], nargs="+", default=["off", "on"],
                        help="apflow up's letters, each with its own bare comparison (off on)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="apflow-bench-") as tmp:
        summary = []
        for letters in args.letters:
            summary += await compare(args, Path(tmp), letters == "on")
            print()
        print(f"{'letters':>7} {'at once':>7}  {'bare /s':>8} {'apflow /s':>10} {'ratio':>7} {'target':>7} "
              f"{'bare p50':>10} {'apflow p50':>11}  {'letters a lifecycle':>7}")
        print("\n".join(summary))


def merge(rs: list[Result]) -> Result:
    out = Result(rs[0].kind, rs[0].concurrency, sum(r.lifecycles for r in rs), sum(r.seconds for r in rs))
    for r in rs:
        out.latencies += r.latencies
        out.actions += r.actions
    return out


if __name__ == "__main__":
    asyncio.run(main())
