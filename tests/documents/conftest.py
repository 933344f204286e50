"""Complete contexts for every document kind, shaped like `domain.models`."""
from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date, datetime, time, timezone
from typing import Any

import pytest

SCHOOL = {
    "school_id": "140001",
    "name": "Northgate Academy",
    "local_authority": "Tameside",
    "address": "1 School Lane\nAshton\nTameside",
    "phone": "0161 000 0000",
    "email": "office@northgate.example",
}
PUPIL = {
    "pupil_id": "P-0042",
    "name": "Zoë Łukasiewicz",
    "date_of_birth": date(2011, 5, 17),
    "year_group": 9,
    "ehc_plan": False,
    "looked_after": False,
}
PROVIDER = {
    "name": "Bridgeway Learning Centre",
    "provider_type": "independent_school",
    "urn": "149999",
    "ukprn": None,
    "sites": [{"name": "Bridgeway Learning Centre", "address": "22 Mill Street, Hyde", "postcode": "SK14 1AA"}],
    "named_contact": {"name": "Priya Shah", "role": "Centre manager", "phone": "0161 111 1111", "email": None},
    "email": "referrals@bridgeway.example",
}
OBJECTIVES = [
    {"description": "Attend at least 90% of sessions", "baseline": "62% last half-term", "target": "90%"},
    {"description": "Complete the L1 Functional Skills maths unit", "baseline": "Entry 3", "target": "Level 1"},
    {"description": "No more than one behaviour incident a week", "baseline": "Four a week", "target": None},
]
LINK = {"url": "https://apflow.example/p/abc.def", "expires_at": datetime(2026, 3, 31, 17, 0, tzinfo=timezone.utc)}
SIGNED = {"name": "Helen Carter", "role": "Headteacher"}


