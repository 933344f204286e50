"""Runs the apflow Temporal worker on its own, for deployments where the
Temporal server and the API run elsewhere: `python worker.py`."""
from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import Worker

from activities.documents import DocumentActivities
from activities.attendance import AttendanceActivities
from activities.register import RegisterActivities
from apflow.calendars import load_calendar
from apflow.directory import school_contacts
from apflow.settings import Settings
from apflow.temporal import connect, register_search_attributes
from store.db import make_engine, migrate
from workflows.attendance import AttendanceSweepWorkflow, ensure_schedules
from workflows.placement import PlacementWorkflow
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
    # The activities are synchronous, each on a thread of its own: the pool
    # has a thread for every slot, or a slot would wait for a thread while its
    # timeout runs.
    activity_slots = settings.worker_activity_slots
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[PlacementWorkflow, AttendanceSweepWorkflow],
        activities=[register.project_placement, documents.send_document, documents.record_hand_over, sweep.sweep_attendance],
        workflow_runner=RUNNER,
        max_concurrent_activities=activity_slots,
        activity_executor=ThreadPoolExecutor(max_workers=activity_slots, thread_name_prefix="activity"),
    )


async def main(settings: Settings | None = None) -> None:
    settings = settings or Settings()
    engine = make_engine(settings.db_url)
    migrate(engine)
    client = await connect(settings)
    await register_search_attributes(client, settings.temporal_namespace)
    await ensure_schedules(client, settings.task_queue, settings.attendance)
    worker = build_worker(client, settings.task_queue, engine, settings=settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        logging.getLogger("apflow").info("worker running on task queue %s", settings.task_queue)
        await stop.wait()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    asyncio.run(main())
