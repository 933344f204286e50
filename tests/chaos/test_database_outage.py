"""The register's database goes away under a running service and comes back.

The API and console (uvicorn, the real app) and a worker run on a PostgreSQL
register reached through relays (tests/chaos/database.py), with placements
in flight. The worker loses the database first, so a step taken then reaches
its workflow and its register projection fails and is retried; then the API
loses it too: its pooled connections drop and new ones hang (a network that
does not answer), so each request waits out the driver's connect timeout.

An outage in production may last a minute (`CHAOS_OUTAGE_S=60` makes it
one); here it is shorter, for CI, but long enough that the failures are real: the worker is without the database
for at least OUTAGE_S (about 11 s), its projection failing at each of its
local activity's retries (1, 2, 4, 8 s apart, four attempts at least), and
the database comes back in the middle of a back-off, so the next attempt
(about 15 s in) finds it. The API is without it for about 8 s and waits
CONNECT_TIMEOUT_S for each connection (the URL's connect_timeout, as a
deployment may set it; 10 s otherwise). Meanwhile `/healthz` says `database`
is degraded within its second (asserted within 3 s: a bound on a liveness
answer is what makes it one), and the JSON API and the console's pages (to a
person through the trust's proxy and to one signed in with a session) answer
503, never 500, saying the outcome is unknown and safe to retry with the
same Idempotency-Key. Once the database is back, each step retried with its
key is taken once, the register catches up with every workflow, the audit
trail holds each step once, and the letter the step sends goes once. The
whole test takes about 20 s."""
from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from apflow import samples
from apflow.calendars import load_calendar
from apflow.settings import Settings
from console.api import create_app
from console.errors import UNKNOWN
from console.identity import SESSION_COOKIE
from domain.access import Grant
from domain.models import Role
from store import accounts, register
from store import documents as sent
from tests.api import test_api as api
from tests.api.conftest import serving
from tests.console.conftest import LEAD as LEAD_PERSON
from tests.store.conftest import postgres_url  # noqa: F401  (fixture)
from worker import build_worker
from workflows import client as placements

from . import waiting
from .database import relayed_register

API_WAIT_S = 3.0  # how long the API waits on a step's workflow before answering 503
CONNECT_TIMEOUT_S = 3  # the API's wait for a new connection (the URL's connect_timeout)
# From the worker's loss of the database to its return, at least: 10 s for
# CI; `CHAOS_OUTAGE_S=60` for the minute of an outage in production.
OUTAGE_S = float(os.environ.get("CHAOS_OUTAGE_S", "10"))
HEALTH_BOUND_S = 3.0
# The projection's retries back off to about half the outage apart, so the
# first attempt after it may come that long after the database is back.
CATCH_UP_S = 30.0 + OUTAGE_S
PAGE = {"Accept": "text/html,application/xhtml+xml"}  # as a browser asks


async def until(check, what: str, wait_s: float = CATCH_UP_S):
    return await waiting.until(check, what, wait_s)


def attempts(refused_at: list[float]) -> list[float]:
    """When each attempt began: refusals within half a second are one attempt's."""
    starts: list[float] = []
    for t in refused_at:
        if not starts or t - starts[-1] > 0.5:
            starts.append(t)
    return starts


def unavailable(r: httpx.Response) -> None:
    """A 503 that says what is known: nothing, and that retrying is safe."""
    assert r.status_code == 503, f"{r.request.method} {r.request.url.path} -> {r.status_code}: {r.text[:500]}"
    assert r.headers.get("retry-after") == "1"
    if r.request.url.path.startswith("/api/"):
        assert r.json() == {"detail": {"message": UNKNOWN}}
    else:  # a page for a person, in the console's layout
        assert r.headers["content-type"].startswith("text/html") and r.headers["cache-control"] == "no-store"
        assert "the service is unavailable" in r.text and "safe to try again" in r.text, r.text[:2000]


async def retried(send, what: str) -> httpx.Response:
    """What a client does with 503: the same request (its same key) again, until answered."""
    async def answered():
        r = await send()
        assert r.status_code != 500, f"{what}: {r.text[:500]}"
        return r if r.status_code != 503 else None
    return await until(answered, what)


