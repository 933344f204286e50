"""The API answers only a person it can name (issue 9, "Sign-in and access"):
a personal API token, the console's session cookie (with its CSRF token for
a change), or the trust's sign-in proxy proving itself with the shared
secret. Everything else is 401, whatever it claims; and a person sees and
does only what their own grants allow.

Against the real stack (see conftest.py): uvicorn, the Temporal dev server,
a worker and the register, with accounts written to that register.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio
from fastapi.routing import APIRoute

from apflow import samples
from apflow.settings import Settings, SignInSettings
from console.api import create_app
from console.identity import CSRF_HEADER, SESSION_COOKIE
from domain.access import Grant
from domain.models import Role
from store import accounts
from tests.api.conftest import serving
from tests.api.test_api import LEAD, OTHER, OTHER_LEAD, SCHOOL, act, expect, history, listed, propose
from tests.proxy import PROXY_SECRET

# What fills each kind of path parameter in the walk of the routes.
PATH_VALUES = {"placement_id": f"placement-{uuid.uuid4()}", "school_id": SCHOOL, "document_id": "doc-0", "link_id": "lnk-0", "fmt": "csv", "action": "retry",
               "provider_id": "prov-" + "0" * 32}


def now() -> datetime:
    return datetime.now(UTC)


def person(engine, *grants: Grant, name: str = "Test Person") -> str:
    """A staff account with these grants; its user id."""
    row = accounts.add_user(engine, f"{uuid.uuid4().hex[:10]}@staff.example", name, now())
    for g in grants:
        accounts.add_grant(engine, row.user_id, g)
    return row.user_id


def bearer(engine, user_id: str, lifetime: timedelta = timedelta(days=1), at: datetime | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {accounts.create_token(engine, user_id, 'test', at or now(), lifetime).token}"}


def claimed(role: Role, secret: str | None) -> dict[str, str]:
    """The headers a proxy would send for `role`, with `secret` (none: without)."""
    h = {"X-User": f"claims-{role.value}", "X-Role": role.value}
    if role not in (Role.trust_operations, Role.trust_dsl, Role.system):
        h["X-School"] = SCHOOL
    if secret is not None:
        h["X-Proxy-Secret"] = secret
    return h


def _routes(routes):
    """The app's routes, into the routers it includes (kept whole by FastAPI)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _routes(included.routes)


def api_routes() -> list[tuple[str, str]]:
    """Every (method, path) of the app under /api, its parameters filled in;
    at least every operation its OpenAPI description names."""
    app = create_app(Settings(var_dir=Settings().var_dir), client=object(), engine=object())
    found, described = set(), set()
    for route in _routes(app.routes):
        if route.path.startswith("/api"):
            found |= {(method, route.path) for method in route.methods}
    for path, operations in app.openapi()["paths"].items():
        if path.startswith("/api"):
            described |= {(method.upper(), path) for method in operations}
    assert described <= found, described - found

    def filled(path: str) -> str:
        for name, value in PATH_VALUES.items():
            path = path.replace("{" + name + "}", value)
        assert "{" not in path, f"no value for a parameter of {path}"
        return path

    return sorted((method, filled(path)) for method, path in found)


@pytest_asyncio.fixture(scope="module")
async def without_proxy(api_stack, dev_env, tmp_path_factory):
    """The same register and Temporal behind an API that trusts no proxy (the default)."""
    settings = Settings(task_queue=api_stack.task_queue, var_dir=tmp_path_factory.mktemp("no-proxy"), signin=SignInSettings())
    assert settings.signin.trusted_proxy_secret is None
    app = create_app(settings, client=dev_env.client, engine=api_stack.engine)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


# --- nobody named: 401 -------------------------------------------------------------------


async def test_every_api_route_refuses_a_request_that_names_no_one(http):
    routes = api_routes()
    assert len(routes) > 25 and ("POST", "/api/placements") in routes and ("GET", "/api/attendance/codes") in routes
    for method, path in routes:
        r = await http.request(method, path, json={} if method == "POST" else None)
        assert r.status_code == 401, (method, path, r.status_code, r.text)
        assert r.headers["www-authenticate"] == "Bearer" and "sign in" in r.json()["detail"], (method, path)


