"""How the console words the models' fields: labels, hints and the few
choices a model's type cannot say (a checklist's items). Presentation only:
what a field means and requires stays in `domain`."""
from __future__ import annotations

from domain.checklist import CHECKLIST
from domain.models import RISK_ASSESSMENT_QUESTIONS, VISIT_QUESTIONS

# A field's label is its name in words ("informed_on" → "Informed on") unless named here.
LABELS = {
    "school": "Commissioning school", "school_id": "School URN", "local_authority": "Local authority",
    "pupil_id": "Pupil's school id", "upn": "Unique pupil number (UPN)", "date_of_birth": "Date of birth",
    "ehc_plan": "Has an EHC plan",
    "looked_after": "Looked after", "free_school_meals": "Free school meals", "sen_support": "SEN support",
    "eal": "English as an additional language", "urn": "URN", "ukprn": "UKPRN", "la_approved": "Approved by the LA",
    "trust_exception": "Trust exception (a provider the LA has not approved, §7.3)",
    "dsl": "Designated safeguarding lead", "deputy_dsl": "Deputy safeguarding lead",
    "named_contact": "Named contact (§12.1.8)", "full_time_pupils_of_compulsory_age": "Full-time pupils of compulsory school age on its roll",
    "number_of_days": "Number of days", "report_to": "Who the pupil reports to on the first day (§6.6.2)",
    "parent_contacts": "Parents and carers", "emergency_contacts": "Emergency contacts",
    "suspension_first_day": "First day of the suspension (suspension cover, §13.2)",
    "reintegration_plan": "Reintegration plan", "objectives": "Objectives (one to three, §3.6)",
    "checklist": "Provider checklist (policy appendix)", "insurance": "Insurance (policy appendix)",
    "public_liability": "Public liability (£)", "employers_liability": "Employer's liability (£)",
    "professional_negligence": "Professional negligence (£)", "motor_vehicle": "Motor vehicle insurance",
    "uses_subcontractors": "Uses subcontractors", "subcontractors_same_levels": "Subcontractors hold the same levels",
    "safeguarding_confirmation_received_on": "Written confirmation of safeguarding checks received on (§9.2)",
    "provider": "Provider", "other_sections": "Other sections of the appendix", "informed_on": "LA informed on (§8.1)",
    "la_contact": "LA contact", "ehcp": "EHC plan agreement (§3.1-3.2, §3.8)", "la_officer": "LA officer",
    "plan_to_be_amended": "The plan is to be amended", "given_outside": "Given outside apflow",
    "copy_document_id": "Document id of the uploaded copy", "on": "On",
    "dual_registration_from": "Dual registered from (§5.1.5, §8.2.4)", "meeting_on": "Date of the meeting",
    "starts_at": "Start time", "written_views_to": "Parents may send written views to",
    "review": "The review", "held_on": "Held on", "record": "Written record", "parents_view": "Parents' view",
    "new_end_date": "New end date (an extension)", "extension_reason": "Reason for the extension",
    "plan": "Reintegration plan", "final_report": "Provider's final report", "received_on": "Received on",
    "attendance_percent": "Attendance (%)", "destination": "Destination", "next_destination": "Next destination",
    "from_date": "From", "pupil_view": "Pupil's own view", "evaluation": "End-of-placement evaluation (scores 1-5)",
    "pupil": "Pupil", "parent": "Parent", "safeguarding": "A safeguarding concern",
    "planned_end_date": "Planned end date", "planned_return": "Planned return",
    "school_support": "Support from the school", "provider_support": "Support from the provider",
    "escalation_id": "Escalation", "document_id": "Document id", "method": "How it was given",
    "contact": "Contact", "unannounced": "Unannounced", "summary": "Summary",
    "full_time": "Full time", "days": "Days attended", "arrival": "Arrival", "departure": "Departure",
    "sites": "Sites the pupil attends (§9.5)", "postcode": "Postcode", "provider_type": "Type of provider",
    "approved_by": "Approved by", "approved_on": "Approved on", "year_group": "Year group",
    "kind": "Kind of placement", "reasons": "Reasons", "start_date": "Start date",
    "assessment": "Initial assessment", "report": "Report", "requested_by": "Requested by",
    # the progress visit record (the appendix's words), the review record and the reintegration plan
    **VISIT_QUESTIONS, **RISK_ASSESSMENT_QUESTIONS,
    "visit": "The progress visit", "visited_by": "Visit completed by", "arrangement": "Was this visit planned or unannounced?",
    "checks": "Visit procedures", "risk_assessment": "Risk assessment", "general_comments": "General comments",
    "objectives_progress": "Progress to date against each objective", "pupil_views": "Pupil's views on the placement",
    "parents_views": "Parents' or carers' views on the placement", "provider_views": "Provider's view on the placement",
    "actions": "Identified actions", "provider_view": "Provider's view", "school_view": "School's view",
    "next_review_on": "Next review on", "who_does_what": "Who does what",
    "census_reason": "Primary reason for the placement (school census)",
    "setting_type": "Type of AP setting (school census)",
}

