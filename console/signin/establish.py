"""The end of every way in: a new session, and nothing from before it."""
from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse

from console import identity
from store import accounts

from . import audit, csrf, pending


def start_session(request: Request, user_id: str, via: str, next_path: str) -> RedirectResponse:
    """Opens a session with a new id and sends the browser on to `next_path`.
    A session this browser held before ends, and the pre-sign-in cookies
    (the form token, the half-done sign-in) are dropped."""
    engine = request.app.state.engine
    response = RedirectResponse(next_path, status_code=303)
    earlier = request.cookies.get(identity.SESSION_COOKIE)
    if earlier:
        accounts.close_session(engine, earlier)
    identity.sign_in(response, engine, user_id, via, request.app.state.settings.signin)
    pending.forget(response)
    csrf.forget(response)
    audit.record(request, "signed_in", actor=user_id, subject=user_id, detail=f"via={via}")
    return response
