"""Today, the list and a placement's page in the browser, on a register with
placements in several states: what each shows a headteacher and an AP lead.
The pictures go to $APFLOW_SCREENSHOTS when it is set (the README's, in
docs/screenshots), else to a temporary folder."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from apflow import samples
from apflow.calendars import load_calendar
from domain.actions import RequestReview
from domain.deadlines import deadlines
from domain.models import STORED, Contact, Placement
from store import documents as sent
from store import register
from tests.api import test_api as api

from .conftest import HEAD, LEAD, SCHOOL, signed_in
from .helpers import consulted, on_the_first_register_day, pupil, started_today, today, until


@pytest_asyncio.fixture(scope="module")
async def seeded(console) -> dict[str, str]:
    """Placements in several states, through the JSON API: their ids by pupil."""
    cal = load_calendar(SCHOOL, console.settings.calendars_dir)
    d = today()
    ids = {}
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as http:
        # Proposed: its notice is due within the week.
        snap = await api.propose(http, cal.add_school_days(d, 4), pupil=pupil("Jordan Pike"))
        ids["Jordan Pike"] = snap["placement"]["placement_id"]
        # Notified by email, starting within two weeks.
        ids["Sam Rivers"] = await consulted(http, cal.add_school_days(d, 8), "Sam Rivers")
        await api.act(http, ids["Sam Rivers"], "notify", samples.notify(), api.HEAD)
        # A parent with no email address: the notice waits on the list of letters to post.
        ids["Taylor Brook"] = await consulted(
            http, cal.add_school_days(d, 9), "Taylor Brook",
            parent_contacts=[Contact(name="Morgan Brook", relationship="Parent", phone="07700 900003")])
        await api.act(http, ids["Taylor Brook"], "notify", samples.notify(), api.HEAD)
        await until(lambda: any(doc.placement_id == ids["Taylor Brook"] for doc in sent.to_post(console.engine, SCHOOL)))
        # Started today, recorded after the fact (its notice handed over), and a review asked for.
        ids["Casey Moor"] = pid = await started_today(http, cal, "Casey Moor")
        await api.act(http, pid, "request_review", RequestReview(requested_by="parent", received_on=d))
    return ids


def due_today(console, placement_id: str) -> dict[str, object]:
    """The placement's deadlines today, by kind, as the policy has them:
    whether the half-term's review is due depends on how much of the
    half-term is left (RULES, Half-term), a requested review's date and the
    next attendance call on the holidays ahead, so the pages are checked
    against them."""
    cal = load_calendar(SCHOOL, console.settings.calendars_dir)
    return {d.kind: d.due for d in deadlines(stored(console, placement_id), cal, console.settings.policy, today())}


def stored(console, placement_id: str) -> Placement:
    return Placement.model_validate(register.get(console.engine, placement_id).data, context=STORED)


async def section(page, heading_id: str) -> str:
    return await page.locator(f'section[aria-labelledby="{heading_id}"]').inner_text()


@pytest.fixture(scope="module")
def pictures(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("APFLOW_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def test_today_shows_a_headteacher_what_is_theirs(browser, console, seeded, pictures):
    page = await signed_in(browser, console, HEAD)
    await page.goto("/")
    sections = {s: await section(page, s) for s in ("escalations", "due", "letters", "starting", "reviews")}
    # The notice for a start recorded after the fact was late: the headteacher's to answer (§6.5).
    assert "Casey Moor" in sections["escalations"]
    # Proposed four school days ahead: its notice is due within the week, unless a holiday comes first.
    notice_due = due_today(console, seeded["Jordan Pike"])["notice"] <= today() + timedelta(days=7)
    assert ("Jordan Pike" in sections["due"]) == notice_due
    assert ("the last day to give parents written notice" in sections["due"].lower()) == notice_due
    assert "Taylor Brook" in sections["letters"]
    for name in ("Sam Rivers", "Taylor Brook"):  # eight and nine school days ahead: a holiday may come first
        assert (name in sections["starting"]) == (stored(console, seeded[name]).start_date <= today() + timedelta(days=14))
    assert "Casey Moor" not in sections["starting"]
    reviews = [due for kind, due in due_today(console, seeded["Casey Moor"]).items() if kind in ("review", "requested_review")]
    within_two_weeks = any(due <= today() + timedelta(days=14) for due in reviews)
    assert ("Casey Moor" in sections["reviews"]) == within_two_weeks
    assert "wellbeing" not in sections["due"]  # the AP lead's deadline, not the headteacher's
    await page.screenshot(path=str(pictures / "today.png"), full_page=True)


async def test_today_shows_an_ap_lead_their_deadlines(browser, console, seeded):
    page = await signed_in(browser, console, LEAD)
    await page.goto("/")
    due = await section(page, "due")
    # The call is due on the next school day: within the week unless a holiday comes first.
    call_due = due_today(console, seeded["Casey Moor"])["attendance_call"] <= today() + timedelta(days=7)
    assert ("make the daily attendance call" in due.lower()) == call_due
    assert "Casey Moor" in due  # the initial assessment to chase, whatever the day
    assert "Jordan Pike" not in due  # the notice is the headteacher's


async def test_the_list_filters_and_pages(browser, console, seeded, pictures):
    page = await signed_in(browser, console, LEAD)
    await page.goto("/placements")
    for name in seeded:
        assert await page.get_by_role("link", name=name).count() == 1
    await page.screenshot(path=str(pictures / "placements.png"), full_page=True)
    await page.select_option("#state", "notified")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Apply filters").click()
    table = await page.locator("table").inner_text()
    assert "Sam Rivers" in table and "Taylor Brook" in table and "Jordan Pike" not in table
    assert "Rivers" not in page.url and "P-" not in page.url


async def test_a_placements_page(browser, console, seeded, pictures):
    page = await signed_in(browser, console, LEAD)
    await page.goto(f"/placements/{seeded['Casey Moor']}")
    assert (await page.locator('[aria-current="step"] .apflow-lifecycle__name').inner_text()).strip() == "Active"
    table = (await page.get_by_role("region", name="Deadlines", exact=True).inner_text()).lower()
    reviews = due_today(console, seeded["Casey Moor"])
    assert "requested_review" in reviews and "hold the review the parent asked for" in table
    assert "school days left" in table
    assert ("review the placement this half-term" in table) == ("review" in reviews)
    assert await page.get_by_role("button", name="Book a review").count() == 1
    assert await page.get_by_role("button", name="Resolve").count() >= 1  # the late notice's escalation
    await page.screenshot(path=str(pictures / "placement.png"), full_page=True)


async def test_a_placements_page_prints_its_record_without_the_service_around_it(browser, console, seeded):
    """Printed for a review meeting: the key facts, deadlines and timeline,
    not the menus, the buttons or the forms that act on the placement."""
    page = await signed_in(browser, console, LEAD)
    await page.goto(f"/placements/{seeded['Casey Moor']}")
    await page.emulate_media(media="print")
    for shown in ("Key facts", "Deadlines", "Timeline"):
        assert await page.get_by_role("heading", name=shown, exact=True).is_visible(), shown
    for hidden in (page.get_by_role("navigation", name="Menu"), page.get_by_role("heading", name="What you can do now"),
                   page.get_by_role("button", name="Resolve").first, page.locator("footer")):
        assert not await hidden.is_visible()
    await page.emulate_media(media="screen")
    assert await page.get_by_role("heading", name="What you can do now").is_visible()


async def test_the_register_draws_its_pictures(browser, console, seeded, pictures):
    page = await signed_in(browser, console, LEAD)
    await page.goto("/register")
    by_state = page.locator("#placements-by-state")
    assert await by_state.locator("svg").is_visible()
    key = await by_state.locator(".apflow-picture__key").inner_text()
    assert "Proposed" in key and "Active" in key
    await by_state.get_by_text("The figures").click()
    assert samples.SCHOOL.name in await by_state.locator("table").inner_text()
    drift = page.locator("#time-against-plan")
    assert "Casey Moor" in await drift.locator("svg").inner_html()
    await by_state.screenshot(path=str(pictures / "register-by-state.png"))


async def test_the_pages_run_their_scripts_under_the_csp(browser, console, seeded):
    """GOV.UK Frontend's script starts (its menu and buttons are enhanced) and
    nothing the pages load is refused."""
    page = await signed_in(browser, console, LEAD)
    for path in ("/", "/placements", f"/placements/{seeded['Casey Moor']}", "/placements/new", "/register"):
        await page.goto(path)
        await page.wait_for_load_state("networkidle")
        assert await page.evaluate("document.body.classList.contains('govuk-frontend-supported')"), path
    assert page.problems == []


async def test_a_mark_the_provider_phoned_in_is_recorded_from_the_placements_page(browser, console, seeded, pictures, monkeypatch):
    on_the_first_register_day(monkeypatch, console.engine, load_calendar(SCHOOL, console.settings.calendars_dir), seeded["Casey Moor"])
    page = await signed_in(browser, console, LEAD)
    await page.goto(f"/placements/{seeded['Casey Moor']}")
    await page.get_by_role("link", name="Every attendance mark, and record one").click()
    # The latest session with no mark: its link fills the form's day and session in.
    first = page.locator("#unmarked + p + ul li").first
    session = (await first.inner_text()).split(" (today")[0].split(": record")[0]  # today's says when it is chased
    await first.get_by_role("link").click()
    await page.get_by_label("Register code").select_option("B")
    await page.get_by_label("The provider's, told by phone or on paper").check()
    await page.get_by_label("Note").fill("Phoned in by the provider's office")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Record the mark").click()
    assert f"Mark recorded for {session}" in await page.locator(".govuk-notification-banner").inner_text()
    marks = await page.get_by_role("region", name="Marks").inner_text()
    assert session in marks and "Phoned in by the provider's office" in marks
    await page.screenshot(path=str(pictures / "attendance.png"), full_page=True)
