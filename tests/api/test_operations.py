"""Operations over HTTP: escalations across placements, and term dates
pushed to running placements."""
from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime, timezone

from apflow import samples
from domain.calendar import default_calendar
from domain.guards import Context
from domain.lifecycle import propose as propose_placement
from domain.models import Actor, Placement, Role
from store import register
from workflows.placement import PlacementInput, PlacementWorkflow
from tests.api.test_api import HEAD, LEAD, OPS, OTHER_LEAD, act, expect, headers, pages, propose

DSL = headers("dsl-137000", Role.dsl)


async def escalations(http, who=OPS, **params) -> list[dict]:
    return await pages(http, "/api/escalations", who, **params)


async def wait_for_escalation(http, pid: str, kind: str) -> dict:
    for _ in range(100):
        found = [e for e in await escalations(http) if e["placement_id"] == pid and e["kind"] == kind]
        if found:
            return found[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {kind} escalation on {pid}")


async def test_a_safeguarding_concern_is_escalated_to_the_dsl_at_once_and_resolved_with_a_note(http):
    pid = (await propose(http))["placement"]["placement_id"]
    await act(http, pid, "raise_concern", {"action": "raise_concern", "summary": "Pupil reports threats at the provider"})

    e = await wait_for_escalation(http, pid, "safeguarding")
    assert (e["owner"], e["clause"], e["resolved_at"]) == ("dsl", "§9.7", None)
    assert pid in {x["placement_id"] for x in await escalations(http, DSL, owner="dsl")}
    assert pid not in {x["placement_id"] for x in await escalations(http, OTHER_LEAD)}
    assert pid not in {x["placement_id"] for x in await escalations(http, owner="headteacher")}

    # Resolving needs a note, and keeps the record.
    expect(await http.post(f"/api/placements/{pid}/actions/resolve_escalation", headers=DSL,
                           json={"action": "resolve_escalation", "escalation_id": e["escalation_id"]}), 422)
    snap = await act(http, pid, "resolve_escalation",
                     {"action": "resolve_escalation", "escalation_id": e["escalation_id"], "note": "Provider's DSL met; concern addressed"}, who=DSL)
    resolved = [x for x in snap["placement"]["escalations"] if x["escalation_id"] == e["escalation_id"]][0]
    assert resolved["resolution"] == "Provider's DSL met; concern addressed" and resolved["resolved_by"]["user_id"] == "dsl-137000"
    assert pid not in {x["placement_id"] for x in await escalations(http)}
    assert pid in {x["placement_id"] for x in await escalations(http, open="false")}

    # Resolving it twice is refused, naming why.
    again = await http.post(f"/api/placements/{pid}/actions/resolve_escalation", headers=DSL,
                            json={"action": "resolve_escalation", "escalation_id": e["escalation_id"], "note": "again"})
    assert "resolved already" in expect(again, 409)["detail"]["unmet"][0]["message"]


async def test_staff_without_a_school_and_providers_see_no_escalations(http):
    expect(await http.get("/api/escalations", headers=headers("x", Role.ap_lead, None)), 403)
    expect(await http.get("/api/escalations", headers=headers("lnk-1", Role.provider)), 403)


async def test_reloading_a_schools_calendar_reaches_its_running_placements(http):
    pid = (await propose(http))["placement"]["placement_id"]
    r = expect(await http.post("/api/schools/137000/calendar/reload", headers=OPS), 200)
    assert r["school_id"] == "137000" and r["placements_told"] >= 1
    expect(await http.post("/api/schools/137000/calendar/reload", headers=OTHER_LEAD), 403)
    expect(await http.post("/api/schools/137000/calendar/reload", headers=HEAD), 200)
    expect(await http.get(f"/api/placements/{pid}", headers=LEAD), 200)


async def test_a_reload_skips_a_workflow_that_has_ended_and_counts_the_rest(http, dev_env):
    ended = (await propose(http))["placement"]["placement_id"]
    running = (await propose(http))["placement"]["placement_id"]
    # The workflow stopped outside apflow (an operator, retention): its register row still says proposed.
    await dev_env.client.get_workflow_handle(ended).terminate(reason="test: stopped outside apflow")
    for path in ("/api/schools/137000/calendar/reload", "/api/schools/137000/directory/reload"):
        r = expect(await http.post(path, headers=OPS if "calendar" in path else LEAD), 200)
        listed = expect(await http.get("/api/placements", params={"limit": 500}, headers=OPS), 200)["items"]
        open_rows = [p for p in listed if p["school_id"] == "137000" and p["state"] not in ("closed", "terminated")]
        assert r["placements_told"] == len(open_rows) - 1, (path, r)
    expect(await http.get(f"/api/placements/{running}", headers=LEAD), 200)


async def placement_nobody_polls(client, engine, task_queue: str) -> str:
    """A proposed placement in the register whose workflow runs on
    `task_queue`, where no worker polls until a test starts one: until then
    it can never answer a query."""
    lead = Actor(user_id="aplead-137000", role=Role.ap_lead, school_id="137000")
    cal = default_calendar("137000", date.today())
    start = cal.add_school_days(date.today(), 15)
    p = propose_placement(Placement(placement_id=f"placement-{uuid.uuid4()}", **samples.proposal(start).model_dump()),
                          Context(today=date.today(), calendar=cal, actor=lead), datetime.now(timezone.utc))
    await client.start_workflow(PlacementWorkflow.run, PlacementInput(placement=p, calendar=cal),
                                id=p.placement_id, task_queue=task_queue)
    register.project(engine, p, None)
    return p.placement_id


async def test_a_placement_whose_workflow_does_not_answer_is_shown_from_the_register_marked_stale(http, api_stack, dev_env):
    pid = await placement_nobody_polls(dev_env.client, api_stack.engine, f"nobody-{uuid.uuid4()}")
    snap = expect(await http.get(f"/api/placements/{pid}", headers=LEAD), 200)
    assert snap["stale"] is True and snap["placement"]["state"] == "proposed"
    await dev_env.client.get_workflow_handle(pid).terminate(reason="test done")
