"""The worker's thread pool for synchronous activities has a thread for
every activity slot, both from one number."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from apflow.settings import Settings
from worker import build_worker


@pytest.mark.parametrize("slots", [None, 1, 40])
async def test_the_activity_thread_pool_is_at_least_the_activity_slots(dev_env, engine, task_queue, slots):
    settings = Settings() if slots is None else Settings(worker_activity_slots=slots)
    config = build_worker(dev_env.client, task_queue, engine, settings=settings).config()
    pool = config["activity_executor"]
    assert isinstance(pool, ThreadPoolExecutor)
    assert config["max_concurrent_activities"] == (slots or 16)
    assert pool._max_workers >= config["max_concurrent_activities"]


def test_the_slots_are_a_setting(monkeypatch):
    monkeypatch.setenv("APFLOW_WORKER_ACTIVITY_SLOTS", "24")
    assert Settings().worker_activity_slots == 24
