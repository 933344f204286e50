"""The reasons read from the register, each made to happen for real: a clock
stopped (no worker) past a deadline and past the state's time limit, a
letter the relay refused with its escalation left open, and a worker that
writes to another register than the one operations read."""
from __future__ import annotations

import asyncio
import contextlib
import threading
from datetime import timedelta

from apflow import samples
from apflow.settings import Settings
from domain.calendar import default_calendar
from domain.clock import uk_date, uk_instant
from domain.settings import StuckSettings
from operations import stuck
from operations.stuck import Kind
from store import documents, register
from store.db import make_engine, migrate
from tests.letters.conftest import DIRECTORY, Inbox, free_port, mail_settings
from tests.workflows.test_placement_workflow import LEAD as LEAD_ACTOR
from tests.workflows.test_placement_workflow import next_school_day
from workflows.client import act, start_placement
from worker import build_worker
from activities.documents import DocumentActivities
from aiosmtpd.controller import Controller

from .conftest import QUICK, listed, now, until


async def test_a_stopped_clock_past_a_deadline_and_the_state_s_limit(time_env, engine, task_queue):
    env = time_env
    start = await next_school_day(env, 21)
    async with build_worker(env.client, task_queue, engine):
        handle, _ = await start_placement(env.client, task_queue, samples.proposal(start), LEAD_ACTOR,
                                          default_calendar("137000", start), now=await env.get_current_time())
    assert await stuck.find(env.client, engine, QUICK, now=await env.get_current_time()) == []
    due = register.get(engine, handle.id).next_deadline
    # No worker: the workflow's clock does not run. The server's time goes on
    # to the moment the deadline is missed (the workflow's timer, which no
    # worker takes: the test server's time then stands still).
    await env.sleep(uk_instant(due + timedelta(days=1)) - await env.get_current_time())
    at = await env.get_current_time()
    assert uk_date(at) > due

    settings = QUICK.model_copy(update={"deadline_grace_hours": 0, "state_days": {"proposed": 10}})
    [found] = await stuck.find(env.client, engine, settings, now=at)
    assert found.placement_id == handle.id and found.state == "proposed"
    reasons = {r.kind: r for r in found.reasons}
    assert set(reasons) == {Kind.deadline_not_escalated, Kind.state_overdue}
    assert reasons[Kind.deadline_not_escalated].details["due"] == due.isoformat()
    assert reasons[Kind.state_overdue].details == {"state": "proposed", "limit_days": "10"}
    assert await stuck.count(env.client, engine, settings, now=at) == 1
    # Within its limits it is not stuck: an hour's grace for the clock, a longer stay in the state.
    patient = StuckSettings(state_days={"proposed": 60})
    assert await stuck.find(env.client, engine, patient, now=at) == []


@contextlib.asynccontextmanager
async def consulted(env, engine, task_queue, inbox: Inbox):
    """A placement whose LA has just been consulted, its letters sent to
    `inbox` by a real relay on loopback; its worker runs within the block."""
    port = free_port()
    relay = Controller(inbox, hostname="127.0.0.1", port=port)
    relay.start()
    try:
        letters = DocumentActivities(engine, mail_settings(port), ["secret"], "https://apflow.test")
        today = uk_date(now())
        calendar = default_calendar("137000", today)
        async with build_worker(env.client, task_queue, engine, letters):
            handle, _ = await start_placement(env.client, task_queue, samples.proposal(calendar.add_school_days(today, 15)),
                                              LEAD_ACTOR, calendar, directory=Settings().letters_from(samples.SCHOOL))
            await act(env.client, handle.id, LEAD_ACTOR, samples.vet())
            await act(env.client, handle.id, LEAD_ACTOR, samples.consult_la(today))
            yield handle
    finally:
        relay.stop()


