"""Whatever staff (or anyone) try, in whatever order, on whatever day:
`decide` either moves the placement one step along the chart or refuses with
`Refused`, and never anything else."""
from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from apflow import samples
from domain.actions import Amend, Close, ConsultLA, Notify, RecordReview, Reintegrate, Start, Terminate, Vet
from domain.lifecycle import Lifecycle, Refused, decide
from domain.models import PlacementKind, ReviewOutcome

from placement_builders import ALL_ACTORS, AT, FORWARD, HEAD, START, ctx, proposed

STATES = {s.value for s in Lifecycle.states}
EHCP_PUPIL = samples.proposal(START).pupil.model_copy(update={"ehc_plan": True})

STARTING_POINTS = [
    proposed(),
    proposed(kind=PlacementKind.health_package, reintegration_plan=None, planned_end_date=date(2026, 12, 18)),
    proposed(kind=PlacementKind.ehcp_placement, pupil=EHCP_PUPIL),
    proposed(kind=PlacementKind.suspension_cover, suspension_first_day=date(2026, 10, 5)),
    proposed(provider=samples.registered_provider()),
    proposed(start=date(2027, 5, 5)),
]

days = st.dates(min_value=date(2026, 9, 1), max_value=date(2027, 7, 31))
maybe_days = st.none() | days
providers = st.sampled_from(
    [samples.provider(), samples.registered_provider(), samples.provider(sites=[], dsl=None), samples.provider(la_approved=False)]
)
outcomes = st.sampled_from(list(ReviewOutcome))

random_actions = st.one_of(
    st.just(samples.vet()),
    st.just(Vet()),
    st.builds(lambda p: samples.vet(provider=p), providers),
    st.builds(samples.consult_la, days, st.booleans()),
    st.just(ConsultLA()),
    st.builds(samples.notify, days),
    st.just(Notify()),
    st.builds(Start, dual_registration_from=maybe_days),
    st.builds(samples.open_review, days, days),
    st.builds(samples.record_review, days),
    st.just(RecordReview()),
    st.builds(
        lambda held, outcome, end, reason: RecordReview(review=samples.review(held, outcome, new_end_date=end, extension_reason=reason)),
        days, outcomes, maybe_days, st.none() | st.just("Needs another half-term"),
    ),
    st.builds(samples.reintegrate, days),
    st.just(Reintegrate()),
    st.builds(samples.close, days),
    st.just(Close()),
    st.builds(samples.terminate, days, st.booleans()),
    st.just(Terminate()),
    st.builds(Amend, start_date=maybe_days, planned_end_date=maybe_days),
)
# Mostly the chart's own next step (None here), usually by the headteacher,
# so that sequences reach the later states; it may still be refused when
# someone else tries it. Otherwise anything, by anyone, on any day.
next_step = st.tuples(st.none(), st.sampled_from([HEAD] * len(ALL_ACTORS) + list(ALL_ACTORS)), days)
any_step = st.tuples(random_actions, st.sampled_from(ALL_ACTORS), days)
steps = st.one_of(next_step, next_step, any_step)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=st.sampled_from(STARTING_POINTS), sequence=st.lists(steps, max_size=40))
def test_random_sequences_of_actions_only_ever_move_along_the_chart_or_are_refused(start, sequence):
    placement = start
    for action, actor, today in sequence:
        if action is None:
            if placement.final:
                action = samples.close(today)
            else:
                action, today = FORWARD[placement.state](placement)
        before = placement.model_dump()
        was_final = placement.final

        try:
            after = decide(placement, action, ctx(today, actor), AT)
        except Refused as refused:
            assert refused.unmet, "a refusal names what is unmet"
            assert placement.model_dump() == before, "a refusal leaves the placement as it was"
            continue

        assert not was_final, "nothing moves a closed or terminated placement"
        assert placement.model_dump() == before, "decide works on a copy"
        assert after.state in STATES
        assert len(after.history) == len(placement.history) + 1
        last = after.history[-1]
        assert (last.action, last.from_state, last.to_state) == (action.action, placement.state, after.state)
        assert last.seq == len(after.history)
        event(f"reached {after.state}")
        placement = after

    assert placement.state in STATES
