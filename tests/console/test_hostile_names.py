"""A pupil's name written as markup and as a mail header, through the whole
service: it is shown as text on every page that names the pupil, in the
letter as kept and as its PDF, and in the email as sent; it starts no
header and no element anywhere."""
from __future__ import annotations

import io
from email import message_from_bytes, policy

from pypdf import PdfReader

from apflow import samples
from apflow.calendars import load_calendar
from documents.delivery import safe_name
from store import documents as sent
from tests.api import test_api as api

from .conftest import LEAD, SCHOOL
from .helpers import consulted, today, until

MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'
HEADER = "\r\nBcc: attacker@evil.example\r\nSubject: changed"
NAME = f"Ash {MARKUP}{HEADER} Lee"


async def test_a_name_of_markup_and_headers_stays_text_in_pages_letters_and_email(console, http):
    cal = load_calendar(SCHOOL, console.settings.calendars_dir)
    pid = await consulted(http, cal.add_school_days(today(), 8), NAME)
    await api.act(http, pid, "notify", samples.notify(), api.HEAD)
    await until(lambda: any(d.status == "sent" and d.recipient_role == "parent" for d in sent.for_placement(console.engine, pid)))

    for path in (f"/placements/{pid}", "/placements", "/register", "/"):
        html = (await http.get(path, headers=LEAD.headers)).text
        assert "<script>alert" not in html and "<img src=x" not in html, path
    page = (await http.get(f"/placements/{pid}", headers=LEAD.headers)).text
    assert "&lt;script&gt;alert(" in page  # shown, as text

    (letter,) = [d for d in sent.for_placement(console.engine, pid) if d.status == "sent" and d.recipient_role == "parent"]
    kept = sent.get(console.engine, pid, letter.document_id)
    assert "<script>alert" not in kept.html and "&lt;script&gt;" in kept.html
    pdf = (await http.get(f"/api/placements/{pid}/documents/{letter.document_id}.pdf", headers=LEAD.headers)).content
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "<script>" in text.replace("\n", "")  # the name as written, printed as text

    eml = console.settings.var_dir / "outbox" / f"{safe_name(kept.idempotency_key)}.eml"
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["Bcc"] is None and "attacker" not in str(message["To"])
    assert message["Subject"] == letter.subject and "changed" not in message["Subject"]
    body = message.get_body(("html",)).get_content()
    assert "<script>alert" not in body and "<img src=x" not in body
