"""Escalations from attendance: what the daily sweep found, and the
escalation it raises (the `Escalation` record itself is in `models`)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from .models import Escalation, Model, Role


class AttendanceAlert(Model):
    """What the daily attendance sweep found for one session of a placement."""

    day: date
    session: Literal["am", "pm"]
    problem: Literal["missing", "unexplained_absence"]
    code: str | None = None


def attendance_escalation(alert: AttendanceAlert, at: datetime) -> Escalation:
    if alert.problem == "missing":
        return Escalation(
            escalation_id=f"attendance_missing:{alert.day}:{alert.session}",
            kind="attendance_missing", clause="§10.3, §12.1.4", owner=Role.ap_lead,
            message=f"no attendance mark from the provider for {alert.day} {alert.session}: chase the provider today",
            raised_at=at, due=alert.day,
        )
    return Escalation(
        escalation_id=f"unexplained_absence:{alert.day}:{alert.session}",
        kind="unexplained_absence", clause="§9.3-9.4", owner=Role.dsl,
        message=f"unexplained absence at the provider on {alert.day} {alert.session}: follow up today",
        raised_at=at, due=alert.day,
    )
