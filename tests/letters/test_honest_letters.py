"""Letters are dated when they are given and never stall a placement: a
parent without an email address is written to by post, a relay that refuses
a recipient or is down leaves the placement moving with an escalation that
says why (a real SMTP server on 127.0.0.1, the time-skipping test server)."""
from __future__ import annotations

import asyncio
from datetime import timedelta, timezone

from activities.documents import DocumentActivities
from apflow import samples
from domain.actions import RecordDelivery
from domain.calendar import default_calendar
from domain.clock import uk_date
from domain.models import Delivery
from domain.settings import PolicySettings
from store import documents as sent
from tests.workflows.test_placement_workflow import HEAD, LEAD, next_school_day, today
from worker import build_worker
from workflows.client import act, snapshot, start_placement

from .conftest import BASE_URL, DIRECTORY, SECRET, free_port, mail_settings
from .test_letters_workflow import PARENT_2, one

REFUSED = "robin@family.example"


async def settled(env, pid: str, done, timeout: float = 15):
    """The snapshot once `done(snapshot)` holds: letters follow their step."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done(snap := await snapshot(env.client, pid)):
        assert loop.time() < deadline, snap.placement.model_dump(include={"notice", "escalations"})
        await asyncio.sleep(0.1)
    return snap


async def to_la_consulted(env, task_queue, start, **changes):
    handle, _ = await start_placement(
        env.client, task_queue, samples.proposal(start, **changes), LEAD, default_calendar("137000", start),
        now=await env.get_current_time(), directory=DIRECTORY,
    )
    await act(env.client, handle.id, LEAD, samples.vet())
    await act(env.client, handle.id, LEAD, samples.consult_la(await today(env)))
    return handle.id


async def test_a_parent_without_email_is_written_to_by_post_and_a_refused_one_is_escalated(time_env, engine, task_queue, inbox, documents):
    env = time_env
    inbox.refused.add(REFUSED)
    no_email = samples.proposal(await today(env)).parent_contacts[0].model_copy(update={"email": None})
    async with build_worker(env.client, task_queue, engine, documents):
        start = await next_school_day(env, 10)
        pid = await to_la_consulted(env, task_queue, start, parent_contacts=[no_email, PARENT_2])

        # The step is recorded and answers at once, whatever becomes of its letters.
        assert (await act(env.client, pid, HEAD, samples.notify())).placement.state == "notified"

        snap = await settled(env, pid, lambda s: all(c.document_id for c in s.placement.notice.copies)
                             and any(e.kind == "letter_failed" for e in s.placement.escalations))
        posted, refused = snap.placement.notice.copies
        assert (posted.delivery, posted.given_on) == (Delivery.post, None)
        assert refused.given_on is None and "550" in refused.failed and "user unknown" in refused.failed
        (failed,) = [e for e in snap.placement.escalations if e.kind == "letter_failed"]
        assert failed.owner.value == "ap_lead" and failed.clause == "§6.5-6.6"
        assert "550" in failed.message and REFUSED not in failed.message  # the reason, not the address
        assert snap.start_blocked == []

        # The letter to post is on the school's list, with the PDF to print.
        (to_post,) = sent.to_post(engine, "137000")
        assert to_post.document_id == posted.document_id and to_post.pdf.startswith(b"%PDF")
        # The refused address is not retried: one attempt, recorded failed with the relay's answer.
        assert sent.get(engine, pid, refused.document_id).status == "failed"

        # Staff post one and hand the other over; from then the clock counts them given.
        d = await today(env)
        await act(env.client, pid, LEAD, RecordDelivery(document_id=posted.document_id, method=Delivery.post))
        snap = await act(env.client, pid, LEAD, RecordDelivery(document_id=refused.document_id, method=Delivery.by_hand))
        posted, handed = snap.placement.notice.copies
        assert posted.posted_on == d and posted.given_on == default_calendar("137000", d).deemed_received(d, 2)
        assert handed.given_on == d and handed.given_by == LEAD.user_id
        assert sent.to_post(engine, "137000") == []
        assert sent.get(engine, pid, posted.document_id).status == "posted"

        await env.sleep(timedelta(days=(start - await today(env)).days + 1))
        assert (await snapshot(env.client, pid)).placement.state == "active"


async def test_a_relay_that_is_down_fails_within_its_bound_and_the_placement_goes_on(time_env, engine, task_queue):
    env = time_env
    nowhere = DocumentActivities(engine, mail_settings(free_port()), [SECRET], BASE_URL)
    async with build_worker(env.client, task_queue, engine, nowhere):
        start = await next_school_day(env, 10)
        handle, _ = await start_placement(
            env.client, task_queue, samples.proposal(start), LEAD, default_calendar("137000", start),
            now=await env.get_current_time(), directory=DIRECTORY, letter_attempts=2,
        )
        await act(env.client, handle.id, LEAD, samples.vet())
        # consult_la sends the LA its notice (§8.1); the relay does not answer.
        snap = await act(env.client, handle.id, LEAD, samples.consult_la(await today(env)))
        assert snap.placement.state == "la_consulted"

        snap = await settled(env, handle.id, lambda s: any(e.kind == "letter_failed" for e in s.placement.escalations))
        (failed,) = [e for e in snap.placement.escalations if e.kind == "letter_failed"]
        assert failed.clause == "§8.1" and "could not be reached" in failed.message
        # The placement is not held: the next step goes ahead at once.
        assert (await act(env.client, handle.id, HEAD, samples.notify(await today(env)))).placement.state == "notified"


async def test_the_initial_assessment_date_is_the_trusts_setting_in_the_letter_and_on_the_clock(time_env, engine, task_queue, inbox, documents):
    env = time_env
    settings = PolicySettings(initial_assessment_days=10)
    async with build_worker(env.client, task_queue, engine, documents):
        start = await next_school_day(env, 10)
        handle, _ = await start_placement(
            env.client, task_queue, samples.proposal(start), LEAD, default_calendar("137000", start), settings,
            now=await env.get_current_time(), directory=DIRECTORY,
        )
        await act(env.client, handle.id, LEAD, samples.vet())
        await act(env.client, handle.id, LEAD, samples.consult_la(await today(env)))
        snap = await act(env.client, handle.id, HEAD, samples.notify())

        due = await today(env) + timedelta(days=10)
        (clock,) = [d for d in snap.deadlines if d.kind == "initial_assessment"]
        assert clock.due == due
        request = await one(inbox, "provider_initial_assessment_request", "office@bridgeway.example")
        assert f"{due.day} {due:%B %Y}" in request.subject


async def test_a_letter_is_dated_the_day_it_is_sent(time_env, engine, task_queue, inbox, documents):
    env = time_env
    async with build_worker(env.client, task_queue, engine, documents):
        start = await next_school_day(env, 10)
        pid = await to_la_consulted(env, task_queue, start)
        await act(env.client, pid, HEAD, samples.notify())
        notice = await one(inbox, "offsite_direction_notice", "parent@family.example")

        snap = await settled(env, pid, lambda s: s.placement.notice.given_on is not None)
        row = sent.get(engine, pid, snap.placement.notice.copies[0].document_id)
        given = uk_date(row.sent_at.replace(tzinfo=row.sent_at.tzinfo or timezone.utc))  # SQLite drops the zone
        assert snap.placement.notice.given_on == given
        assert f"{given.day} {given:%B %Y}" in notice.pdf_text