async def test_a_letter_the_relay_refused_and_its_escalation_left_open(ops_env, engine, task_queue):
    env, inbox = ops_env, Inbox()
    inbox.refused.add(DIRECTORY.la.email)  # the relay answers 550 for the LA's address
    async with consulted(env, engine, task_queue, inbox) as handle:
        found = await listed(env.client, engine, handle.id, Kind.letter_not_sent)
        [letter] = [r for r in found.reasons if r.kind is Kind.letter_not_sent]
        assert "550" in letter.last_error and DIRECTORY.la.email not in letter.last_error
        assert letter.details["status"] == "failed"
        assert Kind.escalation_overdue not in {r.kind for r in found.reasons}  # raised just now

        # Its escalation to the AP lead (the letter not sent) is past a limit of 0 days.
        strict = QUICK.model_copy(update={"escalation_open_days": 0})
        found = await listed(env.client, engine, handle.id, Kind.escalation_overdue, settings=strict)
        [late] = [r for r in found.reasons if r.kind is Kind.escalation_overdue]
        assert late.details["owner"] == "ap_lead" and late.details["escalation_id"].startswith("letter:")


class HeldRelay(Inbox):
    """A relay that holds each message until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.holding, self.release = threading.Event(), threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.holding.set()
        await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 30)
        return await super().handle_DATA(server, session, envelope)


async def test_a_letter_sent_while_the_page_is_read_is_not_taken_for_one_stopped_mid_send(
        ops_env, engine, task_queue, monkeypatch):
    """The letters are read, then their workflows described: a send that ends
    between the two was under way, and is not listed as stopped."""
    env, relay = ops_env, HeldRelay()
    async with consulted(env, engine, task_queue, relay) as handle:
        try:
            await until(lambda: asyncio.to_thread(relay.holding.wait, 0.1), what="the LA's letter at the relay")
            [sending] = documents.for_placement(engine, handle.id)
            assert sending.status == documents.SENDING

            described = stuck._describe_all

            async def the_send_ends_first(client, ids):
                relay.release.set()
                await until(lambda: asyncio.to_thread(
                    lambda: documents.for_placement(engine, handle.id)[0].status == documents.SENT), what="sent")
                return await described(client, ids)

            monkeypatch.setattr(stuck, "_describe_all", the_send_ends_first)
            listed_now = await stuck.find(env.client, engine, QUICK)
            assert Kind.letter_not_sent not in {r.kind for s in listed_now if s.placement_id == handle.id for r in s.reasons}
            assert len(relay.to(DIRECTORY.la.email)) == 1
        finally:
            relay.release.set()


async def test_a_worker_writing_to_another_register(ops_env, engine, task_queue, tmp_path):
    env = ops_env
    elsewhere = make_engine(f"sqlite:///{tmp_path / 'another.db'}")
    migrate(elsewhere)
    today = uk_date(now())
    calendar = default_calendar("137000", today)
    try:
        async with build_worker(env.client, task_queue, engine, settings=Settings(worker_cache_size=0)):
            handle, _ = await start_placement(env.client, task_queue, samples.proposal(calendar.add_school_days(today, 15)),
                                              LEAD_ACTOR, calendar)
        assert handle.id not in {s.placement_id for s in await stuck.find(env.client, engine, QUICK)}
        async with build_worker(env.client, task_queue, elsewhere, settings=Settings(worker_cache_size=0)):
            await act(env.client, handle.id, LEAD_ACTOR, samples.vet())
            found = await listed(env.client, engine, handle.id, Kind.register_disagrees)
        [reason] = found.reasons
        assert reason.details == {"register_state": "proposed", "workflow_state": "vetted"}
        # A step just under way is not taken for a disagreement.
        await until(lambda: _quiet(env.client, engine, handle.id), what="within the lag")
    finally:
        elsewhere.dispose()


async def _quiet(client, engine, placement_id):
    patient = QUICK.model_copy(update={"register_lag_minutes": 60})
    return placement_id not in {s.placement_id for s in await stuck.find(client, engine, patient)}
