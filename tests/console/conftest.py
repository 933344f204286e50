"""The console served for real: uvicorn on an ephemeral port, the Temporal dev
server, a worker on a fresh task queue and a SQLite register (as the API's
tests have it), and headless Chromium from Debian driven by Playwright."""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from apflow.settings import Settings
from console.api import create_app
from store.db import make_engine, migrate
from tests.api.conftest import serving
from tests.proxy import as_staff
from worker import build_worker

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCHOOL = "137000"
OTHER = "137001"


@dataclass(frozen=True)
class Person:
    """Who is signed in: here through the trust's sign-in proxy (the suite
    runs the service in trusted-proxy mode, see tests/proxy.py)."""

    user: str
    role: str
    school: str | None = SCHOOL

    @property
    def headers(self) -> dict[str, str]:
        return as_staff(self.user, self.role, self.school)


LEAD = Person("aplead-137000", "ap_lead")
HEAD = Person("head-137000", "headteacher")
DSL = Person("dsl-137000", "dsl")
OPS = Person("ops-1", "trust_operations", None)
OTHER_LEAD = Person("aplead-137001", "ap_lead", OTHER)


@dataclass
class Stack:
    url: str
    engine: object
    settings: Settings


@pytest_asyncio.fixture(scope="module")
async def console(dev_env, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("console")
    engine = make_engine(f"sqlite:///{tmp / 'register.db'}")
    migrate(engine)
    settings = Settings(task_queue=f"tq-console-{uuid.uuid4()}", var_dir=tmp / "var")
    app = create_app(settings, client=dev_env.client, engine=engine)
    try:
        async with build_worker(dev_env.client, settings.task_queue, engine, settings=settings), serving(app) as url:
            yield Stack(url, engine, settings)
    finally:
        engine.dispose()


@pytest_asyncio.fixture
async def http(console):
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as client:
        yield client


@pytest_asyncio.fixture(scope="module")
async def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is required here but /usr/bin/chromium is missing (apt-get install chromium)")
        pytest.skip("no /usr/bin/chromium on this machine")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        await b.close()


async def signed_in(browser, console: Stack, person: Person, scripts: bool = True):
    """A browser page signed in as `person`: the one place that says how
    (the trust's proxy's headers; the sign-in's own tests sign in through
    its pages). `scripts=False` browses with JavaScript off."""
    context = await browser.new_context(base_url=console.url, extra_http_headers=person.headers,
                                        viewport={"width": 1280, "height": 900}, java_script_enabled=scripts)
    context.set_default_timeout(10_000)
    page = await context.new_page()
    page.problems = []  # what the browser complained of: a script error, a refused load (the CSP)
    page.on("console", lambda m: page.problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    return page
