"""The demo's invented staff, who sign in as real people do: a local account
for each role at the demo school (AP lead, headteacher, DSL, read-only) and
for the trust's operations and safeguarding leads, each with a password and
a second factor (`console.signin.credentials`).

Running the demo again keeps the accounts and their second factors (an
authenticator app that holds one goes on working) and gives each a new
password, printed again: nothing of a first run is needed by the next."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from console.signin.credentials import hash_password, new_totp_secret
from domain.access import Grant
from domain.models import Role
from store import accounts

from . import samples

SCHOOL = samples.SCHOOL.school_id
ACTOR = "cli"  # the account events' actor: the demo is run from the command line
TOKEN_LIFETIME = timedelta(hours=2)  # long enough for one run; revoked at its end anyway


@dataclass(frozen=True)
class DemoPerson:
    title: str
    name: str
    email: str
    grant: Grant


# The school's staff are the people its entry in the trust's directory names
# (directory/directory.toml): the letters the directory signs and the records
# they make name the same person.
PEOPLE = (
    DemoPerson(f"AP lead, {samples.SCHOOL.name}", "Sam Okafor", "aplead@nexus-valley.example", Grant(Role.ap_lead, SCHOOL)),
    DemoPerson(f"Headteacher, {samples.SCHOOL.name}", "Helen Carter", "head@nexus-valley.example", Grant(Role.headteacher, SCHOOL)),
    DemoPerson(f"DSL, {samples.SCHOOL.name}", "Jo Green", "dsl@nexus-valley.example", Grant(Role.dsl, SCHOOL)),
    DemoPerson(f"Governor (read-only), {samples.SCHOOL.name}", "Robin Hale", "governor@nexus-valley.example",
               Grant(Role.read_only, SCHOOL)),
    DemoPerson("Trust operations", "Kim Osei", "operations@nexus-trust.example", Grant(Role.trust_operations)),
    DemoPerson("Trust DSL", "Lee Carter", "safeguarding@nexus-trust.example", Grant(Role.trust_dsl)),
)
BY_ROLE = {p.grant.role: p for p in PEOPLE}


@dataclass(frozen=True)
class SignIn:
    """How one demo person signs in, as this run left it."""

    person: DemoPerson
    user_id: str
    password: str
    totp_secret: str


class DemoAccountDisabled(Exception):
    pass


def _new_password() -> str:
    return secrets.token_urlsafe(12)


def ensure_people(engine: Engine, now: datetime) -> list[SignIn]:
    """Every demo person's account, made if missing, with a new password;
    each change audited."""
    made = []
    for p in PEOPLE:
        password = _new_password()
        row = accounts.user_by_email(engine, p.email)
        if row is None:
            row = accounts.add_user(engine, p.email, p.name, now, hash_password(password), new_totp_secret())
            accounts.record_event(engine, "user_added", ACTOR, now, row.user_id, f"demo account, as {p.grant.role.value}")
        else:
            if not row.active:
                raise DemoAccountDisabled(f"the demo account {p.email} is disabled: the demo cannot act as it")
            accounts.set_password(engine, row.user_id, hash_password(password))
            accounts.record_event(engine, "password_set", ACTOR, now, row.user_id, "demo account: a new password for this run")
            if not row.totp_secret:
                accounts.set_totp(engine, row.user_id, new_totp_secret())
            row = accounts.user(engine, row.user_id)
        if accounts.add_grant(engine, row.user_id, p.grant):
            accounts.record_event(engine, "role_added", ACTOR, now, row.user_id, f"demo account, as {p.grant.role.value}")
        made.append(SignIn(p, row.user_id, password, row.totp_secret))
    return made


def tokens_for(engine: Engine, people: list[SignIn], roles: list[Role], now: datetime) -> dict[Role, accounts.CreatedToken]:
    """A short-lived API token for the demo person of each role, to drive the API as them."""
    ids = {s.person.grant.role: s.user_id for s in people}
    made = {}
    for role in roles:
        made[role] = accounts.create_token(engine, ids[role], "demo run", now, TOKEN_LIFETIME)
        accounts.record_event(engine, "token_created", ACTOR, now, ids[role], f"{made[role].token_id} (demo run)")
    return made


def revoke(engine: Engine, tokens: dict[Role, accounts.CreatedToken], now: datetime) -> None:
    """Ends the run's tokens: the demo leaves no token that opens anything."""
    for t in tokens.values():
        if accounts.revoke_token(engine, t.token_id, now):
            owner = accounts.token(engine, t.token_id).user_id
            accounts.record_event(engine, "token_revoked", ACTOR, now, owner, t.token_id)
