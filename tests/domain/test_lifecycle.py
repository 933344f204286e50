"""The lifecycle chart (RULES.md, Lifecycle): which action moves a placement
from which state, and that everything else is refused with a message that
says what is possible instead."""
from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from apflow import samples
from domain.actions import Amend, Close, ConsultLA, RecordReview, Start, Vet
from domain.lifecycle import Lifecycle, Refused, check, decide, possible_actions
from domain.models import ReviewOutcome

from placement_builders import (
    ACTING_DAY,
    ACTIONS,
    ALLOWED,
    AT,
    CHART,
    CLOSE_DAY,
    DSL,
    FINAL,
    HEAD,
    INVITE_DAY,
    MEETING_DAY,
    NON_FINAL,
    NOTICE_DAY,
    PREP_DAY,
    START,
    STATES,
    ctx,
    in_state,
    only_unmet,
    proposed,
    refusal,
    prepared,
    sample_action,
    with_escalation,
)

NOT_ALLOWED = [(state, action) for state in NON_FINAL for action in ACTIONS if action not in CHART[state]]


def test_the_chart_has_the_states_of_the_rules():
    assert [s.value for s in Lifecycle.states] == list(STATES)
    assert {s.value for s in Lifecycle.final_states} == set(FINAL)


@pytest.mark.parametrize("state", STATES)
def test_possible_actions_are_the_charts_moves_from_each_state(state):
    assert possible_actions(state) == sorted(CHART[state])


@pytest.mark.parametrize(("state", "action", "to"), ALLOWED, ids=[f"{s}-{a}" for s, a, _ in ALLOWED])
def test_each_transition_moves_the_placement_from_every_state_that_allows_it(state, action, to):
    today = ACTING_DAY[state]
    placement, model = prepared(in_state(state), action, today)

    after = decide(placement, model, ctx(today, HEAD), AT)

    assert after.state == to
    last = after.history[-1]
    assert (last.seq, last.action, last.from_state, last.to_state) == (placement.seq + 1, action, state, to)
    assert last.actor == HEAD and last.at == AT


@pytest.mark.parametrize(("state", "action"), NOT_ALLOWED, ids=[f"{s}-{a}" for s, a in NOT_ALLOWED])
def test_an_action_is_refused_from_every_state_that_does_not_allow_it_naming_what_is_possible(state, action):
    placement = in_state(state)

    unmet = only_unmet(placement, sample_action(action, ACTING_DAY[state]), ACTING_DAY[state])

    assert unmet.clause == "lifecycle"
    assert f"'{action}' is not possible while the placement is {state}" in unmet.message
    assert unmet.message.endswith("possible now: " + ", ".join(sorted(CHART[state])))


@pytest.mark.parametrize("state", FINAL)
@pytest.mark.parametrize("action", ACTIONS)
def test_nothing_can_be_done_after_closed_or_terminated(state, action):
    placement = in_state(state)

    unmet = only_unmet(placement, sample_action(action, CLOSE_DAY), CLOSE_DAY)

    assert unmet.clause == "lifecycle"
    assert unmet.message == f"the placement is {state}: nothing more can be done"


def test_the_whole_happy_path_is_recorded_in_order():
    closed = in_state("closed")

    assert [h.action for h in closed.history] == [
        "propose", "vet", "consult_la", "notify", "start", "open_review", "reintegrate", *["record_evaluation"] * 4, "close",
    ]
    assert [h.seq for h in closed.history] == list(range(1, 13))
    assert all(h.to_state == nxt.from_state for h, nxt in zip(closed.history, closed.history[1:]))


def test_a_placement_goes_round_review_and_back_to_active_more_than_once():
    p = in_state("under_review")
    p = decide(p, samples.record_review(MEETING_DAY), ctx(MEETING_DAY), AT)
    assert p.state == "active"

    p = decide(p, samples.open_review(date(2027, 1, 11), date(2027, 1, 4)), ctx(date(2027, 1, 4)), AT)
    assert p.state == "under_review"
    p = decide(p, samples.record_review(date(2027, 1, 11)), ctx(date(2027, 1, 11)), AT)

    assert p.state == "active"
    assert len(p.reviews) == len(p.review_meetings) == 2


