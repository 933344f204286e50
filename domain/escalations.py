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
    # A missing mark is chased with the provider first (RULES, "attendance
    # marks"): when it was, or why it could not be (no email address, the
    # chase incomplete or not sent). Neither: an alert from before chases.
    chased_on: date | None = None
    chased_at_check: Literal["am", "pm"] | None = None
    not_chased: str | None = None


def _missing_message(alert: AttendanceAlert) -> str:
    what = f"no attendance mark from the provider for {alert.day} {alert.session}"
    if alert.chased_on is not None:
        check = {"am": "morning", "pm": "afternoon"}.get(alert.chased_at_check or "", "")
        asked = f"at the {check} check on {alert.chased_on}" if check else f"on {alert.chased_on}"
        return f"{what}, though the provider was asked for it by email {asked} and the next check still found none: chase the provider today"
    if alert.not_chased:
        return f"{what}, and the provider could not be chased by email ({alert.not_chased}): chase the provider today"
    return f"{what}: chase the provider today"


def attendance_escalation(alert: AttendanceAlert, at: datetime) -> Escalation:
    if alert.problem == "missing":
        # The id stays as it was before chases, so stored histories replay.
        return Escalation(
            escalation_id=f"attendance_missing:{alert.day}:{alert.session}",
            kind="attendance_missing", clause="§10.3, §12.1.4", owner=Role.ap_lead,
            message=_missing_message(alert),
            raised_at=at, due=alert.day,
        )
    return Escalation(
        escalation_id=f"unexplained_absence:{alert.day}:{alert.session}",
        kind="unexplained_absence", clause="§9.3-9.4", owner=Role.dsl,
        message=f"unexplained absence at the provider on {alert.day} {alert.session}: follow up today",
        raised_at=at, due=alert.day,
    )
