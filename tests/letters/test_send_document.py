"""The send activity on its own: what it does with each state the register
can be in when an attempt starts."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy

import pytest

from activities.documents import DocumentActivities, link_id_for
from apflow.settings import Settings
from messages import LetterRequest, LinkRequest
from documents import DeliverySettings, LinkPurpose, RecipientRole, verify_link
from documents.formatting import long_date
from domain.clock import uk_date
from store import documents as sent

from .conftest import BASE_URL, SECRET, free_port, mail_settings

CONTEXT = {
    "placement_id": "placement-1",
    "issued_on": "2026-10-01",
    "escalation": {"what": "no attendance mark", "clause": "§10.3", "who_should_act": "AP lead", "due": "2026-10-01"},
}
KEY = "placement-1:attendance_missing:2026-10-01:am:staff_escalation:ap_lead"


def request(key: str = KEY, **changes) -> LetterRequest:
    base = dict(idempotency_key=key, placement_id="placement-1", event="attendance_missing:2026-10-01:am",
                kind="staff_escalation", role=RecipientRole.ap_lead, to="aplead@school.example", context=CONTEXT)
    return LetterRequest(**(base | changes))


def claim_only(engine, key: str) -> None:
    """What an attempt that died between claiming and sending leaves behind."""
    sent.claim(engine, sent.NewDocument(
        idempotency_key=key, placement_id="placement-1", event="e", kind="staff_escalation", recipient_role="ap_lead",
        recipient="aplead@school.example", subject="s", html="<p>h</p>", pdf=b"%PDF", sha256="0" * 64,
        delivery_mode="smtp", link_id=None, created_at=datetime.now(UTC),
    ))


def test_a_second_send_of_the_same_key_sends_nothing(engine, smtp):
    inbox, port = smtp
    activities = DocumentActivities(engine, mail_settings(port), [SECRET], BASE_URL)
    first = activities.send_document(request())
    again = activities.send_document(request())
    assert (first.status, again.status) == ("sent", "already_sent")
    assert first.document_id == again.document_id and first.sha256 == again.sha256
    assert len(inbox.mails) == 1
    (row,) = sent.for_placement(engine, "placement-1")
    assert row.status == "sent" and row.sha256 == first.sha256 and row.message_id == inbox.mails[0].message_id


def test_over_smtp_an_attempt_that_died_mid_send_is_not_repeated(engine, smtp):
    inbox, port = smtp
    claim_only(engine, KEY)
    result = DocumentActivities(engine, mail_settings(port), [SECRET], BASE_URL).send_document(request())
    assert result.status == "unconfirmed" and inbox.mails == []
    assert sent.by_key(engine, KEY).status == "unconfirmed"


def test_in_the_outbox_an_attempt_that_died_mid_send_is_finished(engine, tmp_path):
    claim_only(engine, KEY)
    activities = DocumentActivities(engine, DeliverySettings(outbox_dir=tmp_path), [SECRET], BASE_URL)
    assert activities.send_document(request()).status == "sent"
    assert activities.send_document(request()).status == "already_sent"
    assert len(list(tmp_path.glob("*.eml"))) == 1
    assert sent.by_key(engine, KEY).status == "sent"


def test_a_refused_delivery_is_tried_again_on_retry(engine, smtp):
    inbox, port = smtp
    with pytest.raises(OSError):
        DocumentActivities(engine, mail_settings(free_port()), [SECRET], BASE_URL).send_document(request())
    assert sent.by_key(engine, KEY).status == "failed"
    assert DocumentActivities(engine, mail_settings(port), [SECRET], BASE_URL).send_document(request()).status == "sent"
    assert len(inbox.mails) == 1 and sent.by_key(engine, KEY).status == "sent"


def test_a_request_carries_a_link_that_verifies_and_is_recorded_first(engine, tmp_path):
    expires = datetime(2026, 10, 29, 23, 59, tzinfo=UTC)
    key = "placement-1:4:provider_initial_assessment_request:provider"
    context = {
        "placement_id": "placement-1", "issued_on": "2026-10-01", "school": {"name": "Nexus Valley Academy"},
        "signed_by": {"name": "Sam Okafor", "role": "Alternative provision lead"},
        "provider": {"name": "Bridgeway Learning Centre"}, "pupil": {"name": "Alex Example"},
        "referred_on": "2026-10-01", "due_by": "2026-10-08", "link": {"url": "https://link.invalid/x", "expires_at": expires.isoformat()},
    }
    activities = DocumentActivities(engine, DeliverySettings(outbox_dir=tmp_path), [SECRET], BASE_URL)
    activities.send_document(request(key, kind="provider_initial_assessment_request", role=RecipientRole.provider,
                                     to="office@provider.example", context=context,
                                     link=LinkRequest(purpose=LinkPurpose.initial_assessment, expires_at=expires)))
    row = sent.by_key(engine, key)
    assert row.link_id == link_id_for(key)
    link = sent.get_link(engine, row.link_id)
    assert (link.placement_id, link.purpose, link.issued_by) == ("placement-1", "initial_assessment", row.document_id)
    # The link is in the message as it left, not in the register's copy.
    (eml,) = tmp_path.glob("*.eml")
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    body = message.get_body(("html",)).get_content()
    token = body.split(f"{BASE_URL}/provider/", 1)[1].split('"', 1)[0]
    claims = verify_link([SECRET], token, expires - timedelta(days=1), purpose="initial_assessment")
    assert (claims.placement_id, claims.link_id) == ("placement-1", row.link_id)
    assert token not in row.html and f"{BASE_URL}/provider/" not in row.html and row.link_id in row.html
    (attachment,) = message.iter_attachments()
    assert attachment.get_payload(decode=True) == row.pdf  # the PDF sent is the one whose hash is recorded
    assert "https://link.invalid" not in row.html + body
    assert date(2026, 10, 8).strftime("%B") in row.html


def test_a_retry_of_an_attempt_that_stopped_mid_send_sends_what_the_register_holds(engine, tmp_path):
    """The first attempt claimed the letter on an earlier day and stopped; the
    retry, in the outbox, delivers the letter of that day, the one recorded."""
    activities = DocumentActivities(engine, DeliverySettings(outbox_dir=tmp_path), [SECRET], BASE_URL)
    yesterday = datetime.now(UTC) - timedelta(days=1)
    doc = activities._renderer.render("staff_escalation", CONTEXT | {"issued_on": uk_date(yesterday).isoformat()})
    sent.claim(engine, sent.NewDocument(
        idempotency_key=KEY, placement_id="placement-1", event="e", kind="staff_escalation", recipient_role="ap_lead",
        recipient="aplead@school.example", subject=doc.subject, html=doc.html, pdf=doc.pdf, sha256=doc.sha256,
        delivery_mode="outbox", link_id=None, created_at=yesterday,
    ))
    result = activities.send_document(request())
    assert (result.status, result.sha256) == ("sent", doc.sha256)
    (eml,) = tmp_path.glob("*.eml")
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    (attachment,) = message.iter_attachments()
    assert attachment.get_payload(decode=True) == doc.pdf == sent.by_key(engine, KEY).pdf
    assert f"<p>{long_date(uk_date(yesterday))}</p>" in message.get_body(("html",)).get_content()  # dated as kept


def test_a_trust_rewords_a_template_in_its_own_folder(engine, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "staff_escalation.html.j2").write_text(
        '{% extends "_layout.html.j2" %}{% block subject %}Please act: {{ placement_id }}{% endblock %}'
        "{% block letterhead %}{% endblock %}{% block signature %}{% endblock %}"
        "{% block content %}<p>Our own words: {{ escalation.what }}</p>{% endblock %}"
    )
    settings = Settings(var_dir=tmp_path, templates_dir=templates, link_secret=SECRET)
    DocumentActivities.from_settings(engine, settings).send_document(request())
    row = sent.by_key(engine, KEY)
    assert row.subject == "Please act: placement-1" and "Our own words: no attendance mark" in row.html
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1


def test_a_heartbeat_the_worker_does_not_take_leaves_the_send_heartbeating(monkeypatch):
    """The SDK waits 10 s for a sync activity's heartbeat to reach the worker's
    loop, then raises in the heartbeat's thread: that beat is lost, not every
    later one (the server would retry a send still going as if its worker had died)."""
    import threading
    import time

    import activities.documents as documents_activity

    beats, escaped = [], []
    def heartbeat(*_):
        beats.append(time.monotonic())
        if len(beats) == 1:
            raise TimeoutError()

    monkeypatch.setattr(documents_activity.activity, "in_activity", lambda: True)
    monkeypatch.setattr(documents_activity.activity, "heartbeat", heartbeat)
    monkeypatch.setattr(documents_activity, "HEARTBEAT_EVERY_S", 0.01)
    monkeypatch.setattr(threading, "excepthook", lambda args: escaped.append(args.exc_type))
    with documents_activity._heartbeating():
        deadline = time.monotonic() + 5
        while len(beats) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert escaped == []
    assert len(beats) >= 3
