"""A part of an evaluation asked for by email, on the real stack with the
letters in the outbox: each parent with an address gets a link of their own
and the provider its own; the part answered through one is recorded once;
the school's part, or a part recorded already, is not sent for."""
from __future__ import annotations

import re
from email import message_from_bytes, policy

import httpx

from apflow.calendars import load_calendar
from documents.delivery import safe_name
from store import documents as sent
from tests.api.test_api import HEAD, LEAD, act, expect, get
from tests.console.conftest import SCHOOL
from tests.console.conftest import LEAD as CONSOLE_LEAD
from tests.console.helpers import started_today, until

LINK = re.compile(r"https?://[^\s\"<]+/evaluation/([A-Za-z0-9_.-]+)")
JSON = {"Accept": "application/json"}


def requests_sent(engine, pid: str) -> list:
    return [d for d in sent.for_placement(engine, pid) if d.kind == "evaluation_request" and d.status == "sent"]


def token_in(console, row) -> str:
    eml = console.settings.var_dir / "outbox" / f"{safe_name(row.idempotency_key)}.eml"
    body = message_from_bytes(eml.read_bytes(), policy=policy.default).get_body(("html",)).get_content()
    (token,) = set(LINK.findall(body))
    assert token not in row.html  # the kept copy names the link, never its token
    return token


async def test_a_parents_part_asked_for_by_email_is_answered_through_its_link(console):
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as http:
        pid = await started_today(http, load_calendar(SCHOOL, console.settings.calendars_dir), "Ellis Emailed")
        await act(http, pid, "request_evaluation", {"stage": "mid", "part": "parent"})
        await until(lambda: len(requests_sent(console.engine, pid)) == 1)
        (letter,) = requests_sent(console.engine, pid)
        assert letter.recipient_role == "parent" and "mid-placement evaluation" in letter.subject
        token = token_in(console, letter)

        asked = expect(await http.get(f"/evaluation/{token}", headers=JSON), 200)
        assert (asked["stage"], asked["part"]) == ("mid", "parent")
        expect(await http.post(f"/evaluation/{token}", json={"scores": [5, 4, 4, 3, 5], "signed_by": "Chris Example"}), 200)
        parent = (await get(http, pid))["placement"]["evaluations"][0]["parent"]
        assert parent["scores"] == [5, 4, 4, 3, 5] and parent["recorded_by"]["role"] == "parent"

        # Recorded: not sent for again, and nothing changes.
        refused = await act(http, pid, "request_evaluation", {"stage": "mid", "part": "parent"}, status=409)
        assert "recorded already" in refused["detail"]["unmet"][0]["message"]
        # The school's part is its staff's to complete.
        refused = await act(http, pid, "request_evaluation", {"stage": "mid", "part": "school"}, HEAD, status=409)
        assert refused["detail"]["unmet"][0]["clause"] == "appendix: evaluation"
        assert len((await get(http, pid))["placement"]["evaluation_requests"]) == 1


async def test_the_providers_part_goes_to_the_provider_and_the_page_offers_to_send_it(console):
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as http:
        pid = await started_today(http, load_calendar(SCHOOL, console.settings.calendars_dir), "Pat Provided")
        page = (await http.get(f"/placements/{pid}", headers=CONSOLE_LEAD.headers)).text
        assert page.count('action="/placements/' + pid + '/actions/request_evaluation"') == 6  # pupil, parent, provider; mid and end
        # The page's own button for the end evaluation's provider report, posted as a browser posts it.
        form = re.search(r'<form method="post" action="/placements/[^"]+/actions/request_evaluation"[^>]*>(?:(?!</form>).)*'
                         r'name="stage" value="end">\s*<input type="hidden" name="part" value="provider">.*?</form>', page, re.S)
        fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form.group(0)))
        r = await http.post(f"/placements/{pid}/actions/request_evaluation", headers=CONSOLE_LEAD.headers, data=fields)
        assert r.status_code == 303, r.text[:2000]
        await until(lambda: len(requests_sent(console.engine, pid)) == 1)
        (letter,) = requests_sent(console.engine, pid)
        assert letter.recipient_role == "provider"
        asked = expect(await http.get(f"/evaluation/{token_in(console, letter)}", headers=JSON), 200)
        assert (asked["stage"], asked["part"]) == ("end", "provider") and len(asked["statements"]) == 6
        page = (await http.get(f"/placements/{pid}", headers=CONSOLE_LEAD.headers)).text
        assert "Asked for by email on" in page
