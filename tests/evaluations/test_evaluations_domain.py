"""The appendix's evaluation as data and as a step: the statements, the
score out of 125, the difference since the last evaluation, and what
recording a part refuses (each naming its clause, the placement unchanged)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from apflow import samples
from domain import evaluations as ev
from domain.lifecycle import Refused, decide
from domain.models import Actor, Closure, Evaluation, EvaluationPart, EvaluationStage, Placement, Role
from tests.domain.placement_builders import AT, CLOSE_DAY, HEAD, SCHOOL_ID, START, ctx, in_state

MID, END = EvaluationStage.mid, EvaluationStage.end
PARENT_LINK = Actor(user_id="lnk-parent", role=Role.parent, school_id=SCHOOL_ID)
PUPIL_LINK = Actor(user_id="lnk-pupil", role=Role.pupil, school_id=SCHOOL_ID)


def record(p, stage, part, day=CLOSE_DAY, actor=HEAD, **changes):
    return decide(p, samples.evaluation_part(stage, part, day, **changes), ctx(day, actor), AT)


def refused(p, stage, part, day=CLOSE_DAY, actor=HEAD, **changes) -> list[str]:
    with pytest.raises(Refused) as e:
        record(p, stage, part, day, actor, **changes)
    assert all(u.clause == ev.CLAUSE for u in e.value.unmet)
    return [u.message for u in e.value.unmet]


def test_the_appendix_has_25_statements_scored_out_of_125():
    assert {part: len(s) for part, s in ev.STATEMENTS.items()} == {
        EvaluationPart.pupil: 7, EvaluationPart.parent: 5, EvaluationPart.provider: 6, EvaluationPart.school: 7}
    assert ev.MAX_SCORE == 125
    assert [v for v, _ in ev.SCALE] == [5, 4, 3, 2, 1] and dict(ev.SCALE)[5] == "Strongly agree"
    # As the appendix words them, its combined present/past reading kept.
    assert ev.STATEMENTS[EvaluationPart.pupil][0] == "The adults at the AP are/were very skilled in what they are/were teaching/delivering."
    assert ev.STATEMENTS[EvaluationPart.parent][4] == "The AP is helping/has helped my child to progress through education"
    assert ev.STATEMENTS[EvaluationPart.school][6] == "The AP placement has supported the pupil's next steps"


def test_total_and_difference_follow_the_scores_given():
    p = in_state("reintegrating")
    mid = {EvaluationPart.pupil: [3, 3, 2, 4, 3, 3, 2], EvaluationPart.parent: [4, 3, 3, 4, 3],
           EvaluationPart.provider: [3, 4, 3, 3, 2, 3], EvaluationPart.school: [3, 3, 2, 3, 3, 4, 3]}
    end = {EvaluationPart.pupil: [5, 4, 5, 5, 4, 4, 5], EvaluationPart.parent: [5, 5, 4, 5, 5],
           EvaluationPart.provider: [4, 5, 4, 4, 3, 4], EvaluationPart.school: [4, 4, 4, 5, 4, 5, 5]}
    for part, scores in mid.items():
        assert ev.difference(p, MID) is None
        p = record(p, MID, part, scores=scores)
    assert ev.complete(ev.record(p, MID)) and ev.total(ev.record(p, MID)) == sum(map(sum, mid.values())) == 76
    assert ev.difference(p, MID) is None  # the first: nothing before it
    for part, scores in end.items():
        p = record(p, END, part, scores=scores)
    assert ev.total(ev.record(p, END)) == 111
    assert ev.difference(p, END) == 111 - 76 and ev.signed(ev.difference(p, END)) == "+35"
    assert ev.signed(-3) == "-3" and ev.signed(0) == "0"
    assert ev.end_total(p) == 111
    closed = decide(p, samples.close(CLOSE_DAY), ctx(CLOSE_DAY), AT)
    assert closed.state == "closed"


def test_a_part_is_recorded_once_and_its_scores_fit_its_statements():
    p = record(in_state("active"), MID, EvaluationPart.parent, actor=PARENT_LINK, day=START + timedelta(days=14))
    answer = ev.answer(ev.record(p, MID), EvaluationPart.parent)
    assert answer.recorded_by == PARENT_LINK and not answer.on_behalf
    before = p.model_copy(deep=True)
    assert any("recorded already" in m for m in refused(p, MID, EvaluationPart.parent, day=START + timedelta(days=14)))
    assert any("5 statements: 5 scores are needed, 7 were given" in m
               for m in refused(p, MID, EvaluationPart.parent, scores=[4] * 7, day=START + timedelta(days=14)))
    assert p == before


def test_who_may_give_each_part():
    p = in_state("active")
    day = START + timedelta(days=14)
    assert any("cannot record the pupil's part" in m for m in refused(p, MID, EvaluationPart.pupil, day, PARENT_LINK))
    assert any("AP lead or headteacher" in m for m in refused(p, MID, EvaluationPart.school, day, PUPIL_LINK))
    # Staff give another's part on their behalf: the record says so.
    p = record(p, MID, EvaluationPart.pupil, day)
    answer = ev.answer(ev.record(p, MID), EvaluationPart.pupil)
    assert answer.on_behalf and answer.recorded_by == HEAD


def test_dates_agreed_actions_and_order_are_checked():
    p = in_state("reintegrating")
    assert any("after today" in m for m in refused(p, MID, EvaluationPart.parent, CLOSE_DAY, signed_on=CLOSE_DAY + timedelta(days=1)))
    assert any("cannot be signed before it" in m for m in refused(p, MID, EvaluationPart.parent, CLOSE_DAY, signed_on=START - timedelta(days=1)))
    assert any("agreed actions" in m for m in refused(p, MID, EvaluationPart.school, CLOSE_DAY, agreed_actions=None))
    p = record(p, END, EvaluationPart.pupil)
    assert any("end evaluation has begun" in m for m in refused(p, MID, EvaluationPart.parent))


def test_close_needs_the_whole_end_evaluation_naming_the_parts_missing():
    p = in_state("reintegrating")
    for part in (EvaluationPart.pupil, EvaluationPart.school):
        p = record(p, END, part)
    with pytest.raises(Refused) as e:
        decide(p, samples.close(CLOSE_DAY), ctx(CLOSE_DAY), AT)
    (unmet,) = e.value.unmet
    assert unmet.clause == "appendix: evaluation"
    assert "the parent's, the provider's parts are not recorded yet" in unmet.message
    # A complete mid evaluation is not the end one.
    p = in_state("reintegrating")
    for part in EvaluationPart:
        p = record(p, MID, part)
    with pytest.raises(Refused):
        decide(p, samples.close(CLOSE_DAY), ctx(CLOSE_DAY), AT)


def test_a_placement_closed_with_typed_scores_still_loads_and_its_close_is_still_judged_met():
    """Older versions took the scores at close: such a placement (and its replayed close) stands."""
    legacy = samples.close(CLOSE_DAY).model_copy(update={"evaluation": Evaluation(pupil=[4] * 7, parent=[4] * 5, provider=[5] * 6, school=[4] * 7)})
    closed = decide(in_state("reintegrating"), legacy, ctx(CLOSE_DAY), AT)
    stored = Placement.model_validate_json(closed.model_dump_json())
    assert stored.closure.evaluation.total == 106 and stored.evaluations == [] and ev.end_total(stored) == 106
    assert ev.typed_scores(legacy) and not ev.typed_scores(samples.close(CLOSE_DAY))
    assert Closure.model_validate({"evaluation": {"pupil": [1] * 7, "parent": [1] * 5, "provider": [1] * 6, "school": [1] * 7}})
