"""A placement whose workflow task keeps failing (here a broken release of
the workflow; after a Temporal restart, a task the restart cut off) is one
Temporal will not take an update for: FAILED_PRECONDITION "Workflow Task in
failed state" (`WorkflowNotReadyFailure`), wrapped in a
`MultiOperationExecutionFailure` for a proposal's update-with-start. Nothing
was recorded and a retry is safe, so the API answers 503 "outcome unknown:
safe to retry", never a 500; once the workflow can take it, the same key
does it once. A read meanwhile is the register's copy, marked stale."""
from __future__ import annotations

import asyncio
import uuid

import httpx

from apflow import samples
from apflow.settings import Settings
from console.api import create_app
from domain.calendar import default_calendar
from store.db import make_engine, migrate
from tests.api.conftest import serving
from tests.api.test_api import LEAD, expect, history, today
from tests.api.test_retries import UNKNOWN, key, proposal_json
from tests.operations.test_workflow_task_failing import NO_CACHE, broken_worker
from worker import build_worker

FAILING_WAIT_S = 30
RETRY_WAIT_S = 60
NOT_READY_ATTEMPTS = 3  # the server refuses updates from this workflow task attempt on


async def _failing(handle) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + FAILING_WAIT_S
    while (await handle.describe()).raw_description.pending_workflow_task.attempt < NOT_READY_ATTEMPTS:
        assert loop.time() < deadline, f"the workflow task did not fail {NOT_READY_ATTEMPTS} times"
        await asyncio.sleep(0.2)


async def _until_done(http: httpx.AsyncClient, path: str, headers: dict, body: dict, status: int) -> dict:
    """What a client does with a 503: the same request, with its key, again."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RETRY_WAIT_S
    while (r := await http.post(path, headers=headers, json=body)).status_code == 503:
        assert r.json() == UNKNOWN
        assert loop.time() < deadline, f"{path} still 503 after {RETRY_WAIT_S} s"
        await asyncio.sleep(0.5)
    return expect(r, status)


async def test_a_workflow_not_ready_for_an_update_is_503_and_the_retry_acts_once(dev_env, tmp_path):
    client = dev_env.client
    engine = make_engine(f"sqlite:///{tmp_path / 'register.db'}")
    migrate(engine)
    task_queue = f"tq-not-ready-{uuid.uuid4()}"
    app = create_app(Settings(task_queue=task_queue, var_dir=tmp_path / "var"), client=client, engine=engine)
    proposal, proposed_with = proposal_json(), {**LEAD, "Idempotency-Key": key()}
    vet, vetted_with = samples.vet().model_dump(mode="json", exclude_unset=True), {**LEAD, "Idempotency-Key": key()}
    try:
        async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
            async with build_worker(client, task_queue, engine, settings=NO_CACHE):
                pid = expect(await http.post("/api/placements", headers=proposed_with, json=proposal), 201)["placement"]["placement_id"]
            handle = client.get_workflow_handle(pid)
            async with broken_worker(client, task_queue):
                await handle.signal("calendar_changed", default_calendar("137000", today()))
                await _failing(handle)
                r = await http.post(f"/api/placements/{pid}/actions/vet", headers=vetted_with, json=vet)
                assert (r.status_code, r.json()) == (503, UNKNOWN)
                # Read meanwhile, the placement is the register's copy, said to be so.
                seen = expect(await http.get(f"/api/placements/{pid}", headers=LEAD), 200)
                assert seen["stale"] is True and seen["placement"]["state"] == "proposed"
                page = await http.get(f"/placements/{pid}", headers=LEAD)
                assert page.status_code == 200 and "this is the register’s copy" in page.text
                # The proposal sent again: update-with-start on the running workflow.
                r = await http.post("/api/placements", headers=proposed_with, json=proposal)
                assert (r.status_code, r.json()) == (503, UNKNOWN)
            async with build_worker(client, task_queue, engine, settings=NO_CACHE):  # the release rolled back
                path = f"/api/placements/{pid}/actions/vet"
                assert (await _until_done(http, path, vetted_with, vet, 200))["placement"]["state"] == "vetted"
                again = await _until_done(http, "/api/placements", proposed_with, proposal, 201)
                assert again["placement"]["placement_id"] == pid
                assert [e["action"] for e in await history(http, pid)] == ["propose", "vet"]
    finally:
        engine.dispose()
