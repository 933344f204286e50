from __future__ import annotations

import hashlib
import io
import json
import re
from datetime import date, datetime, time

import pytest
from jinja2 import UndefinedError
from pydantic import BaseModel
from pypdf import PdfReader

from documents import KINDS, DocumentIncomplete, MissingItem, Renderer, UnknownDocumentKind, missing_items, render
from documents import formatting as fmt
from documents.kinds import resolve


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def shown(path: str, value) -> list[str]:
    """How a required value reads in the document."""
    if isinstance(value, bool):
        return []  # shown as words ("Full time"); checked separately
    if path == "pattern.days":
        return [fmt.WEEKDAYS[d] for d in value]
    if path == "destination.kind":
        return [fmt.DESTINATIONS[value]]
    if path.endswith(".address"):
        return fmt.lines(value)
    if isinstance(value, datetime):
        return [fmt.date_time(value)]
    if isinstance(value, date):
        return [fmt.long_date(value)]
    if isinstance(value, time):
        return [fmt.clock(value)]
    return [str(value)]


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_renders_with_its_required_items_in_the_pdf(kind, sample):
    ctx = sample(kind)
    doc = render(kind, ctx)

    assert doc.pdf.startswith(b"%PDF-")
    assert doc.sha256 == hashlib.sha256(doc.pdf).hexdigest()
    assert doc.subject and "\n" not in doc.subject
    assert doc.html.startswith("<!DOCTYPE html>")
    reader = PdfReader(io.BytesIO(doc.pdf))
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert (round(width), round(height)) == (595, 842)  # A4 in points

    text = pdf_text(doc.pdf)
    for req in KINDS[kind].required:
        if req.when is not None and not req.when(ctx):
            continue
        if req.path == "link.url":
            continue  # in the email only: test_a_providers_link_is_in_the_email_and_never_in_the_kept_copy
        for value in resolve(ctx, req.path):
            for expected in shown(req.path, value):
                assert expected in text, f"{req.item} ({req.clause}) not in the {kind} PDF"
                assert expected.replace("'", "&#39;") in doc.html


LINKED_KINDS = [k for k, spec in KINDS.items() if any(r.path == "link.url" for r in spec.required)]


@pytest.mark.parametrize("kind", LINKED_KINDS)
def test_a_providers_link_is_in_the_email_and_never_in_the_kept_copy(kind, sample):
    """The link's URL carries a live token: the copy that is kept (and
    attached) names the link by id and expiry, the email body holds the URL."""
    ctx = sample(kind)
    ctx["link"]["link_id"] = "lnk-0123456789abcdef01234567"
    renderer = Renderer()
    doc = renderer.render(kind, ctx)
    body = renderer.message_html(kind, ctx)

    url = ctx["link"]["url"]
    assert f'href="{url}"' in body and "lnk-0123456789abcdef01234567" in body
    text = pdf_text(doc.pdf)
    for kept in (doc.html, text, doc.pdf.decode("latin-1")):
        assert "abc.def" not in kept
    for kept in (doc.html, text):
        assert "sent in the email with this letter (link lnk-0123456789abcdef01234567)" in kept
        assert fmt.date_time(ctx["link"]["expires_at"]) in kept
    assert renderer.render(kind, ctx).sha256 == doc.sha256  # the kept copy still renders the same every time


@pytest.mark.parametrize(
    "kind,required",
    [(k, r) for k, spec in KINDS.items() for r in spec.required if r.when is None],
    ids=lambda v: v if isinstance(v, str) else v.path,
)
def test_each_required_item_missing_is_refused_by_name_and_clause(kind, required, sample):
    ctx = sample(kind)
    *parents, leaf = required.path.replace(".*", ".0").split(".")
    node = ctx
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    del node[leaf]

    expected = MissingItem(required.item, required.clause, required.path)
    assert expected in missing_items(kind, ctx)
    with pytest.raises(DocumentIncomplete) as refused:
        render(kind, ctx)
    assert required.item in str(refused.value) and required.clause in str(refused.value)
    assert expected in refused.value.missing


def test_notice_without_person_to_report_to_names_6_6_2(sample):
    ctx = sample("offsite_direction_notice")
    ctx["report_to"] = {"name": "  "}
    assert missing_items("offsite_direction_notice", ctx) == [
        MissingItem("person to report to on the first day", "§6.6.2", "report_to.name")
    ]
    with pytest.raises(DocumentIncomplete, match=r"person to report to on the first day \(§6\.6\.2\)"):
        render("offsite_direction_notice", ctx)


