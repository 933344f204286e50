"""One placement at a time (RULES: one placement at a time): a second open
placement for the same pupil at the same provider, overlapping in dates and
weekdays, is refused naming the first; part-time placements on other
weekdays are not."""
from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from apflow import samples
from domain.calendar import default_calendar
from domain.models import Pattern, Weekday
from domain.overlaps import CLAUSE, Span, clashes

MON_WED = frozenset({"mon", "wed"})
CALENDAR = default_calendar("137000", date(2027, 1, 1))
PROVIDER = samples.provider().name


def span(pid=None, start=date(2027, 1, 11), end=date(2027, 3, 26), days=MON_WED, provider=PROVIDER) -> Span:
    return Span(placement_id=pid, provider_name=provider, start=start, end=end, days=frozenset(days))


def test_overlapping_dates_and_days_at_the_same_provider_are_refused_naming_the_first():
    (u,) = clashes(span(start=date(2027, 2, 1)), [span("placement-1")])
    assert u.clause == CLAUSE
    for part in ("placement-1", "2027-01-11", "2027-03-26", PROVIDER, "mon, wed"):
        assert part in u.message


def test_part_time_placements_on_different_weekdays_may_run_side_by_side():
    assert clashes(span(days={"tue", "thu"}), [span("placement-1", days={"mon", "wed"})]) == []
    assert len(clashes(span(days={"tue", "wed"}), [span("placement-1")])) == 1  # Wednesday is shared


def test_dates_that_do_not_meet_or_another_provider_are_allowed():
    assert clashes(span(start=date(2027, 3, 29), end=None), [span("placement-1")]) == []
    assert clashes(span(end=date(2027, 1, 8), start=date(2027, 1, 4)), [span("placement-1")]) == []
    assert clashes(span(), [span("placement-1", provider="Another Centre")]) == []


def test_a_placement_without_a_planned_end_runs_on():
    assert len(clashes(span(start=date(2028, 6, 5), end=None), [span("placement-1", end=None)])) == 1
    assert len(clashes(span(start=date(2028, 6, 5)), [span("placement-1", end=None)])) == 1


def test_provider_names_match_whatever_their_case_and_spacing():
    assert len(clashes(span(provider=f"  {PROVIDER.upper()} "), [span("placement-1")])) == 1


def test_the_proposal_itself_already_registered_is_not_a_clash():
    assert clashes(span("placement-1"), [span("placement-1")]) == []


def test_each_clash_is_named():
    unmet = clashes(span(end=None), [span("placement-1"), span("placement-2", start=date(2027, 4, 12), end=None)])
    assert ["placement-1" in unmet[0].message, "placement-2" in unmet[1].message] == [True, True]


def test_a_span_of_a_proposal_takes_its_dates_and_pattern():
    p = samples.proposal(date(2027, 1, 11), planned_end_date=date(2027, 2, 26), number_of_days=None,
                         pattern=Pattern(full_time=True, days=list(Weekday), arrival="09:00", departure="15:00"))
    s = Span.of(p, CALENDAR)
    assert (s.start, s.end, s.days, s.provider_name) == (date(2027, 1, 11), date(2027, 2, 26), frozenset(d.value for d in Weekday), PROVIDER)


def test_a_proposal_for_a_number_of_days_runs_to_the_last_of_them_and_clashes_with_nothing_after():
    # Six Mondays and Wednesdays of school from Monday 11 January 2027: the last is Wednesday 27 January.
    p = samples.proposal(date(2027, 1, 11), number_of_days=6)
    assert Span.of(p, CALENDAR).end == date(2027, 1, 27)
    later = span("placement-1", start=date(2027, 2, 1), end=None)
    assert clashes(Span.of(p, CALENDAR), [later]) == []
    assert len(clashes(Span.of(p.model_copy(update={"number_of_days": 9}), CALENDAR), [later])) == 1


days = st.frozensets(st.sampled_from(["mon", "tue", "wed", "thu", "fri"]), min_size=1)
day = st.dates(min_value=date(2027, 1, 1), max_value=date(2027, 12, 31))


@given(days, days, day, day, day, day)
def test_a_clash_is_symmetric_and_needs_a_shared_day_and_date(d1, d2, s1, e1, s2, e2):
    a = span("placement-a", start=min(s1, e1), end=max(s1, e1), days=d1)
    b = span("placement-b", start=min(s2, e2), end=max(s2, e2), days=d2)
    found = bool(clashes(a, [b]))
    assert found == bool(clashes(b, [a]))
    assert found == bool(d1 & d2 and a.start <= b.end and b.start <= a.end)
