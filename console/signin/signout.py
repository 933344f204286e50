"""Signing out: of this browser, or of every browser and device at once
(a lost phone, a shared computer left signed in)."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from console import identity
from console.identity import PrincipalDep
from domain.access import Principal
from store import accounts

from . import audit, csrf, pages
from .csrf import FormPrincipal

router = APIRouter(include_in_schema=False)


def _no_session(request: Request, principal: Principal) -> HTMLResponse | None:
    if principal.csrf_token is None:
        return pages.refusal(request, 400, "There is nothing to sign out of",
                             "You are signed in through your trust's sign-in service or an API token, "
                             "not an apflow session: sign out there.", again=None)
    return None


@router.get("/sign-out")
def sign_out_page(request: Request, principal: PrincipalDep) -> HTMLResponse:
    return _no_session(request, principal) or pages.render(
        request, "sign_out.html", principal=principal, csrf_token=csrf.token_for(request, principal))


@router.post("/sign-out")
def sign_out(request: Request, principal: FormPrincipal) -> HTMLResponse:
    if refused := _no_session(request, principal):
        return refused
    response = pages.render(request, "signed_out.html", everywhere=False)
    identity.sign_out(request, response, request.app.state.engine)
    audit.record(request, "signed_out", actor=principal.user_id, subject=principal.user_id)
    return response


@router.post("/sign-out-everywhere")
def sign_out_everywhere(request: Request, principal: FormPrincipal) -> HTMLResponse:
    if refused := _no_session(request, principal):
        return refused
    response = pages.render(request, "signed_out.html", everywhere=True)
    ended = accounts.close_all_sessions(request.app.state.engine, principal.user_id)
    response.delete_cookie(identity.SESSION_COOKIE, path="/")
    audit.record(request, "signed_out_everywhere", actor=principal.user_id, subject=principal.user_id,
                 detail=f"sessions_ended={ended}")
    return response
