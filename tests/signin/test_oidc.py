"""Single sign-on against a real OpenID provider (npm's oidc-provider, on
loopback): the person signs in there, through its own forms, and comes back
signed in to the apflow account with the provider's verified email; every
other ending is refused with the reason, and audited."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx
import pytest
from temporalio.client import Client

from apflow.settings import Settings
from console.api import create_app
from console.identity import SESSION_COOKIE
from store import accounts
from tests.api.conftest import serving

from .browser import Browser, forms
from .conftest import DISABLED, OIDC_LABEL, PROVIDER_ACCOUNTS, STRANGER, UNVERIFIED, VERIFIED, events

CALLBACK = "/sign-in/oidc/callback"


async def at_the_provider(site, b: Browser, login: str, next_path: str = "/placements/p-1") -> str:
    """Starts single sign-on and signs in at the provider as `login`, its
    login and consent forms filled as a person would; the URL the provider
    sends the browser back to apflow with."""
    r = await b.get("/sign-in/oidc", params={"next": next_path})
    assert r.status_code == 302
    url = r.headers["location"]
    query = dict(parse_qsl(urlsplit(url).query))
    assert url.startswith(site.issuer + "/auth?")
    assert query["code_challenge_method"] == "S256" and query["code_challenge"] and query["nonce"] and query["state"]
    for _ in range(12):
        if url.startswith(site.url + CALLBACK):
            return url
        r = await b.http.get(url)
        while r.status_code == 200:  # a form of the provider's: its login, then its consent
            form = forms(r.text)[0]
            fields = {**form.fields, "login": login, "password": "any"} if "login" in form.fields else form.fields
            r = await b.http.post(urljoin(url, form.action), data=fields)
        assert r.status_code in (302, 303), r.text
        url = urljoin(url, r.headers["location"])
    raise AssertionError("the provider did not send the browser back")


def tampered(url: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["state"] = query["state"][::-1]
    return urlunsplit(parts._replace(query=urlencode(query)))


def user_id_of(site, login: str) -> str:
    return accounts.user_by_email(site.engine, PROVIDER_ACCOUNTS[login]["email"]).user_id


async def test_the_sign_in_page_offers_the_trusts_sign_in(site):
    async with Browser(site.url) as b:
        page = await b.get("/sign-in", params={"next": "/placements/p-1"})
    assert OIDC_LABEL in page.text and 'href="/sign-in/oidc?next=/placements/p-1"' in page.text


async def test_a_verified_email_signs_in_its_account(site):
    async with Browser(site.url) as b:
        back = await at_the_provider(site, b, VERIFIED)
        r = await b.http.get(back)
        assert (r.status_code, r.headers["location"]) == (303, "/placements/p-1")
        assert b.cookie(SESSION_COOKIE) and await b.api_status() == 200
        assert b.cookie("apflow_oidc") is None  # the state has done its work
    assert events(site.engine, user_id_of(site, VERIFIED))[-1] == ("signed_in", "via=oidc")


@pytest.mark.parametrize(("login", "status", "says", "reason"), [
    (UNVERIFIED, 403, "has not verified your email address", "email not verified"),
    (STRANGER, 403, "There is no apflow account for the email address", "no account"),
    (DISABLED, 403, "Your apflow account has been disabled", "account disabled"),
])
async def test_anyone_else_is_refused_with_the_reason(site, login, status, says, reason):
    async with Browser(site.url) as b:
        r = await b.http.get(await at_the_provider(site, b, login))
        assert r.status_code == status and says in r.text
        assert b.cookie(SESSION_COOKIE) is None and await b.api_status() == 401
    assert ("sign_in_failed", f"via=oidc reason={reason}") in events(site.engine)


async def test_a_tampered_state_is_refused(site):
    async with Browser(site.url) as b:
        r = await b.http.get(tampered(await at_the_provider(site, b, VERIFIED)))
        assert r.status_code == 403 and "did not start in this browser" in r.text
        assert b.cookie(SESSION_COOKIE) is None
    assert events(site.engine)[-1] == ("sign_in_failed", "via=oidc reason=state mismatch")


async def test_an_answer_for_another_browser_is_refused(site):
    """A code and state sent to someone else's browser (a login CSRF) open nothing there."""
    async with Browser(site.url) as victim, Browser(site.url) as attacker:
        back = await at_the_provider(site, attacker, VERIFIED)
        r = await victim.http.get(back)
        assert r.status_code == 403 and victim.cookie(SESSION_COOKIE) is None


async def test_a_refusal_at_the_provider_is_said_as_such(site):
    async with Browser(site.url) as b:
        r = await b.get("/sign-in/oidc")
        state = dict(parse_qsl(urlsplit(r.headers["location"]).query))["state"]
        r = await b.get(CALLBACK, params={"error": "access_denied", "error_description": "End-User aborted interaction",
                                          "state": state})
    assert r.status_code == 403 and "did not sign you in (End-User aborted interaction)" in r.text


async def test_without_a_provider_there_is_no_single_sign_on(site):
    plain = create_app(Settings(var_dir=site.settings.var_dir), client=await Client.connect("127.0.0.1:1", lazy=True),
                       engine=site.engine)
    async with serving(plain) as url, httpx.AsyncClient(base_url=url) as http:
        page = await http.get("/sign-in")
        assert page.status_code == 200 and "/sign-in/oidc" not in page.text
        assert (await http.get("/sign-in/oidc")).status_code == 404
