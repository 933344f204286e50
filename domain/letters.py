"""The letters the policy asks for: their kinds, who receives them and what a
provider's link is for.

`documents` renders and delivers these letters and `messages` carries them to
the activity; both take the words from here, so the policy names each once.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel


class Kind(StrEnum):
    offsite_direction_notice = "offsite_direction_notice"
    review_invitation = "review_invitation"
    la_placement_notice = "la_placement_notice"
    la_ehcp_consultation = "la_ehcp_consultation"
    provider_initial_assessment_request = "provider_initial_assessment_request"
    provider_progress_report_request = "provider_progress_report_request"
    provider_final_report_request = "provider_final_report_request"
    provider_attendance_chase = "provider_attendance_chase"
    staff_escalation = "staff_escalation"
    destination_record = "destination_record"


class RecipientRole(StrEnum):
    parent = "parent"
    la = "la"
    provider = "provider"
    ap_lead = "ap_lead"
    headteacher = "headteacher"
    dsl = "dsl"


class LinkPurpose(StrEnum):
    attendance = "attendance"  # §10.3, §12.1.4
    initial_assessment = "initial_assessment"  # §12.1.3
    progress_report = "progress_report"  # §2.6, §12.1.7
    final_report = "final_report"  # §2.6, §8.2.17


class LinkRequest(BaseModel):
    """A provider's link for a letter to carry: the activity issues and signs it."""

    purpose: LinkPurpose
    expires_at: datetime
