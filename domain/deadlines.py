"""The dates a placement must meet next, from its state, data and calendar."""
from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from .calendar import SchoolCalendar
from .clock import uk_date
from .models import Placement, Role
from .settings import PolicySettings


class Deadline(BaseModel):
    kind: str
    due: date
    clause: str
    owner: Role
    description: str


def deadlines(p: Placement, calendar: SchoolCalendar, settings: PolicySettings) -> list[Deadline]:
    out: list[Deadline] = []
    if p.state == "proposed" and p.history:
        proposed_on = uk_date(p.history[0].at)
        out.append(Deadline(
            kind="vetting", due=calendar.add_school_days(proposed_on, settings.vetting_school_days),
            clause="§7, §9", owner=Role.ap_lead, description="vet the provider",
        ))
    if p.state in ("proposed", "vetted", "la_consulted"):
        out.append(Deadline(
            kind="notice", due=calendar.add_school_days(p.start_date, -settings.notice_school_days),
            clause="§6.5", owner=Role.headteacher, description="give parents written notice",
        ))
    if p.state == "notified":
        out.append(Deadline(
            kind="start", due=p.start_date, clause="§6.5", owner=Role.system,
            description="the placement starts",
        ))
    if p.state in ("active", "under_review") and p.planned_end:
        out.append(Deadline(
            kind="planned_end", due=p.planned_end, clause="DfE guidance 2025: maximum period",
            owner=Role.ap_lead, description="end the placement or extend it at a review",
        ))
    if p.state == "under_review" and p.review_meetings:
        out.append(Deadline(
            kind="review_meeting", due=p.review_meetings[-1].meeting_on, clause="§6.8, §9.6",
            owner=Role.ap_lead, description="hold and record the review",
        ))
    return sorted(out, key=lambda d: d.due)
