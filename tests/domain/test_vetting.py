"""Vetting the provider (§7, §9, the policy appendix checklist): each
condition refuses the step with its clause when unmet and lets it through
when met."""
from __future__ import annotations

from datetime import date

import pytest

from apflow import samples
from domain.actions import Vet
from domain.checklist import CHECKLIST, REQUIRED_ITEMS
from domain.models import CheckEntry, CheckStatus, Pattern, ProviderType, TrustException, Weekday
from domain.settings import PolicySettings

from placement_builders import PREP_DAY, allowed, in_state, only_unmet, refusal

ITEMS = tuple("abcdefghijklmnop")
FULL_TIME = Pattern(
    full_time=True,
    days=[Weekday.mon, Weekday.tue, Weekday.wed, Weekday.thu, Weekday.fri],
    arrival=samples.proposal(date(2026, 10, 12)).pattern.arrival,
    departure=samples.proposal(date(2026, 10, 12)).pattern.departure,
)


def vet(**changes) -> Vet:
    """The sample vetting, complete, with some of its records changed."""
    return Vet.model_validate({**samples.vet().model_dump(), **changes})


def checklist(**entries: CheckEntry) -> dict[str, dict]:
    full = {k: {"status": "seen"} for k in REQUIRED_ITEMS}
    full.update({k: e.model_dump() for k, e in entries.items()})
    return full


def insurance(**changes) -> dict:
    return {**samples.vet().insurance.model_dump(), **changes}


def vet_refused_for(action: Vet, **proposal_changes):
    return only_unmet(in_state("proposed", **proposal_changes), action, PREP_DAY)


def vet_allowed(action: Vet, **proposal_changes):
    return allowed(in_state("proposed", **proposal_changes), action, PREP_DAY)


def test_the_sample_vetting_is_complete():
    assert vet_allowed(samples.vet()).state == "vetted"


def test_the_required_items_are_a_to_p_and_other_is_optional():
    assert REQUIRED_ITEMS == ITEMS
    assert set(CHECKLIST) == set(ITEMS) | {"q"}


# --- the checklist, item by item -----------------------------------------------


@pytest.mark.parametrize("item", ITEMS)
def test_each_checklist_item_must_be_recorded(item):
    entries = checklist()
    del entries[item]

    unmet = vet_refused_for(vet(checklist=entries))

    assert unmet.clause == f"appendix checklist ({item})" and "not recorded" in unmet.message


@pytest.mark.parametrize("item", ITEMS)
def test_each_checklist_item_must_have_been_seen(item):
    unmet = vet_refused_for(vet(checklist=checklist(**{item: CheckEntry(status=CheckStatus.not_seen)})))

    assert unmet.clause == f"appendix checklist ({item})" and "has not been seen" in unmet.message


@pytest.mark.parametrize("item", ITEMS)
def test_each_checklist_item_marked_not_applicable_needs_a_reason(item):
    without = CheckEntry(status=CheckStatus.not_applicable)
    with_reason = CheckEntry(status=CheckStatus.not_applicable, note="The provider takes no pupils on visits")

    unmet = vet_refused_for(vet(checklist=checklist(**{item: without})))

    assert unmet.clause == f"appendix checklist ({item})" and "without a reason" in unmet.message
    assert vet_allowed(vet(checklist=checklist(**{item: with_reason}))).state == "vetted"


def test_other_may_be_left_out_or_not_seen():
    assert vet_allowed(vet(checklist=checklist(q=CheckEntry(status=CheckStatus.not_seen)))).state == "vetted"


def test_an_unknown_checklist_item_is_refused():
    entries = checklist()
    entries["z"] = {"status": "seen"}

    unmet = vet_refused_for(vet(checklist=entries))

    assert unmet.clause == "appendix checklist" and "z" in unmet.message


def test_an_empty_checklist_names_every_required_item():
    unmet = refusal(in_state("proposed"), vet(checklist={}), PREP_DAY)

    assert [u.clause for u in unmet] == [f"appendix checklist ({k})" for k in ITEMS]


# --- insurance (appendix) ------------------------------------------------------------


def test_insurance_must_be_recorded():
    assert vet_refused_for(vet(insurance=None)).clause == "appendix: insurance"


@pytest.mark.parametrize(
    ("cover", "minimum", "name"),
    [
        ("public_liability", 5_000_000, "public liability"),
        ("employers_liability", 10_000_000, "employer's liability"),
        ("professional_negligence", 2_000_000, "professional negligence"),
    ],
)
def test_insurance_cover_meets_the_minimum_exactly_but_not_a_pound_below(cover, minimum, name):
    assert vet_allowed(vet(insurance=insurance(**{cover: minimum}))).state == "vetted"

    unmet = vet_refused_for(vet(insurance=insurance(**{cover: minimum - 1})))

    assert unmet.clause == "appendix: insurance"
    assert unmet.message == f"{name} cover is £{minimum - 1:,}; at least £{minimum:,} is required"


def test_insurance_minimums_are_the_trusts_settings():
    raised = PolicySettings(min_public_liability=10_000_000)

    unmet = only_unmet(in_state("proposed"), samples.vet(), PREP_DAY, settings=raised)

    assert unmet.clause == "appendix: insurance" and "public liability" in unmet.message


def test_a_provider_that_transports_pupils_needs_motor_insurance():
    transports = samples.provider(transports_pupils=True)

    assert vet_refused_for(vet(provider=transports.model_dump())).clause == "appendix: insurance"
    assert vet_allowed(vet(provider=transports.model_dump(), insurance=insurance(motor_vehicle=True))).state == "vetted"


