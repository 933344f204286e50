"""Signing in with a local account: the email and password, then the
6-digit code of the account's authenticator app (TOTP). An account that has
no authenticator yet enrols one first: it is shown the secret and its QR
code, and a code from the app confirms it. Only then is a session opened.

Every refusal says what is wrong, except which of the email and password
was: that would tell anyone which addresses have accounts."""
from __future__ import annotations

import functools
import secrets

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from store import accounts
from store.accounts import UserRow

from . import audit, credentials, establish, oidc, pages, pending, throttle
from .csrf import AnonymousForm, anonymous_page
from .throttle import Throttle

router = APIRouter(include_in_schema=False)

WRONG_PASSWORD = "Email address or password is not correct"
TIMED_OUT = "Your sign-in timed out or was interrupted: enter your email address and password again"


@functools.cache
def _unusable_hash() -> str:
    """Checked for an unknown account or one with no password, so it takes as
    long to refuse as a wrong password does."""
    return credentials.hash_password(secrets.token_urlsafe(32))


def _sign_in_page(request: Request, status: int = 200, errors: pages.Errors | None = None, email: str = "",
                  next_path: str = "/") -> HTMLResponse:
    s = request.app.state.settings.signin
    return anonymous_page(request, "sign_in.html", status, errors=errors or {}, email=email, next=next_path,
                          oidc_label=s.oidc_label if oidc.configured(s) else None)


def _throttled(request: Request, subject: str | None, step: str) -> HTMLResponse:
    s = request.app.state.settings.signin
    audit.record(request, "sign_in_throttled", subject=subject, detail=f"via=password step={step}")
    return pages.refusal(request, 429, "Too many attempts to sign in", throttle.message(s),
                         headers={"Retry-After": str(s.failure_window_minutes * 60)})


def _disabled(request: Request, user: UserRow) -> HTMLResponse:
    audit.record(request, "sign_in_failed", subject=user.user_id, detail="via=password reason=account disabled")
    return pages.refusal(request, 403, "This account is disabled",
                         "This apflow account has been disabled, so it cannot sign in. "
                         "If you still need it, ask your trust's apflow administrator.")


@router.get("/sign-in")
def sign_in_page(request: Request, next: str | None = None) -> HTMLResponse:
    return _sign_in_page(request, next_path=pages.local_path(next))


@router.post("/sign-in")
def sign_in(request: Request, form: AnonymousForm) -> Response:
    email = str(form.get("email", "")).strip()
    password = str(form.get("password", ""))
    next_path = pages.local_path(str(form.get("next", "")))
    errors: pages.Errors = {}
    if not email:
        errors["email"] = "Enter your email address"
    if not password:
        errors["password"] = "Enter your password"
    if errors:
        return _sign_in_page(request, 400, errors, email, next_path)

    engine, now, limit = request.app.state.engine, audit.now(), Throttle.of(request)
    user = accounts.user_by_email(engine, email)
    keys = throttle.keys_of(request, email)
    if limit.refuses(keys, now):
        return _throttled(request, user.user_id if user else None, "password")
    has_password = user is not None and user.password_hash is not None
    right = credentials.password_matches(user.password_hash if has_password else _unusable_hash(), password)
    if not (has_password and right):
        limit.failed(keys, now)
        reason = "unknown account" if user is None else "no password set" if not has_password else "wrong password"
        audit.record(request, "sign_in_failed", subject=user.user_id if user else None,
                     detail=f"via=password reason={reason}")
        return _sign_in_page(request, 401, {"password": WRONG_PASSWORD}, email, next_path)
    if not user.active:
        return _disabled(request, user)

    step = "code" if user.totp_secret else "enrol"
    response = RedirectResponse(f"/sign-in/{step}", status_code=303)
    pending.keep(request, response, pending.Pending(
        user.user_id, step, next_path, pending.fingerprint(user.password_hash),
        totp_secret=None if user.totp_secret else credentials.new_totp_secret()))
    return response