def test_empty_site_list_is_a_missing_address(sample):
    ctx = sample("offsite_direction_notice")
    ctx["provider"]["sites"] = []
    clauses = {m.clause for m in missing_items("offsite_direction_notice", ctx)}
    assert clauses == {"§6.6.1"}


def test_notice_for_a_pupil_with_an_ehc_plan_needs_and_names_the_la(sample):
    ctx = sample("offsite_direction_notice")
    ctx["pupil"]["ehc_plan"] = True
    assert missing_items("offsite_direction_notice", ctx) == [
        MissingItem("local authority sent a copy (EHC plan)", "§6.5", "la.name")
    ]
    ctx["la"] = {"name": "Tameside Council"}
    text = pdf_text(render("offsite_direction_notice", ctx).pdf)
    assert "Copy to: Tameside Council" in text
    assert "Headteacher" in text


def test_notice_after_the_start_date_is_refused(sample):
    ctx = sample("offsite_direction_notice")
    ctx["issued_on"] = ctx["start_date"]
    assert [m.clause for m in missing_items("offsite_direction_notice", ctx)] == ["§6.5"]


@pytest.mark.parametrize("kind,field,value", [
    ("review_invitation", "review_meeting.meeting_on", 3),  # days after the letter
    ("provider_initial_assessment_request", "due_by", 10),
])
def test_timing_rules_are_the_policys_not_the_templates(sample, kind, field, value):
    """§6.8's six days and §12.1.3's week are PolicySettings numbers the
    domain judges; a document holds no policy number of its own."""
    ctx = sample(kind)
    outer, _, inner = field.rpartition(".")
    target = ctx[outer] if outer else ctx
    target[inner or field] = date.fromordinal(ctx["issued_on"].toordinal() + value)
    assert missing_items(kind, ctx) == []


def test_provider_link_must_outlive_the_due_date(sample):
    ctx = sample("provider_progress_report_request")
    ctx["link"]["expires_at"] = datetime(2026, 3, 19, 12, 0)
    assert [m.path for m in missing_items("provider_progress_report_request", ctx)] == ["link.expires_at"]


def test_a_progress_reports_period_of_one_day_is_named_once(sample):
    ctx = sample("provider_progress_report_request")
    assert "progress report for 2 March 2026 to 13 March 2026 by" in render("provider_progress_report_request", ctx).html
    ctx["period_start"] = ctx["period_end"]
    html = render("provider_progress_report_request", ctx).html
    assert "progress report for 13 March 2026 by" in html and "to 13 March" not in html


def test_escalation_carries_no_pupil_data_even_when_given_some(sample):
    ctx = sample("staff_escalation")
    ctx["pupil"] = {"name": "Zoë Łukasiewicz", "date_of_birth": date(2011, 5, 17)}
    ctx["parent_contacts"] = [{"name": "Anna Łukasiewicz", "phone": "07700 900000"}]
    ctx["school"] = {"name": "Northgate Academy"}
    doc = render("staff_escalation", ctx)
    everything = doc.subject + doc.html + pdf_text(doc.pdf)
    for secret in ("Łukasiewicz", "2011", "07700", "17 May"):
        assert secret not in everything
    assert "AP-2026-0042" in doc.subject and "§12.1.3" in everything and "AP lead" in everything


def test_an_escalation_says_what_is_late_with_its_days_in_words(sample):
    # The workflow writes the day it missed as data ("(due 2026-12-02)").
    ctx = sample("staff_escalation")
    ctx["escalation"]["what"] = "the last day to give parents written notice (due 2026-12-02)"
    text = pdf_text(render("staff_escalation", ctx).pdf)
    assert "The last day to give parents written notice (due 2 December 2026)" in text and "2026-12-02" not in text


@pytest.mark.parametrize("kind", list(KINDS))
def test_subject_lines_name_no_pupil(kind, sample):
    # Subjects show in notification previews and mail logs.
    assert "Łukasiewicz" not in render(kind, sample(kind)).subject


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_placement_is_named_by_its_id_alone(kind, sample):
    # Its id says "placement-" already: "placement placement-…" reads as a slip.
    ctx = {**sample(kind), "placement_id": "placement-1efcf2ee-70e6-5d80-ba50-548799560ba4"}
    doc = render(kind, ctx)
    for text in (doc.subject, doc.html, pdf_text(doc.pdf)):
        assert "placement placement-" not in text.lower()


def test_rendering_is_deterministic(sample):
    a = render("offsite_direction_notice", sample("offsite_direction_notice"))
    b = render("offsite_direction_notice", sample("offsite_direction_notice"))
    assert a.sha256 == b.sha256 and a.html == b.html