def test_a_provider_that_does_not_transport_pupils_needs_no_motor_insurance():
    assert samples.vet().insurance.motor_vehicle is False
    assert vet_allowed(samples.vet()).state == "vetted"


def test_subcontractors_hold_the_same_levels_of_insurance():
    unmet = vet_refused_for(vet(insurance=insurance(uses_subcontractors=True)))

    assert unmet.clause == "appendix: insurance" and "subcontractors" in unmet.message
    assert vet_allowed(vet(insurance=insurance(uses_subcontractors=True, subcontractors_same_levels=True))).state == "vetted"


# --- registration (§7.1) ---------------------------------------------------------------


def unregistered(**changes) -> dict:
    return samples.provider(provider_type=ProviderType.unregistered, **changes).model_dump()


def pupil(**changes):
    return samples.proposal(date(2026, 10, 12)).pupil.model_copy(update=changes)


def test_an_unregistered_provider_teaching_five_pupils_full_time_must_register():
    # Four already on its roll full time; this pupil would be the fifth.
    unmet = vet_refused_for(vet(provider=unregistered(full_time_pupils_of_compulsory_age=4)), pattern=FULL_TIME)

    assert unmet.clause == "§7.1"


def test_an_unregistered_provider_teaching_four_pupils_full_time_need_not_register():
    assert vet_allowed(vet(provider=unregistered(full_time_pupils_of_compulsory_age=3)), pattern=FULL_TIME).state == "vetted"


def test_an_unregistered_provider_teaching_a_looked_after_pupil_full_time_must_register():
    action = vet(provider=unregistered(full_time_pupils_of_compulsory_age=0))

    assert vet_refused_for(action, pattern=FULL_TIME, pupil=pupil(looked_after=True)).clause == "§7.1"


def test_an_unregistered_provider_teaching_a_pupil_with_an_ehc_plan_full_time_must_register():
    action = vet(provider=unregistered(full_time_pupils_of_compulsory_age=0))

    assert vet_refused_for(action, pattern=FULL_TIME, pupil=pupil(ehc_plan=True)).clause == "§7.1"


@pytest.mark.parametrize(
    "pupil_changes",
    [{}, {"looked_after": True}, {"ehc_plan": True}],
    ids=["sixth-pupil", "looked-after", "ehc-plan"],
)
def test_a_part_time_placement_does_not_oblige_registration(pupil_changes):
    action = vet(provider=unregistered(full_time_pupils_of_compulsory_age=5))

    assert vet_allowed(action, pupil=pupil(**pupil_changes)).state == "vetted"


@pytest.mark.parametrize(
    "provider_type",
    [ProviderType.independent_school, ProviderType.pupil_referral_unit, ProviderType.academy, ProviderType.maintained_school],
)
def test_a_registered_school_needs_no_further_registration(provider_type):
    provider = samples.provider(provider_type=provider_type, urn="131999", full_time_pupils_of_compulsory_age=40).model_dump()

    assert vet_allowed(vet(provider=provider), pattern=FULL_TIME, pupil=pupil(looked_after=True, ehc_plan=True)).state == "vetted"


def test_the_registration_threshold_is_the_trusts_setting():
    action = vet(provider=unregistered(full_time_pupils_of_compulsory_age=2))
    p = in_state("proposed", pattern=FULL_TIME)

    assert allowed(p, action, PREP_DAY).state == "vetted"
    assert only_unmet(p, action, PREP_DAY, settings=PolicySettings(registration_pupil_threshold=3)).clause == "§7.1"


# --- approval, safeguarding and sites (§7.3, §9.2, §9.9, §9.5) ----------------------------------------


def test_the_provider_is_la_approved_or_has_a_trust_exception():
    unapproved = samples.provider(la_approved=False).model_dump()
    exception = TrustException(approved_by="Director of Inclusion", approved_on=date(2026, 9, 10), reason="Only local equine therapy provider")
    excepted = samples.provider(la_approved=False, trust_exception=exception).model_dump()

    assert vet_refused_for(vet(provider=unapproved)).clause == "§7.3"
    assert vet_allowed(vet(provider=excepted)).state == "vetted"


def test_written_safeguarding_confirmation_is_recorded():
    unmet = vet_refused_for(vet(safeguarding_confirmation_received_on=None))

    assert unmet.clause == "§9.2"


def test_the_providers_dsl_is_named():
    unmet = vet_refused_for(vet(provider=samples.provider(dsl=None).model_dump()))

    assert unmet.clause == "§9.9" and "designated safeguarding lead" in unmet.message


def test_the_providers_deputy_dsl_is_named():
    unmet = vet_refused_for(vet(provider=samples.provider(deputy_dsl=None).model_dump()))

    assert unmet.clause == "§9.9" and "deputy" in unmet.message


def test_the_actual_address_of_every_site_is_recorded():
    assert vet_refused_for(vet(provider=samples.provider(sites=[]).model_dump())).clause == "§9.5"


def test_the_provider_as_proposed_is_judged_when_vetting_does_not_change_it():
    unmet = only_unmet(in_state("proposed", provider=samples.provider(la_approved=False)), samples.vet(), PREP_DAY)

    assert unmet.clause == "§7.3"


def test_vetting_may_correct_the_providers_details():
    corrected = samples.provider(la_approved=True, name="Bridgeway Learning Centre Ltd")

    after = allowed(in_state("proposed", provider=samples.provider(la_approved=False)), vet(provider=corrected.model_dump()), PREP_DAY)

    assert after.provider.name == "Bridgeway Learning Centre Ltd"
