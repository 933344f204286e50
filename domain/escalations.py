"""Escalations: what is late or worrying, who must act, and until when it
stays open. An escalation is raised once per cause (its id) and stays on the
placement until someone resolves it with a note."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from .models import Actor, Model, Role


class Escalation(Model):
    escalation_id: str  # "<kind>:<what it is about>", unique on the placement
    kind: str
    clause: str
    owner: Role  # who should act: ap_lead, headteacher or dsl
    message: str
    raised_at: datetime
    due: date | None = None
    resolved_at: datetime | None = None
    resolved_by: Actor | None = None
    resolution: str | None = None

    @property
    def open(self) -> bool:
        return self.resolved_at is None


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
