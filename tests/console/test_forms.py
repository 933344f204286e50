"""The form builder on its own (no server): every step's model and the
proposal read back from their own forms unchanged, blanks mean "not given",
problems land beside their fields, and every refusal the vetting guard can
give concerns a field the vet form has."""
from __future__ import annotations

from datetime import date, time

import pytest

from apflow import samples
from console.dates import typed_date
from console.pages import forms, refusals
from domain.actions import ACTION_MODELS, Amend, Notify, Vet
from domain.calendar import default_calendar
from domain.guards import Context, Unmet, vetting
from domain.models import Actor, CheckEntry, CheckStatus, ContactKind, ContactRecord, Placement, Proposal, Role, Vetting

DAY = date(2026, 12, 1)
LEAD = Actor(user_id="lead", role=Role.ap_lead, school_id="137000")

SAMPLES = {
    "vet": samples.vet(),
    "consult_la": samples.consult_la(DAY, ehcp=True),
    "notify": samples.notify(DAY, dual_registration_from=DAY),
    "open_review": samples.open_review(DAY, DAY),
    "record_review": samples.record_review(DAY),
    "reintegrate": samples.reintegrate(DAY),
    "close": samples.close(DAY),
    "terminate": samples.terminate(DAY, safeguarding=True),
    "record_contact": ACTION_MODELS["record_contact"](contact=ContactRecord(kind=ContactKind.visit, on=DAY, notes="Seen at the centre", unannounced=True)),
    "amend": Amend(start_date=DAY, emergency_contacts=samples.proposal(DAY).emergency_contacts),
}


def round_trip(model, instance):
    values = forms.flatten(model, instance.model_dump(mode="json", exclude_unset=True))
    return forms.read(model, values)


@pytest.mark.parametrize("action", sorted(SAMPLES))
def test_a_step_reads_back_from_its_own_form(action):
    got, problems = round_trip(ACTION_MODELS[action], SAMPLES[action])
    assert problems == {}
    assert got == SAMPLES[action]


def test_a_proposal_reads_back_from_its_own_form():
    p = samples.proposal(DAY, suspension_first_day=DAY, planned_end_date=date(2027, 2, 1))
    got, problems = round_trip(Proposal, p)
    assert problems == {} and got == p


def test_every_step_has_a_form_and_no_field_kept_for_old_histories():
    for name, model in ACTION_MODELS.items():
        names = {w.name for top in forms.widgets(model, {}) for w in top.walk()}
        assert "action" not in names, name
    assert {w.name for w in forms.widgets(Notify, {})} == {"given_outside", "dual_registration_from"}  # not sent_on


def test_blanks_are_not_given_so_defaults_apply():
    got, problems = forms.read(Notify, {"given_outside.method": [""], "given_outside.on.day": [""], "csrf_token": [""]})
    assert problems == {} and got == Notify() and got.model_fields_set == set()
    vet, _ = forms.read(Vet, {"insurance.public_liability": ["£5,000,000"], "insurance.employers_liability": ["10000000"],
                              "insurance.professional_negligence": ["2,000,000"]})
    assert vet.insurance.public_liability == 5_000_000 and vet.insurance.motor_vehicle is False
    assert vet.provider is None and vet.checklist == {}


def test_the_checklist_offers_every_item_of_the_appendix_with_its_three_answers():
    (checklist,) = [w for w in forms.widgets(Vet, {}) if w.name == "checklist"]
    assert [c.name for c in checklist.children] == [f"checklist.{k}" for k in "abcdefghijklmnopq"]
    status = checklist.children[10].children[0]
    assert status.kind == "radios" and [v for v, _ in status.choices] == ["seen", "not_seen", "not_applicable"]


def test_problems_stand_beside_their_fields_and_in_the_summary_in_form_order():
    values = forms.flatten(Proposal, samples.proposal(DAY).model_dump(mode="json"))
    values |= {"pupil.date_of_birth.day": ["31"], "pupil.date_of_birth.month": ["2"], "objectives.1.baseline": [""],
               "pattern.departure": ["08:00"], "school.school_id": ["12"]}
    got, problems = forms.read(Proposal, values)
    assert got is None
    tree = forms.widgets(Proposal, values)
    summary = forms.place_errors(tree, problems)
    assert [(e.href, e.text) for e in summary] == [
        ("#school-school_id", "School URN is not in the right format"),
        ("#pupil-date_of_birth-day", "Date of birth must be a real date"),
        ("#pattern-full_time", "Departure must be after arrival"),
        ("#objectives-1-baseline", "Objective 2: Baseline is needed"),
    ]
    widget = {w.name: w for top in tree for w in top.walk()}
    assert widget["pupil.date_of_birth"].error == "Date of birth must be a real date"
    assert widget["pupil.date_of_birth"].value == {"day": "31", "month": "2", "year": "2012"}  # as typed


@pytest.mark.parametrize("day, month, year", [("31", "2", "2026"), ("1", "1", "9" * 30), ("9" * 20, "1", "2026"),
                                              ("1", "", "2026"), ("a", "1", "2026"), ("1", "1", "0")])
def test_a_date_that_is_not_one_is_said_so_whatever_was_typed(day, month, year):
    values = {"on.day": [day], "on.month": [month], "on.year": [year]}
    with pytest.raises(ValueError):
        typed_date(values, "on")
    got, problems = forms.read(ContactRecord, {**values, "kind": ["wellbeing"], "notes": ["Rang home"]})
    assert got is None and problems["on"] == "{label} must be a real date"


