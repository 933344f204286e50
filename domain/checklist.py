"""The provider vetting checklist from the policy appendix ("General policies")."""
from __future__ import annotations

CHECKLIST: dict[str, str] = {
    "a": "Single central record of qualifications, recruitment and vetting checks",
    "b": "Insurance certificates",
    "c": "Core risk assessments",
    "d": "Admissions policy, procedures and register",
    "e": "Attendance policy, procedures and register",
    "f": "Health and safety policy",
    "g": "Educational visits and outings policy",
    "h": "Code of conduct and behaviour policy (drugs, anti-bullying)",
    "i": "Data protection policy",
    "j": "Equality information and objectives",
    "k": "Child protection policy and procedures",
    "l": "Procedures for allegations of abuse against staff",
    "m": "Relationships and sex education policy",
    "n": "Complaints procedure",
    "o": "Registration as an independent school where required",
    "p": "Ofsted report where applicable",
    "q": "Other",
}

# "Other" is open-ended; every other item must be seen, or not applicable with a reason.
REQUIRED_ITEMS: tuple[str, ...] = tuple(k for k in CHECKLIST if k != "q")
