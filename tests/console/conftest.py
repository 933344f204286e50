"""The console served for real: uvicorn on an ephemeral port, the Temporal dev
server, a worker on a fresh task queue and a SQLite register (as the API's
tests have it), the trust's OpenID provider on loopback (tests/signin/oidc),
and headless Chromium from Debian driven by Playwright. In the browser,
people sign in through the pages (password and authenticator code, or single
sign-on); over plain HTTP they come through the trusted proxy's headers."""
from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from apflow.settings import Settings, SignInSettings
from console.api import create_app
from console.signin import credentials
from domain.access import Grant
from domain.models import Role
from store import accounts
from store.db import make_engine, migrate
from tests.api.conftest import serving
from tests.proxy import as_staff
from tests.signin.conftest import CLIENT_ID, CLIENT_SECRET, running_provider
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

    @property
    def email(self) -> str:
        return f"{self.user}@school.example"


LEAD = Person("aplead-137000", "ap_lead")
HEAD = Person("head-137000", "headteacher")
DSL = Person("dsl-137000", "dsl")
OPS = Person("ops-1", "trust_operations", None)
OTHER_LEAD = Person("aplead-137001", "ap_lead", OTHER)


PASSWORD = "a long test-only password"
SSO_LOGIN = "sso-lead"  # the provider's person with the verified email of SSO_LEAD
SSO_LEAD = Person("sso-lead-137000", "ap_lead")


@dataclass
class Stack:
    url: str
    engine: object
    settings: Settings
    totp: dict[str, str]  # each person's authenticator secret, by email


def _accounts(engine, people: list[Person]) -> dict[str, str]:
    """Each person a local account with a password and an authenticator."""
    secrets, now = {}, datetime.now(UTC)
    for person in people:
        secret = credentials.new_totp_secret()
        user = accounts.add_user(engine, person.email, person.user.replace("-", " ").title(), now,
                                 password_hash=credentials.hash_password(PASSWORD), totp_secret=secret)
        accounts.add_grant(engine, user.user_id, Grant(Role(person.role), person.school))
        secrets[person.email] = secret
    return secrets


@pytest.fixture(scope="module")
def identity_provider(tmp_path_factory):
    """The trust's OpenID provider, and the socket apflow will answer on (the
    provider must know apflow's callback before apflow starts)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        people = {SSO_LOGIN: {"email": SSO_LEAD.email, "email_verified": True}}
        with running_provider(people, sock.getsockname()[1]) as issuer:
            yield issuer, sock
    finally:
        sock.close()


@pytest_asyncio.fixture(scope="module")
async def console(dev_env, identity_provider, tmp_path_factory):
    issuer, sock = identity_provider
    tmp = tmp_path_factory.mktemp("console")
    engine = make_engine(f"sqlite:///{tmp / 'register.db'}")
    migrate(engine)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings(task_queue=f"tq-console-{uuid.uuid4()}", var_dir=tmp / "var", public_url=url,
                        signin=SignInSettings(oidc_issuer=issuer, oidc_client_id=CLIENT_ID,
                                              oidc_client_secret=CLIENT_SECRET, oidc_label="Sign in with the trust",
                                              trusted_proxy_secret=Settings().signin.trusted_proxy_secret))
    totp = _accounts(engine, [LEAD, HEAD, DSL, OPS, OTHER_LEAD])
    accounts.add_grant(engine, accounts.add_user(engine, SSO_LEAD.email, "Sso Lead", datetime.now(UTC)).user_id,
                       Grant(Role.ap_lead, SCHOOL))
    app = create_app(settings, client=dev_env.client, engine=engine)
    try:
        async with build_worker(dev_env.client, settings.task_queue, engine, settings=settings), serving(app, sock):
            yield Stack(url, engine, settings, totp)
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


async def new_page(browser, console: Stack, scripts: bool = True):
    context = await browser.new_context(base_url=console.url, viewport={"width": 1280, "height": 900},
                                        java_script_enabled=scripts)
    context.set_default_timeout(10_000)
    page = await context.new_page()
    page.problems = []  # what the browser complained of: a script error, a refused load (the CSP)
    page.on("console", lambda m: page.problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    return page


async def signed_in(browser, console: Stack, person: Person, scripts: bool = True):
    """A browser page signed in as `person` through the sign-in pages, as a
    person does: email and password, then the code their authenticator app
    shows. `scripts=False` browses with JavaScript off."""
    page = await new_page(browser, console, scripts)
    await page.goto("/")
    assert page.url.startswith(f"{console.url}/sign-in"), page.url  # no session: the sign-in page
    await page.fill("#email", person.email)
    await page.fill("#password", PASSWORD)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Continue").click()
    await page.fill("#code", credentials.current_code(console.totp[person.email]))
    async with page.expect_navigation():
        await page.get_by_role("button", name="Sign in").click()
    assert page.url.rstrip("/") == console.url, (page.url, await page.content())
    return page
