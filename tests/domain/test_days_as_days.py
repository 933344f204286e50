"""A day is written as a day: a number where a date or an instant belongs is
refused, at any depth, however many records are read (the fields that hold
days are found once a model, and still every one of them is checked)."""
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
