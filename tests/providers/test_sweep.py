"""The daily providers' sweep on the real stack (dev server, worker,
register): a running placement whose provider's insurance expires within the
warning days, or has expired since it was proposed, gets an escalation to its
AP lead naming the clause; a current provider's gets none; a second sweep
raises nothing twice."""
from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from tests.api.test_api import LEAD, expect, get, today
from workflows.providers import ProviderSweepInput, ProviderSweepWorkflow

from .records import insurance
from .test_api import add, proposal_by_id


async def placed(http, provider_id: str) -> str:
    snap = expect(await http.post("/api/placements", headers=LEAD, json=proposal_by_id(provider_id)), 201)
    return snap["placement"]["placement_id"]


async def sweep(dev_env, task_queue: str):
    return await dev_env.client.execute_workflow(
        ProviderSweepWorkflow.run, ProviderSweepInput(day=today()), id=f"providers-sweep-test-{uuid.uuid4()}",
        task_queue=task_queue)


def of_providers(snap: dict) -> list[dict]:
    return [e for e in snap["placement"]["escalations"] if e["kind"].startswith("provider_")]


async def escalated(http, pid: str, wait_s: float = 15) -> list[dict]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while not (found := of_providers(await get(http, pid))):
        assert loop.time() < deadline, f"no provider escalation on {pid} within {wait_s} s"
        await asyncio.sleep(0.2)
    return found


async def test_the_sweep_escalates_to_the_ap_lead_ahead_of_time_and_once_expired(http, dev_env, api_stack):
    soon = await add(http, insurance=insurance(today() + timedelta(days=9)))
    lapsing = await add(http)
    fine = await add(http)
    at_soon, at_lapsing, at_fine = [await placed(http, p["provider_id"]) for p in (soon, lapsing, fine)]
    # The lapsing provider's cover ended yesterday, after its placement was proposed.
    record = {k: lapsing[k] for k in ("provider", "checklist", "insurance", "safeguarding_confirmation_received_on", "other_sections")}
    record["insurance"]["professional_negligence_expires_on"] = (today() - timedelta(days=1)).isoformat()
    expect(await http.put(f"/api/providers/{lapsing['provider_id']}", headers=LEAD, json=record), 200)

    report = await sweep(dev_env, api_stack.task_queue)
    assert report.providers >= 2 and report.signalled >= 4 and report.not_found == 0

    (ahead,) = await escalated(http, at_soon)
    assert ahead["kind"] == "provider_expiring" and ahead["owner"] == "ap_lead" and ahead["clause"] == "appendix: insurance"
    assert f"expires on {today() + timedelta(days=9)} (in 9 days)" in ahead["message"]
    assert ahead["escalation_id"].startswith(f"provider_expiring:{soon['provider_id']}:")
    (past,) = await escalated(http, at_lapsing)
    assert past["kind"] == "provider_expired" and "professional negligence insurance expired on" in past["message"]

    await sweep(dev_env, api_stack.task_queue)  # the same causes: nothing raised twice
    await asyncio.sleep(1)
    assert len(of_providers(await get(http, at_soon))) == 1 and len(of_providers(await get(http, at_lapsing))) == 1
    assert of_providers(await get(http, at_fine)) == []
    mine = expect(await http.get("/api/escalations", headers=LEAD, params={"owner": "ap_lead", "limit": 500}), 200)["items"]
    assert {e["placement_id"] for e in mine if e["kind"].startswith("provider_")} >= {at_soon, at_lapsing}


async def test_the_sweeps_schedule_follows_the_settings(dev_env):
    from datetime import time

    from domain.settings import ProviderSettings
    from workflows.providers import ensure_schedule

    task_queue = f"tq-{uuid.uuid4()}"
    sid = await ensure_schedule(dev_env.client, task_queue, ProviderSettings())
    try:
        await ensure_schedule(dev_env.client, task_queue, ProviderSettings(sweep_at=time(6, 45)))
        desc = await dev_env.client.get_schedule_handle(sid).describe()
        cal = desc.schedule.spec.calendars[0]
        assert desc.schedule.spec.time_zone_name == "Europe/London"
        assert (cal.hour[0].start, cal.minute[0].start, [(r.start, r.end) for r in cal.day_of_week]) == (6, 45, [(1, 5)])
        assert desc.schedule.action.workflow == "ProviderSweepWorkflow" and desc.schedule.action.task_queue == task_queue
    finally:
        await dev_env.client.get_schedule_handle(sid).delete()
