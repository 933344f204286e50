from __future__ import annotations

import dataclasses
import datetime as dt
import email
import ipaddress
import socket
import ssl
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from documents import DeliverySettings, OutgoingDocument, RecipientRole, deliver, render
from documents.delivery import message_id, safe_name

KEY = "placement-6f1c2e8a:7:offsite_direction_notice:parent-1"


@pytest.fixture
def notice(sample) -> OutgoingDocument:
    doc = render("offsite_direction_notice", sample("offsite_direction_notice"))
    return OutgoingDocument(
        to="anna@example.org",
        role=RecipientRole.parent,
        subject=doc.subject,
        html=doc.html,
        pdf=doc.pdf,
        idempotency_key=KEY,
        attachment_name=doc.filename,
    )


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def pdf_part(msg: EmailMessage) -> bytes:
    (part,) = [p for p in msg.iter_attachments() if p.get_content_type() == "application/pdf"]
    return part.get_content()


# --- outbox ------------------------------------------------------------------


def test_outbox_writes_one_message_per_key_even_when_called_twice(tmp_path, notice):
    settings = DeliverySettings(outbox_dir=tmp_path, from_address="letters@northgate.example")
    first = deliver(notice, settings)
    again = deliver(notice, settings)

    assert not first.already_delivered and again.already_delivered
    assert first.path == again.path and first.message_id == again.message_id
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".partial") == [f"{safe_name(KEY)}.eml", f"{safe_name(KEY)}.pdf"]
    assert list((tmp_path / ".partial").iterdir()) == []  # nothing half-written left beside them

    msg = parse(first.path.read_bytes())
    assert msg["Message-ID"] == message_id(KEY, "letters@northgate.example")
    assert msg["To"] == "anna@example.org" and msg["Subject"] == notice.subject
    assert msg["Auto-Submitted"] == "auto-generated"
    assert pdf_part(msg) == notice.pdf == (tmp_path / f"{safe_name(KEY)}.pdf").read_bytes()
    assert "Priya Shah" in msg.get_body(("plain",)).get_content()
    assert msg.get_body(("html",)).get_content().startswith("<!DOCTYPE html>")
    assert b"\r\n" in first.path.read_bytes()  # RFC 5322 line endings


def test_outbox_keys_that_differ_only_in_punctuation_do_not_collide(tmp_path, notice):
    settings = DeliverySettings(outbox_dir=tmp_path)
    a = deliver(notice, settings)
    b = deliver(dataclasses.replace(notice, idempotency_key=KEY.replace(":", "_")), settings)
    assert a.path != b.path and a.message_id != b.message_id
    assert len(list(tmp_path.glob("*.eml"))) == 2


def test_outbox_message_without_attachment(tmp_path, sample):
    doc = render("staff_escalation", sample("staff_escalation"))
    message = OutgoingDocument("ap-lead@northgate.example", RecipientRole.ap_lead, doc.subject, doc.html, None, "k:1")
    result = deliver(message, DeliverySettings(outbox_dir=tmp_path))
    msg = parse(result.path.read_bytes())
    assert list(msg.iter_attachments()) == []
    assert msg["Subject"] == doc.subject and "§" in doc.subject  # non-ASCII header survives
    assert msg["X-Apflow-Recipient-Role"] == "ap_lead"


def test_an_empty_key_is_refused(tmp_path, notice):
    with pytest.raises(ValueError):
        deliver(dataclasses.replace(notice, idempotency_key=" "), DeliverySettings(outbox_dir=tmp_path))


# --- SMTP against a real local server -----------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    started: list[Controller] = []

    def start(**kwargs) -> tuple[Inbox, int]:
        inbox = Inbox()
        port = free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        started.append(controller)
        return inbox, port

    yield start
    for controller in started:
        controller.stop()


def test_smtp_delivers_the_message_with_the_pdf_intact(smtp_server, notice):
    inbox, port = smtp_server()
    settings = DeliverySettings(
        mode="smtp",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        from_address="letters@northgate.example",
    )
    result = deliver(notice, settings)

    (envelope,) = inbox.envelopes
    assert envelope.mail_from == "letters@northgate.example"
    assert envelope.rcpt_tos == ["anna@example.org"]
    msg = parse(envelope.original_content)
    assert msg["Message-ID"] == result.message_id == message_id(KEY, "letters@northgate.example")
    assert pdf_part(msg) == notice.pdf
    assert result.mode == "smtp" and result.path is None


def test_smtp_retry_is_recognisable_by_its_message_id(smtp_server, notice):
    inbox, port = smtp_server()
    settings = DeliverySettings(mode="smtp", smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
    deliver(notice, settings)
    deliver(notice, settings)
    ids = {parse(e.original_content)["Message-ID"] for e in inbox.envelopes}
    assert len(inbox.envelopes) == 2 and len(ids) == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_logs_in_when_a_username_is_set(smtp_server, notice):
    seen: list[tuple[str, str]] = []

    def authenticator(server, session, envelope, mechanism, data):
        assert isinstance(data, LoginPassword)
        seen.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=data.password == b"s3cret")

    inbox, port = smtp_server(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    settings = DeliverySettings(
        mode="smtp",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        smtp_username="apflow",
        smtp_password="s3cret",
    )
    deliver(notice, settings)
    assert seen == [("apflow", "s3cret")] and len(inbox.envelopes) == 1


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_smtp_starttls_verifies_the_server_certificate(smtp_server, notice, tmp_path):
    cert, key = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    inbox, port = smtp_server(tls_context=server_tls, require_starttls=True)
    settings = DeliverySettings(mode="smtp", smtp_host="127.0.0.1", smtp_port=port, smtp_security="starttls")

    with pytest.raises(ssl.SSLCertVerificationError):
        deliver(notice, settings)  # an unknown certificate is refused
    assert inbox.envelopes == []

    deliver(notice, settings.model_copy(update={"smtp_ca_file": cert}))
    (envelope,) = inbox.envelopes
    assert pdf_part(parse(envelope.original_content)) == notice.pdf


def test_a_file_left_half_written_by_a_killed_writer_stays_private_and_is_cleared(tmp_path, notice):
    import dataclasses
    import os
    import time

    from documents.delivery import STALE_PARTIAL_S

    settings = DeliverySettings(outbox_dir=tmp_path, from_address="letters@northgate.example")
    deliver(notice, settings)
    partial = tmp_path / ".partial"
    assert partial.stat().st_mode & 0o077 == 0
    stale, fresh = partial / "tmp-dead.eml", partial / "tmp-writing.eml"
    stale.write_bytes(b"a parent's notice, half written")
    fresh.write_bytes(b"another writer's, being written")
    old = time.time() - STALE_PARTIAL_S - 60
    os.utime(stale, (old, old))

    deliver(dataclasses.replace(notice, idempotency_key="another:key"), settings)

    assert not stale.exists() and fresh.exists()
    assert not list(tmp_path.glob(".tmp-*"))


def test_the_outbox_is_private_wherever_it_is(tmp_path, notice):
    """Its messages are as they left, a provider's live link in each request:
    an outbox folder apflow makes, and each file in it, is its user's alone."""
    outbox = tmp_path / "elsewhere" / "outbox"
    deliver(notice, DeliverySettings(outbox_dir=outbox, from_address="letters@northgate.example"))
    written = list(outbox.iterdir())
    assert {p.suffix for p in written} >= {".eml", ".pdf"}
    for path in [outbox, *written]:
        assert path.stat().st_mode & 0o077 == 0, (path.name, oct(path.stat().st_mode))
