"""Pages and forms around signing in: a page asked for without a session
leads to the sign-in page and back, never to another site; every form
carries a token another site cannot know; signing out ends this session,
or every one of the account's."""
from __future__ import annotations

import pytest
import pytest_asyncio
from fastapi import Request
from fastapi.responses import HTMLResponse
from temporalio.client import Client

from apflow.settings import Settings
from console.api import create_app
from console.identity import SESSION_COOKIE, PrincipalDep
from console.signin import credentials, csrf
from console.signin.pages import local_path
from store import accounts
from tests.api.conftest import serving
from tests.proxy import as_staff

from .browser import JSON, Browser, csrf_of, forms
from .conftest import PASSWORD, events
from .test_password import sign_in


@pytest_asyncio.fixture(scope="module")
async def console(site):
    """apflow with a page and a form of the kind the console's routers add
    (on paths of their own: the console's own pages are real)."""
    app = create_app(Settings(var_dir=site.settings.var_dir), client=await Client.connect("127.0.0.1:1", lazy=True),
                     engine=site.engine)

    @app.get("/stand-in/{placement_id}")
    def placement_page(placement_id: str, principal: PrincipalDep, request: Request) -> HTMLResponse:
        return HTMLResponse(f'<form method="post" action="/stand-in/{placement_id}/notes">'
                            f'<input type="hidden" name="csrf_token" value="{csrf.token_for(request, principal)}"></form>')

    @app.post("/stand-in/{placement_id}/notes")
    def add_note(placement_id: str, principal: csrf.FormPrincipal) -> HTMLResponse:
        return HTMLResponse(f"noted by {principal.user_id}")

    async with serving(app) as url:
        yield url


async def test_a_page_asked_for_without_a_session_leads_to_sign_in_and_back(console, person):
    async with Browser(console) as b:
        r = await b.get("/stand-in/p-1?tab=letters")
        assert (r.status_code, r.headers["location"]) == (303, "/sign-in?next=%2Fstand-in%2Fp-1%3Ftab%3Dletters")
        page = await b.get(r.headers["location"])
        assert forms(page.text)[0].fields["next"] == "/stand-in/p-1?tab=letters"
        r = await b.post_form(page, email=person.email, password=PASSWORD)
        page = await b.get(r.headers["location"])
        r = await b.post_form(page, code=credentials.current_code(person.totp_secret))
        assert r.headers["location"] == "/stand-in/p-1?tab=letters"
        assert (await b.get(r.headers["location"])).status_code == 200


async def test_the_api_and_non_browsers_still_get_401(console):
    async with Browser(console) as b:
        r = await b.get("/api/placements")  # a browser's Accept, on the API
        assert r.status_code == 401 and r.headers["content-type"] == "application/json"
        assert "sign in first" in r.json()["detail"]
        r = await b.get("/stand-in/p-1", headers=JSON)
        assert r.status_code == 401 and "sign in first" in r.json()["detail"]


@pytest.mark.parametrize("elsewhere", [
    "https://evil.example/", "//evil.example/x", "/\\evil.example", "\\\\evil.example", "/\t/evil.example",
    "javascript:alert(1)", "http:/evil.example", "evil.example", "/sign-in", "/sign-in/code", "",
])
def test_next_is_only_ever_a_path_here(elsewhere):
    assert local_path(elsewhere) == "/"


def test_a_path_here_is_kept():
    assert local_path("/placements/p-1?tab=letters#deadlines") == "/placements/p-1?tab=letters#deadlines"


async def test_a_next_to_another_site_lands_on_the_home_page(site, person):
    async with Browser(site.url) as b:
        r = await sign_in(b, person.email, PASSWORD, person.totp_secret, next_path="//evil.example/phish")
    assert r.headers["location"] == "/"