def test_every_statement_of_an_evaluation_part_needs_its_score():
    from console.pages import evaluations
    from domain.models import EvaluationPart, EvaluationStage

    part = samples.evaluation_part(EvaluationStage.mid, EvaluationPart.parent, DAY)
    values = {f"scores.{i}": [str(v)] for i, v in enumerate(part.scores)} | {
        "signed_by": [part.signed_by], "signed_on.day": [str(DAY.day)], "signed_on.month": [str(DAY.month)],
        "signed_on.year": [str(DAY.year)]}
    got, problems = evaluations.read(EvaluationStage.mid, EvaluationPart.parent, values)
    assert got is not None and got.scores == part.scores and problems == {}
    values["scores.3"] = [""]
    got, problems = evaluations.read(EvaluationStage.mid, EvaluationPart.parent, values)
    assert got is None and list(problems) == ["scores.3"]


def test_add_another_gives_a_list_one_more_entry_up_to_its_most():
    names = lambda add: [c.name for w in forms.widgets(Proposal, {}, add=add) if w.name == "parent_contacts" for c in w.children]
    assert names(None) == ["parent_contacts.0", "parent_contacts.1"]
    assert names("parent_contacts") == ["parent_contacts.0", "parent_contacts.1", "parent_contacts.2"]
    # entries already posted stay, blank or not
    tree = forms.widgets(Proposal, {"emergency_contacts.3.name": [""]})
    (emergency,) = [w for w in tree if w.name == "emergency_contacts"]
    assert len(emergency.children) == 4


def test_times_and_choices_are_drawn_as_people_answer_them():
    widget = {w.name: w for top in forms.widgets(Proposal, {}) for w in top.walk()}
    assert widget["pattern.arrival"].kind == "time"
    assert widget["pattern.days"].kind == "checkboxes" and len(widget["pattern.days"].choices) == 5
    assert widget["pattern.full_time"].kind == "yesno"  # required: yes or no, never a box left unticked
    assert widget["pupil.ehc_plan"].kind == "checkbox"
    assert widget["kind"].kind == "radios" and widget["start_date"].kind == "date"
    got, _ = forms.read(Proposal, forms.flatten(Proposal, samples.proposal(DAY).model_dump(mode="json")))
    assert got.pattern.arrival == time(9, 0)


def test_a_coded_field_is_offered_as_its_codes_and_keeps_one_no_longer_among_them():
    codes = {"census_reason": [("SEND", "Special educational needs"), ("OTHER", "Other reason")],
             "setting_type": [("ONLINE", "Online provider")]}
    tree = forms.widgets(Proposal, {"census_reason": ["RETIRED"]})
    forms.offer(tree, codes)
    widget = {w.name: w for top in tree for w in top.walk()}
    assert widget["census_reason"].kind == "select"
    assert widget["census_reason"].choices == [*codes["census_reason"], ("RETIRED", "RETIRED (no longer one of the trust's codes)")]
    assert widget["provider.setting_type"].kind == "select"  # nested: the provider's own field
    assert widget["provider.setting_type"].choices == codes["setting_type"]
    assert widget["pupil.name"].kind == "text"


def test_emails_phones_and_codes_are_typed_on_their_own_keyboards_without_spellcheck():
    widget = {w.name: w for top in forms.widgets(Proposal, {}) for w in top.walk()}
    assert widget["provider.dsl.email"].entry == {"type": "email", "spellcheck": False, "autocomplete": "off"}
    assert widget["parent_contacts.0.phone"].entry["type"] == "tel"
    assert widget["provider.urn"].entry["inputmode"] == "numeric" and widget["provider.urn"].width == "govuk-input--width-10"
    assert widget["pupil.upn"].entry == {"spellcheck": False}
    assert widget["pupil.name"].entry == {} and widget["pupil.name"].width is None
    closing = {w.name: w for top in forms.widgets(ACTION_MODELS["close"], {}) for w in top.walk()}
    assert closing["achievements"].kind == "textarea"  # the register's record of them runs to sentences


def test_every_refusal_of_vetting_concerns_a_field_of_the_vet_form():
    bare = samples.provider(dsl=None, deputy_dsl=None, sites=[], la_approved=False, transports_pupils=True)
    p = Placement(placement_id="placement-1", **samples.proposal(DAY, provider=bare).model_dump())
    ctx = Context(today=DAY, calendar=default_calendar("137000", DAY), actor=LEAD)
    unmet = vetting(p, ctx)
    insurance = samples.vet().insurance.model_copy(update={"public_liability": 1, "uses_subcontractors": True})
    p.vetting = Vetting(insurance=insurance, checklist={"a": CheckEntry(status=CheckStatus.not_seen)})
    unmet += vetting(p, ctx)
    fields = {w.name for top in forms.widgets(Vet, {}) for w in top.walk()}
    for u in unmet:
        target = refusals.field_for("vet", u)
        assert target in fields, (u, target)
    assert refusals.field_for("vet", Unmet("appendix: insurance", "public liability cover is £1; at least £5,000,000 is required")) == "insurance.public_liability"
    assert refusals.field_for("vet", Unmet("appendix checklist (k)", "…")) == "checklist.k"


def test_a_condition_of_the_placement_itself_goes_to_the_summary_alone():
    (only,) = refusals.problems("notify", [Unmet("commissioning agreement", "emergency contacts are needed")])
    assert only == ("", "Emergency contacts are needed (commissioning agreement)")
    summary = forms.place_errors(forms.widgets(Notify, {}), [only])
    assert [(e.href, e.text) for e in summary] == [(None, "Emergency contacts are needed (commissioning agreement)")]
