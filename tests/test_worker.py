"""The worker's thread pool for synchronous activities has a thread for
every activity slot, both from one number; its workflow cache is the
setting's size."""
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


@pytest.mark.parametrize("size", [None, 0, 20_000])
async def test_the_workflow_cache_is_the_setting(dev_env, engine, task_queue, size):
    settings = Settings() if size is None else Settings(worker_cache_size=size)
    config = build_worker(dev_env.client, task_queue, engine, settings=settings).config()
    assert config["max_cached_workflows"] == (1000 if size is None else size)


def test_the_cache_size_is_a_setting(monkeypatch):
    monkeypatch.setenv("APFLOW_WORKER_CACHE_SIZE", "5000")
    assert Settings().worker_cache_size == 5000
