"""The commissioning agreement in real Chromium: filled in from the
placement's page, downloaded as the PDF and read back, and its signed copy
uploaded (a file that is not a PDF refused beside the upload)."""
from __future__ import annotations

import httpx

from tests.agreement.test_agreement_api import text_of
from tests.api import test_api as api
from tests.console.conftest import LEAD, signed_in
from tests.console.helpers import pupil


async def test_staff_fill_in_print_and_keep_the_signed_agreement_from_the_placement_page(browser, console, tmp_path):
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as http:
        snap = await api.propose(http, pupil=pupil("Robin Agreement"))
    pid = snap["placement"]["placement_id"]
    page = await signed_in(browser, console, LEAD, scripts=False)

    await page.goto(f"/placements/{pid}")
    section = page.locator("#agreement")
    assert await section.count() == 1
    assert await page.locator("#no-signed-agreement").count() == 1
    async with page.expect_navigation():
        await page.locator("#fill-agreement").click()
    await page.fill('[name="course_offer"]', "Motor vehicle maintenance, Level 1")
    await page.fill('[name="taster_date.day"]', "8")
    await page.fill('[name="taster_date.month"]', "12")
    await page.fill('[name="taster_date.year"]', "2026")
    await page.fill('[name="parent_phones.home"]', "0161 496 0101")
    await page.fill('[name="social_worker_email"]', "not an email")
    async with page.expect_navigation():
        await page.locator("#submit").click()
    # A refusal beside its field, the rest kept as typed.
    summary = await page.locator(".govuk-error-summary").inner_text()
    assert "Social worker email" in summary and "email address" in summary
    assert await page.input_value('[name="course_offer"]') == "Motor vehicle maintenance, Level 1"
    await page.fill('[name="social_worker_email"]', "sw@council.example")
    await page.locator('[name="forward_to"][value="local_authority"]').check()
    async with page.expect_navigation():
        await page.locator("#submit").click()
    assert page.url.split("#")[0].endswith(f"/placements/{pid}?agreement=saved"), page.url
    assert "The agreement was saved" in await page.content()

    async with page.expect_download() as info:
        await page.locator("#print-agreement").click()
    download = await info.value
    assert download.suggested_filename == f"commissioning-agreement-{pid}.pdf"
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    text = text_of(saved.read_bytes())
    for item in ("Alternative Provision Commissioning Agreement", "Robin Agreement", "Motor vehicle maintenance, Level 1",
                 "8 December 2026", "0161 496 0101", "sw@council.example", "Local Authority"):
        assert item in text, item

    # Not a PDF: refused beside the upload, nothing kept.
    not_pdf = tmp_path / "signed.pdf"
    not_pdf.write_bytes(b"\x89PNG a photo of the form, not a PDF")
    await page.goto(f"/placements/{pid}")
    await page.set_input_files("#signed_copy", str(not_pdf))
    async with page.expect_navigation():
        await page.locator("#upload-signed").click()
    assert "must be a PDF" in await page.locator("#signed_copy-error").inner_text()

    # The signed copy (here the printed one, as if scanned back).
    await page.set_input_files("#signed_copy", str(saved))
    async with page.expect_navigation():
        await page.locator("#upload-signed").click()
    assert page.url.split("#")[0].endswith(f"/placements/{pid}?agreement=signed"), page.url
    rows = await page.locator("#signed-agreements tbody tr").all_inner_texts()
    assert len(rows) == 1
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as http:
        kept = (await http.get(f"/api/placements/{pid}/agreement", headers=LEAD.headers)).json()
    [copy] = kept["signed_copies"]
    assert copy["uploaded_by"] in rows[0]
    link = page.locator("#signed-agreements a").first
    href = await link.get_attribute("href")
    assert href == f"/api/placements/{pid}/documents/{copy['document_id']}.pdf"
    r = await page.context.request.get(f"{console.url}{href}")
    assert r.ok and await r.body() == saved.read_bytes()
    # The browser saw nothing wrong but the two refusals it was shown (each a 422 page).
    assert [m for m in page.problems if "422" not in m] == [], page.problems
