"""Someone who reaches the Temporal port without the trust's key cannot make
a placement act: an update or signal sent in plain JSON by a bare client is
refused (the update rejected, the signal dropped), and the placement, its
register row and its letters are as they were."""
from __future__ import annotations

import asyncio
import email
from email import policy

import pytest
from temporalio.client import Client, WorkflowUpdateFailedError

from activities.documents import DocumentActivities
from apflow import samples
from apflow.settings import Settings
from documents import DeliverySettings
from domain.actions import ActionRequest
from domain.calendar import default_calendar
from domain.models import Actor, Role
from store import register
from workflows.client import act, snapshot, start_placement
from worker import build_worker

from .test_placement_workflow import LEAD, next_school_day, today

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
