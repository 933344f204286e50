"""What a provider's record says of itself: what has expired or soon will,
each with its clause; what it lacks to serve as a vetting."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from domain.providers import CheckRecord, ProviderIn, ProviderRecord, blocking, gaps, next_expiry, problems, status
from domain.settings import PolicySettings

from .records import insurance, record

TODAY = date(2027, 1, 11)
POLICY = PolicySettings()


def stored(given: ProviderIn) -> ProviderRecord:
    return ProviderRecord(provider_id="prov-" + "a" * 32, **given.model_dump())


def test_a_current_vetted_record_has_no_problem_and_no_gap():
    r = stored(record(TODAY))
    assert problems(r, TODAY, 30) == []
    assert gaps(r, POLICY) == []
    assert status(r, TODAY, POLICY) == "current"
    assert blocking(r, TODAY) == []


def test_insurance_expiring_within_the_warning_days_warns_and_does_not_block():
    r = stored(record(TODAY, insurance=insurance(TODAY + timedelta(days=365), employers_liability_expires_on=TODAY + timedelta(days=20))))
    found = problems(r, TODAY, 30)
    assert [(p.what, p.clause, p.expired) for p in found] == [("employer's liability insurance", "appendix: insurance", False)]
    assert "expires on 2027-01-31 (in 20 days)" in found[0].message(TODAY)
    assert problems(r, TODAY, 19) == []  # the setting decides how far ahead
    assert status(r, TODAY, POLICY) == "expiring"
    assert blocking(r, TODAY) == []


def test_insurance_past_its_last_day_blocks_naming_the_clause():
    r = stored(record(TODAY, insurance=insurance(TODAY + timedelta(days=365), public_liability_expires_on=TODAY - timedelta(days=1))))
    (unmet,) = blocking(r, TODAY)
    assert unmet.clause == "appendix: insurance"
    assert "public liability insurance expired on 2027-01-10" in unmet.message
    assert status(r, TODAY, POLICY) == "expired"
    # Its last day is still covered.
    assert blocking(stored(record(TODAY, insurance=insurance(TODAY))), TODAY) == []


def test_an_expired_required_check_blocks_and_an_expired_other_only_warns():
    checks = dict(record(TODAY).checklist)
    checks["k"] = CheckRecord(status="seen", seen_on=TODAY - timedelta(days=400), expires_on=TODAY - timedelta(days=5))
    checks["q"] = CheckRecord(status="seen", note="Fire drill log", seen_on=TODAY - timedelta(days=400),
                              expires_on=TODAY - timedelta(days=5))
    r = stored(record(TODAY, checklist=checks))
    assert [(u.clause) for u in blocking(r, TODAY)] == ["appendix checklist (k)"]
    assert {p.clause for p in problems(r, TODAY, 30)} == {"appendix checklist (k)", "appendix checklist (q)"}
    assert next_expiry(r) == TODAY - timedelta(days=5)


def test_motor_insurance_counts_when_the_provider_has_it():
    ins = insurance(TODAY + timedelta(days=365), motor_vehicle=True, motor_vehicle_expires_on=TODAY - timedelta(days=2))
    assert [p.what for p in problems(stored(record(TODAY, insurance=ins)), TODAY, 30)] == ["motor vehicle insurance"]
    no_date = stored(record(TODAY, insurance=insurance(TODAY + timedelta(days=365), motor_vehicle=True)))
    assert any("motor vehicle insurance's expiry" in u.message for u in gaps(no_date, POLICY))


def test_gaps_are_the_vetting_guards_conditions_less_the_pupils():
    r = stored(record(TODAY, checklist={}, insurance=insurance(TODAY + timedelta(days=9), public_liability=1_000_000),
                      safeguarding_confirmation_received_on=None))
    r.provider.la_approved = False
    clauses = {u.clause for u in gaps(r, POLICY)}
    assert "appendix checklist (a)" in clauses and "appendix: insurance" in clauses
    assert {"§7.3", "§9.2"} <= clauses
    assert "§7.1" not in clauses
    assert status(r, TODAY, POLICY) == "not_vetted"


def test_the_record_becomes_a_placements_vetting():
    r = stored(record(TODAY))
    v = r.vetting()
    assert set(v.checklist) == set(r.checklist) and v.insurance.public_liability == 5_000_000
    assert not hasattr(v.insurance, "public_liability_expires_on")
    assert r.as_provider().name == "Bridgeway Learning Centre"


@pytest.mark.parametrize("bad", [
    {"checklist": {"z": {"status": "seen"}}},
    {"provider": {"name": "x" * 201}},
    {"checklist": {"a": {"status": "seen", "seen_on": "2027-01-10", "expires_on": "2026-01-10"}}},
    {"insurance": {"public_liability": -1}},
    {"provider": {"sites": [{"name": "Main", "address": "1 Lane", "postcode": "not a postcode"}]}},
    {"provider": {"dsl": {"name": "Jo", "phone": "call me\nBcc: x"}}},
    {"provider": {"sites": [{"name": "Main", "address": "1 Lane", "postcode": "HD1 4AB"}] * 21}},
])
def test_malformed_records_are_refused(bad):
    data = record(TODAY).model_dump(mode="json")
    for k, v in bad.items():
        data[k] = {**data[k], **v} if isinstance(data.get(k), dict) else v
    with pytest.raises(ValidationError):
        ProviderIn.model_validate(data)


def test_the_warning_days_are_a_setting(monkeypatch):
    from apflow.settings import Settings

    assert Settings().policy.providers.warn_days == 30
    monkeypatch.setenv("APFLOW_POLICY__PROVIDERS__WARN_DAYS", "45")
    assert Settings().policy.providers.warn_days == 45
    monkeypatch.setenv("APFLOW_POLICY__PROVIDERS__WARN_DAYS", "-1")
    with pytest.raises(ValidationError):
        Settings()


def test_a_check_seen_is_seen_on_a_day():
    checks = dict(record(TODAY).checklist)
    checks["c"] = CheckRecord(status="seen")
    r = stored(record(TODAY, checklist=checks))
    assert [u.clause for u in gaps(r, POLICY)] == ["appendix checklist (c)"]
    assert status(r, TODAY, POLICY) == "not_vetted"


@pytest.mark.parametrize("days", [-5, 0, 10, 29, 30, 31, 200])
@pytest.mark.parametrize("item", ["insurance", "a", "q", "not_applicable"])
def test_the_next_warning_is_within_the_warning_days_exactly_when_a_problem_is_named(days, item):
    """The register finds the providers lapsing by this day alone (Today),
    so it must agree with `problems` whatever lapses: cover, a required
    check, the trust's own "other" check, or one not applicable."""
    from domain.providers import next_warning

    on = TODAY + timedelta(days=days)
    base = record(TODAY)
    if item == "insurance":
        given = record(TODAY, insurance=insurance(TODAY + timedelta(days=400), professional_negligence_expires_on=on))
    else:
        status_ = "not_applicable" if item == "not_applicable" else "seen"
        check = CheckRecord(status=status_, seen_on=TODAY - timedelta(days=30), expires_on=on, note="none here" if status_ == "not_applicable" else None)
        given = base.model_copy(update={"checklist": {**base.checklist, "a" if item == "not_applicable" else item: check}})
    found = bool(problems(given, TODAY, 30))
    warning = next_warning(given)
    assert found == (warning is not None and warning <= TODAY + timedelta(days=30))
