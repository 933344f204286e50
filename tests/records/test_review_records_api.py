"""The review record, the reintegration plan and the parents' written views
before a review (§6.8), over the JSON API and the public link, on the real
stack: the Temporal dev server, a worker, a SQLite register, the letters in
the outbox. Refusals say what is wrong and change nothing."""
from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes, policy

from sqlalchemy import select
from sqlalchemy.orm import Session

from apflow import samples
from apflow.calendars import load_calendar
from documents.delivery import safe_name
from domain.models import ReintegrationPlan, Responsibility, ReviewOutcome
from store.documents import DocumentRow, ProviderLinkRow
from store.views import ReviewViewsRow
from tests.api import test_api as api
from tests.console.conftest import LEAD, SCHOOL
from tests.console.helpers import today, until

from .placements import half_term_start, running_since

VIEWS_LINK = re.compile(r"/views/([A-Za-z0-9_.-]+)")


def views_rows(engine, pid: str) -> list[ReviewViewsRow]:
    with Session(engine) as s:
        return list(s.scalars(select(ReviewViewsRow).where(ReviewViewsRow.placement_id == pid)))


def invitation_to_parent(engine, pid: str) -> DocumentRow | None:
    with Session(engine) as s:
        return s.scalars(select(DocumentRow).where(DocumentRow.placement_id == pid, DocumentRow.kind == "review_invitation",
                                                   DocumentRow.recipient_role == "parent", DocumentRow.status == "sent")).first()


async def booked(http, console, name: str) -> tuple[str, object]:
    """A running off-site direction with a review booked a fortnight ahead: the invitation goes by email now."""
    cal = load_calendar(SCHOOL, console.settings.calendars_dir)
    pid = await running_since(http, cal, half_term_start(cal), name)
    meeting = cal.nth_school_day(today() + timedelta(days=14), 1)
    await api.act(http, pid, "open_review", {"meeting_on": meeting.isoformat(), "starts_at": "15:30", "place": "The school's meeting room"})
    return pid, meeting


def page_as_lead(http, pid: str):
    return http.get(f"/placements/{pid}", headers=LEAD.headers)


async def test_the_review_record_keeps_every_view_and_the_support_and_refuses_a_next_review_before_it(console, http):
    pid, _ = await booked(http, console, "Review Record")
    before = await api.get(http, pid)
    # The next review before this one: refused, naming the clause, and nothing recorded.
    bad = samples.review(today(), next_review_on=today().isoformat())
    refused = await api.act(http, pid, "record_review", {"review": bad.model_dump(mode="json")}, status=409)
    assert {"clause": "§9.6", "message": f"the next review, on {today()}, must be after this one, held on {today()}"} in refused["detail"]["unmet"]
    # Too long a view is refused at the edge (422), again with nothing recorded.
    long = {**bad.model_dump(mode="json"), "next_review_on": None, "pupil_view": "x" * 4001}
    await api.act(http, pid, "record_review", {"review": long}, status=422)
    after = await api.get(http, pid)
    assert after["placement"]["reviews"] == [] and after["placement"]["history"] == before["placement"]["history"]

    review = samples.review(
        today(), pupil_view="Wants to stay until the course ends", provider_view="Engaged in practical work",
        school_view="Attendance improving; behaviour at school to watch", school_support="Weekly mentor call",
        provider_support="Key worker check-in each morning", next_review_on=(today() + timedelta(days=35)).isoformat(),
    )
    snap = await api.act(http, pid, "record_review", {"review": review.model_dump(mode="json")})
    assert snap["placement"]["state"] == "active"
    (kept,) = snap["placement"]["reviews"]
    assert kept == review.model_dump(mode="json")
    page = await page_as_lead(http, pid)
    assert page.status_code == 200
    for text in ("Wants to stay until the course ends", "Key worker check-in each morning", "Weekly mentor call"):
        assert text in page.text


async def test_the_reintegration_plan_with_who_does_what(console, http):
    pid, _ = await booked(http, console, "Reintegration Plan")
    plan = ReintegrationPlan(
        summary="Phased return over two weeks", school_support="Mentor twice weekly; a quiet space at lunch",
        provider_support="Outreach visit in the first week back", planned_return=today() + timedelta(days=21),
        who_does_what=[Responsibility(who="Head of year 9", what="Meet the pupil and parent before the return", by=today() + timedelta(days=14)),
                       Responsibility(who="Provider key worker", what="Send a handover report")],
    )
    review = samples.review(today(), ReviewOutcome.reintegrate, school_support="Mentor twice weekly",
                            provider_support="Handover report", next_review_on=(today() + timedelta(days=28)).isoformat())
    # A responsibility with nobody named is refused at the edge, and nothing changes.
    nobody = plan.model_dump(mode="json")
    nobody["who_does_what"][0]["who"] = ""
    await api.act(http, pid, "reintegrate", {"review": review.model_dump(mode="json"), "plan": nobody}, status=422)
    assert (await api.get(http, pid))["placement"]["state"] == "under_review"

    snap = await api.act(http, pid, "reintegrate", {"review": review.model_dump(mode="json"), "plan": plan.model_dump(mode="json")})
    assert snap["placement"]["state"] == "reintegrating"
    assert snap["placement"]["reintegration_plan"] == plan.model_dump(mode="json")
    page = await page_as_lead(http, pid)
    assert "Meet the pupil and parent before the return" in page.text and "Provider key worker" in page.text


