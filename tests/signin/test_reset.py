"""A forgotten password: the same answer whoever asks, a link by email that
works once and for a while, and a new password that ends every session."""
from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime, timedelta

from console.hardening import RedactTokens
from console.signin import credentials
from store import accounts

from .browser import Browser, error_links
from .conftest import PASSWORD, add_person, events, mail_to, no_mail_to, unique_email
from .test_password import password_step, sign_in

NEW_PASSWORD = "a much longer passphrase now"


async def ask_for_link(b: Browser, email: str):
    page = await b.get("/forgot-password")
    return await b.post_form(page, email=email)


async def link_for(site, b: Browser, email: str) -> str:
    r = await ask_for_link(b, email)
    assert r.status_code == 200
    message = await mail_to(site, email)
    assert message["Subject"] == "Reset your apflow password"
    link = re.search(r"http://\S+/reset-password/[\w-]+", message.get_body(("plain",)).get_content()).group(0)
    assert link.startswith(site.url)
    return link.removeprefix(site.url)


async def test_the_answer_is_the_same_whether_or_not_the_account_exists(site, person):
    async with Browser(site.url) as b:
        known = await ask_for_link(b, person.email)
        unknown_address = unique_email("nobody")
        unknown = await ask_for_link(b, unknown_address)
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text and "If an apflow account has that email address" in known.text
    await mail_to(site, person.email)
    assert no_mail_to(site, unknown_address)


async def test_a_link_sets_a_new_password_once_and_ends_every_session(site, person):
    async with Browser(site.url) as signed_in, Browser(site.url) as b:
        await sign_in(signed_in, person.email, PASSWORD, person.totp_secret)
        assert await signed_in.api_status() == 200
        path = await link_for(site, b, person.email)
        page = await b.get(path)
        assert page.status_code == 200 and "Choose a new password" in page.text
        assert set(page.headers.get_list("referrer-policy")) == {"no-referrer"}
        assert page.headers["cache-control"] == "no-store"

        short = await b.post_form(page, password="too short", password_again="too short")
        assert short.status_code == 400
        assert error_links(short.text) == {"password": "Password must be 12 characters or more"}
        itself = await b.post_form(page, password=person.email.upper(), password_again=person.email.upper())
        assert error_links(itself.text) == {"password": "Password must not be your email address"}
        unlike = await b.post_form(page, password=NEW_PASSWORD, password_again=NEW_PASSWORD + "!")
        assert error_links(unlike.text) == {"password_again": "Enter the same password twice"}

        done = await b.post_form(page, password=NEW_PASSWORD, password_again=NEW_PASSWORD)
        assert done.status_code == 200 and "Your password has been changed" in done.text
        assert await signed_in.api_status() == 401  # every session of the account ended

        again = await b.post_form(page, password=NEW_PASSWORD + "2", password_again=NEW_PASSWORD + "2")
        assert again.status_code == 410 and "has been used already" in again.text
        assert (await b.get(path)).status_code == 410

    async with Browser(site.url) as b:
        assert (await password_step(b, person.email, PASSWORD)).status_code == 401
        assert (await sign_in(b, person.email, NEW_PASSWORD, person.totp_secret)).status_code == 303
    seen = [e for e, _ in events(site.engine, person.user_id)]
    assert "password_reset_requested" in seen and ("password_reset", "sessions_ended=1") in events(site.engine, person.user_id)


async def test_an_expired_link_is_refused(site, person):
    secret = accounts.create_reset(site.engine, person.user_id, datetime.now(UTC) - timedelta(hours=2), timedelta(hours=1))
    async with Browser(site.url) as b:
        r = await b.get(f"/reset-password/{secret}")
    assert r.status_code == 410 and "has expired" in r.text and "/forgot-password" in r.text


def _requests(site, detail: str) -> int:
    return sum(e == "password_reset_requested" and d == detail for e, d in events(site.engine))


async def until(done, wait_s: float = 10) -> None:
    """The link is sent after the answer: wait for what the sending records."""
    for _ in range(int(wait_s * 10)):
        if done():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("not done in time")


async def test_no_link_goes_to_a_disabled_account(site):
    p = add_person(site.engine, disabled=True)
    before = _requests(site, "no active account")
    async with Browser(site.url) as b:
        assert (await ask_for_link(b, p.email)).status_code == 200
    await until(lambda: _requests(site, "no active account") == before + 1)
    assert no_mail_to(site, p.email)


async def test_asking_too_often_sends_no_more_links(site):
    p = add_person(site.engine)
    limit = site.settings.signin.max_failures
    async with Browser(site.url) as b:
        for _ in range(limit + 2):
            assert (await ask_for_link(b, p.email)).status_code == 200

    def sent() -> list[str | None]:
        return [d for e, d in events(site.engine, p.user_id) if e == "password_reset_requested"]

    await until(lambda: len(sent()) == limit + 2)
    assert sent().count("link sent") == limit and sent().count("not sent: asked too often") == 2


def test_the_access_log_shows_no_reset_secret():
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/reset-password/Zm9vYmFyc2VjcmV0", "1.1", 200), None)
    RedactTokens().filter(record)
    assert "Zm9vYmFyc2VjcmV0" not in record.getMessage() and "/reset-password/…" in record.getMessage()


def test_a_new_password_is_long_and_not_the_email():
    assert credentials.password_problem("x" * 11, "a@b.example") == "Password must be 12 characters or more"
    assert credentials.password_problem(" A.Lead@School.Example ", "a.lead@school.example") is not None
    assert credentials.password_problem("twelve chars", "a@b.example") is None  # no complexity rules
