"""A placement's links in the console over real HTTP, against the real stack:
a link given to the provider by hand (shown once, working), withdrawn from
the page (refused from then on), and who may not do either."""
from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import httpx
import pytest_asyncio

from apflow import samples
from apflow.calendars import load_calendar
from console.pages.links import purpose_words
from domain.clock import uk_instant
from store import documents as sent
from tests.api.test_api import body

from .conftest import LEAD, OTHER_LEAD, Person
from .helpers import started_today, today
from .test_pages_http import csrf_of, get, key_of, propose, proposal

GOVERNOR = Person("governor-137000", "read_only")


@pytest_asyncio.fixture(scope="module")
async def active(console) -> str:
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as api_http:
        return await started_today(api_http, load_calendar(samples.SCHOOL.school_id, console.settings.calendars_dir),
                                   "Lee Linked")


def links_of(console, pid: str) -> list[tuple[str, str, object]]:
    return [(x.link_id, x.purpose, x.revoked_at) for x in sent.links_for(console.engine, pid)]


def row_of(page: str, link_id: str) -> str:
    return re.search(rf'<tr class="govuk-table__row" id="link-{link_id}">(.*?)</tr>', page, re.S).group(1)


async def test_a_link_given_by_hand_is_shown_once_works_and_stops_once_withdrawn(http, console, active):
    pid = active
    placement = await get(http, f"/placements/{pid}", LEAD)
    assert f'href="/placements/{pid}/links"' in placement and "give the provider a new one" in placement
    page = await get(http, f"/placements/{pid}/links", LEAD)
    before = links_of(console, pid)
    assert before, "the provider's letters went with no link"
    for link_id, purpose, _ in before:  # the letters' own links, each with the letter it went in
        assert purpose_words(purpose) in row_of(page, link_id) and "In the letter" in row_of(page, link_id)

    r = await http.post(f"/placements/{pid}/links", headers=LEAD.headers,
                        data={"csrf_token": csrf_of(page), "purpose": "attendance", "valid_days": "7"})
    assert r.status_code == 200, r.text[:2000]
    (url,) = re.findall(r'id="link-url" type="text" readonly value="([^"]+)"', r.text)
    token = url.rsplit("/", 1)[-1]
    (new,) = [x for x in sent.links_for(console.engine, pid) if x.link_id not in {b[0] for b in before}]
    assert (new.purpose, new.issued_by) == ("attendance", LEAD.user)
    # Seven days: to the end of the seventh day after today in England, as a letter's link works to a day's end.
    assert new.expires_at == uk_instant(today() + timedelta(days=7), time(23, 59))
    assert (await http.get(f"/provider/{token}")).status_code == 200  # the provider's page opens
    listed = await get(http, f"/placements/{pid}/links", LEAD)
    assert url not in listed and token not in listed  # shown that once, kept nowhere
    assert "Works until" in row_of(listed, new.link_id) and "Withdraw" in row_of(listed, new.link_id)

    r = await http.post(f"/placements/{pid}/links/{new.link_id}/withdraw", headers=LEAD.headers,
                        data={"csrf_token": csrf_of(listed)})
    assert r.status_code == 303 and r.headers["location"] == f"/placements/{pid}/links?withdrawn={new.link_id}#links"
    assert (await http.get(f"/provider/{token}")).status_code == 410
    after = await get(http, r.headers["location"].split("#")[0], LEAD)
    assert "Link withdrawn: it no longer opens." in after
    assert "Withdrawn" in row_of(after, new.link_id) and "Withdraw</button>" not in row_of(after, new.link_id)


def url_in(html: str) -> str:
    (url,) = re.findall(r'id="(?:evaluation-)?link-url" type="text" readonly value="([^"]+)"', html)
    return url


