"""People who sign in, and what proves it: staff accounts with their grants,
server-side sessions, personal API tokens, password-reset links, the
throttle on failed sign-ins, and the audit of every sign-in event.

A secret handed to a person (a session cookie, an API token, a reset link)
is stored only as its SHA-256: a copy of the database opens nothing. The
secrets are random, 256 bits, so a fast hash is enough (no salt or stretch:
nothing to guess). Passwords are hashed by the caller (Argon2) before they
reach this module.
"""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, ForeignKey, Index, Integer, String, Text, bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from domain.access import Grant
from domain.models import Role

from .tables import Base, Instant

# A session's last-seen time is written at most this often: a page view is
# not a database write, and the idle timeout is minutes, not seconds.
TOUCH_EVERY = timedelta(minutes=1)


class UserRow(Base):
    __tablename__ = "users"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # lower case: matched to the identity provider's verified email
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))  # local accounts only
    totp_secret: Mapped[str | None] = mapped_column(String(64))  # the second factor of a local account
    created_at: Mapped[datetime] = mapped_column(Instant())
    disabled_at: Mapped[datetime | None] = mapped_column(Instant())

    @property
    def active(self) -> bool:
        return self.disabled_at is None


class GrantRow(Base):
    __tablename__ = "user_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    school_id: Mapped[str | None] = mapped_column(String(16))  # none: trust-wide


class SessionRow(Base):
    __tablename__ = "user_sessions"

    session_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(16))  # "password" or "oidc"
    created_at: Mapped[datetime] = mapped_column(Instant())
    last_seen_at: Mapped[datetime] = mapped_column(Instant())
    expires_at: Mapped[datetime] = mapped_column(Instant())  # the absolute lifetime's end


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"

    token_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(Instant())
    expires_at: Mapped[datetime] = mapped_column(Instant())
    revoked_at: Mapped[datetime | None] = mapped_column(Instant())
    last_used_at: Mapped[datetime | None] = mapped_column(Instant())


class PasswordResetRow(Base):
    __tablename__ = "password_resets"

    reset_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), index=True)
    created_at: Mapped[datetime] = mapped_column(Instant())
    expires_at: Mapped[datetime] = mapped_column(Instant())
    used_at: Mapped[datetime | None] = mapped_column(Instant())


