"""The pages behind the links people without an account answer, in a real
browser (Chromium): the provider's progress report and a parent's written
views before a review. A browser posts each form as the page tells it to,
with the `Origin` its referrer policy allows: the service must take it."""
from __future__ import annotations

from email import message_from_bytes, policy

from apflow.calendars import load_calendar
from documents.delivery import safe_name
from tests.api import test_api as api
from tests.console.conftest import LEAD, SCHOOL
from tests.console.helpers import started_today, today, until

from .test_review_records_api import VIEWS_LINK, booked, invitation_to_parent, views_rows


async def fresh_page(browser, console):
    """A page of a browser with no session: a provider or a parent."""
    context = await browser.new_context(base_url=console.url)
    return await context.new_page()


async def test_a_provider_sends_a_progress_report_through_its_link_in_a_browser(browser, console, http):
    cal = load_calendar(SCHOOL, console.settings.calendars_dir)
    pid = await started_today(http, cal, "Link Browser")
    issued = api.expect(await http.post(f"/api/placements/{pid}/links", headers=LEAD.headers,
                                        json={"purpose": "progress_report"}), 201)
    page = await fresh_page(browser, console)
    await page.goto(issued["url"].replace(console.settings.base_url.rstrip("/"), console.url))
    assert await page.locator("h1").inner_text() == "Send a progress report"
    await page.fill("#summary", "Attending every session; reading age up six months.")
    await page.fill("#attendance_percent", "95")
    async with page.expect_navigation() as sent:
        await page.get_by_role("button", name="Send to the school").click()
    assert (await sent.value).status == 200, await page.content()
    assert "Thank you" in await page.locator("main").inner_text()
    reports = (await api.get(http, pid, LEAD.headers))["placement"]["progress_reports"]
    assert [(r["summary"], r["received_on"]) for r in reports] == [
        ("Attending every session; reading age up six months.", today().isoformat())]  # dated when it came


async def test_a_parent_sends_their_views_before_the_review_in_a_browser(browser, console, http):
    pid, _ = await booked(http, console, "Views Browser")
    await until(lambda: invitation_to_parent(console.engine, pid) is not None)
    row = invitation_to_parent(console.engine, pid)
    eml = console.settings.var_dir / "outbox" / f"{safe_name(row.idempotency_key)}.eml"
    body = message_from_bytes(eml.read_bytes(), policy=policy.default).get_body(("html",)).get_content()
    (token,) = set(VIEWS_LINK.findall(body))
    page = await fresh_page(browser, console)
    await page.goto(f"/views/{token}")
    await page.fill("textarea", "We would like the mentoring to go on after the return.")
    async with page.expect_navigation() as sent:
        await page.locator("#send").click()
    assert (await sent.value).status == 200, await page.content()
    assert "Thank you" in await page.locator("main").inner_text()
    assert [r.views for r in views_rows(console.engine, pid)] == ["We would like the mentoring to go on after the return."]
