"""Who is acting: the request's `Principal` (`domain.access`), from a
personal API token, the console's session cookie, or, only in trusted-proxy
mode with its shared secret, the sign-in proxy's headers. Nothing a caller
merely claims is believed.

A browser sends the session cookie with every request, whichever site's
page made it; so a change to the API made with the cookie alone must also
carry the session's CSRF token in `X-CSRF-Token`, which only apflow's own
pages know. A bearer token or the proxy's secret is sent by nobody but
their holder: those need none."""
from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Path, Request, Response
from sqlalchemy import Engine

from apflow.settings import SignInSettings
from domain.access import Grant, Principal
from domain.models import Role
from store import accounts

__all__ = ["Grant", "Principal", "PrincipalDep", "IdempotencyKey", "SchoolPath",
           "NotSignedIn", "SESSION_COOKIE", "CSRF_HEADER", "sign_in", "sign_out"]


SESSION_COOKIE = "apflow_session"
PROXY_SECRET_HEADER = "X-Proxy-Secret"
CSRF_HEADER = "X-CSRF-Token"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class NotSignedIn(HTTPException):
    """401: no session, token or trusted proxy says who this is. Pages turn
    it into the sign-in page; the API answers it as it is."""

    def __init__(self, detail: str = "sign in first: a session, or Authorization: Bearer <token>") -> None:
        super().__init__(401, detail, headers={"WWW-Authenticate": "Bearer"})


def _now() -> datetime:
    return datetime.now(UTC)


def _proxy_principal(request: Request, secret: str | None) -> Principal | None:
    """X-User/X-Role/X-School, believed only from the trust's proxy, which
    proves itself with the shared secret; without it they are refused."""
    h = request.headers
    if not any(name in h for name in ("x-user", "x-role", "x-school")):
        return None
    given = h.get(PROXY_SECRET_HEADER, "")
    # An empty secret is no secret: it would match a request that sends none.
    if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
        raise NotSignedIn("identity headers are accepted only from the trust's sign-in proxy: sign in, or send a token")
    user, role, school = h.get("x-user", ""), h.get("x-role", ""), h.get("x-school")
    if not user or len(user) > 100 or role not in Role.__members__:
        raise HTTPException(422, "X-User (1-100 characters) and X-Role (a role) are required from the proxy")
    if Role(role) is Role.system:
        # The workflow's own actor (the start on its date, escalations): a
        # request claiming it would act with powers no person holds.
        raise HTTPException(403, "X-Role 'system' is apflow's own role and cannot be claimed by a request")
    return Principal(user_id=user, grants=(Grant(Role(role), school or None),))


def current_principal(request: Request) -> Principal:
    """Who is asking: a bearer token, else the session cookie, else the
    trusted proxy's headers. A plain `def`: FastAPI runs it off the event
    loop, so a slow register holds no other request."""
    settings = request.app.state.settings.signin
    engine = request.app.state.engine
    auth = request.headers.get("authorization")
    if auth is not None:
        scheme, _, token = auth.partition(" ")
        holder = accounts.token_holder(engine, token.strip(), _now()) if scheme.lower() == "bearer" and token else None
        if holder is None:
            raise NotSignedIn("this token is not valid: it may have expired or been revoked")
        return Principal(user_id=holder.user_id, grants=holder.grants, name=holder.name)
    session = session_principal(request)
    if session is not None:
        _check_csrf(request, session.csrf_token)
        return session
    proxied = _proxy_principal(request, settings.trusted_proxy_secret)
    if proxied is not None:
        return proxied
    raise NotSignedIn()


def session_principal(request: Request) -> Principal | None:
    """The person this browser's session cookie names, while it lasts; None without one."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    idle = timedelta(minutes=request.app.state.settings.signin.session_idle_minutes)
    session = accounts.session_holder(request.app.state.engine, cookie, _now(), idle)
    if session is None:
        return None
    return Principal(user_id=session.user_id, grants=session.grants, name=session.name, csrf_token=session.csrf_token)


def _check_csrf(request: Request, csrf_token: str) -> None:
    """A change to the JSON API under the session cookie carries the
    session's token in X-CSRF-Token. (The console's HTML forms carry theirs
    in the form, and are checked by their own routes.)"""
    if request.method not in _UNSAFE or not request.url.path.startswith("/api/"):
        return
    given = request.headers.get(CSRF_HEADER, "")
    if not given:
        raise HTTPException(403, f"a change made with the console's session needs its {CSRF_HEADER} header")
    if not hmac.compare_digest(given.encode(), csrf_token.encode()):
        raise HTTPException(403, f"the {CSRF_HEADER} header is not this session's: reload the page and try again")


def sign_in(response: Response, engine: Engine, user_id: str, via: str, settings: SignInSettings) -> accounts.OpenedSession:
    """Opens a new session for the user and sets its cookie on `response`."""
    opened = accounts.open_session(engine, user_id, via, _now(), timedelta(hours=settings.session_lifetime_hours))
    response.set_cookie(SESSION_COOKIE, opened.cookie, max_age=settings.session_lifetime_hours * 3600,
                        secure=settings.cookie_secure, httponly=True, samesite="lax", path="/")
    return opened


def sign_out(request: Request, response: Response, engine: Engine) -> str | None:
    """Ends this browser's session; the user whose it was."""
    cookie = request.cookies.get(SESSION_COOKIE)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return accounts.close_session(engine, cookie) if cookie else None


PrincipalDep = Annotated[Principal, Depends(current_principal)]


IDEMPOTENCY_KEY = r"^[A-Za-z0-9._:-]{1,200}$"

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY, max_length=200,
    description="Makes a write safe to retry: the same key again (from the same user) returns the first answer "
                "and records nothing twice. 1-200 of A-Z a-z 0-9 . _ : -",
)]


# A school in a URL: its URN, six digits (it also names files: nothing else may pass).
SchoolPath = Annotated[str, Path(pattern=r"^[0-9]{6}$", description="The school's URN")]
