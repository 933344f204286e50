"""The trust's providers in a real browser (Debian's Chromium, Playwright)
against the real stack, with scripts off: an AP lead adds a provider whose
insurance has expired, and a proposal there is refused saying what is wrong
and which clause, with nothing started; once the record is renewed the same
proposal goes ahead, the provider's page lists it, and the placement's vet
form opens filled in from the record."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from temporalio.service import RPCError, RPCStatusCode

from apflow import samples
from apflow.calendars import load_calendar
from console.providers_api import ProposalIn
from domain.models import Actor, Role
from domain.providers import ProviderIn
from store import accounts
from store.tables import PlacementRow
from tests.console.conftest import HEAD, LEAD, OTHER_LEAD, SCHOOL, signed_in
from tests.console.helpers import pupil, today
from documents.formatting import long_date
from tests.console.test_browser import errors, fill, submit
from workflows.client import proposal_placement_id

from .records import insurance, record


async def test_expired_insurance_stops_a_proposal_through_the_pages_and_nothing_starts(browser, console, dev_env):
    d = today()
    lead = await signed_in(browser, console, LEAD, scripts=False)

    # The AP lead adds the provider from the list, its public liability lapsed yesterday.
    await lead.get_by_role("link", name="Providers").click()
    await lead.locator("#add-provider").click()
    lapsed = record(d, name="Lapsed Cover Learning", insurance=insurance(
        d + timedelta(days=300), public_liability_expires_on=d - timedelta(days=1)))
    await fill(lead, ProviderIn, lapsed)
    await submit(lead)
    assert "/providers/prov-" in lead.url and "done=added" in lead.url, await errors(lead)
    provider_id = lead.url.split("/providers/")[1].split("?")[0]
    assert await lead.locator("#provider-status").inner_text() == "Expired"
    warning = await lead.locator("#provider-problems").inner_text()
    assert f"public liability insurance expired on {long_date(d - timedelta(days=1))}" in warning and "(appendix: insurance)" in warning

    # A proposal picks it from the list: refused beside the provider, naming the clause.
    cal = load_calendar(SCHOOL, console.settings.calendars_dir)
    kim = pupil("Kim Lapsed")
    base = samples.proposal(cal.add_school_days(d, 15), pupil=kim)
    chosen = ProposalIn(**{**base.model_dump(exclude={"provider"}, exclude_unset=True), "provider_id": provider_id})
    await lead.get_by_role("link", name="Propose a placement", exact=True).click()
    assert await lead.locator('select[name="provider_id"] option', has_text="Lapsed Cover Learning").count() == 1
    await fill(lead, ProposalIn, chosen)
    key = await lead.input_value('input[name="idempotency_key"]')
    await submit(lead)
    assert lead.url.split("?")[0].endswith("/placements/new")
    beside = await lead.locator("#provider_id-error").inner_text()
    assert "public liability insurance expired on" in beside and "(appendix: insurance)" in beside
    summary = await errors(lead)
    assert "expired on" in summary and "appendix: insurance" in summary
    assert await lead.locator(".govuk-error-summary a[href='#provider_id']").count() >= 1

    # Nothing was started: no workflow under the form's key, no row in the register.
    user_id = accounts.user_by_email(console.engine, LEAD.email).user_id
    with pytest.raises(RPCError) as e:
        await dev_env.client.get_workflow_handle(
            proposal_placement_id(Actor(user_id=user_id, role=Role.ap_lead, school_id=SCHOOL), key)).describe()
    assert e.value.status is RPCStatusCode.NOT_FOUND
    with console.engine.connect() as conn:
        assert conn.scalar(select(PlacementRow.placement_id).where(PlacementRow.pupil_id == kim.pupil_id)) is None

    # Renewed on the record, the same proposal goes ahead and the provider's page lists it.
    await lead.goto(f"/providers/{provider_id}/edit")
    renewed = d + timedelta(days=365)
    await lead.fill("#insurance-public_liability_expires_on-day", str(renewed.day))
    await lead.fill("#insurance-public_liability_expires_on-month", str(renewed.month))
    await lead.fill("#insurance-public_liability_expires_on-year", str(renewed.year))
    await submit(lead)
    assert "done=changed" in lead.url, await errors(lead)
    assert await lead.locator("#provider-status").inner_text() == "Vetted and current"
    await lead.get_by_role("link", name="Propose a placement here").click()
    assert await lead.locator('select[name="provider_id"]').input_value() == provider_id
    await fill(lead, ProposalIn, chosen.model_copy(update={"provider_id": None}))  # the rest; the provider is chosen
    await submit(lead)
    assert "?done=propose" in lead.url, await errors(lead)
    pid = lead.url.split("/placements/")[1].split("?")[0]
    await lead.goto(f"/providers/{provider_id}")
    assert await lead.locator(f'.apflow-provider-placements a[href="/placements/{pid}"]').count() == 1
    assert "added by Aplead 137000 (AP lead)" in await lead.locator("body").inner_text()  # by name, not id

    # The placement's page links to the record; its vet form opens filled in from it.
    await lead.goto(f"/placements/{pid}")
    assert await lead.locator(f'a[href="/providers/{provider_id}"]').count() == 1
    await lead.goto(f"/placements/{pid}/actions/vet")
    assert await lead.locator("#from-record").count() == 1
    assert await lead.locator('input[name="checklist.k.status"][value="seen"]').is_checked()
    assert await lead.input_value("#insurance-public_liability") == "5000000"

    # Another school's AP lead reads the provider but not this school's placement there.
    other = await signed_in(browser, console, OTHER_LEAD, scripts=False)
    await other.goto(f"/providers/{provider_id}")
    assert await other.locator(f'a[href="/placements/{pid}"]').count() == 0
    assert kim.name not in await other.content()
    # A headteacher reads the list and may not change it.
    head = await signed_in(browser, console, HEAD, scripts=False)
    answer = await head.goto(f"/providers/{provider_id}/edit")
    assert answer.status == 403