def test_a_second_review_needs_its_own_record_not_the_last_ones():
    p = in_state("under_review")
    p = decide(p, samples.record_review(MEETING_DAY), ctx(MEETING_DAY), AT)
    p = decide(p, samples.open_review(date(2027, 1, 11), date(2027, 1, 4)), ctx(date(2027, 1, 4)), AT)

    unmet = only_unmet(p, RecordReview(review=None), date(2027, 1, 11))

    assert unmet.clause == "§6.8"
    assert "recorded in writing" in unmet.message


@pytest.mark.parametrize("state", ["proposed", "vetted", "la_consulted"])
def test_amend_keeps_the_state_and_is_judged_like_a_proposal(state):
    placement = in_state(state)
    today = ACTING_DAY[state]

    moved = decide(placement, Amend(start_date=date(2026, 10, 14)), ctx(today), AT)
    assert moved.state == state and moved.start_date == date(2026, 10, 14)

    saturday = date(2026, 10, 17)
    unmet = only_unmet(placement, Amend(start_date=saturday), today)
    assert unmet.clause == "RULES: school day"


def test_an_amendment_that_leaves_a_detail_empty_keeps_what_was_there():
    placement = proposed()

    after = decide(placement, Amend(start_date=None, parent_contacts=None), ctx(PREP_DAY), AT)

    assert after.start_date == placement.start_date
    assert after.provider == placement.provider
    assert after.parent_contacts == placement.parent_contacts
    # and the placement can still be vetted: nothing downstream sees a None
    assert decide(after, samples.vet(), ctx(PREP_DAY), AT).state == "vetted"


def test_the_provider_changes_only_through_vetting():
    """An amendment cannot swap in a provider that was never vetted (§7, §9)."""
    with pytest.raises(ValidationError):
        Amend(provider=samples.provider(la_approved=False, dsl=None, deputy_dsl=None).model_dump())


# --- a refusal changes nothing and says everything at once -------------------


REFUSED = [
    ("proposed", Vet(), PREP_DAY),
    ("vetted", ConsultLA(), PREP_DAY),
    ("la_consulted", samples.notify(START), NOTICE_DAY),
    ("notified", Start(), NOTICE_DAY),
    ("active", samples.open_review(INVITE_DAY, INVITE_DAY), INVITE_DAY),
    ("under_review", RecordReview(), MEETING_DAY),
    ("reintegrating", Close(), CLOSE_DAY),
    ("closed", Start(), CLOSE_DAY),
    ("proposed", Start(), PREP_DAY),
]


@pytest.mark.parametrize(("state", "action", "today"), REFUSED, ids=[f"{s}-{a.action}" for s, a, _ in REFUSED])
def test_a_refused_action_leaves_the_placement_unchanged(state, action, today):
    placement = in_state(state)
    before = placement.model_dump()

    with pytest.raises(Refused):
        decide(placement, action, ctx(today), AT)

    assert placement.model_dump() == before


def test_an_allowed_action_returns_a_new_placement_and_leaves_the_original_as_it_was():
    placement = in_state("la_consulted")
    before = placement.model_dump()

    after = decide(placement, samples.notify(NOTICE_DAY), ctx(NOTICE_DAY), AT)

    assert after.state == "notified" and after.notice is not None
    assert placement.model_dump() == before


def test_check_does_not_touch_the_placement_either():
    placement = in_state("proposed")
    before = placement.model_dump()

    candidate, unmet = check(placement, Vet(), ctx(PREP_DAY))

    assert unmet and candidate is not placement
    assert placement.model_dump() == before


