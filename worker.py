"""Runs the apflow Temporal worker in a process of its own: `apflow worker`
(or `python worker.py`). `apflow up` starts it so beside the API; deployments
run as many as they like on one task queue, each with its own GIL."""
from __future__ import annotations

import asyncio
import logging
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import Worker

from activities.documents import DocumentActivities
from activities.attendance import AttendanceActivities
from activities.providers import ProviderActivities
from activities.register import RegisterActivities
from apflow.calendars import load_calendar
from apflow.directory import school_contacts
from apflow.settings import Settings
from apflow.temporal import connect_when_up, register_search_attributes
from apflow.worker_metrics import ActivityCounts, serve_from
from store.db import make_engine, migrate_when_up
from workflows.attendance import AttendanceSweepWorkflow, ensure_schedules
from workflows.placement import PlacementWorkflow
from workflows.providers import ProviderSweepWorkflow, ensure_schedule
from workflows.sandbox import RUNNER


def build_worker(
    client: Client,
    task_queue: str,
    engine: Engine,
    documents: DocumentActivities | None = None,
    settings: Settings | None = None,
) -> Worker:
    """A worker running as `settings` say (the environment's when none are
    given): attendance sweeps, calendars and directory, activity slots, and
    letters through `documents` or, by default, the settings' mail."""
    settings = settings or Settings()
    register = RegisterActivities(engine)
    documents = documents or DocumentActivities.from_settings(engine, settings)
    sweep = AttendanceActivities(
        engine, client, settings.attendance, documents=documents,
        calendar_for=lambda school_id: load_calendar(school_id, settings.calendars_dir),
        contacts_for=lambda school: school_contacts(school, settings.directory_file),
    )
    providers = ProviderActivities(engine, client, settings.policy.providers)
    # The activities are synchronous, each on a thread of its own: the pool
    # has a thread for every slot, or a slot would wait for a thread while its
    # timeout runs.
    activity_slots = settings.worker_activity_slots
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[PlacementWorkflow, AttendanceSweepWorkflow, ProviderSweepWorkflow],
        activities=[register.project_placement, documents.send_document, documents.record_hand_over, sweep.sweep_attendance,
                    providers.sweep_providers],
        workflow_runner=RUNNER,
        max_concurrent_activities=activity_slots,
        max_cached_workflows=settings.worker_cache_size,
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=settings.worker_sticky_wait_s),
        activity_executor=ThreadPoolExecutor(max_workers=activity_slots, thread_name_prefix="activity"),
        interceptors=[ActivityCounts()],
    )


async def main(settings: Settings | None = None, ready_fd: int | None = None, stop_with_parent: bool = False) -> None:
    """Runs a worker until SIGINT or SIGTERM. It waits for Temporal and then
    the database however long each takes to answer. `ready_fd`, when given, is written one byte and
    closed once the worker polls its task queue (how `apflow up` knows);
    `stop_with_parent` stops it when the process that started it is gone."""
    settings = settings or Settings()
    log = logging.getLogger("apflow")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    watch = asyncio.create_task(_parent_gone(stop)) if stop_with_parent else None
    serve_from(settings.worker_metrics_host, settings.worker_metrics_port)  # before the client takes the runtime
    try:
        client = await _unless_stopped(stop, connect_when_up(settings))
        if client is None:
            return
        engine = make_engine(settings.db_url)
        await _unless_stopped(stop, migrate_when_up(engine))
        if stop.is_set():
            engine.dispose()
            return
        await register_search_attributes(client, settings.temporal_namespace)
        await ensure_schedules(client, settings.task_queue, settings.attendance)
        if settings.attendance.schedules_enabled:  # the same switch for every sweep's schedule
            await ensure_schedule(client, settings.task_queue, settings.policy.providers)
        worker = build_worker(client, settings.task_queue, engine, settings=settings)
        async with worker:
            log.info("worker running on task queue %s (process %d)", settings.task_queue, os.getpid())
            if ready_fd is not None:
                os.write(ready_fd, b"1")
                os.close(ready_fd)
            await stop.wait()
        engine.dispose()
    finally:
        if watch is not None:
            watch.cancel()


async def _unless_stopped(stop: asyncio.Event, work):
    """`work`'s result, or None once `stop` is set first."""
    task, stopped = asyncio.ensure_future(work), asyncio.create_task(stop.wait())
    await asyncio.wait([task, stopped], return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if task.done():
        return task.result()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return None


async def _parent_gone(stop: asyncio.Event) -> None:
    """Sets `stop` once this process's parent has exited (it is then another's child)."""
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(1)
    stop.set()


if __name__ == "__main__":
    from apflow.settings import refuse_unless_safe

    logging.basicConfig(level=logging.INFO)
    settings = Settings()
    refuse_unless_safe(settings)
    asyncio.run(main(settings))
