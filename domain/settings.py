"""Numbers the policy leaves to the trust. Defaults follow RULES.md; a trust
changes them by configuration, never in code."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class PolicySettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    notice_school_days: int = 2  # §6.5
    vetting_school_days: int = 10
    review_invitation_days: int = 6  # §6.8, calendar days
    review_request_window_weeks: int = 10  # 2010 regulations as amended 2012
    # Insurance minimums, in pounds (policy appendix).
    min_public_liability: int = 5_000_000
    min_employers_liability: int = 10_000_000
    min_professional_negligence: int = 2_000_000
    # §7.1: full-time pupils of compulsory school age that oblige registration.
    registration_pupil_threshold: int = 5
