"""Numbers the policy leaves to the trust. Defaults follow RULES.md; a trust
changes them by configuration, never in code."""
from __future__ import annotations

from datetime import time

from pydantic import BaseModel, ConfigDict, Field


class StuckSettings(BaseModel):
    """When operations are shown a placement as stuck (APFLOW_POLICY__STUCK__...).
    Time limits are calendar days; none of this changes what a workflow does."""

    model_config = ConfigDict(frozen=True)

    # An activity on this attempt or later (its retries failing) is stuck.
    activity_attempts: int = Field(5, ge=2)
    # A failing workflow task on this attempt or later (servers that do not mark it themselves).
    workflow_task_attempts: int = Field(2, ge=1)
    # A deadline this long past its day with no escalation raised: the clock is not running.
    deadline_grace_hours: int = Field(1, ge=0)
    # An escalation still open this long after it was raised; by kind, or the default.
    escalation_open_days: int = Field(10, ge=0)
    escalation_open_days_by_kind: dict[str, int] = {"safeguarding": 1}
    # How long a placement may stay in a state (states not named have no limit:
    # `notified` waits for its start date, `active` is watched by its own deadlines).
    state_days: dict[str, int] = {"proposed": 20, "vetted": 20, "la_consulted": 20,
                                  "under_review": 20, "reintegrating": 40}
    # The register may trail the workflow's search attributes this long (a step under way).
    register_lag_minutes: int = Field(5, ge=0)


class ProviderSettings(BaseModel):
    """The trust's list of providers (APFLOW_POLICY__PROVIDERS__...)."""

    model_config = ConfigDict(frozen=True)

    # How many days before a provider's insurance or a check expires the AP
    # lead is told (Today, `GET /api/providers/expiring`, an escalation on
    # each running placement there); once expired, no new placement is proposed there.
    warn_days: int = Field(30, ge=0, le=366)
    # When, in UK time on weekdays, the daily sweep escalates them to the AP
    # lead of each running placement there (`workflows.providers`).
    sweep_at: time = time(7, 30)


class PolicySettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    notice_school_days: int = 2  # §6.5: clear school days between notice and start
    # A posted letter is deemed received this many working days after posting (RULES, Words).
    post_deemed_received_working_days: int = 2
    vetting_school_days: int = 10
    review_invitation_days: int = 6  # §6.8, calendar days
    review_request_window_weeks: int = 10  # 2010 regulations as amended 2012
    # Insurance minimums, in pounds (policy appendix).
    min_public_liability: int = 5_000_000
    min_employers_liability: int = 10_000_000
    min_professional_negligence: int = 2_000_000
    initial_assessment_days: int = 7  # §12.1.3, calendar days from referral
    wellbeing_contact_days: int = 7  # §2.5, §3.4
    daily_attendance_call: bool = True  # §2.5
    progress_report_days: int = 14  # §2.6, §12.1.7: "at agreed intervals"
    end_of_placement_school_days: int = 10  # final report requested, end discussed (§2.6-2.7)
    requested_review_school_days: int = 10  # a requested review is held within this
    provider_reply_days: int = 7  # a report asked of the provider is due this many days later (§2.6)
    progress_report_before_review_days: int = 2  # a progress report asked at open_review is due this long before the meeting
    provider_link_days: int = 21  # a provider's link keeps working this many days past its reply date
    # Where a school has no term dates, a "half-term" is this many weeks.
    fallback_half_term_weeks: int = 6
    # Proposed national limits: past them a placement is flagged until a review extends it.
    max_full_time_weeks: int = 12
    max_part_time_days_per_week: int = 2
    # §7.1: full-time pupils of compulsory school age that oblige registration.
    registration_pupil_threshold: int = 5
    # What operations are shown as stuck: read by `operations.stuck` from the
    # process's own settings (a workflow's copy in its input is never used).
    stuck: StuckSettings = StuckSettings()
    # The trust's providers: read by the API from the process's own settings.
    providers: ProviderSettings = ProviderSettings()