async def test_identity_headers_are_refused_without_a_trusted_proxy_whatever_role_they_claim(without_proxy, http, api_stack):
    ours = (await propose(http))["placement"]["placement_id"]
    for role in Role:
        for secret in (None, PROXY_SECRET, "a-guess"):
            for method, path in (("GET", "/api/placements"), ("GET", f"/api/placements/{ours}"),
                                 ("POST", f"/api/placements/{ours}/actions/vet")):
                r = await without_proxy.request(method, path, headers=claimed(role, secret),
                                                json=samples.vet().model_dump(mode="json") if method == "POST" else None)
                assert r.status_code == 401, (role, secret, method, path, r.text)
                assert "sign-in proxy" in r.json()["detail"]
    # Where a proxy is trusted, it proves itself: without its secret, or with a wrong one, the same.
    for role in Role:
        for secret in (None, "a-guess", PROXY_SECRET + "x", ""):
            r = await http.get("/api/placements", headers=claimed(role, secret))
            assert r.status_code == 401, (role, secret, r.text)
    assert [e["action"] for e in await history(http, ours)] == ["propose"]


# --- personal API tokens -------------------------------------------------------------------


async def test_a_token_acts_as_its_user_and_only_at_their_schools(http, api_stack):
    lead = person(api_stack.engine, Grant(Role.ap_lead, SCHOOL))
    token = bearer(api_stack.engine, lead)
    ours = (await propose(http, who=token))["placement"]["placement_id"]
    theirs = (await propose(http, who=OTHER_LEAD))["placement"]["placement_id"]

    await act(http, ours, "vet", samples.vet(), who=token)
    assert [(e["action"], e["actor_id"], e["actor_role"]) for e in await history(http, ours, who=token)] == [
        ("propose", lead, "ap_lead"), ("vet", lead, "ap_lead")]
    for method, path in (("GET", f"/api/placements/{theirs}"), ("GET", f"/api/placements/{theirs}/history"),
                         ("GET", f"/api/placements/{theirs}/documents"), ("POST", f"/api/placements/{theirs}/actions/vet")):
        r = await http.request(method, path, headers=token, json=samples.vet().model_dump(mode="json") if method == "POST" else None)
        assert r.status_code == 404 and r.json()["detail"] == f"no placement {theirs}", (method, path, r.text)
    assert {r["school_id"] for r in await listed(http, token)} == {SCHOOL}
    expect(await http.get("/api/placements", headers=token, params={"school_id": OTHER}), 403)
    # A proposal for a school where they hold no role is theirs to make nowhere.
    refused = await http.post("/api/placements", headers=token, json=samples.proposal(
        datetime.now(UTC).date() + timedelta(days=40), school=samples.OTHER_SCHOOL).model_dump(mode="json"))
    assert expect(refused, 403)["detail"] == f"you hold no role at school {OTHER}: 'propose' is for that school's ap_lead, headteacher"


async def test_roles_at_two_schools_see_both_and_act_only_where_they_may(http, api_stack):
    engine = api_stack.engine
    both = person(engine, Grant(Role.headteacher, SCHOOL), Grant(Role.read_only, OTHER))
    token = bearer(engine, both)
    ours = (await propose(http))["placement"]["placement_id"]
    theirs = (await propose(http, who=OTHER_LEAD))["placement"]["placement_id"]

    seen = {r["placement_id"]: r["school_id"] for r in await listed(http, token)}
    assert seen[ours] == SCHOOL and seen[theirs] == OTHER and set(seen.values()) == {SCHOOL, OTHER}
    expect(await http.get(f"/api/placements/{theirs}", headers=token), 200)
    refused = await http.post(f"/api/placements/{theirs}/actions/vet", headers=token, json=samples.vet().model_dump(mode="json"))
    assert expect(refused, 403)["detail"] == "the read_only role sees, never acts: 'vet' is for ap_lead, headteacher"
    assert [e["action"] for e in await history(http, theirs, who=token)] == ["propose"]
    await act(http, ours, "vet", samples.vet(), who=token)
    assert (await history(http, ours))[-1]["actor_role"] == "headteacher"
    links = await http.post(f"/api/placements/{theirs}/links", headers=token, json={"purpose": "attendance"})
    assert expect(links, 403)["detail"].startswith("the read_only role sees, never acts")


