"""Letters through a mail relay that misbehaves: a real SMTP server
(tests/letters) behind a TCP relay on loopback (tests/deploy/relay.py), a
real worker on the Temporal dev server, real time. Each placement's
`consult_la` sends the LA its notice (§8.1), one letter on one connection.

A letter is tried `letter_attempts` times (10 unless a placement says
otherwise), backing off from 1 s (workflows/letters.py `retry_policy`):
one the relay refuses, hangs on or drops before the message's end has gone
is tried again and arrives once. One whose whole message went to the relay
but whose answer never came may have been accepted: it is never sent again,
its row is `unconfirmed` and the AP lead is told to check. One that keeps
failing past its bound is `letter_failed`, escalated to the AP lead. Each
test takes a few seconds: the relay misbehaves for an attempt or two, and
a hung relay is waited for SMTP_TIMEOUT_S (the setting's default is 30 s)."""
from __future__ import annotations

import asyncio
import contextlib

from temporalio.api.enums.v1 import EventType

from activities.documents import DocumentActivities
from apflow import samples
from apflow.calendars import load_calendar
from apflow.settings import Settings
from store import documents as sent
from tests.api.test_api import today
from tests.deploy.relay import Fault, Relay
from tests.letters.conftest import BASE_URL, DIRECTORY, SECRET, Inbox, mail_settings, smtp  # noqa: F401  (fixture)
from tests.workflows.test_placement_workflow import LEAD
from worker import build_worker
from workflows.client import act, snapshot, start_placement

from . import waiting

SMTP_TIMEOUT_S = 1.0  # how long a hung relay is waited for, each attempt
WAIT_S = 20


async def until(check, what: str):
    return await waiting.until(check, what, WAIT_S)


@contextlib.asynccontextmanager
async def relayed(dev_env, engine, smtp_port: int, task_queue: str):
    """The relay in front of the SMTP server, and a worker whose letters go through it."""
    async with Relay(smtp_port) as relay:
        mail = mail_settings(relay.port).model_copy(update={"smtp_timeout": SMTP_TIMEOUT_S})
        documents = DocumentActivities(engine, mail, [SECRET], BASE_URL)
        async with build_worker(dev_env.client, task_queue, engine, documents):
            yield relay


async def consult_la(client, task_queue: str, **options) -> str:
    """A placement vetted, then its LA consulted: the LA's notice is on its way."""
    cal = load_calendar(samples.SCHOOL.school_id, Settings().calendars_dir)
    handle, _ = await start_placement(client, task_queue, samples.proposal(cal.add_school_days(today(), 15)), LEAD, cal,
                                      directory=DIRECTORY, **options)
    await act(client, handle.id, LEAD, samples.vet())
    await act(client, handle.id, LEAD, samples.consult_la(today()))
    return handle.id


def to_la(inbox: Inbox) -> list:
    return [m for m in inbox.mails if m.role == "la"]


async def la_notice_attempts(client, pid: str) -> tuple[int, str]:
    """The attempt on which the LA's notice (the placement's first letter)
    ended, and how: Temporal records the last attempt's start and its end."""
    scheduled = started = None
    async for e in client.get_workflow_handle(pid).fetch_history_events():
        if scheduled is None and e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED \
                and e.activity_task_scheduled_event_attributes.activity_type.name == "send_document":
            scheduled = e.event_id
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED \
                and e.activity_task_started_event_attributes.scheduled_event_id == scheduled:
            started = e.activity_task_started_event_attributes.attempt
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED \
                and e.activity_task_completed_event_attributes.scheduled_event_id == scheduled:
            return started, "completed"
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED \
                and e.activity_task_failed_event_attributes.scheduled_event_id == scheduled:
            return started, "failed"
    return started, "running"


async def retrying(client, pid: str) -> tuple[int, str] | None:
    """The attempt the letter's activity is on and why the one before failed
    (smtplib's words), while it is being retried."""
    for pending in (await client.get_workflow_handle(pid).describe()).raw_description.pending_activities:
        if pending.activity_type.name == "send_document" and pending.attempt > 1:
            return pending.attempt, pending.last_failure.message
    return None