async def test_a_parents_views_link_answers_once_before_the_meeting(console, http):
    pid, meeting = await booked(http, console, "Views Link")
    await until(lambda: invitation_to_parent(console.engine, pid) is not None)
    row = invitation_to_parent(console.engine, pid)
    eml = console.settings.var_dir / "outbox" / f"{safe_name(row.idempotency_key)}.eml"
    body = message_from_bytes(eml.read_bytes(), policy=policy.default).get_body(("html",)).get_content()
    (token,) = set(VIEWS_LINK.findall(body))
    # The kept copy names the link, never its token.
    assert token not in row.html and row.link_id in row.html
    with Session(console.engine) as s:
        link = s.get(ProviderLinkRow, row.link_id)
    assert link.purpose == "review_views" and link.placement_id == pid

    # The page: the school and the meeting, nothing of the pupil.
    page = await http.get(f"/views/{token}")
    assert page.status_code == 200 and "Your views before the review meeting" in page.text
    assert "Views Link" not in page.text and "Bridgeway" not in page.text
    assert f"{meeting:%-d %B %Y}" in page.text
    # Staff cannot issue one by hand: it belongs to its meeting's invitation.
    by_hand = await http.post(f"/api/placements/{pid}/links", headers=LEAD.headers, json={"purpose": "review_views"})
    assert by_hand.status_code == 422 and "§6.8" in by_hand.text
    # Another purpose's page, a tampered token: refused, never a 500.
    assert (await http.get(f"/provider/{token}")).status_code == 403
    assert (await http.post(f"/views/{token[:-2]}xx", json={"views": "x"})).status_code == 403
    # Too long, or empty: 422, nothing kept, the link still open.
    assert (await http.post(f"/views/{token}", json={"views": "x" * 4001})).status_code == 422
    assert (await http.post(f"/views/{token}", data={"views": "  "})).status_code == 422
    assert views_rows(console.engine, pid) == []

    views = "We would like the placement to continue: our son is happier and attending."
    answered = await http.post(f"/views/{token}", json={"views": views})
    assert answered.status_code == 200, answered.text
    assert answered.json() == {"received": "review_views", "placement_id": pid}
    # A second answer: 410, and nothing recorded twice.
    again = await http.post(f"/views/{token}", data={"views": "A second thought"})
    assert again.status_code == 410 and "sent already" in again.text
    assert (await http.get(f"/views/{token}")).status_code == 410
    (kept,) = views_rows(console.engine, pid)
    assert (kept.views, kept.meeting_on, kept.link_id) == (views, meeting, row.link_id)

    # On the placement's page before the meeting, and beside the review recorded after.
    page = await page_as_lead(http, pid)
    assert views in page.text and f"For the review meeting on {meeting:%-d %B %Y}" in page.text
    # The review's form opens with them as the start of the parents' view.
    form = await http.get(f"/placements/{pid}/actions/record_review", headers=LEAD.headers)
    assert f"Written views sent before the meeting: {views}" in form.text.replace("&#39;", "'")
    await api.act(http, pid, "record_review", {"review": samples.review(today()).model_dump(mode="json")})
    page = await page_as_lead(http, pid)
    card = page.text[page.text.index("Review held on"):]
    assert "Parents' written views, sent" in card and views in card


async def test_a_views_link_of_a_placement_ended_before_its_meeting_says_no_meeting_will_follow(console, http):
    pid, _ = await booked(http, console, "Views Ended")
    await until(lambda: invitation_to_parent(console.engine, pid) is not None)
    row = invitation_to_parent(console.engine, pid)
    eml = console.settings.var_dir / "outbox" / f"{safe_name(row.idempotency_key)}.eml"
    (token,) = set(VIEWS_LINK.findall(message_from_bytes(eml.read_bytes(), policy=policy.default).get_body(("html",)).get_content()))
    assert (await http.get(f"/views/{token}")).status_code == 200

    await api.act(http, pid, "terminate", samples.terminate(today()), who=api.HEAD)
    await api.wait_for_state(http, pid, "terminated")
    page = await http.get(f"/views/{token}")
    assert page.status_code == 410 and "the review meeting will not take place" in page.text
    assert "send your views in writing to the school" in page.text
    sent = await http.post(f"/views/{token}", json={"views": "We would like it to continue."})
    assert (sent.status_code, sent.json()["detail"]["error"]) == (410, "ended")
    assert views_rows(console.engine, pid) == []
