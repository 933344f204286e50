"""Who may act (RULES.md, People): school staff act on their own school's
placements only; each action is for the roles that hold it."""
from __future__ import annotations

import pytest

from apflow import samples
from domain.access import ACTION_ROLES, OPERATION_ROLES, Grant, Principal, access, may_see
from domain.actions import Start
from domain.lifecycle import Refused, propose
from domain.models import SYSTEM, Actor, PlacementKind, Role

from placement_builders import (
    ACTING_DAY,
    ALLOWED,
    AP_LEAD,
    AT,
    DSL,
    HEAD,
    NOTICE_DAY,
    OTHER_AP_LEAD,
    OTHER_DSL,
    OTHER_HEAD,
    OTHER_SCHOOL_ID,
    PREP_DAY,
    PROVIDER,
    SCHOOL_ID,
    START,
    TRUST_OPS,
    allowed,
    ctx,
    in_state,
    only_unmet,
    prepared,
    sample_action,
    unproposed,
)

ACTIONS = ("propose", "amend", "vet", "consult_la", "notify", "start", "open_review", "record_review", "reintegrate", "close", "terminate")
STAFF = {Role.ap_lead, Role.headteacher}
# Who may take each action, read from RULES.md's People section.
ROLES = {
    "propose": STAFF,
    "record_delivery": STAFF,
    "amend": STAFF,
    "vet": STAFF,
    "consult_la": STAFF,
    "notify": STAFF,
    "start": STAFF | {Role.system},  # the start timer makes it active by itself
    "open_review": STAFF | {Role.dsl, Role.trust_dsl},  # a safeguarding concern is reviewed at once
    "record_review": STAFF | {Role.dsl, Role.trust_dsl},
    "reintegrate": STAFF,
    "close": STAFF,
    "terminate": STAFF | {Role.dsl, Role.trust_dsl},  # §9.7
}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("role", list(Role))
def test_each_action_is_for_the_roles_that_hold_it(action, role):
    actor = {Role.ap_lead: AP_LEAD, Role.headteacher: HEAD, Role.dsl: DSL, Role.trust_operations: TRUST_OPS, Role.provider: PROVIDER, Role.system: SYSTEM,
             Role.read_only: Actor(user_id="governor-1", role=Role.read_only, school_id=SCHOOL_ID),
             Role.trust_dsl: Actor(user_id="trust-dsl-1", role=Role.trust_dsl),
             Role.pupil: Actor(user_id="lnk-pupil", role=Role.pupil, school_id=SCHOOL_ID),
             Role.parent: Actor(user_id="lnk-parent", role=Role.parent, school_id=SCHOOL_ID)}[role]

    denied = access(actor, action, SCHOOL_ID)

    if role in ROLES[action]:
        assert denied == []
    else:
        assert [u.clause for u in denied] == ["roles"]
        assert denied[0].message.endswith(f"not {role.value}")


# --- a school's staff act on their own school's placements only -----------------------------


@pytest.mark.parametrize(("state", "action", "_to"), ALLOWED, ids=[f"{s}-{a}" for s, a, _ in ALLOWED])
def test_another_schools_headteacher_cannot_act_on_this_schools_placement(state, action, _to):
    today = ACTING_DAY[state]

    placement, model = prepared(in_state(state), action, today)
    unmet = only_unmet(placement, model, today, OTHER_HEAD)

    assert unmet.clause == "§3.3, §8.1"
    assert "own school" in unmet.message


@pytest.mark.parametrize("actor", [OTHER_AP_LEAD, OTHER_HEAD])
def test_another_schools_staff_cannot_propose_a_placement_for_this_school(actor):
    with pytest.raises(Refused) as refused:
        propose(unproposed(), ctx(PREP_DAY, actor), AT)

    assert [u.clause for u in refused.value.unmet] == ["§3.3, §8.1"]


def test_a_proposal_by_the_schools_own_ap_lead_goes_ahead():
    assert propose(unproposed(), ctx(PREP_DAY, AP_LEAD), AT).history[0].actor == AP_LEAD


def test_another_schools_dsl_cannot_terminate_this_schools_placement():
    unmet = only_unmet(in_state("active"), samples.terminate(START, safeguarding=True), START, OTHER_DSL)

    assert unmet.clause == "§3.3, §8.1"


def test_school_staff_see_only_their_own_schools_placements():
    assert may_see(AP_LEAD, SCHOOL_ID) and not may_see(AP_LEAD, OTHER_SCHOOL_ID)
    assert may_see(OTHER_DSL, OTHER_SCHOOL_ID) and not may_see(OTHER_DSL, SCHOOL_ID)
    assert not may_see(PROVIDER, SCHOOL_ID)


def test_trust_operations_and_the_system_see_every_school():
    for actor in (TRUST_OPS, SYSTEM):
        assert may_see(actor, SCHOOL_ID) and may_see(actor, OTHER_SCHOOL_ID)


# --- roles --------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", [PROVIDER, TRUST_OPS, DSL, SYSTEM], ids=lambda a: a.role.value)
def test_only_school_staff_vet_a_provider(actor):
    unmet = only_unmet(in_state("proposed"), samples.vet(), PREP_DAY, actor)

    assert unmet.clause == "roles"
    assert unmet.message == f"'vet' is for ap_lead, headteacher, not {actor.role.value}"


@pytest.mark.parametrize("actor", [AP_LEAD, HEAD], ids=lambda a: a.role.value)
def test_the_ap_lead_or_headteacher_vets_a_provider(actor):
    assert allowed(in_state("proposed"), samples.vet(), PREP_DAY, actor).state == "vetted"


