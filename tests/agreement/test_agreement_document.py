"""The agreement's PDF from the document layer alone: what a placement
lacks is a line to complete by hand, a KS4 pupil is asked about post-16
planning, names in any alphabet print, and the same agreement made on the
same day at the same moment is the same file."""
from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pypdf

from apflow import samples
from documents.agreement import render
from domain.agreement import CommissioningAgreement
from domain.directory import SchoolContacts, StaffMember
from domain.models import Placement

MADE = datetime(2026, 12, 2, 14, 30, tzinfo=UTC)


def placement(**changes) -> Placement:
    p = samples.proposal(date(2026, 12, 14))
    return Placement(placement_id="placement-00000000-0000-4000-8000-000000000001", **p.model_dump() | changes)


def text(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages).split())


def test_what_is_not_recorded_is_a_line_to_fill_in_and_ks4_is_asked_about_post_16():
    base = samples.proposal(date(2026, 12, 14))
    p = placement(pupil=base.pupil.model_copy(update={"name": "Zoë Łukasiewicz", "year_group": 10}).model_dump(),
                  emergency_contacts=[], objectives=[o.model_dump() for o in base.objectives[:1]])
    doc = render(p, None, MADE)
    t = text(doc.pdf)
    assert "Zoë Łukasiewicz" in t
    assert "Not applicable: the pupil is not in KS4" not in t  # year 10: the question stands, a line to answer it
    assert "Emergency Contact 1 ____" in t and "Emergency Contact 2 ____" in t
    assert "2. ____" in t and "3. ____" in t  # one objective recorded of three
    # With no choice made the whole list of the form is printed.
    for who in ("Parent/carer", "School contact", "AP contact", "LA Adviser", "YOT Key worker", "NHS professional",
                "Local Authority", "Other relevant professional"):
        assert who in t, who
    assert "2 December 2026" in t
    assert render(p, None, MADE).pdf == doc.pdf  # made again at the same moment: the same bytes, the same hash


def test_the_directory_fills_the_letterhead_and_the_schools_signatories_the_agreement_leaves_open():
    contacts = SchoolContacts(address="Valley Road, Huddersfield", phone="01484 000 100",
                              dsl=StaffMember(name="Dana Lowe", email="dsl@nexus.example"),
                              ap_lead=StaffMember(name="Sam Reid", email="aplead@nexus.example"))
    t = text(render(placement(), CommissioningAgreement(), MADE, contacts=contacts).pdf)
    assert "Valley Road" in t and "01484 000 100" in t
    assert "Dana Lowe, dsl@nexus.example" in t
    assert "School referrer Sam Reid" in t
    chosen = CommissioningAgreement(academy_dsl={"name": "Alex Kerr", "phone": "01484 000 200"})
    t = text(render(placement(), chosen, MADE, contacts=contacts).pdf)
    assert "Alex Kerr, 01484 000 200" in t and "Dana Lowe" not in t
