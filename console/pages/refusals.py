"""Which field of a step's form a refused condition concerns.

The policy's refusals name a clause and say what is missing, not which
field: this table reads both, first match wins. A condition of the
placement itself (a detail given at the proposal, a concern still open)
concerns no field of the step and is shown in the error summary alone.
"""
from __future__ import annotations

import re

from documents import formatting
from domain.guards import Unmet


# (actions or None for any, clause pattern, message pattern or None, field; "{1}" is the clause's first group)
RULES: list[tuple[frozenset[str] | None, str, str | None, str]] = [
    (frozenset({"vet"}), r"^appendix checklist \((\w)\)$", None, "checklist.{1}"),
    (frozenset({"vet"}), r"^appendix: insurance$", r"^public liability", "insurance.public_liability"),
    (frozenset({"vet"}), r"^appendix: insurance$", r"^employer's liability", "insurance.employers_liability"),
    (frozenset({"vet"}), r"^appendix: insurance$", r"^professional negligence", "insurance.professional_negligence"),
    (frozenset({"vet"}), r"^appendix: insurance$", r"motor vehicle", "insurance.motor_vehicle"),
    (frozenset({"vet"}), r"^appendix: insurance$", r"subcontractors", "insurance.subcontractors_same_levels"),
    (frozenset({"vet"}), r"^appendix", None, "insurance"),
    (frozenset({"vet"}), r"^§7\.1$", None, "provider.provider_type"),
    (frozenset({"vet"}), r"^§7\.3$", None, "provider.la_approved"),
    (frozenset({"vet"}), r"^§9\.2$", None, "safeguarding_confirmation_received_on"),
    (frozenset({"vet"}), r"^§9\.9$", r"deputy", "provider.deputy_dsl"),
    (frozenset({"vet"}), r"^§9\.9$", None, "provider.dsl"),
    (frozenset({"vet"}), r"^§9\.5$", None, "provider.sites"),
    (frozenset({"consult_la"}), r"^§8\.1$", None, "informed_on"),
    (frozenset({"consult_la"}), r"^§3", None, "ehcp"),
    (frozenset({"notify", "open_review"}), r"^§6\.5, §6\.8$", r"uploaded copy", "given_outside.copy_document_id"),
    (frozenset({"notify"}), r"^§6\.5$", r"in the future|^notice given on", "given_outside.on"),
    (frozenset({"notify", "start"}), r"^§5\.1\.5", None, "dual_registration_from"),
    (frozenset({"open_review"}), r"^§6\.8", r"invitation cannot be given", "given_outside.on"),
    (frozenset({"open_review"}), r"^§6\.8", r"meeting|invited", "meeting_on"),
    (None, r"", r"^a review held on|review of it can have been held|^the placement started on .*: a review", "review.held_on"),
    (frozenset({"record_review"}), r"^§6\.8$", r"in writing", "review"),
    (frozenset({"record_review"}), r"^§6\.8$", r"does not continue", "review.outcome"),
    (frozenset({"record_review"}), r"maximum period", r"new end date|changes the end date", "review.new_end_date"),
    (frozenset({"record_review"}), r"maximum period", r"reason", "review.extension_reason"),
    (frozenset({"reintegrate"}), r"^§2\.7$", None, "review.outcome"),
    (frozenset({"reintegrate"}), r"^§2\.4", None, "plan"),
    (frozenset({"close"}), r"^§2\.6", None, "final_report"),
    (frozenset({"close"}), r"^§3\.7, §8\.2\.19$", None, "destination"),
    (frozenset({"close"}), r"^§3\.7, §8\.2\.18$", None, "pupil_view"),
    (frozenset({"record_evaluation"}), r"^appendix: evaluation$", r"signed", "signed_on"),
    (frozenset({"record_evaluation"}), r"^appendix: evaluation$", r"agreed actions", "agreed_actions"),
    (frozenset({"record_evaluation"}), r"^appendix: evaluation$", r"scores are needed", "scores"),
    (frozenset({"terminate"}), r"^§9\.7$", r"reason", "reason"),
    (frozenset({"terminate"}), r"^§10\.1", None, "next_destination"),
    (frozenset({"record_contact"}), r"^§2\.5$", None, "contact.on"),
    (frozenset({"record_visit"}), r"^§2\.5$", None, "visit.on"),
    (frozenset({"record_visit"}), r"progress visit record$", r"^general comments", "visit.general_comments"),
    (frozenset({"record_visit"}), r"progress visit record$", r"objectives", "visit.objectives_progress"),
    (None, r"^§9\.6$", r"^the next review", "review.next_review_on"),
    (frozenset({"request_review"}), r"", r"future", "received_on"),
    (frozenset({"request_review"}), r"^§6\.5, §8\.2\.8$", None, "requested_by"),
    (frozenset({"resolve_escalation"}), r"", None, "escalation_id"),
    (frozenset({"record_delivery"}), r"", None, "document_id"),
    (frozenset({"record_initial_assessment"}), r"", r"dated in the future", "assessment.received_on"),
    (frozenset({"record_progress_report", "record_final_report"}), r"", r"dated in the future", "report.received_on"),
    (frozenset({"amend"}), r"^§6\.5$", None, "start_date"),
    # a proposal
    (frozenset({"propose"}), r"^§3\.6", None, "objectives"),
    (frozenset({"propose"}), r"^§2\.3; ", None, "planned_end_date"),
    (frozenset({"propose"}), r"^§2\.3$", None, "planned_end_date"),
    (frozenset({"propose"}), r"school day|^§6\.5$|one placement at a time", None, "start_date"),
    (frozenset({"propose"}), r"", r"school day", "start_date"),
    (frozenset({"propose"}), r"^§3$", None, "pupil.ehc_plan"),
    (frozenset({"propose"}), r"^§13\.2$", r"full-time education must be", "pattern.full_time"),
    (frozenset({"propose"}), r"^§13\.2$", r"sixth school day", "start_date"),
    (frozenset({"propose"}), r"^§13\.2$", None, "suspension_first_day"),
    # the provider's record (console.providers_api.resolve): expired, unknown, or none picked
    (frozenset({"propose"}), r"^appendix|^providers$|^§9\.5; RULES: propose$", None, "provider_id"),
]

_COMPILED = [(actions, re.compile(clause), re.compile(message) if message else None, target)
             for actions, clause, message, target in RULES]


def field_for(action: str, unmet: Unmet) -> str | None:
    """The name of the form's input (or group) the condition concerns, if any."""
    for actions, clause, message, target in _COMPILED:
        if actions is not None and action not in actions:
            continue
        m = clause.search(unmet.clause)
        if m is None or (message is not None and message.search(unmet.message) is None):
            continue
        return target.replace("{1}", m.group(1)) if "{1}" in target else target
    return None


def problems(action: str, unmet: list[Unmet]) -> list[tuple[str, str]]:
    """The refusal as form problems: (input name, or "" for the placement
    itself; the policy's message with its clause)."""
    return [(field_for(action, u) or "", f"{formatting.sentence(u.message)} ({u.clause})") for u in unmet]
