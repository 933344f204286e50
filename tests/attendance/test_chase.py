"""A missing mark is chased with the provider first, by email with its
attendance link, then escalated to the AP lead at the next sweep if still
missing (RULES, "attendance marks"). Real placement workflows on the
time-skipping server, letters to a real local SMTP server, and the link
answered over HTTP through the application."""
from __future__ import annotations

from datetime import time, timedelta
from urllib.parse import urlparse

import httpx
import pytest_asyncio

from activities.attendance import chase_key
from activities.documents import DocumentActivities
from apflow import samples
from apflow.settings import Settings
from domain.models import Person, Role
from store import attendance
from store import documents as sent
from tests.letters.conftest import BASE_URL, SECRET, inbox, mail_settings, smtp  # noqa: F401 (fixtures)
from worker import build_worker

from .conftest import attendance_escalations, calendars_of, env_today, live_placement, record, sleep_until, sweep

SUBJECT = "Attendance mark missing"
NO_EMAIL = samples.provider(email=None, named_contact=Person(name="Priya Shah", role="Centre manager"))


@pytest_asyncio.fixture
async def provider_app(engine, time_env, tmp_path, monkeypatch, request):
    """The application, signing links with the worker's secret; 'today' is the test server's."""
    from console import attendance as console_attendance
    from console.api import create_app

    settings = Settings(var_dir=tmp_path / "app", link_secret=SECRET, **calendars_of(request))
    app = create_app(settings, client=time_env.client, engine=engine)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as http:
            async def today_is(day):
                monkeypatch.setattr(console_attendance, "today", lambda: day)
            yield http, today_is


async def test_a_missing_mark_is_chased_once_then_escalated_at_the_next_check(
    time_env, engine, codes_synced, task_queue, calendars, smtp, provider_app,  # noqa: F811
):
    env = time_env
    inbox, port = smtp
    http, today_is = provider_app
    term = calendars(await env_today(env))
    tue = term.first + timedelta(days=1)
    documents = DocumentActivities(engine, mail_settings(port), [SECRET], BASE_URL)
    async with build_worker(env.client, task_queue, engine, documents=documents):
        missing = await live_placement(env, task_queue, term.first, pattern=samples.FULL_TIME)
        marked = await live_placement(env, task_queue, term.first, pattern=samples.FULL_TIME)
        no_email = await live_placement(env, task_queue, term.first, pattern=samples.FULL_TIME, provider=NO_EMAIL)
        await sleep_until(env, tue, time(9, 0))
        record(engine, [(marked, tue, "am", "B"), (marked, tue, "pm", "B"), (missing, tue, "pm", "B"), (no_email, tue, "pm", "B")], today=tue)

        # The am check: one chase, to the provider, with its attendance link.
        await sleep_until(env, tue, time(10, 30))
        am = await sweep(env, task_queue, ["am"])
        assert (am.missing, am.chased, am.not_chased, am.signalled) == (2, 1, 1, 1)
        [mail] = inbox.of(SUBJECT)
        assert mail.to == ["office@bridgeway.example"] and mail.role == "provider"
        assert missing in mail.subject and "Alex Example" not in mail.subject and "Alex Example" in mail.pdf_text
        assert "morning session" in mail.pdf_text and "Sam Okafor" in mail.pdf_text
        assert mail.link is not None
        # The link opens the form with the session filled in (nothing about the pupil in the address).
        assert f'<a href="{mail.link}?day={tue}&amp;session=am">' in mail.html
        [doc] = [d for d in sent.for_placement(engine, missing) if d.kind == "provider_attendance_chase"]
        assert (doc.idempotency_key, doc.status, doc.recipient_role) == (chase_key(missing, tue, "am"), "sent", "provider")
        assert doc.idempotency_key == f"{missing}:attendance:{tue}:am:provider_attendance_chase:provider"
        [chase] = attendance.chases_for(engine, missing)
        assert (chase.day, chase.session, chase.check_day, chase.check, chase.document_id, chase.settled_at) == (
            tue, "am", tue, "am", doc.document_id, None)
        # Its link is an attendance link, recorded like any other.
        [link] = [x for x in sent.links_for(engine, missing) if x.purpose == "attendance"]
        assert link.link_id == doc.link_id

        # A provider with no email address cannot be chased: the AP lead hears at once, told why.
        [esc] = await attendance_escalations(env, no_email, 1)
        assert (esc.escalation_id, esc.owner) == (f"attendance_missing:{tue}:am", Role.ap_lead)
        assert "the provider has no email address" in esc.message
        assert attendance.chases_for(engine, no_email) == []
        # No chase for a marked session, and nothing for the chased one yet.
        assert attendance.chases_for(engine, marked) == []
        assert await attendance_escalations(env, missing) == []

        # The same check run again changes nothing.
        again = await sweep(env, task_queue, ["am"])
        assert (again.missing, again.chased, again.signalled) == (0, 0, 0)
        assert len(inbox.of(SUBJECT)) == 1

        # The pm check: still missing, so the AP lead is told, saying the provider was chased.
        await sleep_until(env, tue, time(14, 30))
        pm = await sweep(env, task_queue, ["am", "pm"])
        assert (pm.missing, pm.chased, pm.not_chased, pm.signalled) == (1, 0, 0, 1)
        [esc] = await attendance_escalations(env, missing, 1)
        assert (esc.escalation_id, esc.owner, esc.due) == (f"attendance_missing:{tue}:am", Role.ap_lead, tue)
        assert f"asked for it by email at the morning check on {tue}" in esc.message
        assert attendance.chases_for(engine, missing)[0].settled_at is not None
        again = await sweep(env, task_queue, ["am", "pm"])
        assert (again.missing, again.chased, again.signalled) == (0, 0, 0)
        assert len(inbox.of(SUBJECT)) == 1
        assert len(await attendance_escalations(env, missing)) == 1

        # The chase's link works: the provider's mark goes into the register as its own.
        await today_is(tue)
        answered = await http.post(urlparse(mail.link).path, json={"day": tue.isoformat(), "session": "am", "code": "B"})
        assert answered.status_code == 200, answered.text
        [mark] = [m for m in attendance.marks_for(engine, missing) if m.session == "am"]
        assert (mark.code, mark.source, mark.recorded_role, mark.recorded_by) == ("B", "provider", "provider", link.link_id)