def _contexts() -> dict[str, dict[str, Any]]:
    letter = {"placement_id": "AP-2026-0042", "issued_on": date(2026, 2, 20), "school": SCHOOL, "signed_by": SIGNED}
    return {
        "offsite_direction_notice": letter
        | {
            "pupil": PUPIL,
            "parent_contacts": [
                {"name": "Anna Łukasiewicz", "relationship": "mother", "phone": "07700 900000"},
                {"name": "Tom Reed", "relationship": "stepfather", "phone": "07700 900001"},
            ],
            "provider": PROVIDER,
            "report_to": {"name": "Priya Shah", "role": "Centre manager", "phone": "0161 111 1111"},
            "start_date": date(2026, 3, 2),
            "number_of_days": 30,
            "planned_end_date": date(2026, 4, 10),
            "pattern": {
                "full_time": False,
                "days": ["mon", "tue", "thu"],
                "arrival": time(9, 0),
                "departure": time(14, 30),
            },
            "reasons": "Repeated disruption in lessons despite a pastoral support plan and mentoring.",
            "objectives": OBJECTIVES,
        },
        "review_invitation": letter
        | {
            "pupil": PUPIL,
            "parent_contacts": [{"name": "Anna Łukasiewicz"}],
            "review_meeting": {
                "meeting_on": date(2026, 3, 2),
                "time": time(15, 30),
                "place": "Meeting room 2, Northgate Academy",
                "written_views_to": "ap-lead@northgate.example",
            },
        },
        "la_placement_notice": letter
        | {
            "la": {"name": "Tameside Council", "contact": "Children Missing Education team"},
            "pupil": PUPIL,
            "provider": PROVIDER,
            "kind": "off_site_direction",
            "start_date": date(2026, 3, 2),
            "planned_end_date": date(2026, 4, 10),
            # As after a JSON round trip: times as ISO strings.
            "pattern": {"full_time": True, "days": ["mon", "tue", "wed", "thu", "fri"], "arrival": "09:00", "departure": "15:00"},
            "reasons": "Behaviour: off-site direction after interventions in school.",
        },
        "la_ehcp_consultation": letter
        | {
            "la": {"name": "Tameside Council SEND team", "contact": "Case officer R. Patel"},
            "pupil": PUPIL | {"ehc_plan": True},
            "provider": PROVIDER,
            "start_date": date(2026, 3, 16),
            "pattern": {"full_time": False, "days": ["wed", "thu"], "arrival": time(9, 30), "departure": time(15, 0)},
            "reasons": "Needs set out in section F are not being met in the mainstream timetable.",
            "objectives": OBJECTIVES,
            "reply_by": date(2026, 3, 6),
        },
        "provider_initial_assessment_request": letter
        | {
            "provider": PROVIDER,
            "pupil": PUPIL,
            "referred_on": date(2026, 2, 20),
            "due_by": date(2026, 2, 27),
            "link": LINK,
            "signed_by": {"name": "Sam Okafor", "role": "AP lead"},
        },
        "provider_progress_report_request": letter
        | {
            "provider": PROVIDER,
            "pupil": PUPIL,
            "objectives": OBJECTIVES,
            "due_by": date(2026, 3, 20),
            "period_start": date(2026, 3, 2),
            "period_end": date(2026, 3, 13),
            "link": LINK,
            "signed_by": {"name": "Sam Okafor", "role": "AP lead"},
        },
        "evaluation_request": letter
        | {
            "provider": PROVIDER,
            "pupil": PUPIL,
            "parent_contacts": [{"name": "Chris Example", "relationship": "Parent", "email": "parent@family.example"}],
            "stage": "mid",
            "part": "parent",
            "due_by": date(2026, 3, 20),
            "link": LINK,
            "signed_by": {"name": "Sam Okafor", "role": "AP lead"},
        },
        "provider_final_report_request": letter
        | {
            "provider": PROVIDER,
            "pupil": PUPIL,
            "objectives": OBJECTIVES,
            "due_by": date(2026, 3, 27),
            "planned_end_date": date(2026, 4, 10),
            "link": LINK,
            "signed_by": {"name": "Sam Okafor", "role": "AP lead"},
        },
        "provider_attendance_chase": letter
        | {
            "provider": PROVIDER,
            "pupil": PUPIL,
            "session_day": date(2026, 2, 20),
            "session_name": "afternoon",
            "due_by": date(2026, 2, 20),
            "link": LINK,
            "signed_by": {"name": "Sam Okafor", "role": "AP lead"},
        },
        "staff_escalation": {
            "placement_id": "AP-2026-0042",
            "issued_on": date(2026, 2, 28),
            "escalation": {
                "what": "The provider's initial assessment has not arrived.",
                "clause": "§12.1.3",
                "who_should_act": "AP lead",
                "due": date(2026, 2, 27),
                "raised_at": datetime(2026, 2, 28, 8, 0, tzinfo=timezone.utc),
            },
            "console_url": "https://apflow.example/placements/AP-2026-0042",
        },
        "destination_record": letter
        | {
            "pupil": PUPIL,
            "provider": PROVIDER,
            "start_date": date(2026, 3, 2),
            "ended_on": date(2026, 4, 10),
            "destination": {"kind": "home_school", "name": "Northgate Academy", "from_date": date(2026, 4, 20)},
            "final_report": {
                "received_on": date(2026, 4, 8),
                "summary": "Attendance rose to 91%; Level 1 maths unit passed; incidents fell to one a fortnight.",
                "attendance_percent": 91.0,
            },
            "pupil_view": "It helped me calm down and I passed maths.",
            "evaluation_total": 98,
            "recorded_by": {"name": "Sam Okafor", "role": "AP lead"},
        },
    }


@pytest.fixture
def sample() -> Callable[[str], dict[str, Any]]:
    """A fresh, complete context for a kind (deep-copied: tests may mutate it)."""
    contexts = _contexts()
    return lambda kind: copy.deepcopy(contexts[kind])


@pytest.fixture(scope="session")
def all_kinds() -> list[str]:
    return list(_contexts())