async def escalations(client, pid: str, kind: str) -> list:
    return [e for e in (await snapshot(client, pid)).placement.escalations if e.kind == kind]


def the_row(engine, pid: str):
    (row,) = [r for r in sent.for_placement(engine, pid) if r.recipient_role == "la"]
    return row


async def delivered_once_after(relay: Relay, inbox: Inbox, client, engine, pid: str, tried: int) -> None:
    """The relay behaves again: the notice arrives once, on a later attempt
    within its bound, recorded sent, with nothing escalated."""
    relay.restore()
    (mail,) = await until(lambda: to_la(inbox), "the LA's notice arrives")
    attempt, how = await until(lambda: _ended(client, pid), "the send's activity ends")
    assert how == "completed" and tried < attempt <= 10, (attempt, how)
    assert the_row(engine, pid).status == "sent"
    assert await escalations(client, pid, "letter_failed") == [] and await escalations(client, pid, "letter_unconfirmed") == []
    assert to_la(inbox) == [mail]  # once


async def _ended(client, pid: str):
    attempt, how = await la_notice_attempts(client, pid)
    return (attempt, how) if how != "running" else None


async def test_a_relay_that_refuses_connections_is_retried_and_the_letter_arrives_once(dev_env, engine, task_queue, smtp):
    inbox, port = smtp
    async with relayed(dev_env, engine, port, task_queue) as relay:
        relay.down()
        pid = await consult_la(dev_env.client, task_queue)
        await until(lambda: relay.refused >= 2, "two attempts refused")  # really retried, 1 s apart
        attempt, why = await until(lambda: retrying(dev_env.client, pid), "the letter retried")
        assert attempt >= 2 and why == "Connection unexpectedly closed" and to_la(inbox) == []
        await delivered_once_after(relay, inbox, dev_env.client, engine, pid, tried=2)


async def test_a_relay_that_accepts_and_never_answers_times_out_and_is_retried(dev_env, engine, task_queue, smtp):
    inbox, port = smtp
    async with relayed(dev_env, engine, port, task_queue) as relay:
        relay.hang()
        pid = await consult_la(dev_env.client, task_queue)
        # Each attempt waits SMTP_TIMEOUT_S for the greeting, gives up and is retried.
        await until(lambda: relay.accepted >= 2, "a second attempt after the first timed out")
        attempt, why = await until(lambda: retrying(dev_env.client, pid), "the letter retried")
        assert attempt >= 2 and why == "Connection unexpectedly closed: timed out" and to_la(inbox) == []
        await delivered_once_after(relay, inbox, dev_env.client, engine, pid, tried=1)


async def test_a_connection_dropped_at_data_before_the_message_went_is_retried(dev_env, engine, task_queue, smtp):
    inbox, port = smtp
    async with relayed(dev_env, engine, port, task_queue) as relay:
        relay.cut_when(Fault(b"data\r\n"))  # the DATA command is lost with its connection
        pid = await consult_la(dev_env.client, task_queue)
        await until(lambda: relay.cuts >= 1, "the first attempt cut")
        await delivered_once_after(relay, inbox, dev_env.client, engine, pid, tried=1)


async def assert_unconfirmed(relay: Relay, inbox: Inbox, client, engine, pid: str) -> None:
    """The notice's send ended on its first attempt, unconfirmed, and the
    AP lead is told to check with the LA (and gets that message)."""
    (escalation,) = await until(lambda: escalations(client, pid, "letter_unconfirmed"), "the AP lead is told")
    assert escalation.owner.value == "ap_lead" and escalation.clause == "§8.1"
    assert "may not have been delivered" in escalation.message and "check with the la" in escalation.message
    assert await la_notice_attempts(client, pid) == (1, "completed")  # never tried again
    assert the_row(engine, pid).status == "unconfirmed"
    await until(lambda: [m for m in inbox.mails if m.role == "ap_lead"], "the AP lead's message")
    assert relay.accepted == 2  # the notice's one attempt, and the AP lead's message