async def test_an_afternoon_chase_escalates_at_the_next_school_days_morning_check(
    time_env, engine, codes_synced, task_queue, calendars, smtp,  # noqa: F811
):
    env = time_env
    inbox, port = smtp
    term = calendars(await env_today(env))
    tue, wed = term.first + timedelta(days=1), term.first + timedelta(days=2)
    documents = DocumentActivities(engine, mail_settings(port), [SECRET], BASE_URL)
    async with build_worker(env.client, task_queue, engine, documents=documents):
        silent = await live_placement(env, task_queue, term.first, pattern=samples.FULL_TIME)
        late = await live_placement(env, task_queue, term.first, pattern=samples.FULL_TIME)
        await sleep_until(env, tue, time(9, 0))
        record(engine, [(silent, tue, "am", "B"), (late, tue, "am", "B")], today=tue)
        await sleep_until(env, tue, time(14, 30))
        pm = await sweep(env, task_queue, ["am", "pm"])
        assert (pm.missing, pm.chased, pm.signalled) == (2, 2, 0)
        assert len(inbox.of(SUBJECT)) == 2 and all("afternoon session" in m.pdf_text for m in inbox.of(SUBJECT))

        # One provider answers in the evening; the other does not.
        await sleep_until(env, tue, time(18, 0))
        record(engine, [(late, tue, "pm", "B")], today=tue)
        await sleep_until(env, wed, time(9, 0))
        record(engine, [(silent, wed, "am", "B"), (late, wed, "am", "B")], today=wed)

        await sleep_until(env, wed, time(10, 30))
        am = await sweep(env, task_queue, ["am"])
        assert (am.missing, am.chased, am.signalled) == (1, 0, 1)
        [esc] = await attendance_escalations(env, silent, 1)
        assert (esc.escalation_id, esc.owner, esc.due) == (f"attendance_missing:{tue}:pm", Role.ap_lead, tue)
        assert f"at the afternoon check on {tue}" in esc.message
        assert await attendance_escalations(env, late) == []
        assert all(c.settled_at is not None for c in attendance.chases_for(engine, late))

        again = await sweep(env, task_queue, ["am"])
        assert (again.missing, again.chased, again.signalled) == (0, 0, 0)
        assert len(inbox.of(SUBJECT)) == 2
