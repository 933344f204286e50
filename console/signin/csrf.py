"""Every HTML form that changes something carries a `csrf_token` field
that a page of another site cannot know, so a signed-in browser cannot be
made to post a form it was not shown.

- Signed in with a session: the field holds the session's own token
  (`Principal.csrf_token`), checked by `signed_in_form`.
- Signed in without one (a trusted proxy's headers, a bearer token): the
  field holds the user id signed with a key of this service, which no other
  site can make.
- Not signed in yet (the sign-in, forgotten-password and reset forms): a
  signed double submit. A random value goes into a cookie, the same value
  signed goes into the field, and `anonymous_form` wants both to agree: a
  site that can plant a cookie still cannot sign the field.

A refusal is a 403 page saying what to do (`FormRefused`)."""
from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from itsdangerous import BadData, URLSafeTimedSerializer
from starlette.datastructures import FormData

from console.identity import PrincipalDep
from domain.access import Principal

from . import keys, pages

FIELD = "csrf_token"
FORM_COOKIE = "apflow_form"
# A form left open longer than this is sent again from a fresh page.
FORM_MAX_AGE_S = 2 * 3600


class FormRefused(HTTPException):
    def __init__(self) -> None:
        super().__init__(403, "this form has expired or did not come from apflow: "
                              "go back, reload the page and send it again")


def _signer(request: Request, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(keys.derived(request.app.state.settings, purpose), salt=purpose)


def _same(given: object, expected: str) -> bool:
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


def token_for(request: Request, principal: Principal) -> str:
    """The `csrf_token` a page puts in its forms for this person."""
    if principal.csrf_token is not None:
        return principal.csrf_token
    return _signer(request, "form of a user").dumps(principal.user_id)


async def signed_in_form(request: Request, principal: PrincipalDep) -> Principal:
    """A dependency for a signed-in form's POST: the principal, once the
    form's token is theirs."""
    given = (await request.form()).get(FIELD)
    if principal.csrf_token is not None:
        ok = _same(given, principal.csrf_token)
    else:
        try:
            ok = isinstance(given, str) and _signer(request, "form of a user").loads(given, max_age=FORM_MAX_AGE_S) == principal.user_id
        except BadData:
            ok = False
    if not ok:
        raise FormRefused()
    return principal


def anonymous_page(request: Request, template: str, status: int = 200, headers: dict[str, str] | None = None,
                   **context) -> HTMLResponse:
    """A page whose form is posted before sign-in: its field signed, its cookie set."""
    settings = request.app.state.settings.signin
    value = request.cookies.get(FORM_COOKIE)
    if not value or len(value) > 100:
        value = secrets.token_urlsafe(32)
    field = _signer(request, "form before sign-in").dumps(value)
    response = pages.render(request, template, status, headers, csrf_token=field, **context)
    response.set_cookie(FORM_COOKIE, value, max_age=FORM_MAX_AGE_S, secure=settings.cookie_secure,
                        httponly=True, samesite="lax", path="/")
    return response


async def anonymous_form(request: Request) -> FormData:
    """A dependency for a form posted before sign-in: its fields, once the
    field and the cookie agree."""
    form = await request.form()
    cookie = request.cookies.get(FORM_COOKIE)
    given = form.get(FIELD)
    try:
        signed = _signer(request, "form before sign-in").loads(given, max_age=FORM_MAX_AGE_S) if isinstance(given, str) else None
    except BadData:
        signed = None
    if not cookie or not isinstance(signed, str) or not _same(signed, cookie):
        raise FormRefused()
    return form


def forget(response: Response) -> None:
    """Signed in: the pre-sign-in form cookie has done its work."""
    response.delete_cookie(FORM_COOKIE, path="/")


FormPrincipal = Annotated[Principal, Depends(signed_in_form)]
AnonymousForm = Annotated[FormData, Depends(anonymous_form)]