class SignInFailureRow(Base):
    """One failed sign-in, keyed by what is throttled (an account, an address),
    the key itself hashed: the table names no one."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_key_at", "key_hash", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(Instant())


class AccountEventRow(Base):
    """Sign-in, sign-out, failures and account changes, each with its actor."""

    __tablename__ = "account_events"
    __table_args__ = (Index("ix_account_events_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(Instant())
    event: Mapped[str] = mapped_column(String(40))  # e.g. signed_in, sign_in_failed, signed_out_everywhere
    actor_id: Mapped[str] = mapped_column(String(100))  # a user id, "cli", or "anonymous"
    subject_id: Mapped[str | None] = mapped_column(String(32))  # the account concerned, when known
    detail: Mapped[str | None] = mapped_column(Text)  # never a secret or a password


class AccountExists(Exception):
    pass


class NoSuchUser(Exception):
    pass


@dataclass(frozen=True)
class Account:
    user: UserRow
    grants: tuple[Grant, ...]


def _session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)  # rows are handed back after the commit


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normal_email(email: str) -> str:
    return email.strip().lower()


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


# --- users and grants ---------------------------------------------------------------------------


def add_user(engine: Engine, email: str, name: str, now: datetime, password_hash: str | None = None,
             totp_secret: str | None = None) -> UserRow:
    row = UserRow(user_id="u-" + secrets.token_hex(8), email=normal_email(email), name=name,
                  password_hash=password_hash, totp_secret=totp_secret, created_at=now)
    try:
        with _session(engine) as s, s.begin():
            s.add(row)
    except IntegrityError:
        raise AccountExists(f"an account for {normal_email(email)} exists already") from None
    return row


def user_by_email(engine: Engine, email: str) -> UserRow | None:
    with _session(engine) as s:
        return s.scalar(select(UserRow).where(UserRow.email == normal_email(email)))


def user(engine: Engine, user_id: str) -> UserRow | None:
    with _session(engine) as s:
        return s.get(UserRow, user_id)


def names(engine: Engine, user_ids: Collection[str]) -> dict[str, str]:
    """The name of each of `user_ids` that is an account here, in one read:
    pages say who acted by name. (A person signed in through the trust's
    proxy, or apflow itself, has no account: its id stays as it is.)"""
    if not user_ids:
        return {}
    with _session(engine) as s:
        rows = s.execute(select(UserRow.user_id, UserRow.name).where(UserRow.user_id.in_(sorted(set(user_ids)))))
        return {user_id: name for user_id, name in rows}


def grants_of(engine: Engine, user_id: str) -> tuple[Grant, ...]:
    with _session(engine) as s:
        rows = s.scalars(select(GrantRow).where(GrantRow.user_id == user_id).order_by(GrantRow.id))
        return tuple(Grant(Role(r.role), r.school_id) for r in rows)


def accounts(engine: Engine) -> list[Account]:
    """Every account with its grants, by email (the trust's staff: hundreds, not millions)."""
    with _session(engine) as s:
        users = list(s.scalars(select(UserRow).order_by(UserRow.email)))
        grants: dict[str, list[Grant]] = {}
        for r in s.scalars(select(GrantRow).order_by(GrantRow.id)):
            grants.setdefault(r.user_id, []).append(Grant(Role(r.role), r.school_id))
    return [Account(u, tuple(grants.get(u.user_id, ()))) for u in users]


def add_grant(engine: Engine, user_id: str, grant: Grant) -> bool:
    """Gives the role; False when the user held it already."""
    with _session(engine) as s, s.begin():
        held = s.scalar(select(GrantRow).where(
            GrantRow.user_id == user_id, GrantRow.role == grant.role.value,
            GrantRow.school_id.is_(None) if grant.school_id is None else GrantRow.school_id == grant.school_id))
        if held is not None:
            return False
        s.add(GrantRow(user_id=user_id, role=grant.role.value, school_id=grant.school_id))
        return True


def remove_grant(engine: Engine, user_id: str, grant: Grant) -> bool:
    with _session(engine) as s, s.begin():
        result = s.execute(delete(GrantRow).where(
            GrantRow.user_id == user_id, GrantRow.role == grant.role.value,
            GrantRow.school_id.is_(None) if grant.school_id is None else GrantRow.school_id == grant.school_id))
        return result.rowcount > 0


def set_password(engine: Engine, user_id: str, password_hash: str) -> None:
    _update_user(engine, user_id, password_hash=password_hash)


def set_totp(engine: Engine, user_id: str, totp_secret: str | None) -> None:
    _update_user(engine, user_id, totp_secret=totp_secret)


def disable(engine: Engine, user_id: str, now: datetime) -> None:
    """Nothing of theirs opens again: sessions end, tokens are revoked."""
    with _session(engine) as s, s.begin():
        if s.execute(update(UserRow).where(UserRow.user_id == user_id).values(disabled_at=now)).rowcount == 0:
            raise NoSuchUser(user_id)
        s.execute(delete(SessionRow).where(SessionRow.user_id == user_id))
        s.execute(update(ApiTokenRow).where(ApiTokenRow.user_id == user_id, ApiTokenRow.revoked_at.is_(None))
                  .values(revoked_at=now))


def _update_user(engine: Engine, user_id: str, **values) -> None:
    with _session(engine) as s, s.begin():
        if s.execute(update(UserRow).where(UserRow.user_id == user_id).values(**values)).rowcount == 0:
            raise NoSuchUser(user_id)


# --- sessions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenedSession:
    cookie: str  # the only copy of the session's secret: goes into the cookie
    csrf_token: str


def open_session(engine: Engine, user_id: str, via: str, now: datetime, lifetime: timedelta) -> OpenedSession:
    """A new session (a new id at every sign-in: nothing from before carries over)."""
    cookie, csrf = _new_secret(), _new_secret()
    with _session(engine) as s, s.begin():
        s.add(SessionRow(session_hash=digest(cookie), user_id=user_id, csrf_token=csrf, via=via,
                         created_at=now, last_seen_at=now, expires_at=now + lifetime))
    return OpenedSession(cookie, csrf)


@dataclass(frozen=True)
class TokenHolder:
    """Who a token or a session is: their id, name and grants."""

    user_id: str
    name: str
    grants: tuple[Grant, ...]


@dataclass(frozen=True)
class SessionHolder(TokenHolder):
    csrf_token: str


def _holder_read(credential, hashed, *columns):
    """A credential's row found by its hash, with its user's name and every
    grant, one row a grant. Built once: every request signs in with one, and
    building the statement cost more than running it."""
    u, g = UserRow, GrantRow
    return (select(*columns, u.name, u.disabled_at, g.role, g.school_id)
            .join(u, u.user_id == credential.user_id).outerjoin(g, g.user_id == credential.user_id)
            .where(hashed == bindparam("hash")).order_by(g.id))


_SESSION_HOLDER = _holder_read(SessionRow, SessionRow.session_hash, SessionRow.user_id, SessionRow.csrf_token,
                               SessionRow.expires_at, SessionRow.last_seen_at)
_TOKEN_HOLDER = _holder_read(ApiTokenRow, ApiTokenRow.token_hash, ApiTokenRow.token_id, ApiTokenRow.user_id,
                             ApiTokenRow.revoked_at, ApiTokenRow.expires_at, ApiTokenRow.last_used_at)


def _grants(rows) -> tuple[Grant, ...]:
    """The grants of a holder's rows, joined one row a grant (none: no grant)."""
    return tuple(Grant(Role(x.role), x.school_id) for x in rows if x.role is not None)


def session_holder(engine: Engine, cookie: str, now: datetime, idle: timedelta) -> SessionHolder | None:
    """The live session this cookie opens, its user active, with their name
    and grants: asked at every page view, so one read, and a write only to
    end an idle or expired session or, at most once every TOUCH_EVERY, to
    restart its idle clock."""
    key = digest(cookie)
    t = SessionRow
    with engine.connect() as c:
        rows = c.execute(_SESSION_HOLDER, {"hash": key}).all()
    if not rows:
        return None
    r = rows[0]
    if r.disabled_at is not None or now >= r.expires_at or now - r.last_seen_at >= idle:
        with engine.begin() as c:
            c.execute(delete(t).where(t.session_hash == key))
        return None
    if now - r.last_seen_at >= TOUCH_EVERY:
        with engine.begin() as c:
            c.execute(update(t).where(t.session_hash == key).values(last_seen_at=now))
    return SessionHolder(r.user_id, r.name, _grants(rows), r.csrf_token)


def close_session(engine: Engine, cookie: str) -> str | None:
    """Ends it; the user whose it was, if it was open."""
    with _session(engine) as s, s.begin():
        row = s.get(SessionRow, digest(cookie))
        if row is None:
            return None
        s.delete(row)
        return row.user_id


def close_all_sessions(engine: Engine, user_id: str) -> int:
    with _session(engine) as s, s.begin():
        return s.execute(delete(SessionRow).where(SessionRow.user_id == user_id)).rowcount


# --- personal API tokens ------------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedToken:
    token_id: str
    token: str  # shown once: only its hash is kept
    expires_at: datetime


def create_token(engine: Engine, user_id: str, name: str, now: datetime, lifetime: timedelta) -> CreatedToken:
    token_id = "tok-" + secrets.token_hex(6)
    token = f"apf_{_new_secret()}"
    with _session(engine) as s, s.begin():
        s.add(ApiTokenRow(token_id=token_id, token_hash=digest(token), user_id=user_id, name=name,
                          created_at=now, expires_at=now + lifetime))
    return CreatedToken(token_id, token, now + lifetime)


def token_holder(engine: Engine, token: str, now: datetime) -> TokenHolder | None:
    """The active user whose live token this is, with their name and grants.
    Every API request asks it: so one read, and a write only to mark the
    token used, at most once every TOUCH_EVERY."""
    t = ApiTokenRow
    with engine.connect() as c:
        rows = c.execute(_TOKEN_HOLDER, {"hash": digest(token)}).all()
    if not rows:
        return None
    r = rows[0]
    if r.revoked_at is not None or now >= r.expires_at or r.disabled_at is not None:
        return None
    if r.last_used_at is None or now - r.last_used_at >= TOUCH_EVERY:
        with engine.begin() as c:
            c.execute(update(t).where(t.token_id == r.token_id).values(last_used_at=now))
    return TokenHolder(r.user_id, r.name, _grants(rows))


def token_owner(engine: Engine, token: str, now: datetime) -> str | None:
    """The active user whose live token this is."""
    holder = token_holder(engine, token, now)
    return holder.user_id if holder else None


def token(engine: Engine, token_id: str) -> ApiTokenRow | None:
    with _session(engine) as s:
        return s.get(ApiTokenRow, token_id)


def tokens_of(engine: Engine, user_id: str) -> list[ApiTokenRow]:
    with _session(engine) as s:
        return list(s.scalars(select(ApiTokenRow).where(ApiTokenRow.user_id == user_id).order_by(ApiTokenRow.created_at)))


def revoke_token(engine: Engine, token_id: str, now: datetime, user_id: str | None = None) -> bool:
    """Revokes it (only the owner's, when `user_id` is given); False if there was none to revoke."""
    where = [ApiTokenRow.token_id == token_id, ApiTokenRow.revoked_at.is_(None)]
    if user_id is not None:
        where.append(ApiTokenRow.user_id == user_id)
    with _session(engine) as s, s.begin():
        return s.execute(update(ApiTokenRow).where(*where).values(revoked_at=now)).rowcount > 0


# --- password resets ----------------------------------------------------------------------------


def create_reset(engine: Engine, user_id: str, now: datetime, lifetime: timedelta) -> str:
    secret = _new_secret()
    with _session(engine) as s, s.begin():
        s.add(PasswordResetRow(reset_hash=digest(secret), user_id=user_id, created_at=now, expires_at=now + lifetime))
    return secret


def reset_owner(engine: Engine, secret: str, now: datetime) -> str | None:
    """Whose unused, unexpired reset link this is (it stays unused)."""
    with _session(engine) as s:
        row = s.get(PasswordResetRow, digest(secret))
        if row is None or row.used_at is not None or now >= row.expires_at:
            return None
        return row.user_id


def use_reset(engine: Engine, secret: str, now: datetime) -> str | None:
    """Claims the link once, atomically (a second use at the same moment gets
    nothing); the user it was for."""
    key = digest(secret)
    with _session(engine) as s, s.begin():
        claimed = s.execute(update(PasswordResetRow).where(
            PasswordResetRow.reset_hash == key, PasswordResetRow.used_at.is_(None), PasswordResetRow.expires_at > now,
        ).values(used_at=now)).rowcount
        if claimed != 1:
            return None
        return s.get(PasswordResetRow, key).user_id


# --- throttle -----------------------------------------------------------------------------------


def record_failure(engine: Engine, key: str, now: datetime) -> None:
    with _session(engine) as s, s.begin():
        s.add(SignInFailureRow(key_hash=digest(key), at=now))


def count_attempt(engine: Engine, key: str, now: datetime, since: datetime) -> int:
    """Records an attempt and answers how many there have been since `since`,
    this one included, in one transaction: attempts at the same moment are
    counted one after another, never all as the first."""
    with _session(engine) as s, s.begin():
        s.add(SignInFailureRow(key_hash=digest(key), at=now))
        s.flush()
        return s.scalar(select(func.count()).select_from(SignInFailureRow).where(
            SignInFailureRow.key_hash == digest(key), SignInFailureRow.at >= since)) or 0


def failures_since(engine: Engine, key: str, since: datetime) -> int:
    with _session(engine) as s:
        return s.scalar(select(func.count()).select_from(SignInFailureRow).where(
            SignInFailureRow.key_hash == digest(key), SignInFailureRow.at >= since)) or 0


def clear_failures(engine: Engine, key: str) -> None:
    with _session(engine) as s, s.begin():
        s.execute(delete(SignInFailureRow).where(SignInFailureRow.key_hash == digest(key)))


# --- audit --------------------------------------------------------------------------------------


def record_event(engine: Engine, event: str, actor_id: str, now: datetime, subject_id: str | None = None,
                 detail: str | None = None) -> None:
    with _session(engine) as s, s.begin():
        s.add(AccountEventRow(at=now, event=event, actor_id=actor_id, subject_id=subject_id, detail=detail))


def events(engine: Engine, subject_id: str | None = None, limit: int = 100) -> list[AccountEventRow]:
    q = select(AccountEventRow).order_by(AccountEventRow.id.desc()).limit(limit)
    if subject_id is not None:
        q = q.where(AccountEventRow.subject_id == subject_id)
    with _session(engine) as s:
        return list(s.scalars(q))

