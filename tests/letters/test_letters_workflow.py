"""Every kind of document, sent by the running workflow to a real SMTP
server, read back (the PDF parsed to text) and found in the register."""
from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from apflow import samples
from documents.delivery import message_id
from domain.calendar import default_calendar
from domain.deadlines import planned_end
from domain.escalations import AttendanceAlert
from domain.lifecycle import Refused
from domain.models import Contact
from store import documents as sent
from tests.workflows.test_placement_workflow import HEAD, LEAD, history_length, next_school_day, school_day_after, today
from worker import build_worker
from workflows.client import act, snapshot, start_placement
from workflows.placement import PlacementWorkflow

from .conftest import BASE_URL, DIRECTORY, FROM, Inbox

PARENT_2 = Contact(name="Robin Example", relationship="Stepparent", phone="07700 900003", email="robin@family.example")
SUBJECTS = {
    "la_ehcp_consultation": "EHC plan: proposed alternative provision",
    "la_placement_notice": "Alternative provision commissioned",
    "offsite_direction_notice": "Notice of direction to off-site education",
    "provider_initial_assessment_request": "Initial assessment due by",
    "review_invitation": "Invitation to a review meeting",
    "provider_progress_report_request": "Progress report due by",
    "provider_final_report_request": "Final report due by",
    "destination_record": "Record of destination",
    "staff_escalation": "Action needed",
}


async def arrived(inbox: Inbox, count: int, timeout: float = 10) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(inbox.mails) < count:
        assert loop.time() < deadline, f"{len(inbox.mails)} of {count} mails: {[m.subject for m in inbox.mails]}"
        await asyncio.sleep(0.05)


