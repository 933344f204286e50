"""`apflow users` and `apflow tokens` as an operator runs them, against a
register in a temporary folder, read back through the store. The commands
run through the command's own `main` in this process (a process each would
pay the service's imports every time); one test runs the installed command
as a process of its own."""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from apflow.cli import main
from console.signin.credentials import code_matches, new_totp_secret
from domain.access import Grant
from domain.models import Role
from store import accounts
from store.db import make_engine

APFLOW = Path(sys.executable).parent / "apflow"


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


class Cli:
    def __init__(self, var: Path, monkeypatch: pytest.MonkeyPatch):
        for name in [k for k in os.environ if k.startswith("APFLOW_")]:
            monkeypatch.delenv(name)
        monkeypatch.setenv("APFLOW_VAR_DIR", str(var))
        self.engine = make_engine(f"sqlite:///{(var / 'apflow.db').resolve()}")

    def __call__(self, *args: str, code: int = 0) -> Done:
        out, err = io.StringIO(), io.StringIO()
        umask = os.umask(0o077)  # the command narrows it for the process: given back below
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                main(list(args))
            returncode = 0
        except SystemExit as e:  # as the interpreter ends a process with it
            returncode = e.code if isinstance(e.code, int) else 0 if e.code is None else 1
            if isinstance(e.code, str):
                err.write(e.code + "\n")
        finally:
            os.umask(umask)
        done = Done(returncode, out.getvalue(), err.getvalue())
        assert done.returncode == code, f"apflow {' '.join(args)} -> {done.returncode}:\n{done.stdout}\n{done.stderr}"
        return done

    def events(self) -> list[tuple[str, str, str | None]]:
        return [(e.event, e.actor_id, e.detail) for e in reversed(accounts.events(self.engine))]


@pytest.fixture
def cli(tmp_path, monkeypatch):
    c = Cli(tmp_path / "var", monkeypatch)
    yield c
    c.engine.dispose()


