"""The account audit (`account_events`): every sign-in outcome with its
actor. Details name the reason and the means, never a password, a code or
an email address."""
from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Request

from store import accounts

ANONYMOUS = "anonymous"  # not signed in (yet)


def now() -> datetime:
    return datetime.now(UTC)


def record(request: Request, event: str, *, actor: str = ANONYMOUS, subject: str | None = None,
           detail: str | None = None) -> None:
    accounts.record_event(request.app.state.engine, event, actor, now(), subject, detail)
