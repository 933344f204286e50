"""Shared fixtures: real Temporal servers from the pip packages, a real
SQLite register per test, and a worker on a fresh task queue."""
from __future__ import annotations

import shutil
import sys
import uuid
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from apflow.temporal import data_converter, register_search_attributes
from store.db import make_engine, migrate
from tests.proxy import PROXY_SECRET

BIN = Path(sys.executable).parent
# A fixed key for tests only: the stored histories under tests/workflows/histories
# are encrypted with it, so the replay tests can read them.
CODEC_KEY = b"dGVzdC1vbmx5LWtleS1mb3ItYXBmbG93LWhpc3Rvcmk="


@pytest.fixture(scope="session", autouse=True)
def var_outside_the_tree(tmp_path_factory):
    """What code under test writes by its default settings (keys, secrets,
    the letters' outbox) goes to a temporary folder, not the tree's var/."""
    with pytest.MonkeyPatch.context() as mp:
        var = tmp_path_factory.mktemp("var")
        mp.setenv("APFLOW_VAR_DIR", str(var))
        mp.setenv("APFLOW_SIGNIN__TRUSTED_PROXY_SECRET", PROXY_SECRET)  # see tests/proxy.py
        yield var


@pytest.fixture(scope="session")
def migrated_register(tmp_path_factory) -> Path:
    """A register file brought up to the newest migration once a process:
    copying it takes a millisecond, migrating a new one about 50."""
    path = tmp_path_factory.mktemp("migrated") / "register.db"
    e = make_engine(f"sqlite:///{path}")
    migrate(e)
    e.dispose()  # the last connection closed checkpoints the WAL into the file
    return path


@pytest.fixture
def engine(tmp_path, migrated_register):
    path = tmp_path / "register.db"
    shutil.copyfile(migrated_register, path)
    e = make_engine(f"sqlite:///{path}")
    yield e
    e.dispose()


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4()}"


@pytest_asyncio.fixture
async def time_env():
    """The time-skipping test server: a term of timers runs in a second.
    One per test: a workflow left waiting by an earlier test, with no worker
    polling for it, would hold time still."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=data_converter(CODEC_KEY),
    )
    await register_search_attributes(env.client, env.client.namespace)
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def dev_env():
    """The Temporal dev server, where visibility and search attributes matter."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        data_converter=data_converter(CODEC_KEY),
        ui=False,
    )
    await register_search_attributes(env.client, env.client.namespace)
    yield env
    await env.shutdown()
