"""Accounts, sessions and tokens in the register: secrets are kept only as
hashes, and each one opens only what it should, for as long as it should."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from domain.access import Grant
from domain.models import Role
from store import accounts
from store.db import make_engine, migrate

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
IDLE = timedelta(minutes=30)


@pytest.fixture
def engine(tmp_path):
    e = make_engine(f"sqlite:///{tmp_path / 'register.db'}")
    migrate(e)
    yield e
    e.dispose()


def every_stored_value(engine) -> str:
    with engine.connect() as c:
        tables = [r[0] for r in c.execute(text("select name from sqlite_master where type='table'"))]
        return " ".join(str(v) for t in tables for row in c.execute(text(f'select * from "{t}"')) for v in row)


def test_an_email_names_one_account_whatever_its_case(engine):
    accounts.add_user(engine, "Lead@School.Example", "A Lead", NOW)
    with pytest.raises(accounts.AccountExists):
        accounts.add_user(engine, "lead@school.example ", "Someone else", NOW)
    assert accounts.user_by_email(engine, "LEAD@school.example").name == "A Lead"


def test_grants_are_held_once_and_removed(engine):
    u = accounts.add_user(engine, "head@school.example", "Head", NOW)
    assert accounts.add_grant(engine, u.user_id, Grant(Role.headteacher, "137000"))
    assert not accounts.add_grant(engine, u.user_id, Grant(Role.headteacher, "137000"))
    assert accounts.add_grant(engine, u.user_id, Grant(Role.trust_dsl))
    assert accounts.grants_of(engine, u.user_id) == (Grant(Role.headteacher, "137000"), Grant(Role.trust_dsl))
    assert accounts.remove_grant(engine, u.user_id, Grant(Role.trust_dsl))
    assert accounts.grants_of(engine, u.user_id) == (Grant(Role.headteacher, "137000"),)


def test_a_session_ends_when_idle_and_at_its_lifetime(engine):
    u = accounts.add_user(engine, "lead@school.example", "Lead", NOW)
    opened = accounts.open_session(engine, u.user_id, "password", NOW, timedelta(hours=8))
    # Kept alive by use, until the absolute lifetime ends it.
    at = NOW
    while at + timedelta(minutes=20) < NOW + timedelta(hours=8):
        at += timedelta(minutes=20)
        assert accounts.session_holder(engine, opened.cookie, at, IDLE) is not None
    assert accounts.session_holder(engine, opened.cookie, NOW + timedelta(hours=8), IDLE) is None
    # Idle past the timeout: ended, and ended for good.
    idle = accounts.open_session(engine, u.user_id, "password", NOW, timedelta(hours=8))
    assert accounts.session_holder(engine, idle.cookie, NOW + IDLE, IDLE) is None
    assert accounts.session_holder(engine, idle.cookie, NOW + timedelta(minutes=1), IDLE) is None


def test_a_session_names_its_person_with_their_grants(engine):
    u = accounts.add_user(engine, "head@school.example", "A Head", NOW)
    accounts.add_grant(engine, u.user_id, Grant(Role.headteacher, "137000"))
    accounts.add_grant(engine, u.user_id, Grant(Role.read_only, "137001"))
    opened = accounts.open_session(engine, u.user_id, "password", NOW, timedelta(hours=8))
    held = accounts.session_holder(engine, opened.cookie, NOW + timedelta(minutes=5), IDLE)
    assert (held.user_id, held.name, held.csrf_token) == (u.user_id, "A Head", opened.csrf_token)
    assert held.grants == (Grant(Role.headteacher, "137000"), Grant(Role.read_only, "137001"))
    assert accounts.session_holder(engine, opened.cookie + "x", NOW, IDLE) is None


def test_secrets_are_stored_only_as_hashes(engine):
    u = accounts.add_user(engine, "lead@school.example", "Lead", NOW)
    session = accounts.open_session(engine, u.user_id, "password", NOW, timedelta(hours=8))
    token = accounts.create_token(engine, u.user_id, "MIS sync", NOW, timedelta(days=90))
    reset = accounts.create_reset(engine, u.user_id, NOW, timedelta(hours=1))
    accounts.record_failure(engine, "lead@school.example", NOW)

    stored = every_stored_value(engine)
    for secret in (session.cookie, token.token, reset):
        assert secret not in stored
    assert accounts.digest(token.token) in stored
    assert "lead@school.example" in stored  # the account's own email, and nowhere else:
    assert stored.count("lead@school.example") == 1  # the throttle keeps its key hashed


def test_disabling_a_user_ends_their_sessions_and_tokens(engine):
    u = accounts.add_user(engine, "lead@school.example", "Lead", NOW)
    session = accounts.open_session(engine, u.user_id, "oidc", NOW, timedelta(hours=8))
    token = accounts.create_token(engine, u.user_id, "MIS sync", NOW, timedelta(days=90))
    assert accounts.token_owner(engine, token.token, NOW) == u.user_id

    accounts.disable(engine, u.user_id, NOW)

    assert accounts.session_holder(engine, session.cookie, NOW, IDLE) is None
    assert accounts.token_owner(engine, token.token, NOW) is None
    assert all(t.revoked_at is not None for t in accounts.tokens_of(engine, u.user_id))


def test_a_token_opens_nothing_once_expired_or_revoked(engine):
    u = accounts.add_user(engine, "lead@school.example", "Lead", NOW)
    other = accounts.add_user(engine, "other@school.example", "Other", NOW)
    token = accounts.create_token(engine, u.user_id, "MIS sync", NOW, timedelta(days=90))
    assert accounts.token_owner(engine, token.token, NOW + timedelta(days=90)) is None
    assert accounts.token_owner(engine, token.token + "x", NOW) is None
    assert not accounts.revoke_token(engine, token.token_id, NOW, user_id=other.user_id)  # not theirs to revoke
    assert accounts.revoke_token(engine, token.token_id, NOW, user_id=u.user_id)
    assert accounts.token_owner(engine, token.token, NOW) is None


def test_a_token_gives_its_holder_with_every_grant_and_is_marked_used_once_a_minute(engine):
    u = accounts.add_user(engine, "lead@school.example", "Lead", NOW)
    token = accounts.create_token(engine, u.user_id, "MIS sync", NOW, timedelta(days=90))
    assert accounts.token_holder(engine, token.token, NOW) == accounts.TokenHolder(u.user_id, "Lead", ())
    accounts.add_grant(engine, u.user_id, Grant(Role.ap_lead, "137000"))
    accounts.add_grant(engine, u.user_id, Grant(Role.dsl, "137001"))
    holder = accounts.token_holder(engine, token.token, NOW + timedelta(seconds=30))
    assert holder.grants == (Grant(Role.ap_lead, "137000"), Grant(Role.dsl, "137001"))
    (row,) = accounts.tokens_of(engine, u.user_id)
    assert row.last_used_at.replace(tzinfo=UTC) == NOW  # not again within the minute
    accounts.token_holder(engine, token.token, NOW + timedelta(minutes=2))
    (row,) = accounts.tokens_of(engine, u.user_id)
    assert row.last_used_at.replace(tzinfo=UTC) == NOW + timedelta(minutes=2)


def test_a_reset_link_is_used_once_even_when_raced(engine):
    u = accounts.add_user(engine, "lead@school.example", "Lead", NOW)
    secret = accounts.create_reset(engine, u.user_id, NOW, timedelta(hours=1))
    assert accounts.reset_owner(engine, secret, NOW) == u.user_id
    results, barrier = [], threading.Barrier(6)

    def use():
        barrier.wait()
        results.append(accounts.use_reset(engine, secret, NOW + timedelta(minutes=5)))

    threads = [threading.Thread(target=use) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results, key=str) == [None] * 5 + [u.user_id]
    assert accounts.reset_owner(engine, secret, NOW) is None


def test_an_expired_reset_link_opens_nothing(engine):
    u = accounts.add_user(engine, "lead@school.example", "Lead", NOW)
    secret = accounts.create_reset(engine, u.user_id, NOW, timedelta(hours=1))
    assert accounts.use_reset(engine, secret, NOW + timedelta(hours=1)) is None


def test_failures_are_counted_in_their_window_and_cleared(engine):
    for minutes in (0, 5, 10):
        accounts.record_failure(engine, "lead@school.example", NOW + timedelta(minutes=minutes))
    assert accounts.failures_since(engine, "lead@school.example", NOW + timedelta(minutes=5)) == 2
    assert accounts.failures_since(engine, "other@school.example", NOW) == 0
    accounts.clear_failures(engine, "lead@school.example")
    assert accounts.failures_since(engine, "lead@school.example", NOW) == 0
