"""The records in a real browser (Debian's Chromium driven by Playwright)
against the real stack: a progress visit recorded through its form (refused
first for want of comments on a "no"), then seen on the placement page with
the half-termly visit deadline met; a wellbeing contact recorded from Today."""
from __future__ import annotations

from datetime import timedelta

import pytest

from apflow.calendars import load_calendar
from apflow.samples import visit
from domain.actions import ACTION_MODELS
from domain.models import RISK_ASSESSMENT_QUESTIONS, VISIT_QUESTIONS
from tests.api import test_api as api
from tests.console.conftest import LEAD, SCHOOL, signed_in
from tests.console.helpers import today
from tests.console.test_browser import errors, fill, submit

from .placements import half_term_start, running_since

VISIT_DUE = "Visit the pupil and the provider this half-term"


async def deadlines_text(page) -> str:
    table = page.get_by_role("region", name="Deadlines", exact=True)
    return await table.inner_text() if await table.count() else ""


async def test_a_visit_recorded_in_the_console_meets_the_half_termly_visit(browser, console, http):
    cal = load_calendar(SCHOOL, console.settings.calendars_dir)
    term = cal.current_or_next_half_term(today())
    if term is None or term.start > today():
        pytest.skip("the school is on holiday: no half-term's visit is due until the next one starts")
    pid = await running_since(http, cal, half_term_start(cal), "Visit Browser")
    lead = await signed_in(browser, console, LEAD, scripts=False)
    await lead.goto(f"/placements/{pid}")
    assert VISIT_DUE in await deadlines_text(lead)
    assert "Visit due" in await lead.locator("#visit-this-half-term").inner_text()

    # A "no" with no comments: refused, the reason beside the comments, nothing recorded.
    await lead.locator(f'a[href="/placements/{pid}/actions/record_visit"]').click()
    # One progress entry for each of the placement's two objectives, named by it.
    assert await lead.locator('label[for="visit-objectives_progress-0"]').inner_text() == "Objective 1: Attend every directed session"
    assert await lead.locator('[name="visit.objectives_progress.2"]').count() == 0
    refused = visit(today(), no=("fire_evacuation_information",))
    await fill(lead, ACTION_MODELS["record_visit"], refused)
    await submit(lead, f"/placements/{pid}/actions/record_visit")
    beside = await lead.locator("#visit-general_comments-error").inner_text()
    assert "general comments are needed when an answer is no" in beside.lower()
    assert "fire evacuation information" in beside
    assert "appendix: progress visit record" in beside
    assert (await api.get(http, pid))["placement"]["contacts"] == []

    await lead.fill("#visit-general_comments", "No fire drill information at reception; raised with the centre manager")
    await submit(lead, f"/placements/{pid}")
    assert "?done=record_visit" in lead.url, await errors(lead)

    # On the placement page: the record, whole, and the deadline met.
    card = lead.locator(".apflow-visit").first
    text = await card.inner_text()
    assert f"Visit on {today():%-d %B %Y} at 10:30" in text
    assert "Sam Okafor, Assistant head, AP lead" in text
    # What was answered no leads; every check's answer is folded beneath.
    answers = len(VISIT_QUESTIONS) + len(RISK_ASSESSMENT_QUESTIONS)
    assert f"Checks\t1 of {answers} answered No:\nOn arrival, were you provided with any fire evacuation information?" in text
    assert "On arrival, was your identity checked?" not in text
    await card.get_by_text("Every check's answer").click()
    text = await card.inner_text()
    assert "On arrival, were you provided with any fire evacuation information?\tNo" in text
    assert "On arrival, was your identity checked?\tYes" in text
    assert "No fire drill information at reception" in text
    assert "Objective 1: Attend every directed session\tAttended 9 of 10 sessions since the start" in text
    assert "Key worker to share the weekly timetable with home" in text
    assert "Visit made" in await lead.locator("#visit-this-half-term").inner_text()
    assert VISIT_DUE not in await deadlines_text(lead)
    snap = await api.get(http, pid)
    assert not [d for d in snap["deadlines"] if d["kind"] == "visit"]
    (stored,) = snap["placement"]["contacts"]
    assert stored["kind"] == "visit" and stored["visit"]["checks"]["fire_evacuation_information"] is False


async def test_a_wellbeing_contact_recorded_from_today(browser, console, http):
    cal = load_calendar(SCHOOL, console.settings.calendars_dir)
    start = half_term_start(cal)
    pid = await running_since(http, cal, start, "Wellbeing Browser")
    before = [d for d in (await api.get(http, pid))["deadlines"] if d["kind"] == "wellbeing"]
    lead = await signed_in(browser, console, LEAD, scripts=False)
    await lead.goto("/")
    form = lead.locator(f"#quick-{pid}")
    await form.locator("summary").click()
    # The date is today's already, and the kind a wellbeing contact.
    assert await form.locator('[name="contact.on.day"]').input_value() == str(today().day)
    assert await form.locator('[name="contact.kind"][value="wellbeing"]').is_checked()

    await form.locator('[name="contact.notes"]').fill("")
    async with lead.expect_navigation():
        await form.get_by_role("button", name="Record the contact").click()
    assert "A note is needed" in await lead.locator(f"#quick-{pid}").inner_text()

    form = lead.locator(f"#quick-{pid}")
    await form.locator('[name="contact.notes"]').fill("Phoned the pupil: settled, worried about the bus")
    async with lead.expect_navigation():
        await form.get_by_role("button", name="Record the contact").click()
    assert lead.url.split("#")[0].endswith(f"/?contact={pid}&kind=wellbeing"), lead.url
    banner = await lead.locator(".govuk-notification-banner--success").inner_text()
    assert "Weekly wellbeing contact recorded for Wellbeing Browser" in banner

    snap = await api.get(http, pid)
    (contact,) = snap["placement"]["contacts"]
    assert (contact["kind"], contact["on"]) == ("wellbeing", today().isoformat())
    (after,) = [d for d in snap["deadlines"] if d["kind"] == "wellbeing"]
    due = today() + timedelta(days=console.settings.policy.wellbeing_contact_days)
    assert after["due"] == (cal.nth_school_day(due, 1) if cal.covers(due) else due).isoformat()
    assert before and before[0]["due"] <= after["due"]
    await lead.goto(f"/placements/{pid}")
    assert "Phoned the pupil: settled" in await lead.get_by_role("region", name="Latest contacts", exact=True).inner_text()