async def test_a_form_without_its_token_is_refused(site, person):
    async with Browser(site.url) as b, Browser(site.url) as other:
        r = await b.http.post("/sign-in", data={"email": person.email, "password": PASSWORD})
        assert r.status_code == 403 and "This form could not be sent" in r.text and "nothing was changed" in r.text
        # Another browser's field, without that browser's cookie.
        field = csrf_of((await other.get("/sign-in")).text)
        await b.get("/sign-in")
        r = await b.http.post("/sign-in", data={"csrf_token": field, "email": person.email, "password": PASSWORD})
        assert r.status_code == 403
        # This browser's cookie with a field not signed by apflow.
        r = await b.http.post("/sign-in", data={"csrf_token": b.cookie(csrf.FORM_COOKIE), "email": person.email,
                                                "password": PASSWORD})
        assert r.status_code == 403 and b.cookie(SESSION_COOKIE) is None


async def test_a_signed_in_form_needs_its_sessions_token(console, person):
    async with Browser(console) as b, Browser(console) as other:
        await sign_in(b, person.email, PASSWORD, person.totp_secret)
        await sign_in(other, person.email, PASSWORD, person.totp_secret)
        page = await b.get("/stand-in/p-1")
        assert (await b.http.post("/stand-in/p-1/notes", data={})).status_code == 403
        theirs = csrf_of((await other.get("/stand-in/p-1")).text)
        assert (await b.http.post("/stand-in/p-1/notes", data={"csrf_token": theirs})).status_code == 403
        r = await b.post_form(page)
        assert r.status_code == 200 and r.text == f"noted by {person.user_id}"


async def test_a_form_posted_after_the_session_ended_leads_to_sign_in(site, console, person):
    async with Browser(console) as b:
        await sign_in(b, person.email, PASSWORD, person.totp_secret)
        page = await b.get("/stand-in/p-1")
        accounts.close_session(site.engine, b.cookie(SESSION_COOKIE))  # as its idle timeout would
        r = await b.post_form(page)
        assert (r.status_code, r.headers["location"]) == (303, "/sign-in?next=%2Fstand-in%2Fp-1%2Fnotes")


async def test_a_proxied_persons_form_carries_a_signed_token(console):
    lead = as_staff("proxied-lead", "ap_lead", "137000")
    async with Browser(console) as b:
        page = await b.get("/stand-in/p-1", headers=lead)
        token = csrf_of(page.text)
        r = await b.http.post("/stand-in/p-1/notes", headers=lead, data={"csrf_token": token})
        assert r.status_code == 200 and r.text == "noted by proxied-lead"
        someone = as_staff("someone-else", "ap_lead", "137000")
        assert (await b.http.post("/stand-in/p-1/notes", headers=someone, data={"csrf_token": token})).status_code == 403


async def test_signing_out_ends_this_browsers_session(site, person):
    async with Browser(site.url) as b, Browser(site.url) as other:
        await sign_in(b, person.email, PASSWORD, person.totp_secret)
        await sign_in(other, person.email, PASSWORD, person.totp_secret)
        page = await b.get("/sign-out")
        assert [f.action for f in forms(page.text)] == ["/sign-out", "/sign-out-everywhere"]
        assert (await b.http.post("/sign-out", data={})).status_code == 403 and await b.api_status() == 200
        r = await b.post_form(page, url="/sign-out")
        assert r.status_code == 200 and "This browser is no longer signed in" in r.text
        assert await b.api_status() == 401 and b.cookie(SESSION_COOKIE) is None
        assert await other.api_status() == 200
    assert events(site.engine, person.user_id)[-1] == ("signed_out", None)


async def test_signing_out_everywhere_ends_every_session_of_the_account(site, person):
    async with Browser(site.url) as b, Browser(site.url) as other:
        await sign_in(b, person.email, PASSWORD, person.totp_secret)
        await sign_in(other, person.email, PASSWORD, person.totp_secret)
        page = await b.get("/sign-out")
        r = await b.post_form(page, url="/sign-out-everywhere")
        assert r.status_code == 200 and "Every browser and device" in r.text
        assert await b.api_status() == 401 and await other.api_status() == 401
    assert events(site.engine, person.user_id)[-1] == ("signed_out_everywhere", "sessions_ended=2")


async def test_the_sign_out_page_needs_a_session(site):
    async with Browser(site.url) as b:
        r = await b.get("/sign-out")
    assert (r.status_code, r.headers["location"]) == (303, "/sign-in?next=%2Fsign-out")