# Where a name means something else inside another field: "<field>.<name>".
IN_CONTEXT = {
    "destination.kind": "Kind of destination", "next_destination.kind": "Kind of destination",
    "destination.name": "School or setting", "next_destination.name": "School or setting",
    "evaluation.pupil": "Pupil's statements", "evaluation.parent": "Parent's statements",
    "evaluation.provider": "Provider's statements", "evaluation.school": "School's statements",
    "contact.kind": "Kind of contact", "contact.on": "On", "given_outside.on": "Given or posted on",
    "visit.on": "Date of visit", "visit.at": "Time of visit", "visit.role": "Role of who visited",
    "review.school_support": "Support package from the school", "review.provider_support": "Support package from the provider",
    "plan.school_support": "Support package from the school", "plan.provider_support": "Support package from the provider",
    "plan.planned_return": "Planned return date", "review.pupil_view": "Pupil's view",
    "school.name": "School name", "pupil.name": "Full name", "provider.name": "Provider's name",
}

# What one entry of a list is called.
ENTRY = {
    "objectives": "Objective", "parent_contacts": "Parent or carer", "emergency_contacts": "Emergency contact",
    "objectives_progress": "Objective", "actions": "Action", "who_does_what": "Responsibility",
    "sites": "Site", "pupil": "Statement", "parent": "Statement", "provider": "Statement", "school": "Statement",
}

HINTS = {
    "school_id": "Six digits",
    "pupil_id": "The school's own reference for the pupil",
    "upn": "13 characters, as on the pupil's school record: a letter, 11 digits, then a digit or letter",
    "date_of_birth": "For example, 31 8 2012",
    "year_group": "0 for Reception",
    "number_of_days": "Or give a planned end date",
    "public_liability": "At least £5,000,000, as on the certificate",
    "employers_liability": "At least £10,000,000",
    "professional_negligence": "At least £2,000,000",
    "given_outside": "Only for a letter the school gave itself, by hand or by post, with its copy uploaded first. "
                     "Leave blank and apflow sends the letter now, dated today.",
    "copy_document_id": "Shown once the copy is uploaded, like doc-0123…",
    "starts_at": "For example, 15:30. A parents' invitation gives it (§6.8)",
    "place": "Where the meeting is held: the school, the provider or elsewhere. A parents' invitation gives it (§6.8)",
    "written_views_to": "An email or postal address. Left blank, the invitation gives the AP lead's email, or else the school's",
    "arrival": "For example, 09:00",
    "departure": "For example, 15:00",
    "new_end_date": "Only when the review extends the placement",
    "attendance_percent": "For example, 92.5",
    "general_comments": "Needed if any of the answers above are no: give the detail",
    "objectives_progress": "One for each of the placement's objectives, in their order",
    "at": "For example, 10:30",
    "next_review_on": "At least once a half-term (§9.6)",
    "who_does_what": "Each part of the plan: who does it, what, and by when",
    "census_reason": "As the trust returns it in the census's AP module (§13.4.1)",
    "setting_type": "Only for a provider with neither a URN nor a UKPRN",
}

# How a one-line field is typed in: a phone's keyboard for numbers, emails and
# phone numbers; no spellcheck for codes. Someone else's address or number,
# never the person's own, so the browser does not offer to fill it in.
_DIGITS = {"inputmode": "numeric", "spellcheck": False, "width": "govuk-input--width-10"}
ENTRY_OF = {
    "email": {"type": "email", "spellcheck": False, "autocomplete": "off"},
    "phone": {"type": "tel", "autocomplete": "off"},
    "postcode": {"spellcheck": False, "autocomplete": "off", "width": "govuk-input--width-10"},
    "urn": _DIGITS, "ukprn": _DIGITS, "school_id": _DIGITS,
    "upn": {"spellcheck": False, "width": "govuk-input--width-20"},
}

# Free text that may run to sentences.
LONG_TEXT = {
    "reasons", "summary", "record", "parents_view", "notes", "note", "pupil_view", "reason", "school_support",
    "provider_support", "extension_reason", "address",
    "general_comments", "objectives_progress", "pupil_views", "parents_views", "provider_views", "actions",
    "provider_view", "school_view", "what", "achievements",
}

# The keys of a mapping field, with their labels: the model says only `dict[str, ...]`.
KEYS = {
    "checklist": {k: f"{k}. {label}" for k, label in CHECKLIST.items()},
    "other_sections": {
        "voice": "Child, parent and agency voice",
        "quality": "Quality of provision",
        "documents": "Supporting documents",
    },
}

