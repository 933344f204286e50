"""A worker process killed in the middle of an update loses nothing.

The worker runs as its own process (`python worker.py`, configured from
APFLOW_* variables) against the dev server. While an update's register
projection is in flight (held back by a write lock on the register), the
worker is SIGKILLed; a new worker process takes over and the placement goes on
to closure. Every step is then in the placement's history, the register and
the audit trail exactly once.
"""
from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import func, select
from temporalio.api.enums.v1 import EventType, PendingWorkflowTaskState, TimeoutType

from apflow import samples
from apflow.calendars import load_calendar
from apflow.settings import Settings
from domain.clock import uk_date
from domain.models import Actor, Role
from store import register
from store.db import make_engine
from store.tables import AuditEvent
from tests.conftest import CODEC_KEY
from workflows.client import act, snapshot, start_placement

ROOT = Path(__file__).resolve().parents[2]
LEAD = Actor(user_id="aplead-137000", role=Role.ap_lead, school_id="137000")
HEAD = Actor(user_id="head-137000", role=Role.headteacher, school_id="137000")
READY_WAIT_S = 30
IN_FLIGHT_WAIT_S = 20
# The killed worker's activity attempt is retried once its start-to-close timeout
# (30 s) has passed; this leaves room for that and for a slow machine.
RECOVERY_WAIT_S = 120
STEP_WAIT_S = 30

STEPS = [
    ("propose", "proposed"), ("vet", "vetted"), ("consult_la", "la_consulted"), ("notify", "notified"),
    ("start", "active"), ("open_review", "under_review"), ("record_review", "active"),
    ("open_review", "under_review"), ("reintegrate", "reintegrating"), *[("record_evaluation", "reintegrating")] * 4,
    ("close", "closed"),
]


class WorkerProcess:
    def __init__(self, env: dict[str, str], log: Path):
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "worker.py"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    async def ready(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_WAIT_S
        while "worker running on task queue" not in self.log.read_text(errors="replace"):
            assert self.proc.poll() is None, f"worker exited with {self.proc.returncode}:\n{self.output()}"
            assert loop.time() < deadline, f"worker not running after {READY_WAIT_S} s:\n{self.output()}"
            await asyncio.sleep(0.1)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)


def worker_env(client, tmp_path, db, **settings: str) -> dict[str, str]:
    """The environment of a `python worker.py` process on the test's dev
    server, task queue and register; `settings` adds APFLOW_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APFLOW_")}
    env.update(
        APFLOW_TEMPORAL_ADDRESS=client.service_client.config.target_host,
        APFLOW_TEMPORAL_NAMESPACE=client.namespace,
        APFLOW_TASK_QUEUE=f"tq-worker-{uuid.uuid4()}",
        APFLOW_DATABASE_URL=f"sqlite:///{db}",
        APFLOW_PAYLOAD_KEY=CODEC_KEY.decode(),
        APFLOW_VAR_DIR=str(tmp_path / "var"),
        PYTHONUNBUFFERED="1",
        **{f"APFLOW_{k.upper()}": v for k, v in settings.items()},
    )
    return env


def last_school_day() -> date:
    cal = load_calendar("137000", Settings().calendars_dir)
    d = uk_date(datetime.now(UTC))
    return d if cal.is_school_day(d) else cal.add_school_days(d, -1)


async def projection_in_flight(handle) -> int:
    """Waits until a worker has taken the workflow task that writes the
    register (a local activity, held back by the lock) and not finished it;
    returns the task's attempt."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + IN_FLIGHT_WAIT_S
    while True:
        task = (await handle.describe()).raw_description.pending_workflow_task
        if task.state == PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED:
            return task.attempt
        assert loop.time() < deadline, f"no workflow task in flight after {IN_FLIGHT_WAIT_S} s: {task}"
        await asyncio.sleep(0.1)


