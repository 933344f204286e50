"""The commissioning agreement over the JSON API: recorded, printed as a PDF
that is read back holding every field, its signed copy uploaded (and a file
that is not a PDF, or too large, refused), private to those who may see the
placement, and audited."""
from __future__ import annotations

import io
import pypdf
from sqlalchemy import select
from sqlalchemy.orm import Session

from store.agreements import AgreementEventRow
from tests.api import test_api as api
from documents.formatting import long_date
from domain.models import Role
from tests.api.test_api import HEAD, LEAD, OTHER_LEAD, expect, headers

READER = headers("governor-137000", Role.read_only)
DSL = headers("dsl-137000", Role.dsl)

AGREEMENT = {
    "parent_phones": {"home": "0161 496 0001", "mobile": "07700 900123", "work": "0161 496 0002"},
    "course_offer": "Level 1 construction skills and functional maths",
    "taster_date": "2026-12-08",
    "social_worker_email": "sw@council.example",
    "cla_adviser_email": "cla@council.example",
    "yot_keyworker_email": "yot@council.example",
    "gp_contact": "Dr Okafor, Mill Surgery, 01484 555 010",
    "progress_communication": "Weekly email to the AP lead every Friday",
    "post_16_planning": "Taster days at the college",
    "send_cla_health_yot": "SEN support for literacy",
    "plan_targets": "BSP target: stays in class for whole lessons",
    "eal_requirement": "None needed",
    "health_requirements": "Carries an asthma inhaler",
    "safeguarding_process": "Phone the academy DSL the same day and log it on CPOMS",
    "attendance_procedures": "Register by 9:30 and call the school office at once for an absence",
    "academy_dsl": {"name": "Dana Lowe", "phone": "01484 000100", "email": "dsl@nexus.example"},
    "transport": "Bus pass from the school",
    "lunch": "Hot lunch at the centre, FSM funds transferred termly",
    "school_referrer": {"name": "Sam Reid", "role": "AP lead"},
    "other_professional": {"name": "Kim Hale", "role": "Educational psychologist"},
    "forward_to": ["parent_carer", "local_authority", "yot_key_worker"],
}