async def test_a_connection_dropped_half_way_through_the_data_is_unconfirmed_not_sent_again(dev_env, engine, task_queue, smtp):
    inbox, port = smtp
    async with relayed(dev_env, engine, port, task_queue) as relay:
        # The server loses its client once the PDF's part begins; the sender's
        # last bytes go nowhere and no answer comes: it cannot know what arrived.
        relay.cut_when(Fault(b"application/pdf", swallow_until=b"\r\n.\r\n"))
        pid = await consult_la(dev_env.client, task_queue)
        await assert_unconfirmed(relay, inbox, dev_env.client, engine, pid)
        assert to_la(inbox) == []  # the server dropped the half message; staff check and send it again


async def test_a_letter_the_relay_accepted_is_never_sent_twice_when_its_answer_is_lost(dev_env, engine, task_queue, smtp):
    inbox, port = smtp
    async with relayed(dev_env, engine, port, task_queue) as relay:
        relay.cut_when(Fault(b"\r\n.\r\n", deliver=True))  # the server takes the message; its 250 is lost
        pid = await consult_la(dev_env.client, task_queue)
        await assert_unconfirmed(relay, inbox, dev_env.client, engine, pid)
        assert len(to_la(inbox)) == 1


async def test_a_letter_that_keeps_failing_past_its_bound_is_escalated(dev_env, engine, task_queue, smtp):
    inbox, port = smtp
    async with relayed(dev_env, engine, port, task_queue) as relay:
        relay.down()
        pid = await consult_la(dev_env.client, task_queue, letter_attempts=3)  # 1 s, then 2 s apart
        (failed,) = await until(lambda: escalations(dev_env.client, pid, "letter_failed"), "the AP lead is told")
        assert failed.owner.value == "ap_lead" and failed.clause == "§8.1"
        assert "could not be sent: the mail relay could not be reached" in failed.message
        assert await la_notice_attempts(dev_env.client, pid) == (3, "failed")
        assert the_row(engine, pid).status == "failed"
        assert (await snapshot(dev_env.client, pid)).placement.state == "la_consulted"  # not held by its letter
        assert relay.accepted == 0 and to_la(inbox) == []


async def test_a_worker_stopped_while_the_relay_answers_finishes_the_send_and_it_is_not_sent_again(dev_env, engine, task_queue, smtp):
    """Stopping a worker (a deploy's SIGTERM) cancels what it runs. A letter
    whose whole message has gone waits for the relay's answer instead of
    being broken off there and taken for failed, which would send it again
    on the next worker."""
    inbox, port = smtp
    async with Relay(port) as relay:
        relay.cut_when(Fault(b"\r\n.\r\n", deliver=True, hold=True))  # the server has it; its 250 is held
        mail = mail_settings(relay.port).model_copy(update={"smtp_timeout": 10.0})
        documents = DocumentActivities(engine, mail, [SECRET], BASE_URL)
        worker = build_worker(dev_env.client, task_queue, engine, documents)
        running = asyncio.create_task(worker.run())
        pid = await consult_la(dev_env.client, task_queue)
        await until(lambda: relay.holding and to_la(inbox), "the server has the LA's notice, its answer held")
        stopping = asyncio.create_task(worker.shutdown())
        await asyncio.sleep(0.5)  # the worker is stopping, its send still waiting
        relay.restore()  # the 250 arrives
        await asyncio.wait_for(stopping, WAIT_S)
        await running
        assert the_row(engine, pid).status == "sent"
        async with build_worker(dev_env.client, task_queue, engine, documents):
            await until(lambda: _ended(dev_env.client, pid), "the send's activity ends")
            assert the_row(engine, pid).status == "sent"
            assert await escalations(dev_env.client, pid, "letter_failed") == []
        assert len(to_la(inbox)) == 1
