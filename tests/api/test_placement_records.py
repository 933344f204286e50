"""A kept-up placement: its workflow holds what its decisions read, the API
answers with every contact and step (read from the register)."""
from __future__ import annotations

import json
from datetime import timedelta

import httpx

from apflow import samples
from apflow.calendars import load_calendar
from apflow.settings import Settings
from domain import window
from workflows import client as placements

from tests.api.test_api import HEAD, LEAD, SCHOOL, act, get, history, last_school_day, propose, today, upload_copy, wait_for_state

CONTACTS = 300


async def test_300_contacts_leave_the_workflow_bounded_and_the_api_lists_them_all(api_stack, dev_env):
    cal = load_calendar(SCHOOL, Settings().calendars_dir)
    start = last_school_day(cal)
    notice_on = cal.add_school_days(start, -3)
    kinds = ["attendance_call"] * 4 + ["wellbeing"]
    async with httpx.AsyncClient(base_url=api_stack.url, timeout=30) as http:
        pid = (await propose(http, start))["placement"]["placement_id"]
        await act(http, pid, "vet", samples.vet(safeguarding_confirmation_received_on=notice_on))
        await act(http, pid, "consult_la", samples.consult_la(notice_on))
        await act(http, pid, "notify", samples.notify(notice_on, await upload_copy(http, pid)), HEAD)
        await wait_for_state(http, pid, "active")
        sizes = []
        for i in range(CONTACTS):
            on = min(start + timedelta(days=i // 10), today())
            answer = await act(http, pid, "record_contact", {"contact": {
                "kind": "visit" if i % 50 == 49 else kinds[i % 5], "on": on.isoformat(), "notes": f"contact {i}"}})
            # Each step's answer lists every contact so far, as before.
            assert len(answer["placement"]["contacts"]) == i + 1
            if i in (29, CONTACTS - 1):
                held = (await placements.snapshot(dev_env.client, pid)).placement
                sizes.append(len(json.dumps(held.model_dump(mode="json"))))
        held = (await placements.snapshot(dev_env.client, pid)).placement
        snap = await get(http, pid, LEAD)
        trail = await history(http, pid, LEAD)

    # The workflow's state is as large after 300 contacts as after 30.
    assert len(held.contacts) < 10 and len(held.history) <= window.HISTORY_KEPT + 5
    assert sizes[1] < sizes[0] * 1.2, sizes
    assert held.seq == CONTACTS + 5
    # The API's answer: every contact, in the order recorded, and the whole history.
    p = snap["placement"]
    assert [c["notes"] for c in p["contacts"]] == [f"contact {i}" for i in range(CONTACTS)]
    assert [h["seq"] for h in p["history"]] == list(range(1, CONTACTS + 6))
    assert [h["action"] for h in p["history"][:5]] == ["propose", "vet", "consult_la", "notify", "start"]
    assert {h["action"] for h in p["history"][5:]} == {"record_contact"}
    assert p["trimmed_history"] == 0
    assert [e["seq"] for e in trail] == list(range(1, CONTACTS + 6))
    # What the workflow holds is what the API shows of it.
    mine = {c.contact_id: c.model_dump(mode="json") for c in held.contacts}
    assert all(c == mine[c["contact_id"]] for c in p["contacts"] if c["contact_id"] in mine)
    assert p["history"][-len(held.history[-5:]):] == [h.model_dump(mode="json") for h in held.history[-5:]]
