"""Failed sign-ins are counted in the register per account and per client
address; past `max_failures` in the window, the right password is refused
too, until the window has passed. Each `Browser` connects from an address
of its own."""
from __future__ import annotations

from datetime import UTC, datetime

from temporalio.client import Client

from apflow.settings import Settings
from console.api import create_app
from console.identity import SESSION_COOKIE
from console.signin import credentials
from console.signin.throttle import account_key
from store import accounts

from .browser import Browser
from .conftest import PASSWORD, events, unique_email
from tests.api.conftest import serving

from .test_password import password_step, sign_in


async def fail(b: Browser, email: str, times: int) -> None:
    for _ in range(times):
        assert (await password_step(b, email, "a wrong password guess")).status_code == 401


async def test_too_many_failures_for_an_account_refuse_even_the_right_password(site, person):
    limit = site.settings.signin.max_failures
    async with Browser(site.url) as guesser, Browser(site.url) as owner:
        await fail(guesser, person.email, limit)
        r = await password_step(owner, person.email, PASSWORD)  # another address: the account's count refuses it
        assert r.status_code == 429
        assert "too many failed attempts" in r.text and f"Wait {site.settings.signin.failure_window_minutes} minutes" in r.text
        assert r.headers["retry-after"] == str(site.settings.signin.failure_window_minutes * 60)
        assert owner.cookie(SESSION_COOKIE) is None
    assert events(site.engine, person.user_id)[-1] == ("sign_in_throttled", "via=password step=password")


async def test_too_many_failures_from_one_address_refuse_every_account_there(site, person):
    limit = site.settings.signin.max_failures
    async with Browser(site.url) as guesser, Browser(site.url) as elsewhere:
        for _ in range(limit):
            await fail(guesser, unique_email("guess"), 1)
        assert (await password_step(guesser, person.email, PASSWORD)).status_code == 429
        r = await sign_in(elsewhere, person.email, PASSWORD, person.totp_secret)
        assert r.status_code == 303 and await elsewhere.api_status() == 200


async def test_wrong_codes_count_as_failures(site, person):
    limit = site.settings.signin.max_failures
    async with Browser(site.url) as b:
        await password_step(b, person.email, PASSWORD)
        page = await b.get("/sign-in/code")
        wrong = str((int(credentials.current_code(person.totp_secret)) + 3) % 1_000_000).zfill(6)
        for _ in range(limit):
            assert (await b.post_form(page, code=wrong)).status_code == 401
        r = await b.post_form(page, code=credentials.current_code(person.totp_secret))
        assert r.status_code == 429 and b.cookie(SESSION_COOKIE) is None


async def test_a_success_clears_the_accounts_count(site, person):
    limit = site.settings.signin.max_failures
    for _ in range(2):  # twice as many failures in all as the limit, a success between
        async with Browser(site.url) as b:
            await fail(b, person.email, limit - 1)
            assert (await sign_in(b, person.email, PASSWORD, person.totp_secret)).status_code == 303
    assert accounts.failures_since(site.engine, account_key(person.email), datetime(2000, 1, 1, tzinfo=UTC)) == 0


async def test_the_count_is_shared_by_every_process_of_the_service(site, person):
    """A second app on the same register (as a second process would be) refuses too."""
    async with Browser(site.url) as b:
        await fail(b, person.email, site.settings.signin.max_failures)
    other = create_app(Settings(var_dir=site.settings.var_dir), client=await Client.connect("127.0.0.1:1", lazy=True),
                       engine=site.engine)
    async with serving(other) as url, Browser(url) as b:
        assert (await password_step(b, person.email, PASSWORD)).status_code == 429
