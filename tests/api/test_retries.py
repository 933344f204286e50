"""Writes that are safe to retry, over real HTTP with a real worker: an
Idempotency-Key makes a retried action or proposal return the first answer
and record nothing twice; an outcome the API cannot know is a 503 saying
so, never a 500; a request cannot claim to be apflow itself."""
from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
import uuid

import httpx
from temporalio.client import Client, Interceptor, OutboundInterceptor
from temporalio.service import RetryConfig, RPCError
from temporalio.testing import WorkflowEnvironment

from apflow import samples
from apflow.settings import Settings
from console import errors
from console.api import create_app
from domain.models import Role
from tests.api.test_api import LEAD, OPS, act, expect, headers, history, listed, new_pupil, propose, today
from tests.conftest import BIN, CODEC_KEY
from apflow.calendars import load_calendar
from apflow.temporal import data_converter

from tests.api.conftest import serving
from tests.api.test_operations import placement_nobody_polls
from worker import build_worker
from workflows import client as placements
from workflows.placement import PlacementWorkflow

UNKNOWN = {"detail": {"message": "outcome unknown: safe to retry with the same Idempotency-Key"}}


def key() -> str:
    return f"req:{uuid.uuid4()}"


def proposal_json(pupil=None) -> dict:
    start = load_calendar(samples.SCHOOL.school_id, Settings().calendars_dir).add_school_days(today(), 15)
    return samples.proposal(start, pupil=pupil or new_pupil()).model_dump(mode="json")


@contextlib.asynccontextmanager
async def temporal_gone(api_stack, retry_config: RetryConfig | None = None, **settings):
    """An HTTP client to the API whose Temporal server was there at start and
    is gone; its client retries as `retry_config` says (the SDK's default)."""
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=str(BIN / "temporal"), ui=False)
    client = await Client.connect(env.client.service_client.config.target_host, data_converter=data_converter(CODEC_KEY),
                                  retry_config=retry_config)
    app = create_app(Settings(task_queue=api_stack.task_queue, var_dir=api_stack.engine.url.database + ".var", **settings),
                     client=client, engine=api_stack.engine)
    await env.shutdown()
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as gone:
        yield gone


async def test_an_action_sent_twice_with_one_key_is_recorded_once_with_the_same_answer(http):
    pid = (await propose(http))["placement"]["placement_id"]
    k = key()
    vet = samples.vet().model_dump(mode="json", exclude_unset=True)
    first = expect(await http.post(f"/api/placements/{pid}/actions/vet", headers={**LEAD, "Idempotency-Key": k}, json=vet), 200)
    again = expect(await http.post(f"/api/placements/{pid}/actions/vet", headers={**LEAD, "Idempotency-Key": k}, json=vet), 200)
    assert again == first
    assert [e["action"] for e in await history(http, pid)] == ["propose", "vet"]

    # Another key is another request: vetting again is refused by the policy, as without a key.
    refused = await http.post(f"/api/placements/{pid}/actions/vet", headers={**LEAD, "Idempotency-Key": key()}, json=vet)
    assert expect(refused, 409)["detail"]["action"] == "vet"


async def test_the_same_key_from_another_user_is_another_request(http):
    pid = (await propose(http))["placement"]["placement_id"]
    k = key()
    vet = samples.vet().model_dump(mode="json", exclude_unset=True)
    expect(await http.post(f"/api/placements/{pid}/actions/vet", headers={**LEAD, "Idempotency-Key": k}, json=vet), 200)
    other = headers("aplead-2-137000", Role.ap_lead)
    consult = samples.consult_la(today()).model_dump(mode="json", exclude_unset=True)
    snap = expect(await http.post(f"/api/placements/{pid}/actions/consult_la", headers={**other, "Idempotency-Key": k}, json=consult), 200)
    assert snap["placement"]["state"] == "la_consulted"
    assert [e["action"] for e in await history(http, pid)] == ["propose", "vet", "consult_la"]


async def test_a_proposal_retried_with_its_key_makes_one_placement(http):
    pupil = new_pupil()
    body, k = proposal_json(pupil), key()
    first = expect(await http.post("/api/placements", headers={**LEAD, "Idempotency-Key": k}, json=body), 201)
    again = expect(await http.post("/api/placements", headers={**LEAD, "Idempotency-Key": k}, json=body), 201)
    pid = first["placement"]["placement_id"]
    assert again["placement"]["placement_id"] == pid and pid.startswith("placement-")
    assert pupil.pupil_id not in pid and k not in pid
    assert [r["placement_id"] for r in await listed(http) if r["pupil_id"] == pupil.pupil_id] == [pid]
    assert [e["action"] for e in await history(http, pid)] == ["propose"]


