"""A sign-in half done: the password was right, the second factor is still
to come (a code, or enrolling an authenticator first). It is kept in the
browser, sealed (Fernet: encrypted and authenticated, so neither read nor
forged there, and it expires), on the `/sign-in` paths only; no session
exists until the second step succeeds."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Literal

from cryptography.fernet import InvalidToken, MultiFernet, Fernet
from fastapi import Request, Response

from store import accounts

from . import keys

COOKIE = "apflow_signin"
PATH = "/sign-in"
LIFETIME_S = 300  # time enough to find the phone


@dataclass(frozen=True)
class Pending:
    user_id: str
    step: Literal["code", "enrol"]
    next: str
    # The password hash it was proved against: a password changed meanwhile voids it.
    password: str
    # Enrolling: the new secret, kept for the account only once a code proves the app holds it.
    totp_secret: str | None = None


def fingerprint(password_hash: str | None) -> str:
    return accounts.digest(password_hash or "")[:32]


def _sealer(request: Request) -> MultiFernet:
    return MultiFernet([Fernet(k) for k in keys.fernet_keys(request.app.state.settings, "half signed in")])


def keep(request: Request, response: Response, pending: Pending) -> None:
    sealed = _sealer(request).encrypt(json.dumps(asdict(pending)).encode()).decode()
    response.set_cookie(COOKIE, sealed, max_age=LIFETIME_S, secure=request.app.state.settings.signin.cookie_secure,
                        httponly=True, samesite="lax", path=PATH)


def read(request: Request) -> Pending | None:
    sealed = request.cookies.get(COOKIE)
    if not sealed:
        return None
    try:
        return Pending(**json.loads(_sealer(request).decrypt(sealed.encode(), ttl=LIFETIME_S)))
    except (InvalidToken, ValueError, TypeError):
        return None


def forget(response: Response) -> None:
    response.delete_cookie(COOKIE, path=PATH)
