"""Records histories of the attendance sweep, and of a placement it
signalled, for the replay tests: `python -m tests.attendance.record_histories`.
Record again only when a path is new; later code must keep replaying these."""
from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from datetime import time, timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from apflow import samples
from apflow.temporal import data_converter, register_search_attributes
from store import attendance
from store.db import make_engine, migrate
from tests.conftest import BIN, CODEC_KEY
from worker import build_worker

from .conftest import CODES, env_today, live_placement, record, sleep_until, term_after, write_calendar

HISTORIES = Path(__file__).parent / "histories"


async def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    (tmp / "calendars").mkdir()
    os.environ["APFLOW_CALENDARS_DIR"] = str(tmp / "calendars")
    engine = make_engine(f"sqlite:///{tmp / 'r.db'}")
    migrate(engine)
    attendance.sync_codes(engine, CODES)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"), data_converter=data_converter(CODEC_KEY),
    )
    try:
        await register_search_attributes(env.client, env.client.namespace)
        term = term_after(await env_today(env))
        write_calendar(tmp / "calendars", term)
        tq = f"tq-{uuid.uuid4()}"
        async with build_worker(env.client, tq, engine):
            pid = await live_placement(env, tq, term.first, pattern=samples.FULL_TIME)
            tue = term.first + timedelta(days=1)
            await sleep_until(env, tue, time(9))
            record(engine, [(pid, tue, "am", "N")], today=tue)
            await sleep_until(env, tue, time(14, 30))
            sweep_id = f"attendance-sweep-{uuid.uuid4()}"
            with env.auto_time_skipping_disabled():
                from workflows.attendance import AttendanceSweepWorkflow, SweepInput

                await env.client.execute_workflow(AttendanceSweepWorkflow.run, SweepInput(sessions=["am", "pm"]), id=sweep_id, task_queue=tq)
            await asyncio.sleep(1)
            for name, wid in (("sweep", sweep_id), ("alerted_placement", pid)):
                history = await env.client.get_workflow_handle(wid).fetch_history()
                (HISTORIES / f"{name}.json").write_text(history.to_json())
                print(f"recorded {name}: {len(history.events)} events")
    finally:
        await env.shutdown()
        engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