async def test_the_register_down_for_a_while_loses_nothing_and_answers_503_meanwhile(dev_env, postgres_url, tmp_path):  # noqa: F811
    async with relayed_register(postgres_url, CONNECT_TIMEOUT_S) as db:
        settings = Settings(task_queue=f"tq-chaos-{uuid.uuid4()}", var_dir=tmp_path / "var", api_wait_s=API_WAIT_S)
        app = create_app(settings, client=dev_env.client, engine=db.api)
        user = accounts.add_user(db.direct, LEAD_PERSON.email, "Lead Person", datetime.now(UTC))
        accounts.add_grant(db.direct, user.user_id, Grant(Role.ap_lead, api.SCHOOL))
        cookie = accounts.open_session(db.direct, user.user_id, "password", datetime.now(UTC), timedelta(hours=1)).cookie
        async with build_worker(dev_env.client, settings.task_queue, db.worker, settings=settings), serving(app) as url, \
                httpx.AsyncClient(base_url=url, timeout=60) as http:
            # Placements in flight: one about to consult its LA, one vetted, one proposed.
            a, b, c = [(await api.propose(http))["placement"]["placement_id"] for _ in range(3)]
            for pid in (a, b):
                await api.act(http, pid, "vet", samples.vet(safeguarding_confirmation_received_on=api.today()))
            loop = asyncio.get_running_loop()

            # The worker loses the database: a step reaches the workflow, whose
            # projection fails and is retried; the API cannot say what happened.
            down_at = time.monotonic()
            db.worker_relay.down()
            consult = lambda: http.post(f"/api/placements/{a}/actions/consult_la", headers={**api.LEAD, "Idempotency-Key": "consult-a"},  # noqa: E731
                                        json=api.body(samples.consult_la(api.today())))
            unavailable(await consult())
            assert db.worker_relay.refused >= 1  # the step reached the workflow, whose projection failed

            # Then the API loses it too: what it holds drops, new connections hang.
            db.api_relay.cut()
            db.api_relay.hang()

            async def timed(request):
                started = loop.time()
                r = await request
                return r, loop.time() - started

            vet_c = lambda: http.post(f"/api/placements/{c}/actions/vet", headers={**api.LEAD, "Idempotency-Key": "vet-c"},  # noqa: E731
                                      json=api.body(samples.vet(safeguarding_confirmation_received_on=api.today())))
            start = load_calendar(api.SCHOOL, settings.calendars_dir).add_school_days(api.today(), 15)
            proposal = samples.proposal(start, pupil=api.new_pupil()).model_dump(mode="json")
            propose = lambda: http.post("/api/placements", headers={**api.LEAD, "Idempotency-Key": "propose-d"}, json=proposal)  # noqa: E731
            (health, took), *answers = await asyncio.gather(*map(timed, [
                http.get("/healthz"),
                http.get("/api/placements", headers=api.LEAD),
                http.get(f"/api/placements/{b}", headers=api.LEAD),
                http.get(f"/api/placements/{b}/history", headers=api.LEAD),
                vet_c(), propose(), consult(),
                http.get(f"/placements/{b}", headers={**LEAD_PERSON.headers, **PAGE}),  # the console, through the proxy
                http.get("/", headers={**LEAD_PERSON.headers, **PAGE}),
                http.get(f"/placements/{b}", headers={**PAGE, "Cookie": f"{SESSION_COOKIE}={cookie}"}),  # signed in
            ]))
            assert health.status_code == 503 and took < HEALTH_BOUND_S, (health.status_code, took)
            assert health.json() == {"status": "degraded", "database": "error: no answer within 1 s", "temporal": "ok"}
            for r, took in answers:
                unavailable(r)
                assert took < CONNECT_TIMEOUT_S + 3, (r.request.url.path, took)  # a connection not made in time is 503

            # The database comes back in the middle of a back-off of the
            # projection's retries (1, 2, 4, 8 s apart), once it has failed
            # four times and for OUTAGE_S at least: not as an attempt is made.
            async def between_attempts():
                at = attempts(db.worker_relay.refused_at)
                if len(at) < 4 or time.monotonic() - down_at < OUTAGE_S:
                    return False
                gap, since = at[-1] - at[-2], time.monotonic() - at[-1]
                return gap <= since <= 1.5 * gap
            await until(between_attempts, "a quiet moment between the projection's attempts", OUTAGE_S + CATCH_UP_S)
            db.api_relay.restore()
            db.worker_relay.restore()

            async def healthy():
                r = await http.get("/healthz")
                return r.status_code == 200 and r.json() == {"status": "ok", "database": "ok", "temporal": "ok"}
            await until(healthy, "healthy again", 5)

            # Each step retried with its key is taken once.
            snap = (await retried(consult, "consult_la on A")).json()
            assert snap["placement"]["state"] == "la_consulted"
            assert (await retried(vet_c, "vet on C")).json()["placement"]["state"] == "vetted"
            r = await retried(propose, "the proposal")
            assert r.status_code == 201
            d = r.json()["placement"]["placement_id"]
            assert (await propose()).json()["placement"]["placement_id"] == d  # the same placement, once

            # The register catches up with every workflow.
            expected = {a: ["propose", "vet", "consult_la"], b: ["propose", "vet"], c: ["propose", "vet"], d: ["propose"]}
            for pid, steps in expected.items():
                async def caught_up(pid=pid):
                    snap = await placements.snapshot(dev_env.client, pid)
                    row = register.get(db.direct, pid)
                    return row is not None and (row.state, row.version) == (snap.placement.state.value, snap.placement.version)
                await until(caught_up, f"{pid} in the register")
                trail = register.audit_trail(db.direct, pid)
                assert [e.action for e in trail] == steps, (pid, [e.action for e in trail])
                assert len({e.seq for e in trail}) == len(trail)
                listed = api.expect(await http.get(f"/api/placements/{pid}", headers=api.LEAD), 200)
                assert listed["stale"] is False and listed["placement"]["state"] == register.get(db.direct, pid).state
            assert {p["placement_id"] for p in await api.pages(http, "/api/placements", api.LEAD)} == set(expected)
            # A's notice to the LA followed its step, once.
            (notice,) = await until(lambda: [r for r in sent.for_placement(db.direct, a) if r.recipient_role == "la"
                                             and r.status == "sent"], "the LA's notice")
            assert [r.document_id for r in sent.for_placement(db.direct, a)] == [notice.document_id]

