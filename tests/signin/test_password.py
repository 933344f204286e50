"""A local account signs in with its password and then the code of its
authenticator app, or enrols an app first; only then is there a session."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp

from console.identity import SESSION_COOKIE
from console.signin import credentials
from console.signin.pending import COOKIE as PENDING_COOKIE
from store import accounts

from .browser import Browser, csrf_of, error_links
from .conftest import PASSWORD, add_person, events, unique_email


async def password_step(b: Browser, email: str, password: str, next_path: str | None = None):
    page = await b.get("/sign-in", params={"next": next_path} if next_path else None)
    assert page.status_code == 200
    return await b.post_form(page, email=email, password=password)


async def sign_in(b: Browser, email: str, password: str, secret: str, next_path: str | None = None):
    r = await password_step(b, email, password, next_path)
    assert (r.status_code, r.headers["location"]) == (303, "/sign-in/code"), r.text
    page = await b.get("/sign-in/code")
    return await b.post_form(page, code=credentials.current_code(secret))


async def test_the_password_then_the_code_open_a_session(site, person):
    async with Browser(site.url) as b:
        assert await b.api_status() == 401
        r = await password_step(b, person.email.upper(), PASSWORD, "/placements?state=active")
        assert r.status_code == 303 and b.cookie(SESSION_COOKIE) is None  # no session after the password alone
        assert await b.api_status() == 401
        page = await b.get(r.headers["location"])
        assert "Enter your security code" in page.text
        r = await b.post_form(page, code=credentials.current_code(person.totp_secret))
        assert (r.status_code, r.headers["location"]) == (303, "/placements?state=active")
        assert await b.api_status() == 200
        cookie = b.last_set_cookie(SESSION_COOKIE).lower()
        assert {"secure", "httponly", "samesite=lax", "path=/"} <= {p.strip() for p in cookie.split(";")}
        assert b.cookie(PENDING_COOKIE) is None  # the half-done sign-in is dropped
    assert events(site.engine, person.user_id)[-1] == ("signed_in", "via=password")


async def test_each_sign_in_has_a_new_session_and_ends_the_one_before(site, person):
    async with Browser(site.url) as b:
        await sign_in(b, person.email, PASSWORD, person.totp_secret)
        first = b.cookie(SESSION_COOKIE)
        await sign_in(b, person.email, PASSWORD, person.totp_secret)
        second = b.cookie(SESSION_COOKIE)
        assert first and second and first != second
        assert accounts.session_holder(site.engine, first, datetime.now(UTC), timedelta(minutes=30)) is None
        assert await b.api_status() == 200


async def test_a_wrong_password_and_an_unknown_email_are_refused_alike(site, person):
    async with Browser(site.url) as b:
        wrong = await password_step(b, person.email, "not the password at all")
        unknown = await password_step(b, unique_email("nobody"), PASSWORD)
    for r in (wrong, unknown):
        assert r.status_code == 401
        assert error_links(r.text) == {"password": "Email address or password is not correct"}
        assert 'id="password-error"' in r.text and "Error: Sign in" in r.text
    assert events(site.engine, person.user_id)[-1] == ("sign_in_failed", "via=password reason=wrong password")
    every_detail = " ".join(d or "" for _, d in events(site.engine))
    assert "not the password" not in every_detail and "@" not in every_detail


async def test_an_empty_form_says_what_is_missing(site):
    async with Browser(site.url) as b:
        r = await password_step(b, "", "")
    assert r.status_code == 400
    assert error_links(r.text) == {"email": "Enter your email address", "password": "Enter your password"}


async def test_a_wrong_code_opens_nothing(site, person):
    async with Browser(site.url) as b:
        await password_step(b, person.email, PASSWORD)
        page = await b.get("/sign-in/code")
        wrong = str((int(credentials.current_code(person.totp_secret)) + 1) % 1_000_000).zfill(6)
        r = await b.post_form(page, code=wrong)
        assert r.status_code == 401 and "The code is not correct" in error_links(r.text)["code"]
        assert b.cookie(SESSION_COOKIE) is None and await b.api_status() == 401
    assert events(site.engine, person.user_id)[-1] == ("sign_in_failed", "via=password reason=wrong code")


async def test_the_code_step_needs_the_password_step_in_the_same_browser(site, person):
    async with Browser(site.url) as b, Browser(site.url) as other:
        await password_step(b, person.email, PASSWORD)
        assert (await other.get("/sign-in/code")).headers["location"] == "/sign-in"
        page = await b.get("/sign-in/code")
        # The other browser posts the form with a valid form token of its own, and the right code.
        own = await other.get("/sign-in")
        r = await other.http.post("/sign-in/code", data={"csrf_token": csrf_of(own.text),
                                                         "code": credentials.current_code(person.totp_secret)})
        assert r.status_code == 400 and "timed out" in error_links(r.text)["email"]
        assert other.cookie(SESSION_COOKIE) is None
        # A forged half-done sign-in is no better.
        b.http.cookies.set(PENDING_COOKIE, "gAAAAAforged", domain=b.host, path="/sign-in")
        r = await b.post_form(page, code=credentials.current_code(person.totp_secret))
        assert r.status_code == 400 and b.cookie(SESSION_COOKIE) is None


async def test_a_first_sign_in_enrols_an_authenticator_app(site):
    p = add_person(site.engine, totp=False)
    async with Browser(site.url) as b:
        r = await password_step(b, p.email, PASSWORD)
        assert (r.status_code, r.headers["location"]) == (303, "/sign-in/enrol")
        page = await b.get("/sign-in/enrol")
        assert "<svg" in page.text and "QR code" in page.text
        secret = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page.text).group(1).replace(" ", "")
        wrong = await b.post_form(page, code="000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
        assert wrong.status_code == 401 and "The code is not correct" in error_links(wrong.text)["code"]
        assert accounts.user(site.engine, p.user_id).totp_secret is None  # nothing kept until a code proves it
        r = await b.post_form(wrong, code=pyotp.TOTP(secret).now())
        assert r.status_code == 303 and await b.api_status() == 200
    assert accounts.user(site.engine, p.user_id).totp_secret == secret
    assert [e for e, _ in events(site.engine, p.user_id)][-2:] == ["totp_enrolled", "signed_in"]
    async with Browser(site.url) as b:  # from now on it asks for the code
        assert (await sign_in(b, p.email, PASSWORD, secret)).status_code == 303


async def test_a_disabled_account_cannot_sign_in(site):
    p = add_person(site.engine, disabled=True)
    async with Browser(site.url) as b:
        r = await password_step(b, p.email, PASSWORD)
        assert r.status_code == 403 and "disabled" in r.text and b.cookie(SESSION_COOKIE) is None
        assert b.cookie(PENDING_COOKIE) is None
    assert events(site.engine, p.user_id)[-1] == ("sign_in_failed", "via=password reason=account disabled")


async def test_an_account_disabled_between_the_steps_is_refused_at_the_code(site, person):
    async with Browser(site.url) as b:
        await password_step(b, person.email, PASSWORD)
        page = await b.get("/sign-in/code")
        accounts.disable(site.engine, person.user_id, datetime.now(UTC))
        r = await b.post_form(page, code=credentials.current_code(person.totp_secret))
        assert r.status_code == 403 and "disabled" in r.text and b.cookie(SESSION_COOKIE) is None


async def test_an_account_without_a_password_cannot_sign_in_with_one(site):
    p = add_person(site.engine, password=None)
    async with Browser(site.url) as b:
        r = await password_step(b, p.email, "")
        assert r.status_code == 400
        r = await password_step(b, p.email, PASSWORD)
        assert r.status_code == 401
    assert events(site.engine, p.user_id)[-1] == ("sign_in_failed", "via=password reason=no password set")