async def one(inbox: Inbox, kind: str, to: str, timeout: float = 10):
    """The one mail of a kind to an address: letters follow their step, so it may still be on its way."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (mails := [m for m in inbox.of(SUBJECTS[kind]) if to in m.to]) and loop.time() < deadline:
        await asyncio.sleep(0.05)
    assert len(mails) == 1, (kind, to, [(m.subject, m.to) for m in inbox.mails])
    return mails[0]


async def started(env, task_queue, start: date, **changes):
    handle, _ = await start_placement(
        env.client, task_queue, samples.proposal(start, **changes), LEAD, default_calendar("137000", start),
        now=await env.get_current_time(), directory=DIRECTORY,
    )
    return handle


async def test_each_step_sends_its_documents_once_with_their_content(time_env, engine, task_queue, inbox, documents):
    env = time_env
    start = await next_school_day(env, 21)
    ehcp_pupil = samples.proposal(start).pupil.model_copy(update={"ehc_plan": True})
    parents = [*samples.proposal(start).parent_contacts, PARENT_2]
    async with build_worker(env.client, task_queue, engine, documents):
        handle = await started(env, task_queue, start, pupil=ehcp_pupil, parent_contacts=parents)
        pid = handle.id
        d = await today(env)
        # Proposed for 30 days: each letter names the last of them on the school's calendar.
        last = planned_end((await snapshot(env.client, pid)).placement, default_calendar("137000", start))

        # Vetting an EHC plan pupil's provider consults the LA's SEND team (§3.1).
        await act(env.client, pid, LEAD, samples.vet())
        consultation = await one(inbox, "la_ehcp_consultation", "send-team@kirklees.example")
        assert consultation.role == "la" and consultation.msg["From"] == FROM
        text = consultation.pdf_text
        for item in ("Alex Example", "Bridgeway Learning Centre", "Persistent disruption in lessons",
                     "Attend every directed session", "Sam Okafor", "Kirklees Council"):
            assert item in text, item

        # The LA is told the placement is commissioned (§8.1).
        await act(env.client, pid, LEAD, samples.consult_la(d, ehcp=True))
        la_notice = await one(inbox, "la_placement_notice", "ap-placements@kirklees.example")
        text = la_notice.pdf_text
        for item in ("Kirklees Council", "Alex Example", "14 March 2012", "14 Mill Lane", "HD1 4AB", "Part time",
                     f"Planned end date {last:%-d %B %Y}"):
            assert item.lower() in text.lower(), item

        # The notice goes to each parent and, for an EHC plan, to the LA, with
        # every item of §6.6; the provider is asked for its initial assessment.
        await act(env.client, pid, HEAD, samples.notify())
        notices = [await one(inbox, "offsite_direction_notice", to) for to in
                   ("parent@family.example", "robin@family.example", "ap-placements@kirklees.example")]
        assert [m.role for m in notices] == ["parent", "parent", "la"]
        assert len({m.message_id for m in notices}) == 3
        text = notices[0].pdf_text
        for item in (
            "14 Mill Lane", "HD1 4AB",  # §6.6.1 the address
            "Priya Shah",  # §6.6.2 who to report to
            "30 days", f"ending on {last:%A %-d %B %Y}",  # §6.6.3 how many days
            "Persistent disruption in lessons", "Manage conflict without removal from lessons",  # §6.6.4
            "Monday and Wednesday", "9am", "3pm",  # §6.6.5 attendance times
            "Helen Carter", "Headteacher",  # signed by the headteacher (§6.4-6.5)
            "Chris Example and Robin Example", "Copy to: Kirklees Council",
            "Valley Road Huddersfield HD2 1AA",  # the school's letterhead, from the directory
        ):
            assert item in text, item
        request = await one(inbox, "provider_initial_assessment_request", "office@bridgeway.example")
        assert request.role == "provider"
        # The link is in the email; the PDF, kept as sent, names the link by its id.
        (kept,) = [r for r in sent.for_placement(engine, pid) if r.kind == "provider_initial_assessment_request"]
        assert request.link and request.link not in request.pdf_text.replace(" ", "")
        assert request.pdf == kept.pdf and kept.link_id in request.pdf_text and kept.link_id in request.html
        due = d + timedelta(days=7)
        assert f"{due.day} {due:%B %Y}" in request.subject

        # The start date arrives; a missing attendance mark is escalated to the AP lead.
        await env.sleep(timedelta(days=(start - await today(env)).days + 1))
        assert (await snapshot(env.client, pid)).placement.state == "active"
        mails_before = len(inbox.mails)
        await handle.signal(PlacementWorkflow.attendance_alert, AttendanceAlert(day=start, session="am", problem="unexplained_absence"))
        await arrived(inbox, mails_before + 1)
        alert = [m for m in inbox.to("dsl@nexus-valley.example") if "§9.3-9.4" in m.subject]
        assert len(alert) == 1 and alert[0].role == "dsl"
        text = alert[0].pdf_text
        assert "Unexplained absence" in text and "Designated safeguarding lead" in text
        assert "Alex" not in text and "Alex" not in alert[0].html  # escalations carry no pupil data
        assert f"/placements/{pid}</a>" in alert[0].html and "/api/" not in alert[0].html  # the console's page for it

        # Booking a review invites the parents (and the LA) in writing, with the
        # date, time, place and where to send views (§6.8); the provider is asked for a report.
        d = await today(env)
        meeting = school_day_after(d, 7)
        await act(env.client, pid, LEAD, samples.open_review(meeting))
        invitation = await one(inbox, "review_invitation", "parent@family.example")
        await one(inbox, "review_invitation", "robin@family.example")
        await one(inbox, "review_invitation", "ap-placements@kirklees.example")
        text = invitation.pdf_text
        assert f"{BASE_URL}/views/" in invitation.html and "/views/" not in text  # the link in the email alone
        for item in (f"{meeting:%A} {meeting.day} {meeting:%B %Y}", "3:30pm", "Nexus Valley Academy, meeting room 2",
                     "aplead@nexus-valley.example", "Sam Okafor"):
            assert item in text, item
        progress = await one(inbox, "provider_progress_report_request", "office@bridgeway.example")
        assert "Attend every directed session" in progress.pdf_text and progress.link

        # Reintegration asks for the final report; closing records the destination.
        await env.sleep(timedelta(days=7))
        d = await today(env)
        await act(env.client, pid, LEAD, samples.reintegrate(d))
        final = await one(inbox, "provider_final_report_request", "office@bridgeway.example")
        assert final.link and "final report" in final.pdf_text.lower()
        for part in samples.end_evaluation(d):
            await act(env.client, pid, LEAD, part)
        # Closed by a deputy head acting as headteacher: the record names who made it, not the directory's head.
        await act(env.client, pid, HEAD.model_copy(update={"name": "Morgan Deputy"}), samples.close(d))
        record = await one(inbox, "destination_record", "aplead@nexus-valley.example")
        text = record.pdf_text
        for item in ("Return to the home school", "Good progress against all objectives",
                     "It helped me calm down", "Recorded by Morgan Deputy, Headteacher"):
            assert item in text, item
        await handle.result()

    # Every document is in the register once, with the hash of the PDF that was sent.
    rows = sent.for_placement(engine, pid)
    assert len(rows) == len({r.idempotency_key for r in rows})
    assert {r.status for r in rows} == {"sent"}
    by_id = {m.message_id: m for m in inbox.mails}
    for row in rows:
        mail = by_id[message_id(row.idempotency_key, FROM)]
        assert row.recipient in mail.to and row.pdf == mail.pdf and len(row.sha256) == 64
    kinds = {r.kind for r in rows}
    assert kinds >= set(SUBJECTS)
    keys = {r.idempotency_key for r in rows}
    assert f"{pid}:4:offsite_direction_notice:parent" in keys and f"{pid}:4:offsite_direction_notice:parent.2" in keys
    links = sent.links_for(engine, pid)
    # Each parent emailed an invitation has a link of their own for written views (§6.8); the LA's copy none.
    assert sorted(x.purpose for x in links) == ["final_report", "initial_assessment", "progress_report", "review_views", "review_views"]


async def test_a_step_whose_letter_lacks_an_item_is_refused_naming_it(dev_env, engine, task_queue, documents, inbox):
    """The directory names no headteacher to sign the notice: the notice
    cannot go, so the step is refused with the item and clause, and nothing
    changes (on the dev server, where a rejected update leaves no event in
    history). A parent with no email address is no reason to refuse: theirs goes by post."""
    env = dev_env
    no_head = DIRECTORY.model_copy(update={"headteacher": None})
    parent = samples.proposal(date.today()).parent_contacts[0].model_copy(update={"email": None})
    async with build_worker(env.client, task_queue, engine, documents):
        start = await next_school_day(env, 21)
        handle, _ = await start_placement(
            env.client, task_queue, samples.proposal(start, parent_contacts=[parent]), LEAD,
            default_calendar("137000", start), directory=no_head,
        )
        await act(env.client, handle.id, LEAD, samples.vet())
        d = await today(env)
        await act(env.client, handle.id, LEAD, samples.consult_la(d))
        await arrived(inbox, 1)  # the LA's notice
        before = await history_length(handle)
        snap_before = await snapshot(env.client, handle.id)

        with pytest.raises(Refused) as refused:
            await act(env.client, handle.id, HEAD, samples.notify())
        unmet = {(u.clause, u.message) for u in refused.value.unmet}
        assert ("§6.4-6.5", "the notice of off-site direction cannot be sent without the headteacher's signature (from the trust's directory)") in unmet

        assert await history_length(handle) == before
        assert (await snapshot(env.client, handle.id)).placement == snap_before.placement
        assert len(inbox.mails) == 1
        assert [r.kind for r in sent.for_placement(engine, handle.id)] == ["la_placement_notice"]


async def test_a_review_booked_without_a_time_is_refused(time_env, engine, task_queue, documents, inbox):
    env = time_env
    start = await next_school_day(env, 21)
    async with build_worker(env.client, task_queue, engine, documents):
        handle = await started(env, task_queue, start)
        d = await today(env)
        await act(env.client, handle.id, LEAD, samples.vet())
        await act(env.client, handle.id, LEAD, samples.consult_la(d))
        await act(env.client, handle.id, HEAD, samples.notify())
        await env.sleep(timedelta(days=(start - await today(env)).days + 1))
        d = await today(env)
        booking = samples.open_review(school_day_after(d, 7)).model_copy(update={"starts_at": None})
        with pytest.raises(Refused) as refused:
            await act(env.client, handle.id, LEAD, booking)
        assert [(u.clause, u.message) for u in refused.value.unmet] == [
            ("§6.8", "the invitation to the review meeting cannot be sent without the time of the review meeting")
        ]
        snap = await snapshot(env.client, handle.id)
        assert snap.placement.state == "active" and snap.placement.review_meetings == []
        assert not inbox.of(SUBJECTS["review_invitation"])