def text_of(pdf: bytes) -> str:
    """The PDF's text, its white space made single spaces (cells wrap lines)."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def events(engine, pid: str) -> list[tuple[str, str]]:
    with Session(engine) as s:
        rows = s.scalars(select(AgreementEventRow).where(AgreementEventRow.placement_id == pid).order_by(AgreementEventRow.id))
        return [(r.event, r.actor_id) for r in rows]


async def test_the_printed_agreement_holds_the_proposal_and_every_recorded_field(http, api_stack):
    snap = await api.propose(http)
    pid, p = snap["placement"]["placement_id"], snap["placement"]

    # Before anything is recorded it prints already, with lines for the blanks.
    empty = expect(await http.get(f"/api/placements/{pid}/agreement", headers=LEAD), 200)
    assert empty["recorded"] is False and empty["signed_copies"] == []
    blank = await http.get(f"/api/placements/{pid}/agreement.pdf", headers=READER)
    assert blank.status_code == 200 and "____" in text_of(blank.content)

    saved = expect(await http.put(f"/api/placements/{pid}/agreement", headers=LEAD, json=AGREEMENT), 200)
    assert saved["recorded"] is True and saved["agreement"]["gp_contact"] == AGREEMENT["gp_contact"]

    r = await http.get(f"/api/placements/{pid}/agreement.pdf", headers=LEAD)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.headers["cache-control"] == "no-store"
    assert r.content.startswith(b"%PDF-")
    meta = pypdf.PdfReader(io.BytesIO(r.content)).metadata
    assert meta.title == "Alternative Provision Commissioning Agreement"
    text = text_of(r.content)

    parent, emergency = p["parent_contacts"][0], p["emergency_contacts"][0]
    from_the_proposal = [
        p["pupil"]["name"], parent["name"], parent["email"], emergency["name"], emergency["phone"],
        emergency["relationship"], long_date(p["start_date"]), p["provider"]["name"],
        p["provider"]["dsl"]["name"], p["provider"]["dsl"]["email"],
        *(o["description"] for o in p["objectives"]),
    ]
    recorded = [
        "0161 496 0001", "07700 900123", "0161 496 0002", AGREEMENT["course_offer"], "8 December 2026",
        "sw@council.example", "cla@council.example", "yot@council.example", AGREEMENT["gp_contact"],
        AGREEMENT["progress_communication"], AGREEMENT["send_cla_health_yot"], AGREEMENT["plan_targets"],
        AGREEMENT["eal_requirement"], AGREEMENT["health_requirements"], AGREEMENT["safeguarding_process"],
        AGREEMENT["attendance_procedures"], "Dana Lowe", "dsl@nexus.example", AGREEMENT["transport"],
        AGREEMENT["lunch"], "Sam Reid", "Kim Hale (Educational psychologist)",
    ]
    the_form = [
        "Name of Parent/Carer", "Email of parent/carers", "Telephone: Home", "Telephone: Mobile", "Telephone: Work",
        "Address", "Emergency Contact 1", "Emergency Contact 2", "Course/provision offer",
        "Agreed taster date (if applicable)", "Agreed start date", "Time of arrival", "Time of departure",
        "If relevant, social worker email", "If relevant, CLA Adviser email", "If relevant, YOT keyworker email",
        "GP contact details", "The 3 key objectives of this placement", "How will the AP setting communicate progress?",
        "post-16/18 planning", "SEND/CLA/Health/YOT information", "EHCP/PEP/ILP/BSP targets",
        "English as an additional language requirement", "Health Requirements",
        "Agreed process for the recording and informing of a safeguarding concern",
        "Procedures for recording attendance and non-attendance", "AP DSL contact details",
        "Academy DSL contact details", "Transport arrangements", "Lunch arrangements (including FSM funds transfer",
        "Signatures", "Parent/carer", "Pupil", "School referrer", "AP contact/lead", "Other professional (name/role)",
        "A completed copy of this form will be forwarded to", "Local Authority", "YOT Key worker",
    ]
    for item in from_the_proposal + recorded + the_form:
        assert item in text, item
    assert text.count("Date") >= 5  # a date line for each signature
    assert "9am" in text and "3pm" in text  # the pattern's times
    # Year 9: not in KS4, so the post-16 answer is given though not asked.
    assert "Taster days at the college" in text
    # Dated the day it is made.
    assert f"Made on {long_date(api.today())}" in text
    assert "NHS professional" not in text  # not chosen

    assert events(api_stack.engine, pid) == [("agreement_printed", "governor-137000"), ("agreement_saved", "aplead-137000"),
                                             ("agreement_printed", "aplead-137000")]


async def test_the_signed_copy_is_kept_and_anything_else_refused(http, api_stack):
    pid = (await api.propose(http))["placement"]["placement_id"]
    url = f"/api/placements/{pid}/agreement/documents"
    pdf_type = {"Content-Type": "application/pdf"}

    not_pdf = await http.post(url, headers={**LEAD, **pdf_type}, content=b"GIF89a not a pdf at all")
    assert not_pdf.status_code == 422 and "must be a PDF" in not_pdf.text
    cut_short = await http.post(url, headers={**LEAD, **pdf_type}, content=b"%PDF-1.7\n1 0 obj\n")  # no end of file
    assert cut_short.status_code == 422
    wrong_type = await http.post(url, headers={**LEAD, "Content-Type": "image/png"}, content=b"%PDF-1.4\n%%EOF\n")
    assert wrong_type.status_code == 415 and "application/pdf" in wrong_type.text
    limit = 5_000_000  # APFLOW_MAX_UPLOAD_BYTES's default
    huge = b"%PDF-1.4\n" + b"0" * limit + b"\n%%EOF\n"
    too_big = await http.post(url, headers={**LEAD, **pdf_type}, content=huge)
    assert too_big.status_code == 413 and "larger than" in too_big.text
    assert expect(await http.get(f"/api/placements/{pid}/agreement", headers=LEAD), 200)["signed_copies"] == []

    signed = (await http.get(f"/api/placements/{pid}/agreement.pdf", headers=LEAD)).content  # as if printed, signed and scanned
    # Who may not keep it: another school's staff do not even find the placement, a DSL and a reader are refused.
    assert (await http.post(url, headers={**OTHER_LEAD, **pdf_type}, content=signed)).status_code == 404
    assert (await http.post(url, headers={**DSL, **pdf_type}, content=signed)).status_code == 403
    assert (await http.post(url, headers={**READER, **pdf_type}, content=signed)).status_code == 403

    kept = expect(await http.post(url, headers={**HEAD, **pdf_type}, content=signed), 201)
    assert kept["uploaded_by"] == "head-137000" and kept["size"] == len(signed)
    listed = expect(await http.get(f"/api/placements/{pid}/agreement", headers=READER), 200)["signed_copies"]
    assert [c["document_id"] for c in listed] == [kept["document_id"]]
    back = await http.get(f"/api/placements/{pid}/documents/{kept['document_id']}.pdf", headers=LEAD)
    assert back.status_code == 200 and back.content == signed
    assert (await http.get(f"/api/placements/{pid}/documents/{kept['document_id']}.pdf", headers=OTHER_LEAD)).status_code == 404
    assert ("signed_agreement_uploaded", "head-137000") in events(api_stack.engine, pid)


async def test_what_is_recorded_is_checked_at_the_edge_and_kept_private(http):
    pid = (await api.propose(http))["placement"]["placement_id"]
    url = f"/api/placements/{pid}/agreement"
    for bad in ({"social_worker_email": "not an address"}, {"parent_phones": {"home": "call me"}},
                {"taster_date": 20261208}, {"forward_to": ["the press"]}, {"course_offer": "x" * 4001},
                {"unknown_field": "y"}, {"academy_dsl": {"phone": "0161"}}):
        r = await http.put(url, headers=LEAD, json=bad)
        assert r.status_code == 422, (bad, r.text)
    assert (await http.put(url, headers=READER, json={"transport": "Taxi"})).status_code == 403
    assert (await http.put(url, headers=DSL, json={"transport": "Taxi"})).status_code == 403
    for path in (url, url + ".pdf"):
        assert (await http.get(path, headers=OTHER_LEAD)).status_code == 404
        assert (await http.get(path)).status_code == 401
    assert (await http.get("/api/placements/placement-nope/agreement.pdf", headers=LEAD)).status_code == 404