def test_names_outside_latin_1_survive_into_the_pdf(sample):
    text = pdf_text(render("offsite_direction_notice", sample("offsite_direction_notice")).pdf)
    assert "Zoë Łukasiewicz" in text


def test_values_are_escaped_in_html(sample):
    ctx = sample("review_invitation")
    ctx["review_meeting"]["place"] = "<script>alert(1)</script> Room 2"
    doc = render("review_invitation", ctx)
    assert "<script>alert" not in doc.html
    assert "Room 2" in pdf_text(doc.pdf)


def test_json_round_tripped_context_renders_the_same_text(sample):
    # Temporal payloads arrive as JSON: dates and times become ISO strings.
    ctx = sample("offsite_direction_notice")
    again = json.loads(json.dumps(ctx, default=lambda v: v.isoformat()))
    assert pdf_text(render("offsite_direction_notice", again).pdf) == pdf_text(
        render("offsite_direction_notice", ctx).pdf
    )


def test_pydantic_models_are_accepted_as_context(sample):
    class Report(BaseModel):
        received_on: date
        summary: str
        attendance_percent: float | None = None

    ctx = sample("destination_record")
    ctx["final_report"] = Report(received_on=date(2026, 4, 8), summary="Passed Level 1 maths.")
    text = pdf_text(render("destination_record", ctx).pdf)
    assert "Passed Level 1 maths." in text


def test_unknown_kind_is_refused():
    with pytest.raises(UnknownDocumentKind):
        render("letter_to_santa", {})


def test_trust_can_override_a_template_and_strict_undefined_catches_typos(tmp_path, sample):
    (tmp_path / "review_invitation.html.j2").write_text(
        '{% extends "_layout.html.j2" %}{% block subject %}Review{% endblock %}'
        "{% block title %}Our own wording{% endblock %}"
        "{% block content %}<p>{{ review_meeting.meeting_on|long_date }}</p>{% endblock %}"
    )
    doc = Renderer(tmp_path).render("review_invitation", sample("review_invitation"))
    assert "Our own wording" in pdf_text(doc.pdf) and doc.subject == "Review"

    (tmp_path / "review_invitation.html.j2").write_text(
        '{% extends "_layout.html.j2" %}{% block subject %}x{% endblock %}'
        "{% block content %}{{ review_meeting.meeting_date }}{% endblock %}"
    )
    with pytest.raises(UndefinedError):
        Renderer(tmp_path).render("review_invitation", sample("review_invitation"))


def test_long_documents_break_across_a4_pages(sample):
    ctx = sample("offsite_direction_notice")
    ctx["reasons"] = " ".join(["Repeated disruption in lessons despite support."] * 120)
    doc = render("offsite_direction_notice", ctx)
    pages = PdfReader(io.BytesIO(doc.pdf)).pages
    assert len(pages) >= 3
    assert re.search(r"Page 1 of \d", pages[0].extract_text())


def test_letters_rendered_at_once_in_threads_are_the_letters_rendered_alone(sample, all_kinds):
    """The fonts are parsed once a process and shared by the activities'
    threads: a letter is the same bytes however many render beside it."""
    from concurrent.futures import ThreadPoolExecutor

    alone = {kind: render(kind, sample(kind)).sha256 for kind in all_kinds}
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda kind: (kind, render(kind, sample(kind)).sha256), all_kinds * 3))
    assert all(sha == alone[kind] for kind, sha in together)


def test_a_letter_is_the_same_bytes_as_with_its_fonts_parsed_for_it(sample):
    """What is embedded is what fpdf2's own `add_font` makes of the files."""
    from fpdf import FPDF

    from documents import pdf as pdf_module

    doc = render("offsite_direction_notice", sample("offsite_direction_notice"))
    fresh = pdf_module._Fonts(pdf_module.FONT_DIR)
    real = pdf_module.FONTS
    pdf_module.FONTS = fresh
    try:
        parsed_again = render("offsite_direction_notice", sample("offsite_direction_notice"))
    finally:
        pdf_module.FONTS = real
    assert parsed_again.pdf == doc.pdf

    def add_fonts_as_fpdf_does(pdf: FPDF) -> None:
        for style, suffix in pdf_module.STYLES:
            pdf.add_font(pdf_module.FAMILY, style, str(pdf_module.FONT_DIR / f"LiberationSans-{suffix}.ttf"))

    original = pdf_module._Fonts.add_to
    pdf_module._Fonts.add_to = lambda self, pdf: add_fonts_as_fpdf_does(pdf)
    try:
        by_fpdf = render("offsite_direction_notice", sample("offsite_direction_notice"))
    finally:
        pdf_module._Fonts.add_to = original
    assert by_fpdf.pdf == doc.pdf
