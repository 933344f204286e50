"""The sweep runs from Temporal Schedules made at worker start, at the
settings' UK times on weekdays; making them again changes nothing but the times."""
from __future__ import annotations

import asyncio
import signal
import uuid
from datetime import datetime, time, timezone

import pytest_asyncio
from temporalio.client import ScheduleActionStartWorkflow

import worker
from messages import SweepReport
from apflow.settings import Settings
from domain.attendance import AttendanceSettings
from domain.clock import uk_date
from tests.conftest import CODEC_KEY
from workflows.attendance import ensure_schedules, schedule_id
from workflows.providers import schedule_id as providers_schedule_id


@pytest_asyncio.fixture
async def schedules_cleanup(dev_env):
    made: list[str] = []
    yield made
    for sid in made:
        await dev_env.client.get_schedule_handle(sid).delete()


async def _calendar_of(client, sid):
    desc = await client.get_schedule_handle(sid).describe()
    spec = desc.schedule.spec
    cal = spec.calendars[0]
    return desc, spec.time_zone_name, (cal.hour[0].start, cal.minute[0].start), [(r.start, r.end) for r in cal.day_of_week]


async def test_worker_start_makes_the_schedules(dev_env, tmp_path, schedules_cleanup):
    task_queue = f"tq-{uuid.uuid4()}"
    schedules_cleanup.extend([schedule_id(task_queue, "am"), schedule_id(task_queue, "pm"),
                              providers_schedule_id(task_queue)])  # the providers' sweep's too
    settings = Settings(
        var_dir=tmp_path, task_queue=task_queue, payload_key=CODEC_KEY.decode(),
        temporal_address=dev_env.client.service_client.config.target_host,
        temporal_namespace=dev_env.client.namespace,
    )
    running = asyncio.create_task(worker.main(settings))
    try:
        for _ in range(200):
            try:
                desc, zone, at, days = await _calendar_of(dev_env.client, schedule_id(task_queue, "pm"))
                break
            except Exception:  # noqa: BLE001 - not made yet
                await asyncio.sleep(0.05)
        else:
            raise AssertionError("no schedule after worker start")
        assert (zone, at, days) == ("Europe/London", (14, 30), [(1, 5)])
        action = desc.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert action.workflow == "AttendanceSweepWorkflow" and action.task_queue == task_queue
        assert (await _calendar_of(dev_env.client, schedule_id(task_queue, "am")))[2] == (10, 30)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def test_making_the_schedules_again_follows_the_settings(dev_env, task_queue, schedules_cleanup):
    client = dev_env.client
    made = await ensure_schedules(client, task_queue, AttendanceSettings())
    schedules_cleanup.extend(made)
    assert made == [schedule_id(task_queue, "am"), schedule_id(task_queue, "pm")]
    await ensure_schedules(client, task_queue, AttendanceSettings(am_check=time(9, 45), pm_check=time(15, 0)))
    assert (await _calendar_of(client, made[0]))[2] == (9, 45)
    assert (await _calendar_of(client, made[1]))[2] == (15, 0)
    assert await ensure_schedules(client, task_queue, AttendanceSettings(schedules_enabled=False)) == []


async def test_a_scheduled_sweep_runs_on_the_worker(dev_env, engine, task_queue, schedules_cleanup):
    client = dev_env.client
    schedules_cleanup.extend(await ensure_schedules(client, task_queue, AttendanceSettings()))
    async with worker.build_worker(client, task_queue, engine):
        handle = client.get_schedule_handle(schedule_id(task_queue, "pm"))
        await handle.trigger()
        for _ in range(200):
            recent = (await handle.describe()).info.recent_actions
            if recent:
                break
            await asyncio.sleep(0.05)
        started = recent[0].action
        report = await client.get_workflow_handle(started.workflow_id, result_type=SweepReport).result()
    assert report.sessions == ["am", "pm"]
    assert report.day == uk_date(datetime.now(timezone.utc))
    assert report.signalled == 0  # an empty register: nobody to chase
