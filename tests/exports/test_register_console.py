"""The register's page in the console, against the whole service: Temporal's
dev server and a worker running the placements, the register in SQLite,
and Chromium signed in through the sign-in pages."""
from __future__ import annotations

import io
from datetime import timedelta

import openpyxl

from apflow import samples
from documents.formatting import long_date
from tests.api import test_api as api
from tests.console.conftest import HEAD, LEAD, OTHER_LEAD, browser, console, http, identity_provider, signed_in  # noqa: F401
from tests.console.helpers import pupil, today


async def placements(http) -> dict[str, str]:  # noqa: F811
    """Three placements proposed through the API at school 137000: two at
    Bridgeway (one terminated, so its workflow has ended), one at a provider
    with both a URN and a UKPRN, which the census cannot take."""
    made = {}
    for key, name, changes in (
        ("running", "Robin Running", dict(census_reason="BEHAVIOUR")),
        ("ended", "Tess Ended", dict(census_reason="SEND")),
        ("both", "Bo Both", dict(census_reason="OTHER", provider=samples.provider(name="Twofold Tutors", urn="139000"))),
    ):
        snap = await api.propose(http, pupil=pupil(name), **changes)
        made[key] = snap["placement"]["placement_id"]
    await api.act(http, made["ended"], "terminate", samples.terminate(today()), who=api.HEAD)
    await api.wait_for_state(http, made["ended"], "terminated")
    other = await api.propose(http, who=api.OTHER_LEAD, census_reason="HEALTH")
    made["other"] = other["placement"]["placement_id"]
    return made


async def test_the_register_page_shows_the_schools_placements_and_refuses_another_schools(console, http):  # noqa: F811
    made = await placements(http)
    r = await http.get("/register", headers=LEAD.headers)
    assert r.status_code == 200, r.text
    for key in ("running", "ended", "both"):
        assert made[key] in r.text
    assert made["other"] not in r.text and "another_school" not in r.text
    # The terminated one's destination, kept, its day in words (the export keeps it as data).
    # Each record under its label in the row's last column, none of them left for a scroll.
    assert f"<dt>Destination</dt><dd>Home school: Nexus Valley Academy, from {long_date(today())}</dd>" in r.text
    assert 'Nothing yet' in r.text.split(made["running"])[1].split("</tr>")[0]
    r = await http.get("/register", headers=LEAD.headers, params={"school": "137001"})
    assert r.status_code == 403 and "137001" in r.json()["detail"]
    r = await http.get("/register/census.xlsx", headers=LEAD.headers)
    assert r.status_code == 409 and made["both"] in r.text and "a URN and a UKPRN" in r.text
    assert "Bo Both" not in r.text


async def test_a_person_filters_the_register_and_downloads_the_census(console, browser, http, tmp_path):  # noqa: F811
    made = await placements(http)
    page = await signed_in(browser, console, LEAD)
    await page.get_by_role("link", name="Register").click()
    await page.wait_for_url("**/register")
    assert await page.locator("h1").inner_text() == "Register of placements"

    # Unfiltered, the census names the placement it cannot take and gives no file.
    await page.locator("#downloads li", has_text="School census").get_by_role("link", name="XLSX").click()
    await page.wait_for_load_state()
    problems = await page.locator("#problems").inner_text()
    assert made["both"] in problems and "a URN and a UKPRN" in problems

    await page.goto("/register")
    await page.fill("#provider", "bridgeway")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Apply filters").click()
    assert "provider=bridgeway" in page.url
    table = await page.locator("table.apflow-register").inner_text()
    assert "Robin Running" in table and "Tess Ended" in table and "Bo Both" not in table

    async with page.expect_download() as info:
        await page.locator("#downloads li", has_text="School census").get_by_role("link", name="XLSX").click()
    download = await info.value
    assert download.suggested_filename == f"census-{today().isoformat()}.xlsx"
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    sheet = openpyxl.load_workbook(saved, read_only=True).worksheets[0]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    rows = {r[0]: dict(zip(values[0], r)) for r in values[1:]}
    mine = {k: v for k, v in made.items() if k != "other"}
    # Exactly the register's rows at Bridgeway this person may see (the
    # module's other test made some too), the ones made here among them.
    listed = await http.get("/api/register", headers=LEAD.headers, params={"provider": "bridgeway", "limit": 500})
    assert set(rows) == {e["placement_id"] for e in listed.json()["items"]} >= {mine["running"], mine["ended"]}
    assert mine["both"] not in rows and made["other"] not in rows
    assert rows[mine["running"]]["primary_reason"] == "BEHAVIOUR" and rows[mine["ended"]]["primary_reason"] == "SEND"
    assert {r["provider_ukprn"] for r in rows.values()} == {"10012345"} and {r["school_urn"] for r in rows.values()} == {"137000"}
    assert rows[mine["ended"]]["leaving_date"].date() == today()

    # Attendance over dates, each date in three boxes as every other in the
    # console; the wrong way round, the page says which and keeps what was typed.
    await page.goto("/register")
    for box, day in (("first", today()), ("last", today() - timedelta(days=7))):
        for part in ("day", "month", "year"):
            await page.fill(f"#{box}-{part}", str(getattr(day, part)))
    async with page.expect_navigation():
        await page.get_by_role("button", name="Download attendance (CSV)").click()
    summary = await page.locator(".govuk-error-summary").inner_text()
    assert f"The last day must be the same as or after the first ({long_date(today())})" in summary
    assert await page.title() == "Error: Register of placements – apflow"
    assert await page.input_value("#last-day") == str((today() - timedelta(days=7)).day) and await page.input_value("#first-day") == str(today().day)
    for part in ("day", "month", "year"):
        await page.fill(f"#last-{part}", str(getattr(today(), part)))
    async with page.expect_download() as info:
        await page.get_by_role("button", name="Download attendance (CSV)").click()
    download = await info.value
    assert download.suggested_filename == f"attendance-{today().isoformat()}.csv"
    assert (await download.path()).read_text().splitlines()[0].startswith("placement_id,school_id,day,session,code")
    # Nothing went wrong in the browser but the census page's own 409 and the dates' 422.
    assert [p for p in page.problems if "status of 409" not in p and "status of 422" not in p] == [], page.problems
    await page.context.close()