async def test_a_proposal_is_in_the_register_when_the_api_answers(http, api_stack):
    from store import register

    pid = (await propose(http))["placement"]["placement_id"]
    row = register.get(api_stack.engine, pid)
    assert row is not None and row.version >= 1  # written by the workflow's projection, not the API


async def test_a_malformed_idempotency_key_is_422_naming_the_header(http):
    pid = (await propose(http))["placement"]["placement_id"]
    for bad in ("", "has space", "x" * 201, "é"):
        r = await http.post(f"/api/placements/{pid}/actions/vet", headers={**LEAD, "Idempotency-Key": bad.encode()}, json={})
        errors = expect(r, 422)["detail"]
        assert any(e["loc"] == ["header", "Idempotency-Key"] for e in errors), errors
    r = await http.post("/api/placements", headers={**LEAD, "Idempotency-Key": "no spaces allowed"}, json=proposal_json())
    assert any(e["loc"] == ["header", "Idempotency-Key"] for e in expect(r, 422)["detail"])


async def test_the_system_role_is_never_accepted_from_a_request(http):
    pid = (await propose(http))["placement"]["placement_id"]
    system = headers("apflow", Role.system, None)
    for method, path, body in (
        ("GET", "/api/placements", None),
        ("GET", "/api/escalations", None),
        ("POST", f"/api/placements/{pid}/actions/vet", samples.vet().model_dump(mode="json", exclude_unset=True)),
        ("POST", "/api/placements", proposal_json()),
    ):
        r = await http.request(method, path, headers=system, json=body)
        assert "'system' is apflow's own role" in expect(r, 403)["detail"], (method, path)
    assert [e["action"] for e in await history(http, pid)] == ["propose"]


async def test_temporal_unreachable_is_503_outcome_unknown(api_stack, http):
    """A Temporal server that was there at start and is gone: every write
    answers 503 with a message saying the outcome is unknown, never a 500."""
    pid = (await propose(http))["placement"]["placement_id"]
    async with temporal_gone(api_stack, RetryConfig(max_retries=1)) as gone:
        vet = samples.vet().model_dump(mode="json", exclude_unset=True)
        r = await gone.post(f"/api/placements/{pid}/actions/vet", headers={**LEAD, "Idempotency-Key": key()}, json=vet)
        assert (r.status_code, r.json()) == (503, UNKNOWN)
        r = await gone.post("/api/placements", headers={**LEAD, "Idempotency-Key": key()}, json=proposal_json())
        assert (r.status_code, r.json()) == (503, UNKNOWN)
        r = await gone.get(f"/api/placements/{pid}", headers=OPS)
        assert r.status_code == 503 and "Traceback" not in r.text
        assert (await gone.get("/healthz")).status_code == 503
    # Nothing was recorded; the same key against the running service does it once.
    assert [e["action"] for e in await history(http, pid)] == ["propose"]
    await act(http, pid, "vet", samples.vet())


# A client that would retry a server that is gone for two minutes (the SDK's
# default gives up after about 12 s): a read that ends well before is one
# the read's own bound cut off, on any machine.
RETRIES_FOR_TWO_MINUTES = RetryConfig(max_elapsed_time_millis=120_000, max_retries=1_000, max_interval_millis=1_000)
CUT_OFF_S = 60  # far above the bound (SNAPSHOT_BOUND_S + PROBE_S), far below the retries


async def test_a_read_with_temporal_gone_answers_503_within_its_bound(api_stack, http):
    """The app's own client, retrying for far longer than a read may wait, is
    cut off at the read's bound, and Temporal found gone: the JSON API answers
    503, safe to retry, and the placement's page shows the register's copy,
    marked as possibly behind."""
    pid = (await propose(http))["placement"]["placement_id"]
    async with temporal_gone(api_stack, RETRIES_FOR_TWO_MINUTES) as gone:
        started = time.monotonic()
        r = await gone.get(f"/api/placements/{pid}", headers=OPS)
        assert (r.status_code, r.json()) == (503, UNKNOWN)
        assert time.monotonic() - started < CUT_OFF_S
        started = time.monotonic()
        page = await gone.get(f"/placements/{pid}", headers=OPS)
        assert page.status_code == 200 and "may be a little behind" in page.text, page.text[:2000]
        assert time.monotonic() - started < CUT_OFF_S