def test_the_installed_command_adds_an_account_in_a_process_of_its_own(tmp_path):
    var = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("APFLOW_")} | {"APFLOW_VAR_DIR": str(var)}
    done = subprocess.run([str(APFLOW), "users", "add", "ann@nexus-valley.example", "--role", "dsl", "--school", "137000"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("added ann@nexus-valley.example"), done.stderr
    refused = subprocess.run([str(APFLOW), "users", "add", "not-an-address", "--role", "dsl", "--school", "137000"],
                             env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "is not an email address" in refused.stderr
    engine = make_engine(f"sqlite:///{(var / 'apflow.db').resolve()}")
    assert [a.user.email for a in accounts.accounts(engine)] == ["ann@nexus-valley.example"]
    assert (var / "apflow.db").stat().st_mode & 0o077 == 0  # the register is its own user's alone
    engine.dispose()


def test_an_account_is_added_given_roles_listed_and_disabled_each_change_audited(cli):
    out = cli("users", "add", "Ann.Lee@Nexus-Valley.example", "--role", "ap_lead", "--school", "137000", "--name", "Ann Lee").stdout
    assert out.startswith("added ann.lee@nexus-valley.example (u-") and out.rstrip().endswith("as ap_lead at 137000")
    cli("users", "roles", "ann.lee@nexus-valley.example", "--add", "read_only", "--school", "137001")
    cli("users", "roles", "ann.lee@nexus-valley.example", "--add", "trust_dsl")
    out = cli("users", "roles", "ann.lee@nexus-valley.example", "--remove", "read_only", "--school", "137001").stdout
    assert out.strip().endswith("roles: ap_lead at 137000, trust_dsl")

    user = accounts.user_by_email(cli.engine, "ann.lee@nexus-valley.example")
    assert user.name == "Ann Lee" and user.active
    assert accounts.grants_of(cli.engine, user.user_id) == (Grant(Role.ap_lead, "137000"), Grant(Role.trust_dsl))
    assert cli("users", "list").stdout.split("\t") == [
        "ann.lee@nexus-valley.example", "Ann Lee", "active", "single sign-on", "ap_lead at 137000, trust_dsl\n"]

    cli("users", "disable", "ann.lee@nexus-valley.example")
    assert not accounts.user(cli.engine, user.user_id).active
    assert "\tdisabled " in cli("users", "list").stdout
    assert cli.events() == [
        ("user_added", "cli", "by the command line, as ap_lead at 137000"), ("role_added", "cli", "read_only at 137001"),
        ("role_added", "cli", "trust_dsl"), ("role_removed", "cli", "read_only at 137001"),
        ("user_disabled", "cli", "sessions ended, tokens revoked"),
    ]


@pytest.mark.parametrize(("args", "code", "says"), [
    (["users", "add", "not-an-address", "--role", "dsl", "--school", "137000"], 2, "'not-an-address' is not an email address"),
    (["users", "add", "a@b.example, c@d.example", "--role", "dsl", "--school", "137000"], 2, "is not an email address"),
    (["users", "add", "a@b.example", "--role", "provider", "--school", "137000"], 2, "'provider' is not a staff role: choose one of ap_lead"),
    (["users", "add", "a@b.example", "--role", "system"], 2, "'system' is not a staff role"),
    (["users", "add", "a@b.example", "--role", "headteacher"], 2, "headteacher is a role at a school: name the school with --school URN"),
    (["users", "add", "a@b.example", "--role", "trust_operations", "--school", "137000"], 2, "trust_operations is a trust-wide role: it takes no --school"),
    (["users", "add", "a@b.example", "--role", "dsl", "--school", "../etc"], 2, "--school '../etc' is not a school's URN (six digits)"),
    (["users", "roles", "a@b.example", "--add", "dsl", "--school", "137000"], 1, "no account for a@b.example"),
    (["users", "disable", "a@b.example"], 1, "no account for a@b.example"),
    (["tokens", "create", "a@b.example"], 1, "no account for a@b.example"),
    (["tokens", "revoke", "tok-000000000000"], 1, "no token tok-000000000000"),
    (["tokens", "revoke", "apf_looks-like-a-token"], 2, "is not a token id"),
])
def test_what_cannot_be_done_is_refused_naming_why_and_writes_nothing(cli, args, code, says):
    done = cli(*args, code=code)
    assert says in done.stderr and done.stdout == "", done.stderr
    assert accounts.accounts(cli.engine) == [] and cli.events() == []


def test_a_second_account_for_the_same_address_or_an_unsaid_change_is_refused(cli):
    cli("users", "add", "head@nexus-valley.example", "--role", "headteacher", "--school", "137000")
    assert "exists already" in cli("users", "add", "HEAD@nexus-valley.example", "--role", "dsl", "--school", "137000", code=1).stderr
    assert "say one change" in cli("users", "roles", "head@nexus-valley.example", code=2).stderr
    assert "holds no dsl at 137000" in cli("users", "roles", "head@nexus-valley.example", "--remove", "dsl", "--school", "137000", code=1).stderr
    assert "--days is 1 to 366" in cli("tokens", "create", "head@nexus-valley.example", "--days", "0", code=2).stderr
    assert [e[0] for e in cli.events()] == ["user_added"]


def test_a_token_is_printed_once_on_the_last_line_and_opens_its_users_account_until_revoked(cli):
    cli("users", "add", "ops@trust.example", "--role", "trust_operations")
    user = accounts.user_by_email(cli.engine, "ops@trust.example")

    out = cli("tokens", "create", "ops@trust.example", "--name", "reports", "--days", "7").stdout
    *said, token = out.rstrip("\n").split("\n")
    assert token.startswith("apf_") and not any(token in line for line in said)
    assert accounts.token_owner(cli.engine, token, datetime.now(UTC)) == user.user_id
    (row,) = accounts.tokens_of(cli.engine, user.user_id)
    assert row.token_id in said[0] and "reports" in said[0]
    assert (row.expires_at - row.created_at).days == 7

    listed = cli("tokens", "list", "ops@trust.example").stdout
    assert token not in listed and listed.startswith(f"{row.token_id}\treports\tlive\t")
    cli("tokens", "revoke", row.token_id)
    assert accounts.token_owner(cli.engine, token, datetime.now(UTC)) is None
    assert "\trevoked " in cli("tokens", "list", "ops@trust.example").stdout
    assert "revoked already" in cli("tokens", "revoke", row.token_id, code=1).stderr
    assert cli.events()[1:] == [("token_created", "cli", f"{row.token_id} (reports), 7 days"), ("token_revoked", "cli", row.token_id)]
    assert all(token not in (e[2] or "") for e in cli.events())


def test_the_demo_code_command_prints_the_current_code_of_a_local_account(cli):
    cli("users", "add", "dsl@nexus-valley.example", "--role", "dsl", "--school", "137000")
    user = accounts.user_by_email(cli.engine, "dsl@nexus-valley.example")
    assert "no second factor" in cli("users", "code", "dsl@nexus-valley.example", code=1).stderr
    secret = new_totp_secret()
    accounts.set_totp(cli.engine, user.user_id, secret)

    code = cli("users", "code", "dsl@nexus-valley.example").stdout.strip()
    assert len(code) == 6 and code_matches(secret, code)
    assert "demo and development only" in " ".join(cli("users", "code", "--help").stdout.split())
    assert cli.events()[-1] == ("totp_code_shown", "cli", "by the command line")
