"""The three ways in, over one real stack (the API and console on uvicorn,
the dev server, a worker, a SQLite register): the JSON API for trust
operations only, `apflow ops` run as a process acting as a named account,
and the console page in Chromium, with its link in the navigation of trust
operations alone. A placement held in `proposed` past a limit of 0 days is
the stuck one here (its reason read from the register)."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
import httpx
import pytest_asyncio

from apflow.settings import Settings, SignInSettings
from console.api import create_app
from domain.settings import PolicySettings, StuckSettings
from store import accounts, register
from store.db import make_engine, migrate
from tests.api import test_api as api
from tests.api.conftest import serving
from tests.conftest import CODEC_KEY
from tests.console.conftest import LEAD, OPS, Stack, _accounts, browser, signed_in  # noqa: F401 (a fixture)
from tests.proxy import PROXY_SECRET
from worker import build_worker

STUCK = StuckSettings(state_days={"proposed": 0}, register_lag_minutes=0)


@pytest_asyncio.fixture(scope="module")
async def stack(ops_env, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ops")
    db = tmp / "register.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    settings = Settings(task_queue=f"tq-ops-{uuid.uuid4()}", var_dir=tmp / "var", database_url=f"sqlite:///{db}",
                        temporal_address=ops_env.client.service_client.config.target_host,
                        policy=PolicySettings(stuck=STUCK), signin=SignInSettings(trusted_proxy_secret=PROXY_SECRET))
    totp = _accounts(engine, [OPS, LEAD])
    app = create_app(settings, client=ops_env.client, engine=engine)
    try:
        async with build_worker(ops_env.client, settings.task_queue, engine, settings=settings), serving(app) as url:
            yield Stack(url, engine, settings, totp)
    finally:
        engine.dispose()


@pytest_asyncio.fixture
async def http(stack):
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as client:
        yield client


async def _proposed(http) -> str:
    return (await api.propose(http))["placement"]["placement_id"]


async def test_the_api_lists_and_fixes_for_trust_operations_only(http, stack):
    pid = await _proposed(http)
    r = await http.get("/api/operations/stuck", headers=OPS.headers)
    assert r.status_code == 200, r.text
    [here] = [s for s in r.json() if s["placement_id"] == pid]
    assert here["state"] == "proposed" and here["school_id"] == "137000" and here["actions"] == ["terminate"]
    assert [x["kind"] for x in here["reasons"]] == ["state_overdue"]

    refused = await http.get("/api/operations/stuck", headers=LEAD.headers)
    assert refused.status_code == 403 and "trust_operations" in refused.json()["detail"]
    assert (await http.post(f"/api/operations/placements/{pid}/terminate", headers=LEAD.headers,
                            json={"reason": "mine"})).status_code == 403
    nothing = await http.post(f"/api/operations/placements/{pid}/retry", headers=OPS.headers)
    assert nothing.status_code == 409 and "nothing of" in nothing.json()["detail"]
    no_reason = await http.post(f"/api/operations/placements/{pid}/terminate", headers=OPS.headers, json={})
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["detail"]
    assert (await http.post("/api/operations/placements/placement-nope/reset", headers=OPS.headers,
                            json={"reason": "x"})).status_code == 404
    assert (await http.post(f"/api/operations/placements/{pid}/explode", headers=OPS.headers)).status_code == 422

    done = await http.post(f"/api/operations/placements/{pid}/terminate", headers=OPS.headers,
                           json={"reason": "recorded on paper instead"})
    assert done.status_code == 200, done.text
    history = (await http.get(f"/api/placements/{pid}/history", headers=LEAD.headers)).json()
    [entry] = [e for e in history if e["action"] == "ops_terminate"]
    assert entry["actor_id"] == OPS.user and entry["actor_role"] == "trust_operations"
    assert "recorded on paper instead" in entry["note"]
    assert pid not in {s["placement_id"] for s in (await http.get("/api/operations/stuck", headers=OPS.headers)).json()}


def _ops(stack: Stack, *args: str) -> subprocess.CompletedProcess:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("APFLOW_")},
           "APFLOW_VAR_DIR": str(stack.settings.var_dir), "APFLOW_DATABASE_URL": stack.settings.database_url,
           "APFLOW_TEMPORAL_ADDRESS": stack.settings.temporal_address, "APFLOW_PAYLOAD_KEY": CODEC_KEY.decode(),
           "APFLOW_POLICY__STUCK__STATE_DAYS": json.dumps(STUCK.state_days)}
    return subprocess.run([sys.executable, "-m", "apflow", "ops", *args], env=env, capture_output=True, text=True,
                          timeout=300)  # a bound on a hung command, not a speed test


async def test_apflow_ops_lists_and_terminates_as_a_named_account(http, stack, ops_env):
    pid = await _proposed(http)
    listed = await asyncio.to_thread(_ops, stack, "stuck", "--as", OPS.email, "--json")
    assert listed.returncode == 0, listed.stderr
    [here] = [s for s in json.loads(listed.stdout) if s["placement_id"] == pid]
    assert "state_overdue" in {r["kind"] for r in here["reasons"]}, here
    table = await asyncio.to_thread(_ops, stack, "stuck", "--as", OPS.email)
    assert pid in table.stdout and "state_overdue" in table.stdout

    lead = await asyncio.to_thread(_ops, stack, "terminate", pid, "--as", LEAD.email, "--reason", "x")
    assert lead.returncode == 1 and "trust_operations" in lead.stderr
    bare = await asyncio.to_thread(_ops, stack, "terminate", pid, "--as", OPS.email)
    assert bare.returncode == 2 and "reason" in bare.stderr
    done = await asyncio.to_thread(_ops, stack, "terminate", pid, "--as", OPS.email, "--reason", "duplicate placement")
    assert done.returncode == 0, done.stderr
    [audit] = [e for e in register.audit_trail(stack.engine, pid) if e.action == "ops_terminate"]
    assert audit.actor_id == accounts.user_by_email(stack.engine, OPS.email).user_id  # the account named, not "cli"
    assert audit.actor_role == "trust_operations" and "duplicate placement" in audit.note
    again = await asyncio.to_thread(_ops, stack, "terminate", pid, "--as", OPS.email, "--reason", "again")
    assert again.returncode == 1 and "not running" in again.stderr


async def test_the_console_page_for_trust_operations_and_not_an_ap_lead(http, stack, browser):
    pid = await _proposed(http)
    page = await signed_in(browser, stack, OPS)
    await page.get_by_role("link", name="Stuck placements").click()
    await page.wait_for_url(f"{stack.url}/operations/stuck")
    card = page.locator(f"#stuck-{pid}")
    assert "State overdue" in await card.inner_text()
    form = card.locator(f"#fix-{pid}-terminate")
    async with page.expect_navigation():
        await form.get_by_role("button", name="Terminate").click()  # no reason: refused, nothing changed
    assert "say why" in await page.locator(".govuk-error-summary").inner_text()
    await page.locator(f"#fix-{pid}-terminate textarea").fill("placement withdrawn by the school")
    async with page.expect_navigation():
        await page.locator(f"#fix-{pid}-terminate").get_by_role("button", name="Terminate").click()
    assert "Terminated" in await page.locator(".govuk-notification-banner--success").inner_text()
    assert await page.locator(f"#stuck-{pid}").count() == 0
    await page.goto(f"/placements/{pid}")
    assert "placement withdrawn by the school" in await page.locator(".apflow-timeline").inner_text()
    # No script error nor refused load; only the refused form's own answer (422, as a step's).
    assert [p for p in page.problems if "status of 422" not in p] == []

    lead = await signed_in(browser, stack, LEAD)
    assert await lead.get_by_role("link", name="Stuck placements").count() == 0
    response = await lead.goto("/operations/stuck")
    assert response.status == 403 and "trust_operations" in await lead.locator("main").inner_text()
    # The school's own page no longer offers steps its workflow cannot take.
    await lead.goto(f"/placements/{pid}")
    assert "Trust operations ended this placement’s workflow" in await lead.locator(".govuk-warning-text").first.inner_text()
    assert await lead.locator(".apflow-step").count() == 0 and await lead.locator(".apflow-steps").count() == 0
