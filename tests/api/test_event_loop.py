"""The event loop never waits on the register (issue 8, "The event loop
blocks on the database"): with the database stuck or its write lock held by
another process, the requests that need it wait in threads while /healthz
answers within its second and a request that needs no database answers at once.

The API is served by uvicorn on this test's event loop; what is measured is
measured from other threads, whose clocks keep running while a blocked loop
would answer nobody.
"""
from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import create_engine

from apflow import samples
from apflow.settings import Settings
from console.api import HEALTH_WAIT_S, create_app
from documents import LinkPurpose, issue_link
from store import documents as sent
from store import register
from store.db import make_engine, migrate
from tests.api.conftest import serving
from tests.attendance.conftest import active_placement
from tests.proxy import as_staff

LEAD = as_staff("aplead-137000", "ap_lead", "137000")
OPS = as_staff("ops-1", "trust_operations")
HELD_S = 2.0  # how long the register stays stuck while the loop is watched
# What a request that needs no database may take meanwhile, on a busy shared
# machine; a blocked loop would hold it for the pool's wait (10 s) or the
# write lock's (10 s) at least, once per request waiting.
QUICK_S = 1.5
HEALTH_S = HEALTH_WAIT_S + QUICK_S  # /healthz gives the database its second, then says so


def timed(url: str, path: str, headers: dict | None = None) -> tuple[httpx.Response, float]:
    """One GET from a thread of its own: how long it really took."""
    started = time.monotonic()
    r = httpx.get(url + path, headers=headers or {}, timeout=30)
    return r, time.monotonic() - started


def fire(pool: ThreadPoolExecutor, url: str, calls: list[tuple[str, str, dict | None]], headers: dict) -> list:
    def one(method: str, path: str, body) -> httpx.Response:
        return httpx.request(method, url + path, headers=headers, json=body, timeout=60)

    return [pool.submit(one, *c) for c in calls]


def db_bound(pid: str) -> list[tuple[str, str, dict | None]]:
    """A request at every route that reads or writes the register."""
    # Starting in the past: refused by the policy once its overlaps are read, so no workflow is started.
    proposal = samples.proposal(datetime.now(UTC).date() - timedelta(days=30)).model_dump(mode="json")
    return [
        ("GET", f"/api/placements/{pid}", None),
        ("GET", f"/api/placements/{pid}/history", None),
        ("GET", "/api/placements", None),
        ("GET", "/api/escalations", None),
        ("POST", f"/api/placements/{pid}/actions/vet", samples.vet().model_dump(mode="json", exclude_unset=True)),
        ("POST", "/api/placements", proposal),
        ("POST", "/api/schools/137000/calendar/reload", None),
        ("POST", "/api/schools/137000/directory/reload", None),
        ("GET", f"/api/placements/{pid}/documents", None),
    ]


async def test_a_stuck_register_holds_up_only_the_requests_that_need_it(dev_env, tmp_path):
    """Every connection of the register's pool is taken (the database answers
    nobody): each request that needs it waits, and nothing else does."""
    engine = create_engine(f"sqlite:///{tmp_path / 'r.db'}", pool_size=1, max_overflow=0, pool_timeout=10)
    migrate(engine)
    app = create_app(Settings(var_dir=tmp_path / "var", task_queue="unused", api_wait_s=2), client=dev_env.client, engine=engine)
    async with serving(app) as url:
        with ThreadPoolExecutor(max_workers=16) as pool:
            held = engine.connect()
            try:
                waiting = fire(pool, url, db_bound(f"placement-{uuid.uuid4()}"), LEAD)
                await asyncio.sleep(0.3)  # each is at its database call now
                health, health_s = await asyncio.to_thread(timed, url, "/healthz")
                chart, chart_s = await asyncio.to_thread(timed, url, "/api/lifecycle", LEAD)
                await asyncio.sleep(max(0.0, HELD_S - health_s - chart_s))
                still_waiting = sum(not f.done() for f in waiting)
            finally:
                held.close()
            answers = [await asyncio.wrap_future(f) for f in waiting]
    engine.dispose()

    assert health_s < HEALTH_S, f"/healthz took {health_s:.1f} s with the register stuck"
    assert health.status_code == 503 and health.json()["database"] == "error: no answer within 1 s", health.text
    assert chart.status_code == 200 and chart_s < QUICK_S, f"/api/lifecycle took {chart_s:.1f} s"
    assert still_waiting == len(waiting), "a request that needs the register answered while it was stuck"
    assert [a.status_code for a in answers if a.status_code >= 500 and a.status_code != 503] == [], \
        [(a.request.url.path, a.status_code, a.text) for a in answers]


async def test_the_write_lock_held_elsewhere_holds_up_no_other_request(dev_env, tmp_path):
    """Another process holds SQLite's write lock (BEGIN IMMEDIATE), as a
    backup or a long migration would: providers' answers, which must write,
    wait for it in threads; the loop goes on answering."""
    path = tmp_path / "r.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    settings = Settings(var_dir=tmp_path / "var", task_queue="unused", api_wait_s=2, link_secret="test-link-secret")
    placement = active_placement(datetime.now(UTC).date())
    register.project(engine, placement, None)
    now = datetime.now(UTC)
    tokens = []
    for n in range(4):
        link_id = f"lnk-{uuid.uuid4().hex[:24]}"
        sent.add_link(engine, link_id, placement.placement_id, LinkPurpose.progress_report.value, now + timedelta(days=7), now, "test")
        tokens.append(issue_link(settings.link_secrets, placement.placement_id, LinkPurpose.progress_report, now + timedelta(days=7), link_id))
    app = create_app(settings, client=dev_env.client, engine=engine)
    async with serving(app) as url:
        with ThreadPoolExecutor(max_workers=8) as pool:
            lock = sqlite3.connect(path, isolation_level=None)
            lock.execute("BEGIN IMMEDIATE")
            try:
                answers = [pool.submit(httpx.post, f"{url}/provider/{t}", json={"summary": "Settled well."}, timeout=60)
                           for t in tokens]
                await asyncio.sleep(0.3)
                health, health_s = await asyncio.to_thread(timed, url, "/healthz")
                chart, chart_s = await asyncio.to_thread(timed, url, "/api/lifecycle", LEAD)
                listed, listed_s = await asyncio.to_thread(timed, url, f"/api/placements/{placement.placement_id}/history", OPS)
                still_waiting = sum(not f.done() for f in answers)
            finally:
                lock.execute("ROLLBACK")
                lock.close()
            for f in answers:
                await asyncio.wrap_future(f)
    engine.dispose()

    assert health_s < HEALTH_S and health.json()["database"] == "ok", (health_s, health.text)
    assert chart.status_code == 200 and chart_s < QUICK_S, f"/api/lifecycle took {chart_s:.1f} s"
    # Reading goes on under another's write lock (WAL): a read waits for no writer.
    assert listed.status_code == 200 and listed_s < QUICK_S, f"a read took {listed_s:.1f} s"
    assert still_waiting == len(answers), "an answer was recorded while the register's write lock was held elsewhere"
