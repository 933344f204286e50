"""`/metrics` scraped as Prometheus would, from the real service: uvicorn,
the Temporal dev server, a worker and a register of this module's own, after
placements have moved. Each series has the register's values; a scrape
without the monitoring's token is refused, whoever else it names."""
from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import WorkflowExecutionStatus

from apflow import samples
from apflow.settings import Settings
from console.api import create_app
from domain.access import Grant
from domain.models import Placement, Role
from operations.stuck import count as count_stuck
from store import accounts, documents, register
from store.db import make_engine, migrate
from tests.api.conftest import serving
from tests.api.test_api import LEAD, OPS, SCHOOL, act, headers, propose
from worker import build_worker

TOKEN = "metrics-" + uuid.uuid4().hex
SCRAPE = {"Authorization": f"Bearer {TOKEN}"}
WAIT_S = 30
DSL = headers("dsl-137000", Role.dsl)


@pytest_asyncio.fixture(scope="module")
async def stack(dev_env, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("metrics")
    engine = make_engine(f"sqlite:///{tmp / 'register.db'}")
    migrate(engine)
    settings = Settings(task_queue=f"tq-metrics-{uuid.uuid4()}", var_dir=tmp / "var", metrics_token=TOKEN)
    app = create_app(settings, client=dev_env.client, engine=engine)
    try:
        async with build_worker(dev_env.client, settings.task_queue, engine), serving(app) as url:
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                yield app, engine, settings, http
    finally:
        engine.dispose()


def samples_of(text: str) -> dict[str, dict[tuple, float]]:
    """Each metric's samples by their labels, as Prometheus parses the page."""
    found: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return found


async def scrape(http) -> dict[str, dict[tuple, float]]:
    r = await http.get("/metrics", headers=SCRAPE)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return samples_of(r.text)


async def letters_settled(engine, pids: list[str]) -> list:
    """The placements' letters once none is still being sent."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while True:
        rows = [d for pid in pids for d in documents.for_placement(engine, pid)]
        if rows and all(d.status != documents.SENDING for d in rows):
            return rows
        assert loop.time() < deadline, [(d.kind, d.status) for d in rows]
        await asyncio.sleep(0.2)


async def test_each_series_has_the_registers_values_after_placements_move(stack):
    app, engine, settings, http = stack
    proposed = (await propose(http))["placement"]["placement_id"]
    vetted = (await propose(http))["placement"]["placement_id"]
    await act(http, vetted, "vet", samples.vet())
    await act(http, vetted, "raise_concern", {"action": "raise_concern", "summary": "Pupil reports threats at the provider"})
    # A placement whose deadline has passed, projected as its workflow would.
    late = Placement(placement_id=f"placement-{uuid.uuid4()}", **samples.proposal(date(2026, 1, 12)).model_dump())
    register.project(engine, late, date(2026, 1, 5))
    letters = await letters_settled(engine, [vetted])

    m = await scrape(http)
    school = ("school_id", SCHOOL)
    assert m["apflow_placements"] == {(("school_id", SCHOOL), ("state", "proposed")): 2,
                                      (("school_id", SCHOOL), ("state", "vetted")): 1}, m["apflow_placements"]
    assert {proposed, vetted} <= {r.placement_id for r in register.search(engine)}
    assert m["apflow_placements_overdue"] == {(school,): 1}
    assert m["apflow_escalations_open"] == {(("owner_role", "dsl"), school): 1}
    expected_letters: dict[tuple, float] = {}
    for d in letters:
        key = (("kind", d.kind), ("status", d.status))
        expected_letters[key] = expected_letters.get(key, 0) + 1
    assert m["apflow_letters"] == expected_letters and (("kind", "staff_escalation"), ("status", "sent")) in expected_letters
    # The API counts stuck placements as operations lists them: the late one, whose deadline passed unescalated.
    stuck_now = await count_stuck(app.state.client, engine, settings.policy.stuck)
    assert stuck_now >= 1 and m["apflow_placements_stuck"] == {(): stuck_now}

    # Resolving the escalation takes it off the count at the next scrape.
    e = [x for x in (await http.get("/api/escalations", headers=OPS)).json()["items"] if x["placement_id"] == vetted][0]
    await act(http, vetted, "resolve_escalation", {"action": "resolve_escalation", "escalation_id": e["escalation_id"],
                                                   "note": "Provider's DSL met; concern addressed"}, who=DSL)
    assert "apflow_escalations_open" not in await scrape(http)


async def test_the_stuck_count_is_what_the_hook_answers_given_the_apis_temporal_client(stack):
    app, engine, settings, http = stack
    pids = [(await propose(http))["placement"]["placement_id"] for _ in range(2)]
    await (app.state.client.get_workflow_handle(pids[0])).terminate(reason="test: as if stuck and stopped")
    asked = []

    async def count_running(client) -> int:  # asks Temporal, through the client the API holds
        asked.append(client)
        statuses = [(await client.get_workflow_handle(pid).describe()).status for pid in pids]
        return sum(s is WorkflowExecutionStatus.RUNNING for s in statuses)

    async def broken(client) -> int:
        raise RuntimeError("Temporal unreachable")

    wired, app.state.count_stuck = app.state.count_stuck, count_running
    try:
        assert (await scrape(http))["apflow_placements_stuck"] == {(): 1}
        assert asked == [app.state.client]
        app.state.count_stuck = broken  # the register's series still answer; the stuck one is absent
        m = await scrape(http)
        assert "apflow_placements_stuck" not in m and m["apflow_placements"]
    finally:
        app.state.count_stuck = wired


async def test_a_scrape_without_the_monitorings_token_is_refused_whoever_it_names(stack, tmp_path):
    app, engine, settings, http = stack
    staff = accounts.add_user(engine, f"{uuid.uuid4().hex[:8]}@staff.example", "Ops", datetime.now(UTC)).user_id
    accounts.add_grant(engine, staff, Grant(Role.trust_operations))
    token = accounts.create_token(engine, staff, "t", datetime.now(UTC), timedelta(days=1)).token
    session = accounts.open_session(engine, staff, "password", datetime.now(UTC), timedelta(hours=1))
    for headers in ({}, {"Authorization": "Bearer not-it"}, {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"},
                    {"Authorization": f"Bearer {token}"}, {"Cookie": f"apflow_session={session.cookie}"}, OPS, LEAD):
        r = await http.get("/metrics", headers=headers)
        assert r.status_code == 401, (headers, r.status_code, r.text)
        assert r.headers["www-authenticate"].startswith("Bearer") and "apflow_" not in r.text

    off = create_app(Settings(var_dir=tmp_path / "var"), client=app.state.client, engine=engine)
    async with serving(off) as url, httpx.AsyncClient(base_url=url) as bare:
        for headers in ({}, SCRAPE):
            r = await bare.get("/metrics", headers=headers)
            assert r.status_code == 403 and "APFLOW_METRICS_TOKEN" in r.text and "apflow_" not in r.text.replace(
                "APFLOW_METRICS_TOKEN", "")