@pytest.mark.parametrize("state", ["proposed", "notified", "active", "under_review", "reintegrating"])
def test_the_dsl_can_terminate(state):
    today = ACTING_DAY[state]

    assert allowed(in_state(state), samples.terminate(today, safeguarding=True), today, DSL).state == "terminated"


@pytest.mark.parametrize("actor", [PROVIDER, TRUST_OPS, SYSTEM], ids=lambda a: a.role.value)
def test_a_provider_trust_operations_or_the_system_cannot_terminate(actor):
    unmet = only_unmet(in_state("active"), samples.terminate(START), START, actor)

    assert unmet.clause == "roles"


def test_only_a_headteacher_notifies_an_off_site_direction():
    consulted = in_state("la_consulted")

    assert only_unmet(consulted, samples.notify(NOTICE_DAY), NOTICE_DAY, AP_LEAD).clause == "§6.4-6.5"
    assert only_unmet(consulted, samples.notify(NOTICE_DAY), NOTICE_DAY, DSL).clause == "roles"
    assert only_unmet(consulted, samples.notify(NOTICE_DAY), NOTICE_DAY, OTHER_HEAD).clause == "§3.3, §8.1"
    assert allowed(consulted, samples.notify(NOTICE_DAY), NOTICE_DAY, HEAD).state == "notified"


@pytest.mark.parametrize("kind", [PlacementKind.health_package, PlacementKind.ehcp_placement])
def test_the_ap_lead_notifies_placements_that_are_not_off_site_directions(kind):
    pupil = samples.proposal(START).pupil.model_copy(update={"ehc_plan": kind is PlacementKind.ehcp_placement})
    consulted = in_state("la_consulted", kind=kind, pupil=pupil)

    assert allowed(consulted, samples.notify(NOTICE_DAY), NOTICE_DAY, AP_LEAD).state == "notified"


def test_the_system_starts_a_placement_of_any_school():
    assert allowed(in_state("notified"), Start(), START, SYSTEM).state == "active"


def test_a_provider_cannot_start_a_placement():
    assert only_unmet(in_state("notified"), Start(), START, PROVIDER).clause == "roles"


def test_a_dsl_may_book_and_record_a_review():
    p = allowed(in_state("active"), sample_action("open_review", ACTING_DAY["active"]), ACTING_DAY["active"], DSL)

    assert allowed(p, sample_action("record_review", ACTING_DAY["under_review"]), ACTING_DAY["under_review"], DSL).state == "active"


def test_the_actor_is_recorded_in_the_history():
    after = allowed(in_state("active"), samples.terminate(START, safeguarding=True), START, DSL)

    assert after.history[-1].actor == DSL


# --- a person with grants at several schools --------------------------------------------


def _principal(*grants: tuple[Role, str | None]) -> Principal:
    return Principal(user_id="u-1", grants=tuple(Grant(r, s) for r, s in grants))


def test_a_person_acts_at_each_school_in_the_role_they_hold_there():
    p = _principal((Role.dsl, SCHOOL_ID), (Role.ap_lead, OTHER_SCHOOL_ID))

    assert p.actor_at(SCHOOL_ID, "terminate") == Actor(user_id="u-1", role=Role.dsl, school_id=SCHOOL_ID)
    assert p.actor_at(OTHER_SCHOOL_ID, "vet") == Actor(user_id="u-1", role=Role.ap_lead, school_id=OTHER_SCHOOL_ID)
    assert p.actor_at("999999", "vet") is None
    assert p.school_scope() == {SCHOOL_ID, OTHER_SCHOOL_ID}
    # The name their account gives them goes with what they do (a record says who made it).
    named = Principal(user_id="u-1", grants=p.grants, name="Sam Okafor")
    assert named.actor_at(SCHOOL_ID, "terminate").name == "Sam Okafor"


def test_the_role_that_fits_the_step_is_chosen_and_a_seeing_role_only_when_nothing_acts():
    p = _principal((Role.read_only, SCHOOL_ID), (Role.dsl, SCHOOL_ID), (Role.headteacher, SCHOOL_ID))

    assert p.actor_at(SCHOOL_ID, "notify").role is Role.headteacher
    assert p.actor_at(SCHOOL_ID, "start").role is Role.headteacher  # the first that may
    # No grant there may take it: the first that acts at all, so the policy's refusal names it.
    assert _principal((Role.read_only, SCHOOL_ID), (Role.dsl, SCHOOL_ID)).actor_at(SCHOOL_ID, "vet").role is Role.dsl
    assert _principal((Role.read_only, SCHOOL_ID)).actor_at(SCHOOL_ID, "vet").role is Role.read_only


def test_trust_wide_roles_act_at_every_school_and_list_them_all():
    p = _principal((Role.trust_dsl, None))

    assert p.actor_at(OTHER_SCHOOL_ID, "terminate") == Actor(user_id="u-1", role=Role.trust_dsl)
    assert p.may_see(SCHOOL_ID) and p.school_scope() is None


def test_a_provider_grant_gives_no_actor_and_no_school():
    p = _principal((Role.provider, SCHOOL_ID))

    assert p.actor_at(SCHOOL_ID) is None and not p.may_see(SCHOOL_ID) and p.school_scope() == frozenset()


@pytest.mark.parametrize("operation", sorted(OPERATION_ROLES))
def test_no_operation_is_for_a_role_that_only_sees(operation):
    assert Role.read_only not in ACTION_ROLES[operation] and Role.provider not in ACTION_ROLES[operation]
