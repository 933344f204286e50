"""`apflow users` and `apflow tokens`: staff accounts, their roles and their
personal API tokens, kept in the register (`store.accounts`).

Every change is audited in `account_events` with the actor "cli". Input is
checked before anything is written: an email is one mailbox (the type every
address in apflow has), a role is a staff role, a school is a URN, and a
school's role names its school while a trust-wide one names none. A refusal
says what is wrong and exits non-zero: 2 for input that cannot be right, 1
for a person or token that is not there (or is already)."""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Engine

from console.signin.credentials import current_code
from domain.access import TRUST_WIDE, Grant
from domain.models import LINK_ROLES, EmailAddress, Role
from store import accounts
from store.db import make_engine, migrate

from .settings import Settings

ACTOR = "cli"
URN = re.compile(r"^[0-9]{6}$")
STAFF_ROLES = [r for r in Role if r not in LINK_ROLES and r is not Role.system]
SCHOOL_ROLES = [r for r in STAFF_ROLES if r not in TRUST_WIDE]
MAX_TOKEN_DAYS = 366
_email = TypeAdapter(EmailAddress)


class Refused(Exception):
    """What the command cannot do, in words; `code` is the exit status."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


# --- input -------------------------------------------------------------------------------


def email_of(value: str) -> str:
    try:
        return _email.validate_python(value.strip()).lower()
    except ValidationError as e:
        reason = e.errors()[0]["msg"].removeprefix("value is not a valid email address: ")
        raise Refused(f"{value!r} is not an email address: {reason}") from None


def role_of(value: str) -> Role:
    if value not in {r.value for r in STAFF_ROLES}:
        raise Refused(f"{value!r} is not a staff role: choose one of {', '.join(r.value for r in STAFF_ROLES)}")
    return Role(value)


def grant_of(role_name: str, school: str | None) -> Grant:
    role = role_of(role_name)
    if role in TRUST_WIDE:
        if school is not None:
            raise Refused(f"{role.value} is a trust-wide role: it takes no --school")
        return Grant(role)
    if school is None:
        raise Refused(f"{role.value} is a role at a school: name the school with --school URN")
    if not URN.fullmatch(school):
        raise Refused(f"--school {school!r} is not a school's URN (six digits)")
    return Grant(role, school)


def describe(grant: Grant) -> str:
    return grant.role.value if grant.school_id is None else f"{grant.role.value} at {grant.school_id}"


# --- what each command does --------------------------------------------------------------


@dataclass
class Register:
    """The register the commands change, and the time they say it is."""

    engine: Engine
    settings: Settings

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    def user(self, email: str) -> accounts.UserRow:
        row = accounts.user_by_email(self.engine, email_of(email))
        if row is None:
            raise Refused(f"no account for {email_of(email)}: add it with `apflow users add`", code=1)
        return row

    def audit(self, event: str, subject_id: str | None, detail: str | None = None) -> None:
        accounts.record_event(self.engine, event, ACTOR, self.now(), subject_id=subject_id, detail=detail)


def users_add(reg: Register, args) -> None:
    email = email_of(args.email)
    grant = grant_of(args.role, args.school)
    name = (args.name or email.split("@")[0]).strip()
    if not 1 <= len(name) <= 200:
        raise Refused("--name is 1 to 200 characters")
    try:
        row = accounts.add_user(reg.engine, email, name, reg.now())
    except accounts.AccountExists:
        raise Refused(f"an account for {email} exists already: give it roles with `apflow users roles {email} --add ROLE`",
                      code=1) from None
    accounts.add_grant(reg.engine, row.user_id, grant)
    reg.audit("user_added", row.user_id, f"by the command line, as {describe(grant)}")
    print(f"added {email} ({row.user_id}) as {describe(grant)}")


def users_roles(reg: Register, args) -> None:
    if (args.add is None) == (args.remove is None):
        raise Refused("say one change: --add ROLE or --remove ROLE (with --school URN for a school's role)")
    row = reg.user(args.email)
    grant = grant_of(args.add or args.remove, args.school)
    if args.add is not None:
        changed = accounts.add_grant(reg.engine, row.user_id, grant)
        event, said = "role_added", "now" if changed else "already"
    else:
        changed = accounts.remove_grant(reg.engine, row.user_id, grant)
        if not changed:
            raise Refused(f"{row.email} holds no {describe(grant)}", code=1)
        event, said = "role_removed", "no longer"
    if changed:
        reg.audit(event, row.user_id, describe(grant))
    held = ", ".join(describe(g) for g in accounts.grants_of(reg.engine, row.user_id)) or "no role"
    print(f"{row.email} {said} holds {describe(grant)}; roles: {held}")


def users_list(reg: Register, args) -> None:
    found = accounts.accounts(reg.engine)
    if not found:
        print("no accounts yet: add one with `apflow users add EMAIL --role ROLE`")
        return
    for a in found:
        status = "active" if a.user.active else f"disabled {a.user.disabled_at:%Y-%m-%d}"
        local = "password" if a.user.password_hash else "single sign-on"
        if a.user.password_hash and a.user.totp_secret:
            local += " + code"
        roles = ", ".join(describe(g) for g in a.grants) or "no role"
        print(f"{a.user.email}\t{a.user.name}\t{status}\t{local}\t{roles}")


def users_disable(reg: Register, args) -> None:
    row = reg.user(args.email)
    if not row.active:
        raise Refused(f"{row.email} is disabled already", code=1)
    accounts.disable(reg.engine, row.user_id, reg.now())
    reg.audit("user_disabled", row.user_id, "sessions ended, tokens revoked")
    print(f"disabled {row.email}: every session ended and every token revoked")


def users_code(reg: Register, args) -> None:
    row = reg.user(args.email)
    if not row.totp_secret:
        raise Refused(f"{row.email} has no second factor set up", code=1)
    reg.audit("totp_code_shown", row.user_id, "by the command line")
    print(current_code(row.totp_secret))


def tokens_create(reg: Register, args) -> None:
    row = reg.user(args.email)
    if not row.active:
        raise Refused(f"{row.email} is disabled: a token would open nothing", code=1)
    days = args.days if args.days is not None else reg.settings.signin.api_token_lifetime_days
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise Refused(f"--days is 1 to {MAX_TOKEN_DAYS}")
    name = args.name.strip()
    if not 1 <= len(name) <= 100:
        raise Refused("--name is 1 to 100 characters")
    made = accounts.create_token(reg.engine, row.user_id, name, reg.now(), timedelta(days=days))
    reg.audit("token_created", row.user_id, f"{made.token_id} ({name}), {days} days")
    print(f"token {made.token_id} ({name}) for {row.email}, until {made.expires_at:%Y-%m-%d %H:%M} UTC;")
    print("send it as `Authorization: Bearer <token>`. It is shown once, here, and kept only as a hash:")
    print(made.token)


def tokens_list(reg: Register, args) -> None:
    row = reg.user(args.email)
    found = accounts.tokens_of(reg.engine, row.user_id)
    if not found:
        print(f"{row.email} has no tokens")
    for t in found:
        if t.revoked_at is not None:
            status = f"revoked {t.revoked_at:%Y-%m-%d}"
        elif reg.now() >= t.expires_at:
            status = "expired"
        else:
            status = "live"
        used = f"last used {t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never used"
        print(f"{t.token_id}\t{t.name}\t{status}\tuntil {t.expires_at:%Y-%m-%d}\t{used}")


def tokens_revoke(reg: Register, args) -> None:
    if not re.fullmatch(r"tok-[0-9a-f]{12}", args.token_id):
        raise Refused(f"{args.token_id!r} is not a token id (tok-… as `apflow tokens list` shows it; never the token itself)")
    token = accounts.token(reg.engine, args.token_id)
    if token is None:
        raise Refused(f"no token {args.token_id}", code=1)
    if not accounts.revoke_token(reg.engine, args.token_id, reg.now()):
        raise Refused(f"token {args.token_id} is revoked already", code=1)
    reg.audit("token_revoked", token.user_id, args.token_id)
    print(f"revoked {args.token_id}: it opens nothing from now on")


# --- the parsers -------------------------------------------------------------------------


def _command(parsers, name: str, text: str) -> argparse.ArgumentParser:
    """A subcommand whose purpose shows in its parent's list and in its own --help."""
    return parsers.add_parser(name, help=text, description=text)


