"""What a record's checks hold to, however many records are read: a number
where a day belongs is refused at any depth (the fields that hold days are
found once a model, and still every one is checked), and an address is
checked when given, not again when read back from the register."""
from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from apflow import samples
from domain.models import Placement, Proposal


@pytest.mark.parametrize("field", ["start_date", "planned_end_date", "suspension_first_day"])
def test_a_number_for_a_day_is_refused_and_a_day_is_read(field):
    data = samples.proposal(date(2027, 1, 11)).model_dump(mode="json")
    for _ in range(3):  # the same answer every time the class is used
        with pytest.raises(ValidationError, match="YYYY-MM-DD"):
            Proposal.model_validate({**data, field: 0})
    assert Proposal.model_validate({**data, field: "2027-02-01"}).model_dump()[field] == date(2027, 2, 1)


def test_a_number_is_refused_for_a_nested_record_s_day_and_taken_where_a_number_belongs():
    data = Placement(placement_id="placement-1", **samples.proposal(date(2027, 1, 11)).model_dump()).model_dump(mode="json")
    pupil = {**data["pupil"], "date_of_birth": 20120314}
    with pytest.raises(ValidationError, match="YYYY-MM-DD"):
        Placement.model_validate({**data, "pupil": pupil})
    assert Placement.model_validate({**data, "version": 3}).version == 3


def test_an_address_is_checked_when_given_and_read_back_as_stored_from_the_register():
    from domain.models import STORED

    data = samples.proposal(date(2027, 1, 11)).model_dump(mode="json")
    contact = {**data["parent_contacts"][0], "email": "not an address"}
    given = {**data, "parent_contacts": [contact]}
    with pytest.raises(ValidationError, match="email"):
        Proposal.model_validate(given)
    with pytest.raises(ValidationError, match="email"):
        Proposal.model_validate(given, context={"other": True})
    # The register stored it from a model already checked: read back, it is taken as stored.
    assert Proposal.model_validate(given, context=STORED).parent_contacts[0].email == "not an address"
    assert Proposal.model_validate(data, context=STORED) == Proposal.model_validate(data)
