"""The end-state checks see what they are there to see: a message or PDF cut
short in the outbox is reported, a whole one is not."""
from __future__ import annotations

from documents import DeliverySettings, OutgoingDocument, deliver
from domain.letters import RecipientRole

from .checks import half_written

PDF = b"%PDF-1.4\n" + b"% a letter's pages\n" * 400 + b"%%EOF\n"


def test_a_file_cut_short_in_the_outbox_is_reported(tmp_path):
    outbox = tmp_path / "outbox"
    message = OutgoingDocument(to="la@example.org", role=RecipientRole.la, subject="Notice", html="<p>" + "A notice. " * 300 + "</p>",
                               pdf=PDF, idempotency_key="placement-1:3:la_placement_notice:la", attachment_name="notice.pdf")
    delivered = deliver(message, DeliverySettings(outbox_dir=outbox))
    assert half_written(outbox) == []

    whole = delivered.path.read_bytes()
    for cut in (len(whole) // 3, len(whole) // 2, len(whole) - 40):
        (outbox / "cut.eml").write_bytes(whole[:cut])
        assert half_written(outbox) == ["outbox cut.eml: a message cut short"], cut
    (outbox / "cut.eml").unlink()
    (outbox / "cut.pdf").write_bytes(PDF[: len(PDF) // 2])
    assert half_written(outbox) == ["outbox cut.pdf: a PDF cut short"]