# How many entries a list shows at first (each form has "add another" for more).
SLOTS = {"objectives": 3, "parent_contacts": 2, "emergency_contacts": 1, "sites": 1,
         "objectives_progress": 3, "actions": 3, "who_does_what": 2}

CHOICES = {
    "not_seen": "Not seen", "not_applicable": "Not applicable", "la_consulted": "LA consulted",
    "by_hand": "By hand", "local_authority": "The local authority", "continue": "Continue",
    "off_site_direction": "Off-site direction", "suspension_cover": "Suspension cover",
    "ehcp_placement": "EHC plan placement", "health_package": "Health or personalised package",
    "mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday",
}

# What a choice adds on a form, beside its words.
CHOICE_HINTS = {
    "not_applicable": "give the reason in the note",
    "off_site_direction": "§2.3, §6", "suspension_cover": "§2.4, §13.2", "ehcp_placement": "§3",
    "health_package": "§1.2.1, §2.2",
}

ACTIONS = {
    "propose": "Propose a placement", "vet": "Vet the provider", "consult_la": "Consult the LA",
    "notify": "Give notice", "start": "Start the placement", "open_review": "Book a review",
    "record_review": "Record the review", "reintegrate": "Reintegrate", "close": "Close the placement",
    "terminate": "End the placement early", "amend": "Amend details", "record_contact": "Record a contact",
    "raise_concern": "Raise a safeguarding concern", "request_review": "Record a request for a review",
    "resolve_escalation": "Resolve an escalation", "record_delivery": "Record a letter posted or handed over",
    "record_initial_assessment": "Record the initial assessment", "record_progress_report": "Record a progress report",
    "record_final_report": "Record the final report", "record_visit": "Record a progress visit",
    "record_evaluation": "Record a part of an evaluation",
    "request_evaluation": "Ask for a part of an evaluation by email",
}

# What a step does at once, said above its form where that is more than its title says.
LEDES = {
    "raise_concern": "The school's DSL is told at once (§9.7). A running placement goes under review now, and the "
                     "review cannot continue it until the DSL records the concern as addressed, by resolving its "
                     "escalation on the placement's page; before the start, the concern stops the placement "
                     "starting until then.",
    "terminate": "The placement ends today and cannot be restarted. Record where the pupil goes next: every child "
                 "stays on a school's roll (§10.1, §13.4.4).",
}


# Each state's colour, one of the GOV.UK tag's (`govuk-tag--<colour>`), each
# state its own so a chart's segments are told apart; charts draw the tag's
# colour at full strength (TAG_COLOURS, the Design System's palette).
STATE_TAGS = {
    "proposed": "blue", "vetted": "light-blue", "la_consulted": "purple", "notified": "yellow", "active": "green",
    "under_review": "orange", "reintegrating": "turquoise", "closed": "grey", "terminated": "red",
}
TAG_COLOURS = {
    "blue": "#1d70b8", "light-blue": "#5694ca", "purple": "#4c2c92", "yellow": "#ffdd00", "green": "#00703c",
    "orange": "#f47738", "turquoise": "#28a197", "grey": "#b1b4b6", "red": "#d4351c",
}


def state_tag(state: str) -> str:
    """The GOV.UK tag colour a state is shown in."""
    return STATE_TAGS.get(state, "grey")


ACRONYMS = {"la": "LA", "ehc": "EHC", "ap": "AP", "dsl": "DSL", "urn": "URN", "sen": "SEN", "eal": "EAL"}


def words(name: str) -> str:
    """A name in words: "la_consulted" → "LA consulted"."""
    if name in CHOICES:
        return CHOICES[name]
    text = name.replace("_", " ").strip()
    text = " ".join(ACRONYMS.get(w, w) for w in text.split())
    return text[:1].upper() + text[1:]


def phrase(name: str) -> str:
    """A name in words within a sentence: "la_consultation" → "LA consultation"."""
    text = words(name)
    return text if text.split(" ")[0] in ACRONYMS.values() else text[:1].lower() + text[1:]


def choice(value: str) -> str:
    """A choice as a form offers it: its words, and what it adds."""
    hint = CHOICE_HINTS.get(value)
    return f"{words(value)} ({hint})" if hint else words(value)


def label(path: str) -> str:
    """A field's label from its path ("destination.kind", "objectives.0.baseline")."""
    names = [p for p in path.split(".") if not p.isdigit()]
    if len(names) > 1 and f"{names[-2]}.{names[-1]}" in IN_CONTEXT:
        return IN_CONTEXT[f"{names[-2]}.{names[-1]}"]
    return LABELS.get(names[-1]) or words(names[-1])


def entry(name: str) -> str:
    return ENTRY.get(name) or label(name).split(" (")[0]


def action_title(name: str) -> str:
    return ACTIONS.get(name) or words(name)