def _half_signed_in(request: Request, step: str) -> tuple[pending.Pending, UserRow] | Response:
    """The pending sign-in and its account, or the page to answer instead:
    back to the start when it timed out, was never begun here, or the
    password or authenticator changed meanwhile; refused when the account
    was disabled meanwhile."""
    p = pending.read(request)
    user = accounts.user(request.app.state.engine, p.user_id) if p is not None and p.step == step else None
    if user is not None and not user.active:
        return _disabled(request, user)
    if (user is None or p.password != pending.fingerprint(user.password_hash)
            or (step == "code") != (user.totp_secret is not None)):
        if request.method == "GET":
            return RedirectResponse("/sign-in", status_code=303)
        response = _sign_in_page(request, 400, {"email": TIMED_OUT})
        pending.forget(response)
        return response
    return p, user


def _code_of(form) -> str:
    return str(form.get("code", "")).replace(" ", "").replace("-", "")


@router.get("/sign-in/code")
def code_page(request: Request) -> Response:
    found = _half_signed_in(request, "code")
    if isinstance(found, Response):
        return found
    return anonymous_page(request, "code.html")


@router.post("/sign-in/code")
def code(request: Request, form: AnonymousForm) -> Response:
    found = _half_signed_in(request, "code")
    if isinstance(found, Response):
        return found
    p, user = found
    given = _code_of(form)
    if not given:
        return anonymous_page(request, "code.html", 400, errors={"code": "Enter the 6-digit code from your authenticator app"})
    now, limit, keys = audit.now(), Throttle.of(request), throttle.keys_of(request, user.email)
    if limit.refuses(keys, now):
        return _throttled(request, user.user_id, "code")
    if not credentials.code_matches(user.totp_secret, given):
        limit.failed(keys, now)
        audit.record(request, "sign_in_failed", subject=user.user_id, detail="via=password reason=wrong code")
        return anonymous_page(request, "code.html", 401, errors={
            "code": "The code is not correct: enter the 6-digit code your authenticator app shows now"})
    limit.succeeded(user.email)
    return establish.start_session(request, user.user_id, "password", p.next)


def _enrol_page(request: Request, p: pending.Pending, user: UserRow, status: int = 200,
                errors: pages.Errors | None = None) -> HTMLResponse:
    secret = p.totp_secret or ""
    qr = segno.make(credentials.totp_uri(secret, user.email), error="m")
    return anonymous_page(request, "enrol.html", status, errors=errors or {},
                          secret=" ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
                          qr_svg=qr.svg_inline(scale=5, title="QR code of your apflow sign-in secret"))


@router.get("/sign-in/enrol")
def enrol_page(request: Request) -> Response:
    found = _half_signed_in(request, "enrol")
    if isinstance(found, Response):
        return found
    return _enrol_page(request, *found)


@router.post("/sign-in/enrol")
def enrol(request: Request, form: AnonymousForm) -> Response:
    found = _half_signed_in(request, "enrol")
    if isinstance(found, Response):
        return found
    p, user = found
    given = _code_of(form)
    if not given:
        return _enrol_page(request, p, user, 400, {"code": "Enter the 6-digit code your authenticator app shows"})
    now, limit, keys = audit.now(), Throttle.of(request), throttle.keys_of(request, user.email)
    if limit.refuses(keys, now):
        return _throttled(request, user.user_id, "enrol")
    if not credentials.code_matches(p.totp_secret, given):
        limit.failed(keys, now)
        audit.record(request, "sign_in_failed", subject=user.user_id, detail="via=password reason=wrong enrolment code")
        return _enrol_page(request, p, user, 401, {
            "code": "The code is not correct: check the app holds the secret above and enter the code it shows now"})
    accounts.set_totp(request.app.state.engine, user.user_id, p.totp_secret)
    audit.record(request, "totp_enrolled", actor=user.user_id, subject=user.user_id)
    limit.succeeded(user.email)
    return establish.start_session(request, user.user_id, "password", p.next)