def add_parsers(commands) -> None:
    """Adds `users` and `tokens` to the `apflow` command's subcommands."""
    roles = ", ".join(r.value for r in STAFF_ROLES)
    users = _command(commands, "users", "staff accounts and their roles").add_subparsers(dest="action", required=True)
    add = _command(users, "add", "add a staff account with its first role")
    add.add_argument("email")
    add.add_argument("--role", required=True, help=f"one of {roles}")
    add.add_argument("--school", help="the school's URN, for a role at a school (none for trust-wide roles)")
    add.add_argument("--name", help="how apflow names them (default: the email's part before @)")
    add.set_defaults(run=users_add)
    change = _command(users, "roles", "give or take away one role (a person may hold several, at several schools)")
    change.add_argument("email")
    change.add_argument("--add", metavar="ROLE", help=f"the role to give: {roles}")
    change.add_argument("--remove", metavar="ROLE", help="the role to take away")
    change.add_argument("--school", help="the school's URN, for a role at a school")
    change.set_defaults(run=users_roles)
    _command(users, "list", "every account, its status and its roles").set_defaults(run=users_list)
    disable = _command(users, "disable", "disable an account: its sessions end and its tokens are revoked")
    disable.add_argument("email")
    disable.set_defaults(run=users_disable)
    code = _command(users, "code", "print the current sign-in code of a local account's second factor: "
                                "for the demo and development only, never for a real person's account")
    code.add_argument("email")
    code.set_defaults(run=users_code)

    tokens = _command(commands, "tokens", "personal API tokens").add_subparsers(dest="action", required=True)
    create = _command(tokens, "create", "make a token for an account; it is printed once, on the last line")
    create.add_argument("email")
    create.add_argument("--name", default="api", help="what the token is for (default: api)")
    create.add_argument("--days", type=int, help="how long it works (default: APFLOW_SIGNIN__API_TOKEN_LIFETIME_DAYS)")
    create.set_defaults(run=tokens_create)
    listed = _command(tokens, "list", "an account's tokens (never the tokens themselves)")
    listed.add_argument("email")
    listed.set_defaults(run=tokens_list)
    revoke = _command(tokens, "revoke", "revoke a token by its id")
    revoke.add_argument("token_id")
    revoke.set_defaults(run=tokens_revoke)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Runs the chosen command against the register; the exit status."""
    engine = make_engine(settings.db_url)
    try:
        migrate(engine)  # a fresh machine's register is made here as by `apflow up`
        args.run(Register(engine, settings), args)
        return 0
    except Refused as e:
        print(f"apflow {args.command} {args.action}: {e}", file=sys.stderr)
        return e.code
    finally:
        engine.dispose()
