"""Evaluations in a real browser (Debian's Chromium, driven by Playwright)
against the real stack: a mid evaluation whose parent's part is answered
through its link, opened in a browser with no one signed in; an end
evaluation entered through the pages whose score out of 125 and difference
since the mid evaluation are checked against the scores entered; and the
placement closed with them."""
from __future__ import annotations

import httpx
import pytest_asyncio

from apflow import samples
from apflow.calendars import load_calendar
from domain.actions import ACTION_MODELS
from domain.models import EvaluationPart
from tests.api import test_api as api
from tests.console.conftest import HEAD, LEAD, SCHOOL, new_page, signed_in
from tests.console.helpers import started_today, today
from tests.console.test_browser import errors, fill, state_of, step, submit

PUPIL, PARENT, PROVIDER, SCHOOL_PART = EvaluationPart

MID = {PUPIL: [3, 3, 2, 4, 3, 3, 2], PARENT: [5, 4, 4, 3, 5], PROVIDER: [3, 4, 3, 3, 2, 3], SCHOOL_PART: [3, 3, 2, 3, 3, 4, 3]}
END = {PUPIL: [5, 4, 5, 5, 4, 4, 5], PARENT: [5, 5, 4, 5, 5], PROVIDER: [4, 5, 4, 4, 3, 4], SCHOOL_PART: [4, 4, 4, 5, 4, 5, 5]}


@pytest_asyncio.fixture
async def stack_http(console):
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as client:
        yield client


async def choose_scores(page, scores: list[int]) -> None:
    for i, score in enumerate(scores):
        await page.locator(f'[name="scores.{i}"][value="{score}"]').check()


async def enter_part(page, pid: str, stage: str, part: EvaluationPart, scores: list[int], signed_by: str) -> None:
    """Staff enter a part through its form, opened from the placement's page."""
    await page.goto(f"/placements/{pid}")
    await page.locator(f'#evaluation-{stage} a[href="/placements/{pid}/evaluations/{stage}/{part.value}"]').click()
    await choose_scores(page, scores)
    await page.fill('[name="comment"]', f"The {part.value}'s comment at the {stage} evaluation.")
    await page.fill('[name="signed_by"]', signed_by)
    d = today()
    for name, value in (("day", d.day), ("month", d.month), ("year", d.year)):
        await page.fill(f'[name="signed_on.{name}"]', str(value))
    if part is SCHOOL_PART:
        await page.fill('[name="agreed_actions"]', f"Agreed at the {stage} evaluation: keep the mentor check-ins.")
    async with page.expect_navigation():
        await page.locator("#submit").click()
    assert page.url.split("?")[0].endswith(f"/placements/{pid}"), (page.url, await errors(page))


async def figures(page, stage: str) -> tuple[str, str]:
    return ((await page.locator(f"#evaluation-{stage}-total").inner_text()).strip(),
            (await page.locator(f"#evaluation-{stage}-difference").inner_text()).strip())


