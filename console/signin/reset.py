"""A forgotten password: a one-time link by email, to choose a new one.

`/forgot-password` answers the same whatever was typed, and as fast (the
lookup and the email happen after the answer), so it tells no one which
addresses have accounts. The link, `/reset-password/<secret>`, works for
`password_reset_minutes`, once; using it ends every session of the account.
Its secret is in the URL, so the page sends no referrer and the access log
shows `/reset-password/…` (`console.hardening`)."""
from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader

from apflow.settings import Settings
from documents import OutgoingDocument, RecipientRole, deliver
from store import accounts

from . import audit, credentials, pages, throttle
from .csrf import AnonymousForm, anonymous_page

log = logging.getLogger(__name__)

NO_REFERRER = {"Referrer-Policy": "no-referrer"}
_mail = Environment(loader=FileSystemLoader(str(Path(__file__).parent.parent / "templates")), autoescape=True)


def router(settings: Settings) -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    @routes.get("/forgot-password")
    def forgot_page(request: Request) -> HTMLResponse:
        return anonymous_page(request, "forgot.html")

    @routes.post("/forgot-password")
    def forgot(request: Request, form: AnonymousForm, later: BackgroundTasks) -> HTMLResponse:
        email = str(form.get("email", "")).strip()
        if "@" not in email:
            return anonymous_page(request, "forgot.html", 400, email=email, errors={
                "email": "Enter your email address, like name@school.example" if email else "Enter your email address"})
        later.add_task(send_link, request.app.state.engine, settings, email)
        return pages.render(request, "forgot_sent.html")

    @routes.get("/reset-password/{secret}")
    def reset_page(request: Request, secret: str) -> HTMLResponse:
        if accounts.reset_owner(request.app.state.engine, secret, audit.now()) is None:
            return _link_dead(request)
        return anonymous_page(request, "reset.html", headers=NO_REFERRER)

    @routes.post("/reset-password/{secret}")
    def reset(request: Request, secret: str, form: AnonymousForm) -> Response:
        engine = request.app.state.engine
        owner = accounts.reset_owner(engine, secret, audit.now())
        user = accounts.user(engine, owner) if owner else None
        if user is None or not user.active:
            return _link_dead(request)
        password, again = str(form.get("password", "")), str(form.get("password_again", ""))
        errors: pages.Errors = {}
        problem = credentials.password_problem(password, user.email)
        if problem:
            errors["password"] = problem
        elif password != again:
            errors["password_again"] = "Enter the same password twice" if again else "Confirm your new password"
        if errors:
            return anonymous_page(request, "reset.html", 400, NO_REFERRER, errors=errors)
        if accounts.use_reset(engine, secret, audit.now()) != user.user_id:
            return _link_dead(request)  # used at this same moment by another request
        accounts.set_password(engine, user.user_id, credentials.hash_password(password))
        ended = accounts.close_all_sessions(engine, user.user_id)
        accounts.clear_failures(engine, throttle.account_key(user.email))  # a fresh start for the new password
        audit.record(request, "password_reset", actor=user.user_id, subject=user.user_id, detail=f"sessions_ended={ended}")
        return pages.render(request, "reset_done.html", headers=NO_REFERRER)

    return routes


def _link_dead(request: Request) -> HTMLResponse:
    audit.record(request, "password_reset_refused", detail="link unknown, expired or used")
    return pages.refusal(request, 410, "This link no longer works",
                         "This password reset link has expired or has been used already. "
                         "Ask for a new one: links work once, for a limited time.",
                         again="/forgot-password", headers=NO_REFERRER)


def send_link(engine, settings: Settings, email: str) -> None:
    """After the answer has gone: the link, if an active account has this
    address and has not asked too often (the sign-in throttle's numbers)."""
    now = audit.now()
    try:
        user = accounts.user_by_email(engine, email)
        if user is None or not user.active:
            accounts.record_event(engine, "password_reset_requested", audit.ANONYMOUS, now, None, "no active account")
            return
        asked = f"reset:{user.user_id}"
        window = timedelta(minutes=settings.signin.failure_window_minutes)
        # Every asking counts, at once: a burst of asking is throttled, however fast it comes.
        if accounts.count_attempt(engine, asked, now, now - window) > settings.signin.max_failures:
            accounts.record_event(engine, "password_reset_requested", audit.ANONYMOUS, now, user.user_id,
                                  "not sent: asked too often")
            return
        minutes = settings.signin.password_reset_minutes
        secret = accounts.create_reset(engine, user.user_id, now, timedelta(minutes=minutes))
        link = f"{settings.base_url}/reset-password/{secret}"
        html = _mail.get_template("signin/reset_email.html").render(name=user.name, link=link, minutes=minutes)
        # The key names the outbox file: the secret's hash, never the secret.
        deliver(OutgoingDocument(to=user.email, role=RecipientRole.staff, subject="Reset your apflow password",
                                 html=html, pdf=None, idempotency_key=f"password-reset:{accounts.digest(secret)[:32]}"),
                settings.mail)
        accounts.record_event(engine, "password_reset_requested", audit.ANONYMOUS, now, user.user_id, "link sent")
    except Exception as e:  # noqa: BLE001 - after the answer: nobody to tell but the log
        log.error("a password reset link could not be sent: %s", type(e).__name__)
