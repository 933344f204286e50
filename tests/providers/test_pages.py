"""The providers' pages over real HTTP against the console's stack: who sees
what, what Today tells an AP lead ahead of time, and forms that refuse bad
input in place and change nothing."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

import httpx
import pytest_asyncio

from apflow import samples
from apflow.calendars import load_calendar
from apflow.settings import Settings
from domain.providers import ProviderIn
from store import providers as store
from tests.console.conftest import HEAD, LEAD, OPS, OTHER_LEAD, Person
from documents.formatting import long_date
from tests.console.helpers import pupil, today
from tests.console.test_pages_http import csrf_of, form_of

from .records import insurance, record

GOVERNOR = Person("governor-137000", "read_only")


@pytest_asyncio.fixture
async def web(console):
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as client:
        yield client


async def add(web, who=LEAD, **changes) -> str:
    given = record(today(), name=f"Provider {uuid.uuid4().hex[:6]}", **changes)
    r = await web.post("/api/providers", headers=who.headers, json=given.model_dump(mode="json"))
    assert r.status_code == 201, r.text
    return r.json()["provider_id"]


async def place(web, provider_id: str, who=LEAD) -> str:
    start = load_calendar("137000", Settings().calendars_dir).add_school_days(today(), 15)
    body = samples.proposal(start, pupil=pupil("Ari Soon")).model_dump(mode="json")
    del body["provider"]
    r = await web.post("/api/placements", headers=who.headers, json={**body, "provider_id": provider_id})
    assert r.status_code == 201, r.text
    return r.json()["placement"]["placement_id"]


async def test_today_tells_the_ap_lead_ahead_of_time_of_a_provider_whose_cover_lapses(web):
    soon = await add(web, insurance=insurance(today() + timedelta(days=10)))
    await place(web, soon)
    html = (await web.get("/", headers=LEAD.headers)).text
    assert "insurance and checks expiring" in html and f'href="/providers/{soon}"' in html
    assert f"expires on {long_date(today() + timedelta(days=10))} (in 10 days)" in html and "(appendix: insurance)" in html
    for other in (OTHER_LEAD, HEAD):  # another school's lead; a headteacher, who does not keep the list
        assert f'href="/providers/{soon}"' not in (await web.get("/", headers=other.headers)).text
    assert f'href="/providers/{soon}"' in (await web.get("/", headers=OPS.headers)).text


async def test_everyone_reads_the_list_and_only_its_keepers_change_it(web, console):
    pid = await add(web, who=OPS)
    for who in (GOVERNOR, HEAD, OTHER_LEAD):
        html = (await web.get("/providers", headers=who.headers)).text
        assert f'href="/providers/{pid}"' in html and 'href="/providers"' in html  # and in the navigation
        assert (await web.get(f"/providers/{pid}", headers=who.headers)).status_code == 200
    for who in (GOVERNOR, HEAD):
        assert (await web.get("/providers/new", headers=who.headers)).status_code == 403
        assert (await web.get(f"/providers/{pid}/edit", headers=who.headers)).status_code == 403
        csrf = csrf_of((await web.get("/placements", headers=who.headers)).text)  # a page with a form
        given = record(today(), name=f"Not Added {uuid.uuid4().hex[:6]}")
        r = await web.post("/providers/new", headers=who.headers, data=form_of(ProviderIn, given, csrf_token=csrf))
        assert r.status_code == 403
        assert store.page(console.engine, name=given.provider.name).rows == []
    assert "Add a provider" in (await web.get("/providers", headers=LEAD.headers)).text


async def test_an_expired_record_offers_no_proposal_and_the_list_says_when_it_expired(web, console):
    current, lapsed = await add(web), await add(web, insurance=insurance(today() - timedelta(days=3)))
    assert 'href="/placements/new?provider_id=' + current in (await web.get(f"/providers/{current}", headers=LEAD.headers)).text
    html = (await web.get(f"/providers/{lapsed}", headers=LEAD.headers)).text
    assert "/placements/new?provider_id=" not in html
    assert "No placement can be proposed here until the record is brought up to date." in html
    # Someone who proposes nowhere is offered neither.
    seen = (await web.get(f"/providers/{current}", headers=GOVERNOR.headers)).text
    assert "/placements/new?provider_id=" not in seen and 'id="no-proposal"' not in seen
    for pid, said in ((lapsed, f"Expired on {long_date(today() - timedelta(days=3))}"),
                      (current, f"First expiry {long_date(today() + timedelta(days=365))}")):
        name = store.get(console.engine, pid).provider.name
        assert said in (await web.get("/providers", headers=LEAD.headers, params={"name": name})).text


async def test_unknown_providers_are_not_found(web):
    for path in ("/providers/Bridgeway", "/providers/prov-" + "0" * 32, "/providers/prov-" + "0" * 32 + "/edit"):
        r = await web.get(path, headers=LEAD.headers)
        assert r.status_code == 404 and "Page not found" in r.text


async def test_a_malformed_provider_form_is_refused_in_place_and_adds_nothing(web, console):
    csrf = csrf_of((await web.get("/providers/new", headers=LEAD.headers)).text)
    given = record(today(), name=f"Malformed {uuid.uuid4().hex[:6]}")
    data = form_of(ProviderIn, given, csrf_token=csrf)
    data["provider.urn"] = "12"
    data["insurance.public_liability_expires_on.month"] = "13"
    r = await web.post("/providers/new", headers=LEAD.headers, data=data)
    assert r.status_code == 422
    assert 'href="#provider-urn"' in r.text and "must be a real date" in r.text
    assert store.page(console.engine, name=given.provider.name).rows == []


async def test_an_edit_over_a_stale_version_is_refused_and_changes_nothing(web, console):
    pid = await add(web)
    html = (await web.get(f"/providers/{pid}/edit", headers=LEAD.headers)).text
    (post_to,) = re.findall(r'action="(/providers/[^"]+/edit\?version=1)"', html)
    r = await web.put(f"/api/providers/{pid}", headers=LEAD.headers,
                      json=store.get(console.engine, pid).model_dump(mode="json", exclude={"provider_id", "version"})
                      | {"other_sections": {"voice": "Parents met the centre manager"}})
    assert r.status_code == 200 and r.json()["version"] == 2
    data = form_of(ProviderIn, ProviderIn.model_validate(store.get(console.engine, pid).model_dump(exclude={"provider_id", "version"})),
                   csrf_token=csrf_of(html))
    data["provider.name"] = "Renamed Over Theirs"
    r = await web.post(post_to, headers=LEAD.headers, data=data)
    assert r.status_code == 409 and "someone changed it meanwhile" in r.text
    assert store.get(console.engine, pid).version == 2 and store.get(console.engine, pid).provider.name != "Renamed Over Theirs"


async def test_the_vet_form_opens_from_a_current_record_and_refuses_one_expired_since(web, console):
    from domain.actions import Vet
    from tests.console.test_pages_http import keys_of

    pid = await add(web)
    placement = await place(web, pid)
    html = (await web.get(f"/placements/{placement}/actions/vet", headers=LEAD.headers)).text
    assert 'id="from-record"' in html and 'name="checklist.k.status" type="radio" value="seen" checked' in html
    record = store.get(console.engine, pid).model_dump(mode="json", exclude={"provider_id", "version"})
    record["insurance"]["employers_liability_expires_on"] = (today() - timedelta(days=2)).isoformat()
    assert (await web.put(f"/api/providers/{pid}", headers=LEAD.headers, json=record)).status_code == 200
    html = (await web.get(f"/placements/{placement}/actions/vet", headers=LEAD.headers)).text
    assert 'id="from-record"' not in html  # an expired record fills in nothing
    r = await web.post(f"/placements/{placement}/actions/vet", headers=LEAD.headers,
                       data=form_of(Vet, samples.vet(), **keys_of(html)))
    assert r.status_code == 409
    assert "employer&#39;s liability insurance expired on" in r.text and 'href="#insurance' in r.text
    snap = (await web.get(f"/api/placements/{placement}", headers=LEAD.headers)).json()
    assert snap["placement"]["state"] == "proposed"
