"""A progress visit as a member of staff records it, for the sample placement
(`apflow.samples.proposal`: two objectives)."""
from __future__ import annotations

from datetime import date, time

from domain.actions import RecordVisit
from domain.models import RISK_ASSESSMENT_QUESTIONS, VISIT_QUESTIONS, VisitRecord


def visit_record(on: date, no: tuple[str, ...] = (), **changes) -> VisitRecord:
    """Every answer yes but those named in `no`."""
    data = dict(
        visited_by="Sam Okafor", role="Assistant head, AP lead", on=on, at=time(10, 30), arrangement="planned",
        checks={name: name not in no for name in VISIT_QUESTIONS},
        risk_assessment={name: name not in no for name in RISK_ASSESSMENT_QUESTIONS},
        objectives_progress=["Attended 9 of 10 sessions since the start", "One removal, handled by the key worker"],
        pupil_views="Likes the workshop sessions; finds mornings hard",
        parents_views="Pleased with attendance so far",
        provider_views="Settling well; needs support with transitions",
        actions=["Key worker to share the weekly timetable with home", "Review the morning routine at the next visit"],
    )
    return VisitRecord.model_validate(data | changes)


def visit(on: date, no: tuple[str, ...] = (), **changes) -> RecordVisit:
    return RecordVisit(visit=visit_record(on, no, **changes))
