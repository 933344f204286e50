"""The sign-in tests' world: apflow served by uvicorn with a SQLite register
of its own, and a real OpenID provider (npm's certified `oidc-provider`,
`tests/signin/oidc/`) on loopback with a client registered for apflow's
callback. Temporal is not needed to sign in: the app is handed a client
that would connect only when used.

apflow's address is fixed first (its socket bound), since the provider
must know apflow's callback and apflow the provider's issuer."""
from __future__ import annotations

import asyncio
import contextlib
import email
import fcntl
import json
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import Engine
from temporalio.client import Client

from apflow.settings import Settings, SignInSettings
from console.api import create_app
from console.signin import credentials
from domain.access import Grant
from domain.models import Role
from store import accounts
from store.db import make_engine, migrate
from tests.api.conftest import serving

PROVIDER_DIR = Path(__file__).parent / "oidc"
CLIENT_ID, CLIENT_SECRET = "apflow-tests", "test-only-client-secret"
SCHOOL = "137000"
PASSWORD = "correct horse battery staple"
OIDC_LABEL = "Sign in with Northgate Trust"

# The provider's people, by the login typed at its (development) sign-in form.
VERIFIED, UNVERIFIED, STRANGER, DISABLED = "verified", "unverified", "stranger", "disabled"
PROVIDER_ACCOUNTS = {
    VERIFIED: {"email": "Verified.Lead@School.Example", "email_verified": True},
    UNVERIFIED: {"email": "unverified.lead@school.example", "email_verified": False},
    STRANGER: {"email": "nobody.here@school.example", "email_verified": True},
    DISABLED: {"email": "gone.lead@school.example", "email_verified": True},
}


@dataclass
class Site:
    url: str
    engine: Engine
    settings: Settings
    issuer: str

    @property
    def outbox(self) -> Path:
        return self.settings.mail.outbox_dir


@dataclass(frozen=True)
class Person:
    user_id: str
    email: str
    password: str
    totp_secret: str | None


def unique_email(stem: str = "lead") -> str:
    return f"{stem}.{uuid.uuid4().hex[:10]}@school.example"


def add_person(engine: Engine, email_address: str | None = None, *, password: str | None = PASSWORD,
               totp: bool = True, disabled: bool = False) -> Person:
    now = datetime.now(UTC)
    secret = credentials.new_totp_secret() if totp else None
    row = accounts.add_user(engine, email_address or unique_email(), "A Lead", now,
                            password_hash=credentials.hash_password(password) if password else None,
                            totp_secret=secret)
    accounts.add_grant(engine, row.user_id, Grant(Role.ap_lead, SCHOOL))
    if disabled:
        accounts.disable(engine, row.user_id, now)
    return Person(row.user_id, row.email, password or "", secret)


def events(engine: Engine, subject: str | None = None) -> list[tuple[str, str | None]]:
    return [(e.event, e.detail) for e in reversed(accounts.events(engine, subject))]


@pytest.fixture(scope="session")
def apflow_socket():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def _install_provider() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise RuntimeError("the sign-in tests' OpenID provider needs Node.js (20 or newer) and npm")
    # Test processes running side by side install it once, one at a time.
    with open(PROVIDER_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PROVIDER_DIR, check=True,
                           stdout=subprocess.DEVNULL)


@contextlib.contextmanager
def running_provider(people: dict[str, dict], callback_port: int):
    """The OpenID provider on loopback, knowing `people` (by login) and
    apflow's callback on `callback_port`: yields its issuer URL."""
    _install_provider()
    config = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "accounts": people,
              "redirect_uri": f"http://127.0.0.1:{callback_port}/sign-in/oidc/callback"}
    process = subprocess.Popen(["node", "provider.mjs", json.dumps(config)], cwd=PROVIDER_DIR, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the OpenID provider did not start (exit status {process.wait(5)})")
        yield json.loads(line)["issuer"]
    finally:
        process.stdin.close()  # it exits when its stdin closes
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def identity_provider(apflow_socket):
    """The provider's issuer URL, the provider listening there."""
    with running_provider(PROVIDER_ACCOUNTS, apflow_socket.getsockname()[1]) as issuer:
        yield issuer


@pytest_asyncio.fixture(scope="session")
async def site(apflow_socket, identity_provider, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("signin")
    url = f"http://127.0.0.1:{apflow_socket.getsockname()[1]}"
    settings = Settings(var_dir=tmp / "var", public_url=url, signin=SignInSettings(
        oidc_issuer=identity_provider, oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET,
        oidc_label=OIDC_LABEL))
    engine = make_engine(f"sqlite:///{tmp / 'register.db'}")
    migrate(engine)
    for login, claims in PROVIDER_ACCOUNTS.items():
        if login != STRANGER:
            add_person(engine, claims["email"], password=None, totp=False, disabled=login == DISABLED)
    client = await Client.connect("127.0.0.1:1", lazy=True)  # never used: signing in needs no Temporal
    try:
        async with serving(create_app(settings, client=client, engine=engine), apflow_socket):
            yield Site(url, engine, settings, identity_provider)
    finally:
        engine.dispose()


@pytest.fixture
def person(site) -> Person:
    return add_person(site.engine)


async def mail_to(site: Site, address: str, wait_s: float = 10) -> email.message.EmailMessage:
    """The one message in the outbox for `address`, once it is there (it is
    sent after the page has answered)."""
    deadline = time.monotonic() + wait_s
    while True:
        found = [m for m in (email.message_from_bytes(p.read_bytes(), policy=policy.default)
                             for p in sorted(site.outbox.glob("*.eml"))) if m["To"] == address]
        if found or time.monotonic() > deadline:
            assert len(found) == 1, f"{len(found)} messages to {address}"
            return found[0]
        await asyncio.sleep(0.1)


def no_mail_to(site: Site, address: str) -> bool:
    return not site.outbox.exists() or all(
        email.message_from_bytes(p.read_bytes(), policy=policy.default)["To"] != address
        for p in site.outbox.glob("*.eml"))