async def test_an_expired_revoked_or_unknown_token_is_refused(http, api_stack):
    engine = api_stack.engine
    lead = person(engine, Grant(Role.ap_lead, SCHOOL))
    expired = bearer(engine, lead, timedelta(hours=1), at=now() - timedelta(hours=2))
    created = accounts.create_token(engine, lead, "to revoke", now(), timedelta(days=1))
    revoked = {"Authorization": f"Bearer {created.token}"}
    expect(await http.get("/api/placements", headers=revoked), 200)
    assert accounts.revoke_token(engine, created.token_id, now())

    for headers in (expired, revoked, {"Authorization": "Bearer apf_not-a-token"}, {"Authorization": "Bearer"},
                    {"Authorization": f"Basic {created.token}"}, {**revoked, **LEAD}):
        r = await http.get("/api/placements", headers=headers)
        assert r.status_code == 401 and "expired or been revoked" in r.json()["detail"], (headers, r.text)


async def test_a_disabled_users_tokens_open_nothing(http, api_stack):
    engine = api_stack.engine
    lead = person(engine, Grant(Role.ap_lead, SCHOOL))
    token = bearer(engine, lead)
    expect(await http.get("/api/placements", headers=token), 200)
    accounts.disable(engine, lead, now())
    assert (await http.get("/api/placements", headers=token)).status_code == 401
    after = bearer(engine, lead)  # made for the account after it was disabled
    assert (await http.get("/api/placements", headers=after)).status_code == 401


# --- the console's session -----------------------------------------------------------------


async def test_a_session_reads_and_changes_only_with_its_csrf_token(http, api_stack):
    engine = api_stack.engine
    lead = person(engine, Grant(Role.ap_lead, SCHOOL))
    opened = accounts.open_session(engine, lead, "password", now(), timedelta(hours=1))
    cookie = {"Cookie": f"{SESSION_COOKIE}={opened.cookie}"}
    pid = (await propose(http))["placement"]["placement_id"]
    vet = samples.vet().model_dump(mode="json")

    expect(await http.get(f"/api/placements/{pid}", headers=cookie), 200)
    assert {r["school_id"] for r in await listed(http, cookie)} == {SCHOOL}
    missing = await http.post(f"/api/placements/{pid}/actions/vet", headers=cookie, json=vet)
    assert expect(missing, 403)["detail"] == f"a change made with the console's session needs its {CSRF_HEADER} header"
    wrong = await http.post(f"/api/placements/{pid}/actions/vet", headers={**cookie, CSRF_HEADER: "not-it"}, json=vet)
    assert "not this session's" in expect(wrong, 403)["detail"]
    proposal = samples.proposal(datetime.now(UTC).date() + timedelta(days=40)).model_dump(mode="json")
    expect(await http.post("/api/placements", headers=cookie, json=proposal), 403)
    assert [e["action"] for e in await history(http, pid)] == ["propose"]

    await act(http, pid, "vet", samples.vet(), who={**cookie, CSRF_HEADER: opened.csrf_token})
    assert (await history(http, pid))[-1]["actor_id"] == lead

    accounts.close_session(engine, opened.cookie)
    assert (await http.get(f"/api/placements/{pid}", headers=cookie)).status_code == 401


@pytest.mark.parametrize("configured", [None, ""])
def test_identity_headers_with_no_secret_configured_are_refused_even_with_an_empty_one(configured):
    from starlette.requests import Request

    from console.identity import NotSignedIn, _proxy_principal

    headers = [(b"x-user", b"intruder"), (b"x-role", b"trust_operations"), (b"x-proxy-secret", b"")]
    request = Request({"type": "http", "method": "GET", "path": "/api/placements", "headers": headers})
    with pytest.raises(NotSignedIn):
        _proxy_principal(request, configured)
