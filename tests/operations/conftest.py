"""What the stuck-placement tests share: a dev server of their own that marks
a workflow whose task keeps failing (as `apflow up` starts it), the trust's
operations person and an AP lead as the server sees them, and waiting for
what a real server does in its own time."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from apflow.temporal import data_converter, register_search_attributes
from domain.access import Grant, Principal
from domain.models import Role
from domain.settings import StuckSettings
from operations import stuck
from tests.conftest import BIN, CODEC_KEY

OPS = Principal(user_id="ops-1", grants=(Grant(Role.trust_operations),))
LEAD = Principal(user_id="aplead-137000", grants=(Grant(Role.ap_lead, "137000"),))
# Quick to trip, so a test sees each reason within seconds.
QUICK = StuckSettings(activity_attempts=3, register_lag_minutes=0)


@pytest_asyncio.fixture(scope="module")
async def ops_env():
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"), data_converter=data_converter(CODEC_KEY), ui=False,
        dev_server_extra_args=["--dynamic-config-value",
                               "system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute=2"],
    )
    await register_search_attributes(env.client, env.client.namespace)
    yield env
    await env.shutdown()


async def listed(client, engine, placement_id: str, kind: stuck.Kind, settings: StuckSettings = QUICK,
                 now: datetime | None = None, wait_s: float = 45) -> stuck.Stuck:
    """The placement as `find` lists it, once it has a reason of `kind`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        found = {s.placement_id: s for s in await stuck.find(client, engine, settings, now=now)}
        here = found.get(placement_id)
        if here is not None and kind in {r.kind for r in here.reasons}:
            return here
        assert loop.time() < deadline, f"{placement_id} not listed as {kind} within {wait_s} s: {here}"
        await asyncio.sleep(0.5)


async def until(check, wait_s: float = 30, what: str = "the condition"):
    """`check()`'s (awaited) value once truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while not (value := await check()):
        assert loop.time() < deadline, f"{what} not within {wait_s} s"
        await asyncio.sleep(0.3)
    return value


def now() -> datetime:
    return datetime.now(UTC)
