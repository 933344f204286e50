"""Failed sign-ins are counted in the register, so every process of the
service counts them together: per account (by the email typed, so an
unknown address is throttled exactly like a known one) and per client
address. Once either has `max_failures` in the last `failure_window_minutes`,
further attempts are refused, right password or not, until older failures
leave the window; a successful sign-in clears the account's count."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import Request
from sqlalchemy import Engine

from apflow.settings import SignInSettings
from store import accounts


@dataclass(frozen=True)
class Throttle:
    engine: Engine
    settings: SignInSettings

    @classmethod
    def of(cls, request: Request) -> Throttle:
        return cls(request.app.state.engine, request.app.state.settings.signin)

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.settings.failure_window_minutes)

    def refuses(self, keys: tuple[str, ...], now: datetime) -> bool:
        return any(accounts.failures_since(self.engine, k, now - self.window) >= self.settings.max_failures for k in keys)

    def failed(self, keys: tuple[str, ...], now: datetime) -> None:
        for k in keys:
            accounts.record_failure(self.engine, k, now)

    def succeeded(self, email: str) -> None:
        accounts.clear_failures(self.engine, account_key(email))


def account_key(email: str) -> str:
    return f"account:{accounts.normal_email(email)}"


def address_key(request: Request) -> str:
    # The peer's address: behind a reverse proxy, uvicorn's --proxy-headers
    # (with --forwarded-allow-ips) makes it the client's.
    return f"address:{request.client.host if request.client else 'unknown'}"


def keys_of(request: Request, email: str) -> tuple[str, ...]:
    return account_key(email), address_key(request)


def message(settings: SignInSettings) -> str:
    return (f"There have been too many failed attempts to sign in to this account, or from this network. "
            f"Wait {settings.failure_window_minutes} minutes before you try again, "
            f"or reset your password if you have forgotten it.")
