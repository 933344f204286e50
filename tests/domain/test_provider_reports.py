"""What a provider sends becomes part of the placement as if staff had
entered it: the initial assessment (§12.1.3), progress reports (§2.6) and the
final report (§2.6, §8.2.17)."""
from __future__ import annotations

from datetime import timedelta

from apflow import samples
from domain.actions import RecordFinalReport, RecordInitialAssessment, RecordProgressReport
from domain.deadlines import deadlines
from domain.models import Actor, ProviderReport, Role
from domain.settings import PolicySettings

from placement_builders import (
    CALENDAR, CLOSE_DAY, HEAD, INVITE_DAY, OTHER_SCHOOL_ID, SCHOOL_ID, START, allowed, in_state, only_unmet,
    with_end_evaluation,
)

# A provider acts through a link scoped to one placement: its school is the placement's.
PROVIDER = Actor(user_id="lnk-0123456789abcdef01234567", role=Role.provider, school_id=SCHOOL_ID)


def report(day, summary="Entry 3 maths and English; small-group support") -> ProviderReport:
    return ProviderReport(received_on=day, summary=summary, attendance_percent=91.5)


def test_the_initial_assessment_comes_off_the_clock_when_the_provider_sends_it():
    p = in_state("notified")
    assert "initial_assessment" in {d.kind for d in deadlines(p, CALENDAR, PolicySettings(), START)}
    p = allowed(p, RecordInitialAssessment(assessment=report(START)), START, PROVIDER)
    assert p.state == "notified" and p.initial_assessment.summary.startswith("Entry 3")
    assert (p.history[-1].action, p.history[-1].actor) == ("record_initial_assessment", PROVIDER)
    assert "initial_assessment" not in {d.kind for d in deadlines(p, CALENDAR, PolicySettings(), START)}


def test_a_progress_report_moves_the_next_one_on():
    p = in_state("active")
    due = lambda q: next(d.due for d in deadlines(q, CALENDAR, PolicySettings(), INVITE_DAY) if d.kind == "progress_report")  # noqa: E731
    before = due(p)
    p = allowed(p, RecordProgressReport(report=report(INVITE_DAY, "Two objectives on track")), INVITE_DAY, PROVIDER)
    assert [r.summary for r in p.progress_reports] == ["Two objectives on track"]
    assert due(p) == INVITE_DAY + timedelta(days=PolicySettings().progress_report_days) > before


def test_a_final_report_sent_early_is_kept_when_the_placement_closes():
    p = in_state("reintegrating")
    p = allowed(p, RecordFinalReport(report=report(CLOSE_DAY, "Met two of three objectives")), CLOSE_DAY, PROVIDER)
    closing = samples.close(CLOSE_DAY).model_copy(update={"final_report": None})
    p = allowed(with_end_evaluation(p, CLOSE_DAY), closing, CLOSE_DAY, HEAD)
    assert p.state == "closed" and p.closure.final_report.summary == "Met two of three objectives"


def test_a_report_dated_in_the_future_is_refused():
    p = in_state("active")
    unmet = only_unmet(p, RecordProgressReport(report=report(INVITE_DAY + timedelta(days=1))), INVITE_DAY, PROVIDER)
    assert unmet.clause == "§2.6, §12.1.7" and "future" in unmet.message


def test_a_provider_acts_only_on_the_placement_its_link_is_for():
    p = in_state("active")
    elsewhere = PROVIDER.model_copy(update={"school_id": OTHER_SCHOOL_ID})
    unmet = only_unmet(p, RecordInitialAssessment(assessment=report(INVITE_DAY)), INVITE_DAY, elsewhere)
    assert "own school" in unmet.message
    unmet = only_unmet(p, samples.open_review(INVITE_DAY + timedelta(days=7), INVITE_DAY), INVITE_DAY, PROVIDER)
    assert unmet.clause == "roles"


def test_a_final_report_cannot_come_before_the_placement_starts():
    unmet = only_unmet(in_state("notified"), RecordFinalReport(report=report(START)), START, PROVIDER)
    assert "not possible while the placement is notified" in unmet.message