def test_a_refusal_lists_every_unmet_condition_not_just_the_first():
    placement = in_state("proposed")
    bare = Vet(provider=samples.provider(sites=[], la_approved=False, dsl=None, deputy_dsl=None))

    unmet = refusal(placement, bare, PREP_DAY)

    clauses = [u.clause for u in unmet]
    assert [c for c in clauses if c.startswith("appendix checklist")] == [
        f"appendix checklist ({k})" for k in "abcdefghijklmnop"
    ]
    assert {"appendix: insurance", "§7.3", "§9.2", "§9.5"} <= set(clauses)
    assert clauses.count("§9.9") == 2  # the DSL and the deputy, each named


def test_a_refusal_on_closing_names_all_four_missing_records():
    unmet = refusal(in_state("reintegrating"), Close(), CLOSE_DAY)

    assert [u.clause for u in unmet] == ["§2.6, §8.2.17", "§3.7, §8.2.19", "§3.7, §8.2.18", "appendix: evaluation"]


def test_the_refused_exception_names_the_action_and_every_clause():
    with pytest.raises(Refused) as refused:
        decide(in_state("reintegrating"), Close(), ctx(CLOSE_DAY), AT)

    text = str(refused.value)
    assert text.startswith("'close' refused: ")
    for clause in ("§2.6, §8.2.17", "§3.7, §8.2.19", "§3.7, §8.2.18", "appendix: evaluation"):
        assert f"({clause})" in text


def test_a_review_outcome_of_reintegrate_cannot_be_recorded_as_continuing():
    placement = in_state("under_review")
    action = RecordReview(review=samples.review(MEETING_DAY, ReviewOutcome.reintegrate))

    unmet = only_unmet(placement, action, MEETING_DAY)

    assert unmet.clause == "§6.8" and "does not continue" in unmet.message


def test_a_dsl_can_record_a_safeguarding_termination_from_under_review():
    placement = in_state("under_review")

    after = decide(placement, samples.terminate(MEETING_DAY, safeguarding=True), ctx(MEETING_DAY, DSL), AT)

    assert after.state == "terminated"
    assert after.termination.safeguarding and after.termination.on == MEETING_DAY


def test_ending_a_placement_resolves_what_was_still_open_on_it_as_the_one_who_ended_it():
    """An ended placement takes no more steps: an escalation left open could
    never be resolved, and would sit on Today and the stuck report for ever."""
    placement = with_escalation(in_state("under_review"))
    assert placement.escalations[0].open

    after = decide(placement, samples.terminate(MEETING_DAY, safeguarding=True), ctx(MEETING_DAY, DSL), AT)

    (e,) = after.escalations
    assert not e.open and e.resolved_at == AT and e.resolved_by == DSL
    assert e.resolution == "The placement was terminated: nothing more can be done on it."
    running = decide(placement, sample_action("record_contact", MEETING_DAY), ctx(MEETING_DAY), AT)
    assert running.escalations[0].open  # a step that does not end it leaves it open


def test_the_diagram_is_drawn_from_the_chart_with_the_current_state_marked():
    from domain.lifecycle import FINAL_STATES, diagram

    text = diagram("active")
    assert text.startswith("stateDiagram-v2")
    for t in (t for state in Lifecycle.states for t in state.transitions):
        assert f"{t.source.id} --> {t.target.id}" in text
    assert "la_consulted --> notified : Notify [notice]" in text  # each move names its action's guard
    assert "active:::active" in text and "proposed:::active" not in text
    assert ":::active" not in diagram()
    assert FINAL_STATES == set(FINAL)


def test_running_and_final_come_from_the_chart():
    from domain.lifecycle import FINAL_STATES, NOT_STARTED, RUNNING_STATES
    from domain.models import PlacementState

    assert set(FINAL_STATES) == {PlacementState.closed, PlacementState.terminated}
    assert set(RUNNING_STATES) == {PlacementState.active, PlacementState.under_review, PlacementState.reintegrating}
    assert set(NOT_STARTED) == {PlacementState.proposed, PlacementState.vetted, PlacementState.la_consulted, PlacementState.notified}
    assert [s.value for s in Lifecycle.states] == [s.value for s in PlacementState]