async def wait_for_state(client, pid: str, state: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STEP_WAIT_S
    while (snap := await snapshot(client, pid)).placement.state != state:
        assert loop.time() < deadline, f"{pid} still {snap.placement.state}, waiting for {state}: {snap.start_blocked}"
        await asyncio.sleep(0.2)


async def test_worker_killed_mid_update_loses_nothing(dev_env, tmp_path):
    client = dev_env.client
    db = tmp_path / "register.db"
    env = worker_env(client, tmp_path, db)
    start = last_school_day()
    cal = load_calendar("137000", Settings().calendars_dir)
    notice_on = cal.add_school_days(start, -3)
    workers: list[WorkerProcess] = []
    lock: sqlite3.Connection | None = None
    try:
        workers.append(WorkerProcess(env, tmp_path / "worker-1.log"))
        await workers[0].ready()
        handle, _ = await start_placement(client, env["APFLOW_TASK_QUEUE"], samples.proposal(start), LEAD, cal)
        pid = handle.id
        await act(client, pid, LEAD, samples.vet(safeguarding_confirmation_received_on=notice_on))
        await act(client, pid, LEAD, samples.consult_la(notice_on))

        # Hold the register's write lock: the notice's projection cannot finish,
        # so the update's workflow task is still open when the worker dies.
        lock = sqlite3.connect(db, isolation_level=None, timeout=30)
        lock.execute("BEGIN IMMEDIATE")
        notify = asyncio.create_task(act(client, pid, HEAD, samples.notify(notice_on)))
        assert await projection_in_flight(handle) == 1
        workers[0].kill()
        lock.execute("ROLLBACK")
        lock.close()
        lock = None
        assert not notify.done()
        peek = make_engine(f"sqlite:///{db}")
        assert register.get(peek, pid).state == "la_consulted"  # the notice's projection never landed
        peek.dispose()

        workers.append(WorkerProcess(env, tmp_path / "worker-2.log"))
        await workers[1].ready()
        try:
            snap = await asyncio.wait_for(notify, RECOVERY_WAIT_S)
        except TimeoutError:
            raise AssertionError(f"the notice did not complete on the new worker:\n{workers[1].output()}") from None
        assert snap.placement.state == "notified"

        # The start date has come: the workflow starts the placement by itself.
        await wait_for_state(client, pid, "active")
        d = uk_date(datetime.now(UTC))
        booking = samples.open_review(*samples.review_bookable(cal, d))
        await act(client, pid, LEAD, booking)
        await act(client, pid, LEAD, samples.record_review(d))
        await act(client, pid, LEAD, booking)
        await act(client, pid, LEAD, samples.reintegrate(d))
        for part in samples.end_evaluation(d):
            await act(client, pid, LEAD, part)
        await act(client, pid, HEAD, samples.close(d))
        result = await asyncio.wait_for(handle.result(), STEP_WAIT_S)
    finally:
        if lock is not None:
            lock.close()
        for w in workers:
            w.kill()

    # The workflow: every step once, in order.
    assert [(h.action, h.to_state) for h in result.placement.history] == STEPS
    assert [h.seq for h in result.placement.history] == list(range(1, len(STEPS) + 1))

    # Temporal's history: each staff action accepted and completed once; the
    # projection cut off by the crash ran again on the new worker.
    events = (await handle.fetch_history()).events
    staff_actions = len(STEPS) - 2  # all but propose (the workflow's start) and start (by the clock)
    accepted = [
        e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]
    # Besides the actions, the proposal's own `registered` update, sent with the start.
    assert sorted(accepted) == ["act"] * staff_actions + ["registered"]
    kinds = [e.event_type for e in events]
    assert kinds.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED) == staff_actions + 1
    # The killed worker's task timed out and the new worker ran it again.
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT in kinds, "the crash did not hit an update in flight"

    # The register: the row's final state and an audit trail with no gaps and no duplicates.
    engine = make_engine(f"sqlite:///{db}")
    try:
        row = register.get(engine, pid)
        assert (row.state, row.seq) == ("closed", len(STEPS))
        trail = register.audit_trail(engine, pid)
        assert [(e.seq, e.action, e.to_state) for e in trail] == [
            (i, action, state) for i, (action, state) in enumerate(STEPS, start=1)
        ]
        assert [e.actor_id for e in trail][3:5] == [HEAD.user_id, "apflow"]
        with engine.connect() as conn:
            count = conn.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.placement_id == pid))
        assert count == len(STEPS)
    finally:
        engine.dispose()


async def test_a_dead_workers_placements_move_to_the_next_worker_after_its_sticky_wait(dev_env, tmp_path):
    """A placement the killed worker held in memory: its next task waits for
    that worker `worker_sticky_wait_s` (3 s), not the SDK's 10 s, before the
    new worker takes it and replays its history."""
    client = dev_env.client
    env = worker_env(client, tmp_path, tmp_path / "register.db")
    start = last_school_day()
    cal = load_calendar("137000", Settings().calendars_dir)
    notice_on = cal.add_school_days(start, -3)
    workers = [WorkerProcess(env, tmp_path / "worker-1.log")]
    try:
        await workers[0].ready()
        handle, _ = await start_placement(client, env["APFLOW_TASK_QUEUE"], samples.proposal(start), LEAD, cal)
        await act(client, handle.id, LEAD, samples.vet(safeguarding_confirmation_received_on=notice_on))
        workers[0].kill()  # idle, the placement in its cache
        workers.append(WorkerProcess(env, tmp_path / "worker-2.log"))
        await workers[1].ready()
        began = asyncio.get_running_loop().time()
        snap = await asyncio.wait_for(act(client, handle.id, LEAD, samples.consult_la(notice_on)), RECOVERY_WAIT_S)
        took = asyncio.get_running_loop().time() - began
    finally:
        for w in workers:
            w.kill()
    assert snap.placement.state == "la_consulted"
    timed_out = [e.workflow_task_timed_out_event_attributes.timeout_type for e in (await handle.fetch_history()).events
                 if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT]
    assert timed_out == [TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START]  # waited on the dead worker's queue, once
    assert Settings().worker_sticky_wait_s <= took < 10, took