async def test_a_link_form_sent_again_shows_the_link_it_made_and_gives_no_second(http, console, active):
    pid = active
    page = await get(http, f"/placements/{pid}/links", LEAD)
    form = {"csrf_token": csrf_of(page), "idempotency_key": key_of(page), "purpose": "final_report", "valid_days": "5"}
    before = links_of(console, pid)
    first = await http.post(f"/placements/{pid}/links", headers=LEAD.headers, data=form)
    again = await http.post(f"/placements/{pid}/links", headers=LEAD.headers, data=form)  # the browser's reload
    assert (first.status_code, again.status_code) == (200, 200)
    assert url_in(again.text) == url_in(first.text)
    (made,) = links_of(console, pid)[len(before):]
    assert made[1] == "final_report"
    assert key_of(first.text) != form["idempotency_key"]  # the page's next form makes a link of its own
    other = await http.post(f"/placements/{pid}/links", headers=LEAD.headers, data={**form, "idempotency_key": key_of(first.text)})
    assert url_in(other.text) != url_in(first.text) and len(links_of(console, pid)) == len(before) + 2

    r = await http.post(f"/placements/{pid}/links/{made[0]}/withdraw", headers=LEAD.headers, data={"csrf_token": form["csrf_token"]})
    assert r.status_code == 303
    late = await http.post(f"/placements/{pid}/links", headers=LEAD.headers, data=form)
    assert late.status_code == 409 and "The link this form made was withdrawn: make a new one" in late.text
    assert 'id="link-url"' not in late.text and len(links_of(console, pid)) == len(before) + 2

    # The API's retry with the same Idempotency-Key: the first link again; another key, another link.
    ask = lambda key: http.post(f"/api/placements/{pid}/links", json={"purpose": "attendance", "valid_days": 3},  # noqa: E731
                                headers={**LEAD.headers, "Idempotency-Key": key})
    one, two, three = await ask("links-1"), await ask("links-1"), await ask("links-2")
    assert [r.status_code for r in (one, two, three)] == [201, 201, 201]
    assert one.json() == two.json() and three.json()["link_id"] != one.json()["link_id"]
    assert len(links_of(console, pid)) == len(before) + 4


async def test_an_evaluations_link_made_again_by_its_button_is_the_same_link(http, console, active):
    pid = active
    placement = await get(http, f"/placements/{pid}", LEAD)
    action = f"/placements/{pid}/evaluations/mid/provider/link"
    (form,) = re.findall(rf'<form method="post" action="{action}" novalidate>(.*?)</form>', placement, re.S)
    data = {"csrf_token": csrf_of(form), "idempotency_key": key_of(form)}
    before = links_of(console, pid)
    first = await http.post(action, headers=LEAD.headers, data=data)
    again = await http.post(action, headers=LEAD.headers, data=data)
    assert (first.status_code, again.status_code) == (200, 200), again.text[:1500]
    assert url_in(again.text) == url_in(first.text)
    assert [x[1] for x in links_of(console, pid)[len(before):]] == ["evaluation_mid_provider"]


async def test_a_link_asked_for_wrongly_is_refused_beside_its_field_and_none_is_given(http, console, active):
    pid = active
    page = await get(http, f"/placements/{pid}/links", LEAD)
    before = links_of(console, pid)
    for data, said in (({}, "Choose what the link is for"),
                       ({"purpose": "attendance", "valid_days": "0"}, "Days it works for must be 1 or more"),
                       ({"purpose": "attendance", "valid_days": "367"}, "Days it works for must be 366 or less"),
                       ({"purpose": "review_views", "valid_days": "7"}, "Choose one of the options"),  # not given by hand
                       ({"purpose": "anything", "valid_days": "7"}, "Choose one of the options")):
        r = await http.post(f"/placements/{pid}/links", headers=LEAD.headers, data={"csrf_token": csrf_of(page), **data})
        assert r.status_code == 422, (data, r.status_code)
        assert "There is a problem" in r.text and said in r.text, (data, re.findall(r'govuk-error-message">(.*?)</', r.text, re.S))
        assert 'id="link-url"' not in r.text
    assert links_of(console, pid) == before


