"""Someone who reaches the Temporal port without the trust's key cannot make
a placement act: an update or signal sent in plain JSON by a bare client is
refused (the update rejected, the signal dropped), and an activity's result
in plain JSON is never taken for an answer; the placement, its register row
and its letters are as they were."""
from __future__ import annotations

import asyncio
import email
from datetime import UTC, datetime
from email import policy

import pytest
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import Client, WorkflowUpdateFailedError

from activities.documents import DocumentActivities
from apflow import samples
from apflow.settings import Settings
from documents import DeliverySettings
from domain.actions import ActionRequest
from domain.calendar import default_calendar
from domain.clock import uk_date
from domain.models import Actor, Placement, Role
from messages import LetterRequest
from store import register
from workflows.client import act, snapshot, start_placement
from worker import build_worker

from .test_placement_workflow import HEAD, LEAD, next_school_day, today

ATTACKER = "attacker@evil.example"


async def test_a_plain_update_and_signal_are_refused_and_change_nothing(time_env, engine, task_queue, tmp_path):
    env = time_env
    outbox = tmp_path / "outbox"
    documents = DocumentActivities(engine, DeliverySettings(outbox_dir=outbox), ["test-secret"], "https://apflow.example")
    directory = Settings().letters_from(samples.SCHOOL)
    start = await next_school_day(env, 21)
    async with build_worker(env.client, task_queue, engine, documents):
        handle, _ = await start_placement(env.client, task_queue, samples.proposal(start), LEAD,
                                          default_calendar("137000", start), now=await env.get_current_time(),
                                          directory=directory)
        before = await snapshot(env.client, handle.id)
        # The same server and namespace, without the key: its payloads are plain JSON.
        bare = await Client.connect(env.client.service_client.config.target_host, namespace=env.client.namespace)
        rogue = bare.get_workflow_handle(handle.id)

        forged = ActionRequest(actor=Actor(user_id="head-made-up", role=Role.headteacher, school_id="137000"),
                               action=samples.vet())
        with pytest.raises(WorkflowUpdateFailedError):
            await rogue.execute_update("act", forged.model_dump(mode="json"))
        hijacked = directory.model_copy(update={"la": directory.la.model_copy(update={"email": ATTACKER})})
        await rogue.signal("directory_changed", hijacked.model_dump(mode="json"))

        after = await snapshot(env.client, handle.id)  # answered once the signal's task is done
        assert after.placement == before.placement
        assert register.get(engine, handle.id).version == before.placement.version

        # The real steps go on, and the LA's notice goes to the LA's own address.
        await act(env.client, handle.id, LEAD, samples.vet())
        await act(env.client, handle.id, LEAD, samples.consult_la(await today(env)))
        to_la: list[str] = []
        for _ in range(300):
            messages = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in outbox.glob("*.eml")]
            to_la = [str(m["To"]) for m in messages if m["X-Apflow-Recipient-Role"] == "la"]
            if to_la:
                break
            await asyncio.sleep(0.1)
        assert to_la == [directory.la.email]


async def test_a_plain_answer_to_a_letter_in_flight_is_not_taken_for_sent(dev_env, engine, task_queue, tmp_path):
    """A client without the key completes the parent's notice, stuck on a
    relay that never answers, with "sent": the workflow does not record the
    notice as given (its task fails instead, for operations to see)."""
    env = dev_env
    held: list[asyncio.StreamWriter] = []

    async def never_answer(_reader, writer):  # a relay that takes the connection and says nothing
        held.append(writer)

    relay = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = relay.sockets[0].getsockname()[1]
    documents = DocumentActivities(engine, DeliverySettings(mode="smtp", smtp_host="127.0.0.1", smtp_port=port,
                                                            smtp_security="none", smtp_timeout=120),
                                   ["test-secret"], "https://apflow.example")
    today_here = uk_date(datetime.now(UTC))
    calendar = default_calendar("137000", today_here)
    start = calendar.add_school_days(today_here, 15)
    try:
        async with build_worker(env.client, task_queue, engine, documents):
            handle, _ = await start_placement(env.client, task_queue, samples.proposal(start), LEAD,
                                              calendar, directory=Settings().letters_from(samples.SCHOOL))
            await act(env.client, handle.id, LEAD, samples.vet())
            await act(env.client, handle.id, LEAD, samples.consult_la(today_here))
            await act(env.client, handle.id, HEAD, samples.notify())  # apflow sends the notice to the parents

            notice = await _activity_sending(env, handle, "offsite_direction_notice")
            bare = await Client.connect(env.client.service_client.config.target_host, namespace=env.client.namespace)
            await bare.get_async_activity_handle(workflow_id=handle.id, run_id=None, activity_id=notice).complete(
                {"status": "sent", "document_id": "doc-" + "f0" * 16, "sha256": "0" * 64,
                 "sent_at": datetime.now(UTC).isoformat()})  # a well-formed LetterResult, in plain JSON

            failed = await _workflow_task_failed(handle)
            assert "decod" in failed.lower() or "encoding" in failed.lower(), failed
            placement = Placement.model_validate(register.get(engine, handle.id).data)
            assert [c.given_on for c in placement.notice.copies] == [None] * len(placement.notice.copies)
            relay.close()  # the relay goes and hangs up: the letters still being sent end, and the worker can stop
            for w in held:
                w.close()
    finally:
        relay.close()


async def _activity_sending(env, handle, kind: str, wait_s: float = 30) -> str:
    """The id of the started `send_document` activity sending a letter of `kind`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        scheduled = {}
        for e in (await handle.fetch_history()).events:
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                a = e.activity_task_scheduled_event_attributes
                [request] = await env.client.data_converter.decode(a.input.payloads, [LetterRequest])
                scheduled[a.activity_id] = request.kind
        pending = (await handle.describe()).raw_description.pending_activities
        for a in pending:
            if a.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED and scheduled.get(a.activity_id) == kind:
                return a.activity_id
        assert loop.time() < deadline, f"no {kind} being sent after {wait_s} s: {scheduled}"
        await asyncio.sleep(0.2)


async def _workflow_task_failed(handle, wait_s: float = 30) -> str:
    """The failure message of the workflow task that came after an activity's completion."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        events = (await handle.fetch_history()).events
        completed = [i for i, e in enumerate(events) if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED]
        failures = [e.workflow_task_failed_event_attributes.failure.message for i, e in enumerate(events)
                    if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED and completed and i > completed[0]]
        if failures:
            return failures[0]
        assert loop.time() < deadline, "the workflow took the plain answer without failing its task"
        await asyncio.sleep(0.2)
