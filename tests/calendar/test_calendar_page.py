"""Your calendar, in real Chromium: reached from the account area, a link
made and shown once, read by a calendar client, and revoked from the page."""
from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import icalendar

from tests.api import test_api as api
from tests.console.conftest import LEAD, signed_in
from tests.console.helpers import pupil


async def test_staff_make_and_revoke_their_calendar_link_from_the_console(browser, console):
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as http:
        pid = (await api.propose(http, pupil=pupil("Sky Calendar")))["placement"]["placement_id"]
        page = await signed_in(browser, console, LEAD, scripts=False)
        async with page.expect_navigation():
            await page.locator("#your-calendar").click()
        assert page.url.endswith("/account/calendar")
        assert await page.locator("#calendar-none").count() == 1
        async with page.expect_navigation():
            await page.locator("#make-calendar").click()
        url = (await page.locator("#calendar-url").inner_text()).strip()
        path = urlsplit(url).path
        assert path.startswith("/calendar-feed/apcal_") and path.endswith(".ics")

        r = await http.get(path)  # as a calendar application reads it: no cookie, no header
        assert r.status_code == 200
        feed = icalendar.Calendar.from_ical(r.content)
        summaries = [str(e["summary"]) for e in feed.walk("VEVENT")]
        assert f"Vet the provider (S.C., ref {pid.removeprefix('placement-')[:8]})" in summaries
        assert "Sky Calendar" not in r.text

        await page.goto("/account/calendar")  # the link is never shown again
        assert await page.locator("#calendar-url").count() == 0
        assert await page.locator("#calendar-live").count() == 1
        async with page.expect_navigation():
            await page.locator("#revoke-calendar").click()
        assert "revoked" in await page.locator("#calendar-message").inner_text()
        assert (await http.get(path)).status_code == 404
        assert not page.problems, page.problems
