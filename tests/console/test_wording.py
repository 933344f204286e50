"""The policy's messages as the console shows them: the domain writes days
as ISO dates (the API's callers read the same text); a person reads them in words."""
from __future__ import annotations

from console.pages import refusals
from documents.formatting import days_in_words, sentence
from domain.guards import Unmet


def test_a_message_shows_its_days_in_words_and_starts_with_a_capital():
    assert sentence("the provider's insurance expires on 2026-12-24 (in 20 days)") == (
        "The provider's insurance expires on 24 December 2026 (in 20 days)")
    assert sentence("notice had to be given by 2027-01-06: 3 school days") == (
        "Notice had to be given by 6 January 2027: 3 school days")
    assert days_in_words("held back (due 2026-12-09)") == "held back (due 9 December 2026)"


def test_a_day_inside_an_id_or_not_a_real_day_is_left_as_it_is():
    assert days_in_words("escalation notice:2027-01-06 open") == "escalation notice:2027-01-06 open"
    assert days_in_words("marks for 2027-01-06:am") == "marks for 2027-01-06:am"
    assert days_in_words("on 2027-02-30, ref 12027-01-06") == "on 2027-02-30, ref 12027-01-06"


def test_a_refused_step_on_its_form_reads_its_days_in_words():
    (problem,) = refusals.problems("propose", [Unmet("RULES: school day", "the start date 2027-01-09 is not a school day")])
    assert problem == ("start_date", "The start date 9 January 2027 is not a school day (RULES: school day)")
