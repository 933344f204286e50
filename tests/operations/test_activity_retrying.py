"""A letter whose mail relay is down: its activity retries, operations see
it listed with its attempts and last error, and "retry now" tries it again
at once (its attempt count back to 1) once the relay is up; recorded in the
audit trail with who did it. Refused for an AP lead and where nothing retries."""
from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller
from temporalio.api.enums.v1 import EventType

from activities.documents import DocumentActivities
from apflow import samples
from apflow.settings import Settings
from domain.calendar import default_calendar
from domain.clock import uk_date
from operations.fixes import Fixer, Refused
from operations.stuck import Kind
from store import documents, register
from tests.letters.conftest import Inbox, free_port, mail_settings
from tests.workflows.test_placement_workflow import LEAD as LEAD_ACTOR
from workflows.client import act, start_placement
from worker import build_worker

from .conftest import LEAD, OPS, listed, now, until


async def test_a_retrying_letter_is_listed_and_retried_now(ops_env, engine, task_queue):
    env = ops_env
    port = free_port()  # nothing listens here yet: the relay is down
    letters = DocumentActivities(engine, mail_settings(port), ["secret"], "https://apflow.test")
    today = uk_date(now())
    calendar = default_calendar("137000", today)
    start = calendar.add_school_days(today, 15)
    async with build_worker(env.client, task_queue, engine, letters):
        handle, _ = await start_placement(env.client, task_queue, samples.proposal(start), LEAD_ACTOR, calendar,
                                          directory=Settings().letters_from(samples.SCHOOL))
        fixer = Fixer(env.client, engine)
        with pytest.raises(Refused, match="no activity is failing"):
            await fixer.retry(handle.id, OPS)

        await act(env.client, handle.id, LEAD_ACTOR, samples.vet())
        await act(env.client, handle.id, LEAD_ACTOR, samples.consult_la(today))  # the LA's notice goes to the relay
        found = await listed(env.client, engine, handle.id, Kind.activity_retrying)
        [reason] = [r for r in found.reasons if r.kind is Kind.activity_retrying]
        assert reason.attempts >= 3 and reason.details["activity_type"] == "send_document"
        assert "refused" in reason.last_error.lower(), reason.last_error
        assert {r.kind for r in found.reasons} == {Kind.activity_retrying}  # still tried: not yet a lost letter
        assert found.actions == ["retry", "terminate"] and found.state == "la_consulted"

        with pytest.raises(Refused) as refused:
            await fixer.retry(handle.id, LEAD)
        assert refused.value.status == 403 and "trust_operations" in str(refused.value)

        inbox = Inbox()
        relay = Controller(inbox, hostname="127.0.0.1", port=port)
        relay.start()  # the relay is back
        try:
            done = await fixer.retry(handle.id, OPS, "relay restarted")
            assert "send_document" in done.message
            sent = await until(lambda: _sent(engine, handle.id), what="the LA's notice sent")
            assert sent
            # Tried again at once: its attempt count started again at 1, not after its backoff.
            started = [e.activity_task_started_event_attributes for e in (await handle.fetch_history()).events
                       if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED]
            assert started[-1].attempt == 1, started[-1]
        finally:
            relay.stop()

    [audit] = [e for e in register.audit_trail(engine, handle.id) if e.action == "ops_retry"]
    assert (audit.actor_id, audit.actor_role, audit.from_state) == ("ops-1", "trust_operations", "la_consulted")
    assert "relay restarted" in audit.note and audit.seq < 0


async def _sent(engine, placement_id):
    return [d for d in documents.for_placement(engine, placement_id) if d.recipient_role == "la" and d.status == "sent"]
