"""Records histories of the placement workflow for the replay tests.

Run before a change to the workflow lands, on the code as it was, to keep a
history of every path worth replaying: `python -m tests.workflows.record_histories`.
"""
from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from apflow import samples
from apflow.temporal import data_converter, register_search_attributes
from domain.calendar import default_calendar
from domain.clock import uk_date
from store.db import make_engine, migrate
from tests.conftest import BIN, CODEC_KEY
from tests.workflows.test_placement_workflow import HEAD, LEAD, next_school_day, to_notified, today
from worker import build_worker
from workflows.client import act, start_placement

HISTORIES = Path(__file__).parent / "histories"


async def lifecycle(env, tq) -> str:
    start = await next_school_day(env, 21)
    handle, _ = await start_placement(env.client, tq, samples.proposal(start), LEAD, default_calendar("137000", start), now=await env.get_current_time())
    await to_notified(env, handle)
    await env.sleep(timedelta(days=(start - await today(env)).days + 1))
    d = await today(env)
    await act(env.client, handle.id, LEAD, samples.open_review(d + timedelta(days=7), d))
    await env.sleep(timedelta(days=7))
    d = await today(env)
    await act(env.client, handle.id, LEAD, samples.reintegrate(d))
    await act(env.client, handle.id, HEAD, samples.close(d))
    await handle.result()
    return handle.id


async def terminated(env, tq) -> str:
    start = await next_school_day(env, 21)
    handle, _ = await start_placement(env.client, tq, samples.proposal(start), LEAD, default_calendar("137000", start), now=await env.get_current_time())
    await act(env.client, handle.id, LEAD, samples.vet())
    await act(env.client, handle.id, LEAD, samples.terminate(await today(env)))
    await handle.result()
    return handle.id


async def main() -> None:
    import tempfile

    for name, path in (("lifecycle", lifecycle), ("terminated", terminated)):
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=str(BIN / "temporal-test-server"), data_converter=data_converter(CODEC_KEY)
        )
        await register_search_attributes(env.client, env.client.namespace)
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{tmp}/r.db")
            migrate(engine)
            async with build_worker(env.client, "record", engine):
                wid = await path(env, "record")
            history = await env.client.get_workflow_handle(wid).fetch_history()
            engine.dispose()
        out = HISTORIES / f"{name}.json"
        out.write_text(history.to_json())
        print(f"wrote {out} ({len(history.events)} events)")
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
