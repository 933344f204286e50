"""The demo against the real stack: it fills the trust's list of providers
and proposes its placements from it, so a fresh start shows a list with a
provider expiring soon and one that has expired; run again, it adds none twice."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from apflow import demo, demo_people
from apflow.settings import Settings
from tests.api.test_api import LEAD, OPS, expect, pages


async def test_the_demo_proposes_its_placements_from_the_providers_it_lists(api_stack, http):
    now = datetime.now(UTC)
    people = demo_people.ensure_people(api_stack.engine, now)
    tokens = demo_people.tokens_for(api_stack.engine, people, demo.ACTING, now)
    run = demo.Demo(api_stack.url, Settings().calendars_dir, {role: t.token for role, t in tokens.items()})
    made = await asyncio.to_thread(run.run)
    assert len(made) == 8

    listed = {p["name"]: p for p in await pages(http, "/api/providers", LEAD)}
    assert {"Bridgeway Learning Centre", "Northfield Pupil Referral Unit", "Riverside Outdoor Learning",
            "Hilltop Skills Hub"} <= set(listed)
    placements = await pages(http, "/api/placements", OPS)
    assert all(p["provider_name"] in listed for p in placements)
    at = {name: expect(await http.get(f"/api/providers/{p['provider_id']}", headers=LEAD), 200) for name, p in listed.items()}
    assert at["Hilltop Skills Hub"]["status"] == "expired" and at["Hilltop Skills Hub"]["placements"] == []
    assert at["Riverside Outdoor Learning"]["status"] == "expiring"
    assert sum(len(p["placements"]) for p in at.values()) == len(placements)
    soon = expect(await http.get("/api/providers/expiring", headers=LEAD), 200)
    assert [e["name"] for e in soon] == ["Riverside Outdoor Learning"]

    # The closed one has both evaluations, so its page shows the difference; the active one its visit.
    by_state = {p["state"]: p["placement_id"] for p in placements}
    closed = expect(await http.get(f"/api/placements/{by_state['closed']}/evaluations", headers=LEAD), 200)
    assert [(e["stage"], e["difference"]) for e in closed] == [("mid", None), ("end", 106 - 75)]
    active = expect(await http.get(f"/api/placements/{by_state['active']}", headers=LEAD), 200)["placement"]
    assert "visit" in [c["kind"] for c in active["contacts"]]

    await asyncio.to_thread(run.add_providers)  # a second demo finds them listed
    assert len(await pages(http, "/api/providers", LEAD)) == len(listed)
    demo_people.revoke(api_stack.engine, tokens, datetime.now(UTC))
