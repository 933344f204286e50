"""The console in a real browser (Debian's Chromium, headless, driven by
Playwright) against the real stack: a placement taken from its proposal to
closed through the pages alone, with scripts off to show every form works
without them; a refused step's message beside its field; another school's
person finding nothing."""
from __future__ import annotations

import asyncio

from apflow import samples
from apflow.calendars import load_calendar
from console.pages import forms
from console.pages.rendering import long_date
from domain.actions import ACTION_MODELS
from domain.models import Proposal

from .conftest import HEAD, LEAD, OTHER_LEAD, SCHOOL, signed_in
from .helpers import pupil, school_day_on_or_before, today

START_WAIT_S = 20
COPY = b"%PDF-1.4\n% the copy staff scanned of the letter they handed over\n%%EOF\n"


async def fill(page, model, instance) -> None:
    """Fills a form's inputs, found by name, with what a person would type or tick for `instance`."""
    values = forms.flatten(model, instance.model_dump(mode="json", exclude_unset=True))
    for name, given in values.items():
        inputs = page.locator(f'[name="{name}"]')
        kind = await inputs.first.get_attribute("type")
        if kind in ("radio", "checkbox"):
            for v in given:
                await page.locator(f'[name="{name}"][value="{v}"]').check()
        elif await inputs.first.evaluate("e => e.tagName") == "SELECT":
            await inputs.select_option(given[0])
        else:
            await inputs.fill(given[0])


async def submit(page, expect_url: str | None = None):
    async with page.expect_navigation():
        await page.locator("#submit").click()
    if expect_url:
        assert page.url.split("?")[0].endswith(expect_url), (page.url, await errors(page))


async def errors(page) -> str:
    summary = page.locator(".govuk-error-summary")
    return await summary.inner_text() if await summary.count() else ""


async def state_of(page) -> str:
    return (await page.locator('[aria-current="step"] .apflow-lifecycle__name').inner_text()).strip()


async def step(page, pid: str, action: str, instance) -> None:
    """Opens the step from its button or link on the placement page, fills its form and sends it."""
    await page.goto(f"/placements/{pid}")
    await page.locator(f'a[href="/placements/{pid}/actions/{action}"]').first.click()
    await fill(page, ACTION_MODELS[action], instance)
    await submit(page, f"/placements/{pid}")
    assert await page.locator(".govuk-notification-banner--success").count() == 1, await page.content()


async def upload_copy(page, pid: str, action: str) -> str:
    """Keeps a copy the school handed over, from the step's own form; the id it fills in."""
    await page.goto(f"/placements/{pid}/actions/{action}")
    await page.locator(".govuk-details__summary").click()
    await page.set_input_files("#copy", files=[{"name": "copy.pdf", "mimeType": "application/pdf", "buffer": COPY}])
    async with page.expect_navigation():
        await page.get_by_role("button", name="Upload the copy").click()
    return await page.input_value("#given_outside-copy_document_id")


async def evaluation_part(page, pid: str, part) -> None:
    """Enters one part of an evaluation through its form, opened from the placement's page."""
    stage, name = part.stage.value, part.part.value
    await page.goto(f"/placements/{pid}")
    await page.locator(f'#evaluation-{stage} a[href="/placements/{pid}/evaluations/{stage}/{name}"]').click()
    for i, score in enumerate(part.scores):
        await page.locator(f'[name="scores.{i}"][value="{score}"]').check()
    for field in ("comment", "signed_by", "agreed_actions"):
        if getattr(part, field):
            await page.fill(f'[name="{field}"]', getattr(part, field))
    for unit in ("day", "month", "year"):
        await page.fill(f'[name="signed_on.{unit}"]', str(getattr(part.signed_on, unit)))
    await submit(page, f"/placements/{pid}")


