"""The census's rules on each row, the trust's census codes, and the new
optional fields of a proposal and a closure, as the domain has them."""
from __future__ import annotations

from datetime import date, time

import pytest
from pydantic import ValidationError

from apflow import samples
from apflow.census_codes import CensusCodesFileError, load_census_codes
from apflow.settings import Settings
from domain.actions import Close
from domain.census import CensusCodeError, census_row, codes_from_dict, problems, sessions_per_week
from domain.models import Pattern, Placement, Provider, Proposal, Weekday
from domain.records import returns

CODES = load_census_codes(Settings().census_codes)
BOUNDARY = time(12, 30)
START = date(2026, 10, 12)


def placement(**provider) -> Placement:
    p = samples.proposal(START, provider=samples.provider(**provider), census_reason="BEHAVIOUR")
    return Placement(placement_id="placement-1", **p.model_dump())


def test_the_trusts_file_has_reasons_and_setting_types():
    assert "BEHAVIOUR" in CODES.reasons and "UNREGISTERED" in CODES.setting_types


@pytest.mark.parametrize("urn, ukprn, setting_type, wrong", [
    ("131999", None, None, []),
    (None, "10012345", None, []),
    (None, None, "ONLINE", []),
    ("131999", "10012345", None, ["a URN and a UKPRN"]),
    (None, "10012345", "ONLINE", ["a UKPRN and a setting type"]),
    (None, None, None, ["no URN, UKPRN or setting type"]),
    (None, None, "NOT_A_TYPE", ["'NOT_A_TYPE' is not in the trust's census codes"]),
])
def test_a_row_names_its_setting_by_exactly_one_of_urn_ukprn_and_setting_type(urn, ukprn, setting_type, wrong):
    found = problems(census_row(returns(placement(urn=urn, ukprn=ukprn, setting_type=setting_type), None), BOUNDARY), CODES)
    assert len(found) == len(wrong) and all(w in f for w, f in zip(wrong, found)), found


def test_a_row_needs_a_primary_reason_from_the_table():
    p = placement()
    assert problems(census_row(returns(p.model_copy(update={"census_reason": None}), None), BOUNDARY), CODES) == [
        "no census reason for the placement is recorded (census_reason)"]
    assert "not in the trust's census codes" in problems(census_row(returns(p.model_copy(update={"census_reason": "NOPE"}), None), BOUNDARY), CODES)[0]


def test_sessions_a_week_count_what_the_pattern_reaches_across_the_boundary():
    p = placement()  # Mondays and Wednesdays, 9:00 to 15:00: am and pm
    assert sessions_per_week(p.pattern, BOUNDARY) == 4
    mornings = p.model_copy(update={"pattern": Pattern(full_time=False, days=list(Weekday), arrival=time(9), departure=time(12))})
    assert sessions_per_week(mornings.pattern, BOUNDARY) == 5
    row = census_row(returns(p, p.planned_end), BOUNDARY)
    assert (row.entry_date, row.full_time, row.primary_reason, row.provider_ukprn) == (START, False, "BEHAVIOUR", "10012345")


@pytest.mark.parametrize("field, value", [
    ("urn", "13199"), ("urn", "13199A"), ("ukprn", "20012345"), ("ukprn", "1001234"), ("setting_type", "online"),
    ("setting_type", "X" * 17),
])
def test_a_providers_census_identifiers_are_checked_on_input(field, value):
    with pytest.raises(ValidationError, match=field):
        Provider.model_validate({**samples.provider().model_dump(), field: value})


def test_a_proposals_census_reason_is_a_code():
    data = samples.proposal(START).model_dump(mode="json")
    assert Proposal.model_validate({**data, "census_reason": "SEND"}).census_reason == "SEND"
    with pytest.raises(ValidationError, match="census_reason"):
        Proposal.model_validate({**data, "census_reason": "send; drop"})
    assert Proposal.model_validate(data).census_reason is None  # optional: placements stored before it still load


def test_closing_records_achievements_optionally_and_within_bounds():
    close = samples.close(START).model_dump(mode="json")
    assert Close.model_validate(close).achievements is None
    assert Close.model_validate({**close, "achievements": "Entry level 3 maths"}).achievements == "Entry level 3 maths"
    with pytest.raises(ValidationError, match="achievements"):
        Close.model_validate({**close, "achievements": "x" * 4001})


@pytest.mark.parametrize("data, field", [
    ({"reasons": {"A": {"meaning": "a"}}}, "setting_types"),
    ({"reasons": {"a b": {"meaning": "a"}}, "setting_types": {"B": {"meaning": "b"}}}, "reasons.a b"),
    ({"reasons": {"A": {"meaning": ""}}, "setting_types": {"B": {"meaning": "b"}}}, "reasons.A"),
    ({"reasons": {"A": {"meaning": "a", "x": 1}}, "setting_types": {"B": {"meaning": "b"}}}, "reasons.A"),
])
def test_a_wrong_codes_table_is_refused_naming_the_field(data, field):
    with pytest.raises(CensusCodeError) as e:
        codes_from_dict(data)
    assert e.value.field == field


def test_a_codes_file_that_is_not_there_or_not_toml_is_named(tmp_path):
    with pytest.raises(CensusCodesFileError, match="APFLOW_CENSUS_CODES"):
        load_census_codes(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("[reasons\n")
    with pytest.raises(CensusCodesFileError, match="bad.toml: not valid TOML"):
        load_census_codes(tmp_path / "bad.toml")