async def test_who_may_not_manage_links_sees_them_and_is_refused_and_another_school_finds_nothing(http, console, active):
    pid = active
    lead_page = await get(http, f"/placements/{pid}/links", LEAD)
    r = await http.post(f"/placements/{pid}/links", headers=LEAD.headers,
                        data={"csrf_token": csrf_of(lead_page), "purpose": "progress_report", "valid_days": "7"})
    assert r.status_code == 200
    before = links_of(console, pid)
    live = [link_id for link_id, _, revoked in before if revoked is None][-1]

    seen = await get(http, f"/placements/{pid}/links", GOVERNOR)
    assert 'id="link-form"' not in seen and "Withdraw</button>" not in seen and live in seen
    governor_csrf = csrf_of(await get(http, "/placements", GOVERNOR))
    r = await http.post(f"/placements/{pid}/links", headers=GOVERNOR.headers,
                        data={"csrf_token": governor_csrf, "purpose": "attendance", "valid_days": "7"})
    assert r.status_code == 403 and "You cannot give or withdraw links" in r.text
    r = await http.post(f"/placements/{pid}/links/{live}/withdraw", headers=GOVERNOR.headers, data={"csrf_token": governor_csrf})
    assert r.status_code == 403

    await get(http, f"/placements/{pid}/links", OTHER_LEAD, status=404)
    other_csrf = csrf_of(await get(http, "/placements", OTHER_LEAD))
    r = await http.post(f"/placements/{pid}/links/{live}/withdraw", headers=OTHER_LEAD.headers, data={"csrf_token": other_csrf})
    assert r.status_code == 404
    # Without the session's CSRF field, even the AP lead's withdrawal is refused.
    r = await http.post(f"/placements/{pid}/links/{live}/withdraw", headers=LEAD.headers, data={"csrf_token": "forged"})
    assert r.status_code == 403
    # A link of another placement is not this one's to withdraw.
    r = await http.post(f"/placements/{pid}/links/lnk-not-this-placements/withdraw", headers=LEAD.headers,
                        data={"csrf_token": csrf_of(lead_page)})
    assert r.status_code == 404
    assert links_of(console, pid) == before


async def test_an_ended_placement_gives_no_new_link_and_says_why(http, console):
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as api_http:
        pid = await started_today(api_http, load_calendar(samples.SCHOOL.school_id, console.settings.calendars_dir),
                                  "Ash Ended")
        r = await api_http.post(f"/api/placements/{pid}/actions/terminate", headers=LEAD.headers,
                                json=body(samples.terminate(today())))
        assert r.status_code == 200, r.text
    page = await get(http, f"/placements/{pid}/links", LEAD)
    assert 'id="link-form"' not in page and "The placement has ended: no new link is given." in page
    # The page has a form only while a link still works (and a letter sent as
    # the placement started may yet be): the session's CSRF field from the list.
    r = await http.post(f"/placements/{pid}/links", headers=LEAD.headers,
                        data={"csrf_token": csrf_of(await get(http, "/placements", LEAD)), "purpose": "attendance", "valid_days": "7"})
    assert r.status_code == 409 and "its provider is asked for nothing more" in r.text
    assert [x for x in sent.links_for(console.engine, pid) if x.issued_by == LEAD.user] == []


async def test_every_working_link_is_listed_and_only_the_latest_of_those_that_no_longer_work(http, console):
    """A year of attendance chases gives a link for every day missed: the page
    keeps every link that still works, and the latest 20 of the rest."""
    pid = await propose(http, proposal())
    now = datetime.now(UTC)
    for i in range(25):  # expired a day each, the oldest first
        sent.add_link(console.engine, f"lnk-spent-{i:02d}", pid, "attendance", now - timedelta(days=30 - i),
                      now - timedelta(days=60 - i), LEAD.user)
    sent.add_link(console.engine, "lnk-still-works", pid, "progress_report", now + timedelta(days=300),
                  now - timedelta(days=90), LEAD.user)  # given before all of them
    page = await get(http, f"/placements/{pid}/links", LEAD)
    listed = re.findall(r'id="link-(lnk-[a-z0-9-]+)"', page)
    assert listed == [f"lnk-spent-{i:02d}" for i in range(24, 4, -1)] + ["lnk-still-works"]
    assert "5 older ones that no longer work are not shown" in page