async def test_the_attendance_downloads_dates_left_out_or_not_real_are_shown_beside_their_boxes(console, http):  # noqa: F811
    r = await http.get("/register/attendance.xlsx", headers=LEAD.headers,
                       params={"first.day": "31", "first.month": "2", "first.year": "2026", "school": "137000"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert '<a href="#first-day">From must be a real date</a>' in r.text
    assert '<a href="#last-day">Enter the last day to include</a>' in r.text
    assert 'name="school" value="137000"' in r.text and 'value="31"' in r.text
    r = await http.get("/register/attendance.xlsx", headers=LEAD.headers, params={"school": "137001", "first.day": "1"})
    assert r.status_code == 403  # another school's: refused before anything is shown


async def test_a_pupil_is_found_in_the_register_by_a_posted_form(console, http):  # noqa: F811
    from tests.console.test_pages_http import csrf_of

    made = await placements(http)
    mine = csrf_of((await http.get("/register", headers=LEAD.headers)).text)
    r = await http.post("/register/search", headers=LEAD.headers, data={"pupil": "tess ended", "csrf_token": mine})
    assert r.status_code == 200 and made["ended"] in r.text and made["running"] not in r.text, r.text
    assert "Home school: Nexus Valley Academy" in r.text and "tess" not in str(r.url).lower()
    assert "Find a pupil in the register" in r.text and 'action="/register/search"' in r.text
    theirs = csrf_of((await http.get("/register", headers=OTHER_LEAD.headers)).text)
    other = await http.post("/register/search", headers=OTHER_LEAD.headers, data={"pupil": "tess ended", "csrf_token": theirs})
    assert other.status_code == 200 and made["ended"] not in other.text  # another school's pupil
    short = await http.post("/register/search", headers=LEAD.headers, data={"pupil": "x", "csrf_token": mine})
    assert short.status_code == 422 and 'href="#pupil"' in short.text
    forged = await http.post("/register/search", headers=LEAD.headers, data={"pupil": "tess ended"})
    assert forged.status_code == 403


async def test_the_pages_downloads_are_the_apis_and_are_audited(console, http):  # noqa: F811
    from sqlalchemy import select

    from store.exports import ExportEvent

    made = await placements(http)
    r = await http.get("/register/la-notice.csv", headers=LEAD.headers, params={"provider": "twofold", "state": ""})
    assert r.status_code == 200 and r.headers["content-disposition"].startswith('attachment; filename="la-notice-')
    assert made["both"] in r.text and made["running"] not in r.text
    day = {f"{box}.{part}": getattr(today(), part) for box in ("first", "last") for part in ("day", "month", "year")}
    r = await http.get("/register/attendance.csv", headers=LEAD.headers, params=day)
    assert r.status_code == 200 and r.text.splitlines()[0].startswith("placement_id,school_id,day,session,code")
    r = await http.get("/register/attendance.csv", headers=LEAD.headers, params={**day, "school": "137001"})
    assert r.status_code == 403
    with console.engine.connect() as conn:
        last = list(conn.execute(select(ExportEvent.export, ExportEvent.actor_id, ExportEvent.filters)
                                 .order_by(ExportEvent.id.desc()).limit(2)))
    assert [(e.export, e.actor_id) for e in last] == [("attendance", LEAD.user), ("la_notice", LEAD.user)]
    assert last[1].filters == {"provider": "twofold", "schools": ["137000"]}
