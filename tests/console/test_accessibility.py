"""The console's pages against WCAG 2.2 A and AA as axe-core (npm, pinned by
package-lock.json) checks them, in Chromium, each page as its person meets
it: the sign-in, Today, the list, a placement, a step's form, the register,
the providers, the calendar, the stuck report and a refusal.

axe runs under the pages' own Content Security Policy: its script is
answered at an address of the console's own, as the pages' scripts are.
GOV.UK's back link sits before `<main>` on purpose (so "Skip to main
content" skips it), which axe's best-practice "region" rule would flag;
only the WCAG rules are run. Reflow, which axe leaves alone, is measured:
each page's width at 320 CSS pixels."""
from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.providers.records import record

from .conftest import LEAD, OPS, new_page, signed_in
from .helpers import today
from .test_screenshots import seeded  # noqa: F401

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
AXE_AT = "/__axe.min.js"  # the console serves nothing here: the browser is answered by the test
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]


async def violations(page) -> list[str]:
    """What axe finds on the page as it is now: each rule broken, with the first element breaking it."""
    if not await page.evaluate("typeof axe !== 'undefined'"):
        await page.add_script_tag(url=AXE_AT)
    found = await page.evaluate("async (tags) => (await axe.run(document, {runOnly: tags})).violations", WCAG)
    return [f"{v['id']} ({v['impact']}): {v['help']}: {v['nodes'][0]['html'][:300]}" for v in found]


async def checked(page, paths: list[str]) -> dict[str, list[str]]:
    """Each of `paths` visited ("-": the page as it is) and what axe finds there, for those where it finds something."""
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"axe-core is required here but {AXE} is missing (npm ci)")
        pytest.skip("axe-core is not installed (npm ci)")
    if not getattr(page, "answers_axe", False):
        await page.route(f"**{AXE_AT}", lambda route: route.fulfill(path=AXE, content_type="text/javascript"))
        page.answers_axe = True
    found = {}
    for path in paths:
        if path != "-":
            await page.goto(path)
        found[path if path != "-" else page.url] = await violations(page)
    return {path: v for path, v in found.items() if v}


async def test_the_pages_meet_wcag_as_axe_checks_them(browser, console, seeded):  # noqa: F811
    proposed, running = seeded["Jordan Pike"], seeded["Casey Moor"]
    signing_in = await new_page(browser, console)
    assert await checked(signing_in, ["/sign-in"]) == {}
    # axe is running and would say so: a field added without its label is found.
    await signing_in.evaluate("document.querySelector('form').insertAdjacentHTML('beforeend', '<input name=extra>')")
    assert any(v.startswith("label ") for v in await violations(signing_in))

    lead = await signed_in(browser, console, LEAD)
    assert await checked(lead, [
        "/", "/placements", f"/placements/{running}", f"/placements/{proposed}", "/placements/new",
        f"/placements/{proposed}/actions/vet", f"/placements/{running}/actions/record_contact", f"/placements/{running}/attendance",
        f"/placements/{running}/attendance/week", f"/placements/{running}/links",
        "/register", "/providers", "/account/calendar",
        "/register/attendance.xlsx?first.day=10&first.month=12&first.year=2026&last.day=31&last.month=2&last.year=2026",  # refused: the register with its errors
    ]) == {}
    # A form sent back with its problems: the error summary and each field's message.
    await lead.goto(f"/placements/{proposed}/actions/vet")
    await lead.get_by_role("button", name="Vet the provider").click()
    await lead.wait_for_load_state()
    assert "There is a problem" in await lead.content()
    assert await checked(lead, ["-"]) == {}
    # Nothing refused by the CSP or broken in a script; the refusals' own 4xx answers are what was asked for.
    assert [p for p in lead.problems if "the server responded with a status of 4" not in p] == []

    operations = await signed_in(browser, console, OPS)
    assert await checked(operations, ["/operations/stuck", "/placements", "/register"]) == {}


async def test_the_pages_behind_a_providers_and_a_parents_links_meet_wcag(browser, console, seeded):  # noqa: F811
    running = seeded["Casey Moor"]
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as http:
        urls = []
        for purpose in ("progress_report", "attendance", "evaluation_mid_parent"):
            r = await http.post(f"/api/placements/{running}/links", headers=LEAD.headers, json={"purpose": purpose})
            assert r.status_code == 201, r.text
            urls.append("/" + r.json()["url"].split("/", 3)[3])
    page = await new_page(browser, console)
    assert await checked(page, urls) == {}
    assert await wider_than(page, urls, 320) == {}  # reflow, as the staff's pages
    await page.set_viewport_size({"width": 1280, "height": 900})
    # Sent empty: the form back with its problems.
    await page.goto(urls[0])
    await page.get_by_role("button", name="Send to the school").click()
    await page.wait_for_load_state()
    assert "There is a problem" in await page.content()
    assert await checked(page, ["-"]) == {}


async def wider_than(page, paths: list[str], width: int) -> dict[str, int]:
    """Each of `paths` whose page is wider than `width`, with how wide it is."""
    await page.set_viewport_size({"width": width, "height": 900})
    wide = {}
    for path in paths:
        await page.goto(path)
        scroll_width = await page.evaluate("document.documentElement.scrollWidth")
        if scroll_width > width:
            wide[path] = scroll_width
    return wide


async def test_the_pages_reflow_at_320_pixels_wide_their_tables_scrolling_on_their_own(browser, console, seeded):  # noqa: F811
    """WCAG 1.4.10 (reflow), which axe does not check: at 320 CSS pixels a
    page never scrolls sideways; a table wider than that scrolls within its
    own region, which the keyboard reaches and a screen reader names."""
    proposed, running = seeded["Jordan Pike"], seeded["Casey Moor"]
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as http:
        r = await http.post("/api/providers", headers=LEAD.headers,
                            json=record(today(), name="Reflow Learning Centre").model_dump(mode="json"))
        assert r.status_code == 201, r.text
    provider = f"/providers/{r.json()['provider_id']}"
    lead = await signed_in(browser, console, LEAD)
    assert await wider_than(lead, [
        "/", "/placements", f"/placements/{running}", f"/placements/{proposed}", "/placements/new",
        f"/placements/{running}/actions/record_visit", f"/placements/{running}/attendance",
        f"/placements/{running}/attendance/week", f"/placements/{running}/links", "/register", "/providers",
        provider, "/account/calendar",
    ], 320) == {}
    await lead.goto(f"/placements/{running}")
    deadlines = lead.get_by_role("region", name="Deadlines")
    assert await deadlines.get_attribute("tabindex") == "0"
    assert await deadlines.evaluate("region => region.scrollWidth > region.clientWidth")  # it does scroll
    operations = await signed_in(browser, console, OPS)
    assert await wider_than(operations, ["/", "/operations/stuck", "/placements", "/register"], 320) == {}
    # On a laptop the trust's list and register fit their column: nothing in them is hidden to the side.
    await operations.set_viewport_size({"width": 1280, "height": 900})
    for path, name in (("/placements", "Placements"), ("/register", "Register of placements")):
        await operations.goto(path)
        table = operations.get_by_role("region", name=name, exact=True)
        assert await table.evaluate("region => region.scrollWidth <= region.clientWidth"), path