class QueriesRetriedPastTheBound(Interceptor):
    """As when the SDK retries a query the server cut off at its deadline:
    the answer comes after the read's bound."""

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        class Late(OutboundInterceptor):
            async def query_workflow(self, input):
                await asyncio.sleep(placements.SNAPSHOT_BOUND_S + 1)
                return await super().query_workflow(input)
        return Late(next)


async def test_a_workflow_silent_past_the_bound_is_read_from_the_register_while_temporal_answers(
        api_stack, dev_env, http, monkeypatch):
    """A read cut off at its bound while Temporal itself answers: the
    workflow did not, so the placement is the register's copy, marked as
    possibly behind, not a 503. (The bound shortened to a second, to wait
    less.)"""
    monkeypatch.setattr(placements, "SNAPSHOT_BOUND_S", 1.0)
    pid = (await propose(http))["placement"]["placement_id"]
    client = await Client.connect(dev_env.client.service_client.config.target_host, data_converter=data_converter(CODEC_KEY),
                                  interceptors=[QueriesRetriedPastTheBound()])
    app = create_app(Settings(task_queue=api_stack.task_queue, var_dir=api_stack.engine.url.database + ".var"),
                     client=client, engine=api_stack.engine)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as late:
        snap = expect(await late.get(f"/api/placements/{pid}", headers=OPS), 200)
        assert snap["stale"] is True and snap["placement"]["placement_id"] == pid
        page = await late.get(f"/placements/{pid}", headers=OPS)
        assert page.status_code == 200 and "may be a little behind" in page.text, page.text[:2000]


class QueryWaits(Interceptor):
    """Records the wait each query was given."""

    def __init__(self):
        self.waits: list[float] = []

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        waits = self.waits

        class Recording(OutboundInterceptor):
            async def query_workflow(self, input):
                waits.append(input.rpc_timeout.total_seconds())
                return await super().query_workflow(input)
        return Recording(next)


async def answering(client: Client, pid: str) -> None:
    for _ in range(300):
        try:
            await client.get_workflow_handle_for(PlacementWorkflow.run, pid).query(PlacementWorkflow.snapshot)
            return
        except RPCError as e:
            if not errors.not_ready(e):
                raise
            await asyncio.sleep(0.1)
    raise AssertionError(f"{pid} never answered")


async def test_a_workflow_that_did_not_answer_is_asked_again_with_a_shorter_wait_until_it_answers(api_stack, dev_env):
    """A stuck placement's page is not the query's whole wait slow at every
    view: once silent, its workflow is asked with the shorter wait, and
    answers live within it as soon as a worker polls again."""
    recorded = QueryWaits()
    client = await Client.connect(dev_env.client.service_client.config.target_host, data_converter=data_converter(CODEC_KEY),
                                  interceptors=[recorded])
    queue = f"nobody-yet-{uuid.uuid4()}"
    pid = await placement_nobody_polls(client, api_stack.engine, queue)
    app = create_app(Settings(task_queue=api_stack.task_queue, var_dir=api_stack.engine.url.database + ".var"),
                     client=client, engine=api_stack.engine)
    full, short = placements.SNAPSHOT_WAIT.total_seconds(), placements.SILENT_WAIT.total_seconds()
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        for wait in (full, short):
            assert expect(await http.get(f"/api/placements/{pid}", headers=OPS), 200)["stale"] is True
            assert recorded.waits[-1] == wait
        async with build_worker(dev_env.client, queue, api_stack.engine):
            await answering(dev_env.client, pid)  # its first task run: until then a query is refused as not ready
            for wait in (short, full):  # live, and forgotten once it answered
                snap = expect(await http.get(f"/api/placements/{pid}", headers=OPS), 200)
                assert (snap["stale"], snap["placement"]["state"], recorded.waits[-1]) == (False, "proposed", wait)
    await dev_env.client.get_workflow_handle(pid).terminate(reason="test done")


async def test_a_proposal_cut_off_at_the_api_s_wait_leaves_no_error_for_asyncio_to_log(api_stack, http, caplog):
    """A start cut off at the API's wait (or refused by the server) raises its
    error and also leaves it on the start operation's own future: taken there,
    it is not logged as "never retrieved", a traceback a proposal during an outage."""
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        async with temporal_gone(api_stack, api_wait_s=1) as gone:
            r = await gone.post("/api/placements", headers={**LEAD, "Idempotency-Key": key()}, json=proposal_json())
            assert (r.status_code, r.json()) == (503, UNKNOWN)
        gc.collect()  # an unretrieved future's error is logged when it is collected
    assert not [m for m in caplog.messages if "never retrieved" in m], caplog.text[-2000:]