async def test_a_placement_from_proposal_to_closed_through_the_pages(browser, console):
    cal = load_calendar(SCHOOL, console.settings.calendars_dir)
    d = today()
    start = school_day_on_or_before(cal, d)
    notice_on = cal.add_school_days(start, -3)  # handed over: two clear school days before the start
    meeting, invited = samples.review_bookable(cal, d)
    robin = pupil("Robin Browser")
    lead = await signed_in(browser, console, LEAD, scripts=False)
    head = await signed_in(browser, console, HEAD, scripts=False)

    await lead.goto("/")
    await lead.get_by_role("link", name="Propose a placement").click()
    await fill(lead, Proposal, samples.proposal(start, pupil=robin))
    await submit(lead)
    assert "?done=propose" in lead.url, (await errors(lead)) or (await lead.content())[:3000]
    pid = lead.url.split("/placements/")[1].split("?")[0]
    assert await state_of(lead) == "Proposed"
    assert "Robin Browser" in await lead.locator("h1").inner_text()

    # Refused: the insurance is short of the minimum; the message stands beside the field.
    await lead.locator(f'a[href="/placements/{pid}/actions/vet"]').click()
    short = samples.vet(safeguarding_confirmation_received_on=notice_on)
    short.insurance = short.insurance.model_copy(update={"public_liability": 1_000_000})
    await fill(lead, ACTION_MODELS["vet"], short)
    await submit(lead, f"/placements/{pid}/actions/vet")
    beside = await lead.locator("#insurance-public_liability-error").inner_text()
    assert "public liability cover is £1,000,000; at least £5,000,000 is required (appendix: insurance)" in beside.lower()
    summary = lead.locator(".govuk-error-summary a[href='#insurance-public_liability']")
    assert await summary.count() == 1
    await lead.fill("#insurance-public_liability", "5,000,000")
    await submit(lead, f"/placements/{pid}")
    assert await state_of(lead) == "Vetted"

    await step(lead, pid, "consult_la", samples.consult_la(notice_on))
    assert await state_of(lead) == "LA consulted"

    copy = await upload_copy(head, pid, "notify")
    assert copy.startswith("doc-")
    await fill(head, ACTION_MODELS["notify"], samples.notify(notice_on, copy))
    await submit(head, f"/placements/{pid}")
    # The start date has come: the workflow starts the placement by itself, at once or soon after.
    assert await state_of(head) in ("Notified", "Active")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_WAIT_S
    while await state_of(head) != "Active":
        assert loop.time() < deadline, "the placement did not start by itself"
        await asyncio.sleep(0.3)
        await head.reload()

    invitation = await upload_copy(lead, pid, "open_review")
    await step(lead, pid, "open_review", samples.open_review(meeting, invited, invitation))
    assert await state_of(lead) == "Under review"
    await step(lead, pid, "record_review", samples.record_review(d))
    assert await state_of(lead) == "Active"
    await step(head, pid, "open_review", samples.open_review(meeting, invited, invitation))
    await step(lead, pid, "reintegrate", samples.reintegrate(d))
    assert await state_of(lead) == "Reintegrating"
    # The end evaluation's four parts, each through its form (what `close` reads).
    for part in samples.end_evaluation(d):
        await evaluation_part(lead, pid, part)
    await step(head, pid, "close", samples.close(d))
    assert await state_of(head) == "Closed"
    # The day it ended, with what was planned beside it.
    dates = await head.locator("#dates").inner_text()
    assert f"to {long_date(d)}, when it was closed" in dates and "Planned to run" in dates, dates
    # Its agreement is kept as it was: no form offered that would be refused.
    assert await head.locator("#fill-agreement").count() == 0 and await head.locator("#print-agreement").count() == 1

    timeline = await head.locator(".apflow-timeline").inner_text()
    for done in ("Propose a placement", "Vet the provider", "Consult the LA", "Give notice", "Start the placement",
                 "Book a review", "Record the review", "Reintegrate", "Record a part of an evaluation", "Close the placement"):
        assert done in timeline
    # Who acted, by the names of their accounts, not their ids.
    assert "Aplead 137000 (AP lead)" in timeline and "Head 137000 (Headteacher)" in timeline
    assert "Recorded by Aplead 137000 (AP lead)." in await head.locator("body").inner_text()
    letters = head.locator("table").filter(has_text="As sent")
    assert await letters.locator("a", has_text="PDF").count() >= 3
    html_link = letters.locator("tr", has_text="Alternative provision commissioned").locator("a", has_text="HTML")
    async with head.expect_navigation():
        await html_link.click()
    assert "Robin Browser" in await head.content()


async def test_another_schools_person_finds_nothing(browser, console):
    lead = await signed_in(browser, console, LEAD)
    await lead.goto("/placements/new")
    start = load_calendar(SCHOOL, console.settings.calendars_dir).add_school_days(today(), 15)
    someone = pupil()
    await fill(lead, Proposal, samples.proposal(start, pupil=someone))
    await submit(lead)
    path = lead.url.split("?")[0].removeprefix(console.url)

    other = await signed_in(browser, console, OTHER_LEAD)
    answer = await other.goto(path)
    assert answer.status == 404
    assert await other.locator("h1").inner_text() == "Page not found"
    assert someone.name not in await other.content()
