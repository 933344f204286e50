"""The demo's invented staff: made once, each with a password and a second
factor, and made again without failing: the same accounts and second
factors, new passwords, the same one grant each."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from apflow import demo_people, samples
from apflow.directory import school_contacts
from apflow.settings import Settings
from console.signin.credentials import password_matches
from domain.models import Role
from store import accounts

ROLES = {Role.ap_lead, Role.headteacher, Role.dsl, Role.read_only, Role.trust_operations, Role.trust_dsl}


def now() -> datetime:
    return datetime.now(UTC)


def test_the_demo_people_are_made_once_and_made_again_with_new_passwords(engine):
    first = demo_people.ensure_people(engine, now())
    again = demo_people.ensure_people(engine, now())

    assert {s.person.grant.role for s in first} == ROLES
    assert [s.user_id for s in again] == [s.user_id for s in first]
    assert [s.totp_secret for s in again] == [s.totp_secret for s in first]
    for before, after in zip(first, again):
        user = accounts.user(engine, after.user_id)
        assert password_matches(user.password_hash, after.password) and not password_matches(user.password_hash, before.password)
        assert accounts.grants_of(engine, after.user_id) == (after.person.grant,)
    assert len(accounts.accounts(engine)) == len(demo_people.PEOPLE)
    assert {e.actor_id for e in accounts.events(engine)} == {"cli"}


def test_the_runs_tokens_act_as_their_people_and_open_nothing_after(engine):
    people = demo_people.ensure_people(engine, now())
    tokens = demo_people.tokens_for(engine, people, [Role.ap_lead, Role.dsl], now())
    by_role = {s.person.grant.role: s.user_id for s in people}

    assert {role: accounts.token_owner(engine, t.token, now()) for role, t in tokens.items()} == {
        Role.ap_lead: by_role[Role.ap_lead], Role.dsl: by_role[Role.dsl]}
    demo_people.revoke(engine, tokens, now())
    assert all(accounts.token_owner(engine, t.token, now()) is None for t in tokens.values())


def test_a_disabled_demo_account_is_named_not_reopened(engine):
    people = demo_people.ensure_people(engine, now())
    accounts.disable(engine, people[0].user_id, now())

    with pytest.raises(demo_people.DemoAccountDisabled, match=people[0].person.email):
        demo_people.ensure_people(engine, now())


async def test_each_demo_person_signs_in_with_the_password_and_code_the_demo_prints(engine, tmp_path):
    """Through the real sign-in pages: the printed password, then the code
    `apflow users code` would print; the session then reads the API."""
    from temporalio.client import Client

    from apflow.demo import sign_in_help
    from apflow.settings import Settings
    from console.api import create_app
    from tests.api.conftest import serving
    from tests.signin.browser import Browser
    from tests.signin.test_password import sign_in

    people = demo_people.ensure_people(engine, now())
    client = await Client.connect("127.0.0.1:1", lazy=True)  # signing in needs no Temporal
    async with serving(create_app(Settings(var_dir=tmp_path / "var"), client=client, engine=engine)) as url:
        printed = sign_in_help(url, people)
        for s in people:
            assert f"email     {s.person.email}\n    password  {s.password}\n    TOTP key  {s.totp_secret}" in printed
            async with Browser(url) as b:
                r = await sign_in(b, s.person.email, s.password, s.totp_secret)
                assert r.status_code == 303, (s.person.email, r.text)
                assert await b.api_status() == 200, s.person.email


def test_the_demo_school_staff_are_the_people_the_directory_names_at_the_addresses_they_sign_in_with():
    """Escalations and records mailed to the headteacher, AP lead and DSL reach
    the accounts they sign in with."""
    entry = school_contacts(samples.SCHOOL, Settings().directory_file)
    for role in (Role.headteacher, Role.ap_lead, Role.dsl):
        person, named = demo_people.BY_ROLE[role], entry.staff(role.value)
        assert (named.name, named.email) == (person.name, person.email), role
