"""Signing in: local accounts (Argon2 password and a TOTP second factor) and
the trust's OpenID provider, both ending in a server-side session; signing
out; the forgotten-password link; the CSRF check of every HTML form.

`install(app, settings)` adds all of it to the app: the routes, the sign-in
redirect for pages asked for without a session, and the refused-form page."""
from __future__ import annotations

from fastapi import FastAPI

from apflow.settings import Settings
from console.identity import NotSignedIn

from . import local, oidc, redirects, reset, signout
from .csrf import FormRefused


def install(app: FastAPI, settings: Settings) -> None:
    app.include_router(local.router)
    app.include_router(reset.router(settings))
    app.include_router(signout.router)
    oidc.install(app, settings)
    app.add_exception_handler(NotSignedIn, redirects.not_signed_in)
    app.add_exception_handler(FormRefused, redirects.form_refused)
