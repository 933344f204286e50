"""A worker's own metrics, scraped from `apflow worker` as a process, the
way an operator's Prometheus reaches each worker: the Temporal SDK's series
and apflow's counts of activity failures and retries, with nothing about a
pupil or a placement in any label. Letters to a mail relay that is down fail
and are retried, so both counts move."""
from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from apflow import samples
from apflow.calendars import load_calendar
from apflow.settings import Settings
from apflow.worker_metrics import FAILURES, RETRIES
from domain.actions import RaiseConcern
from domain.clock import uk_date
from domain.models import Actor, Role
from tests.conftest import CODEC_KEY
from tests.operations.test_metrics import samples_of
from tests.test_launcher import APFLOW, STOP_WAIT_S, free_port
from workflows import client as placements

WAIT_S = 60
LEAD = Actor(user_id="aplead-137000", role=Role.ap_lead, school_id=samples.SCHOOL.school_id)


async def scrape_until(url: str, done, proc: subprocess.Popen, log) -> dict:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    async with httpx.AsyncClient(timeout=5) as http:
        while True:
            assert proc.poll() is None, f"the worker exited with {proc.returncode}:\n{log.read_text()}"
            try:
                r = await http.get(url)
                found = samples_of(r.text)
                if r.status_code == 200 and done(found):
                    return found | {"": {(): r.text}}
            except httpx.HTTPError:
                found = {}
            assert loop.time() < deadline, (sorted(found), log.read_text())
            await asyncio.sleep(0.3)


def count(found: dict, name: str, activity_type: str) -> float:
    return sum(v for labels, v in found.get(name, {}).items() if ("activity_type", activity_type) in labels)


@pytest.mark.parametrize("by", ["setting", "flag"])
async def test_a_worker_serves_the_sdks_metrics_and_its_activity_failures_and_retries(dev_env, tmp_path, by):
    port, task_queue = free_port(), f"tq-worker-metrics-{uuid.uuid4()}"
    # A deployment's worker takes its port from the setting; `apflow up` tells each of its own with the flag.
    flags = ["--metrics-port", str(port)] if by == "flag" else []
    env = {k: v for k, v in os.environ.items() if not k.startswith("APFLOW_")}
    env.update(APFLOW_VAR_DIR=str(tmp_path / "var"), APFLOW_TASK_QUEUE=task_queue,
               APFLOW_TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
               APFLOW_TEMPORAL_NAMESPACE=dev_env.client.namespace, APFLOW_PAYLOAD_KEY=CODEC_KEY.decode(),
               APFLOW_WORKER_METRICS_PORT=str(port) if by == "setting" else "0",
               # The relay is down: every letter fails, and is retried.
               APFLOW_MAIL_MODE="smtp", APFLOW_MAIL_SMTP_HOST="127.0.0.1", APFLOW_MAIL_SMTP_PORT=str(free_port()),
               APFLOW_MAIL_SMTP_SECURITY="none")
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(APFLOW), "worker", *flags], cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        # Once it polls, the SDK's series name its task queue.
        found = await scrape_until(url, lambda m: "temporal_num_pollers" in m, proc, log)
        assert any(("task_queue", task_queue) in labels for labels in found["temporal_num_pollers"]), found

        settings = Settings()
        proposal = samples.proposal(load_calendar(samples.SCHOOL.school_id, settings.calendars_dir)
                                    .add_school_days(uk_date(datetime.now(UTC)), 15))
        pupil = proposal.pupil.model_copy(update={"name": f"Zephyrine Quillfeather-{uuid.uuid4().hex[:6]}"})
        proposal = proposal.model_copy(update={"pupil": pupil})
        calendar = load_calendar(samples.SCHOOL.school_id, settings.calendars_dir)
        handle, _ = await placements.start_placement(dev_env.client, task_queue, proposal, LEAD, calendar,
                                                     directory=settings.letters_from(proposal.school))
        # The DSL's escalation goes by email, to the relay that is down.
        await placements.act(dev_env.client, handle.id, LEAD, RaiseConcern(summary="Pupil reports threats at the provider"))

        # The SDK counts a failed execution after apflow's own counter has: wait for both.
        found = await scrape_until(
            url, lambda m: count(m, RETRIES + "_total", "send_document") >= 1 and count(m, FAILURES + "_total", "send_document") >= 2
            and count(m, "temporal_activity_execution_failed_total", "send_document") >= 2,
            proc, log)
        assert count(found, FAILURES + "_total", "send_document") > count(found, RETRIES + "_total", "send_document")
        assert count(found, FAILURES + "_total", "project_placement") == 0  # the register's writes did not fail
        assert count(found, "temporal_activity_execution_failed_total", "send_document") >= 2  # the SDK's own count
        text = found[""][()]
        for secret in (handle.id, handle.id.removeprefix("placement-"), pupil.name, pupil.pupil_id):
            assert secret not in text
        await handle.terminate(reason="test: done")
    finally:
        proc.terminate()
        proc.wait(timeout=STOP_WAIT_S)


def test_apflow_up_gives_each_worker_a_metrics_port_of_its_own():
    from apflow.launcher import worker_command, worker_metrics_port

    on = Settings(worker_metrics_port=9464, worker_processes=3)
    assert [worker_metrics_port(on, i) for i in range(3)] == [9464, 9465, 9466]
    assert worker_command(5, 9465)[-2:] == ["--metrics-port", "9465"]
    off = Settings()
    assert worker_metrics_port(off, 2) == 0 and "--metrics-port" not in worker_command(5, worker_metrics_port(off, 2))