async def test_mid_with_the_parents_link_then_end_evaluation_and_close(browser, console, stack_http):
    cal = load_calendar(SCHOOL, console.settings.calendars_dir)
    pid = await started_today(stack_http, cal, "Robin Evaluated")
    lead = await signed_in(browser, console, LEAD, scripts=False)

    # The AP lead makes the parent's link for the mid evaluation, shown once to copy.
    await lead.goto(f"/placements/{pid}")
    assert (await figures(lead, "mid"))[0] == "Not started"
    async with lead.expect_navigation():
        await lead.locator(f'form[action="/placements/{pid}/evaluations/mid/parent/link"] button').click()
    url = await lead.input_value("#evaluation-link-url")
    assert "/evaluation/" in url

    # The parent opens it in a browser with no one signed in, and answers.
    parent = await new_page(browser, console)
    await parent.goto(url)
    assert "Parent/carers evaluation" in await parent.locator("h1").inner_text()
    assert "I felt included as part of the referral process" in await parent.content()
    assert "Robin Evaluated" not in await parent.content()  # a link can travel: no pupil's name
    # Sent without every statement scored: refused beside the statement, nothing recorded.
    await choose_scores(parent, MID[PARENT][:3])
    await parent.fill("#signed_by", "Chris Example")
    async with parent.expect_navigation():
        await parent.get_by_role("button", name="Send to the school").click()
    assert "Choose how much you agree" in await parent.locator("#scores-3").inner_text()
    # Its message is read with the statement's group, as a screen reader meets it.
    assert await parent.locator("#scores-3").get_attribute("aria-describedby") == "scores-3-error"
    assert "Choose how much you agree" in await parent.locator("#scores-3-error").inner_text()
    await choose_scores(parent, MID[PARENT])
    async with parent.expect_navigation():
        await parent.get_by_role("button", name="Send to the school").click()
    assert "Thank you" in await parent.locator("h1").inner_text(), await parent.content()
    # The same link again: answered already.
    again = await parent.goto(url)
    assert again.status == 410

    for part, signer in ((PUPIL, "Robin Evaluated"), (PROVIDER, "Priya Shah"), (SCHOOL_PART, "Helen Carter")):
        await enter_part(lead, pid, "mid", part, MID[part], signer)
    mid_total = sum(map(sum, MID.values()))
    assert await figures(lead, "mid") == (f"{mid_total} out of 125", "None: this is the first evaluation")
    card = lead.locator("#evaluation-mid")
    assert "Answered through its link" in await card.inner_text()
    assert "Entered on their behalf by Aplead 137000 (AP lead)" in await card.inner_text()  # by name
    assert (await lead.locator("#evaluation-mid-parent-subtotal").inner_text()) == str(sum(MID[PARENT]))
    assert "Agreed at the mid evaluation" in await lead.locator("#evaluation-mid-actions").inner_text()

    # The review decides on return; the end evaluation, then the close.
    d = today()
    meeting, invited = samples.review_bookable(cal, d)
    invitation = await api.upload_copy(stack_http, pid, "invitation_copy")
    await api.act(stack_http, pid, "open_review", samples.open_review(meeting, invited, invitation))
    await api.act(stack_http, pid, "reintegrate", samples.reintegrate(d))
    head = await signed_in(browser, console, HEAD, scripts=False)
    await head.goto(f"/placements/{pid}/actions/close")
    await fill(head, ACTION_MODELS["close"], samples.close(d))
    await submit(head, f"/placements/{pid}/actions/close")
    assert "the end-of-placement evaluation is needed" in (await errors(head)).lower()
    assert (await api.get(stack_http, pid))["placement"]["state"] == "reintegrating"  # nothing changed

    for part, signer in ((PUPIL, "Robin Evaluated"), (PARENT, "Chris Example"), (PROVIDER, "Priya Shah"), (SCHOOL_PART, "Helen Carter")):
        await enter_part(lead, pid, "end", part, END[part], signer)
    end_total = sum(map(sum, END.values()))
    total, difference = await figures(lead, "end")
    assert total == f"{end_total} out of 125"
    assert difference.startswith(f"{end_total - mid_total:+d}") and "since the mid evaluation" in difference
    for part in EvaluationPart:
        assert (await lead.locator(f"#evaluation-end-{part.value}-subtotal").inner_text()) == str(sum(END[part]))
    # The two totals drawn over time, with the same figures in the picture's table.
    drawn = lead.locator("#evaluation-totals")
    assert await drawn.locator("svg").count() == 1
    totals = await drawn.locator("tbody tr td:last-child").all_text_contents()  # under "The figures", closed
    assert [t.strip() for t in totals] == [str(mid_total), str(end_total)]

    await step(head, pid, "close", samples.close(d))
    assert await state_of(head) == "Closed"
    assert await figures(head, "end") == (total, difference)
