"""Sending a rendered document: to an outbox folder (the default, for one
machine with nothing installed) or by SMTP.

Exactly-once is the caller's: it records each idempotency key in the
database. What this module adds is that a repeated call is harmless and
recognisable: the outbox never holds two files for one key, and over SMTP
the Message-ID is derived from the key, so a resend after a lost reply is
the same message to every mail system that de-duplicates on it. A connection
lost once the whole message has gone to the relay, before its answer, is
`AcceptanceUnknown`: the relay may have taken it, so it is not the caller's
to send again; a failure before then is safe to retry.

Log lines name the message id and mode only, never an address or a subject.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import smtplib
import ssl
import tempfile
import time
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formatdate
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, SecretStr

from domain.letters import RecipientRole

log = logging.getLogger(__name__)


class AcceptanceUnknown(Exception):
    """The message's last byte went to the relay and its answer never came:
    whether the relay accepted it cannot be known."""


class _Tracked:
    """An SMTP connection that knows when the message's end (the lone dot
    after DATA) has been handed to the relay."""

    handed_over = False
    _in_data = False

    def data(self, msg):
        self._in_data = True
        return super().data(msg)

    def send(self, s):
        super().send(s)
        if self._in_data and isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.handed_over = True


class _SMTP(_Tracked, smtplib.SMTP):
    pass


class _SMTP_SSL(_Tracked, smtplib.SMTP_SSL):
    pass


class DeliverySettings(BaseModel):
    """How messages leave; the defaults write to ./var/outbox. The shell's
    settings fill it from APFLOW_MAIL_* (`apflow.settings.Settings.mail`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["outbox", "smtp"] = "outbox"
    outbox_dir: Path = Path("var/outbox")
    from_address: str = "apflow@localhost"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout: float = 30.0
    smtp_ca_file: Path | None = None  # a private CA for the relay; system roots otherwise


@dataclass(frozen=True)
class OutgoingDocument:
    """One message to one recipient. The key names this delivery (e.g.
    `placement id : event seq : kind : recipient`), not the document: the
    same notice to two parents is two keys."""

    to: str
    role: RecipientRole
    subject: str
    html: str
    pdf: bytes | None
    idempotency_key: str
    attachment_name: str = "document.pdf"


@dataclass(frozen=True)
class Delivery:
    idempotency_key: str
    message_id: str
    mode: Literal["outbox", "smtp"]
    path: Path | None = None  # the .eml in outbox mode
    already_delivered: bool = False  # outbox: the key had been written before


def document_id(key: str) -> str:
    """The id staff and the API know a document by: a hash that does not show its key."""
    return "doc-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def message_id(key: str, from_address: str) -> str:
    """Deterministic Message-ID: a hash, so the key's text never leaks into headers."""
    domain = from_address.rpartition("@")[2] or "localhost"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def safe_name(key: str) -> str:
    """A file name for a key: readable prefix plus a hash, so keys that differ
    only in punctuation never share a file."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("._")[:80] or "message"
    return f"{slug}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


class _Text(HTMLParser):
    """Plain-text alternative of the HTML body, for clients that show no HTML."""

    BLOCKS: ClassVar[set[str]] = {"p", "h1", "h2", "h3", "li", "tr", "br", "table", "ul", "ol"}

    def __init__(self) -> None:
        super().__init__()
        self.out: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "title"):
            self.skip += 1
        elif tag in self.BLOCKS:
            self.out.append("\n")
        if tag == "li":
            self.out.append("- ")
        elif tag == "td":
            self.out.append("  ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "title"):
            self.skip -= 1
        elif tag in ("p", "h1", "h2", "h3", "table", "ul", "ol"):
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.out.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    lines = (line.strip() for line in "".join(parser.out).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def build_message(message: OutgoingDocument, settings: DeliverySettings) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.from_address
    msg["To"] = message.to
    msg["Subject"] = message.subject
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message_id(message.idempotency_key, settings.from_address)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to it
    msg["X-Apflow-Recipient-Role"] = message.role.value
    msg.set_content(html_to_text(message.html))
    msg.add_alternative(message.html, subtype="html")
    if message.pdf is not None:
        msg.add_attachment(message.pdf, maintype="application", subtype="pdf", filename=message.attachment_name)
    return msg


PARTIAL = ".partial"  # where a message is written before it is linked into the outbox
STALE_PARTIAL_S = 3600  # a partial file this old was left by a writer that died


def _partial_folder(outbox: Path) -> Path:
    """A private folder beside the outbox's messages: a writer killed mid-write
    leaves its half-written file here, out of sight, and the next delivery
    removes it once it is stale."""
    folder = outbox / PARTIAL
    folder.mkdir(mode=0o700, exist_ok=True)
    cutoff = time.time() - STALE_PARTIAL_S
    for leftover in folder.iterdir():
        with contextlib.suppress(FileNotFoundError):
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()
    return folder


def _write_atomically(path: Path, data: bytes, *, exclusive: bool) -> bool:
    """Write via a temp file in the outbox's private partial folder (on the
    same file system). `exclusive` links the file into place only if nothing
    is there yet (False if something was)."""
    fd, tmp = tempfile.mkstemp(dir=_partial_folder(path.parent), prefix="tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if not exclusive:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)  # atomic create-if-absent, unlike rename
        except FileExistsError:
            return False
        return True
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _to_outbox(message: OutgoingDocument, settings: DeliverySettings) -> Delivery:
    outbox = settings.outbox_dir
    # The messages as they left, providers' live links in them: private to
    # this user whatever the umask (the files are made 0600 by mkstemp).
    outbox.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = safe_name(message.idempotency_key)
    eml = outbox / f"{name}.eml"
    mid = message_id(message.idempotency_key, settings.from_address)
    if eml.exists():
        return Delivery(message.idempotency_key, mid, "outbox", eml, already_delivered=True)
    # The PDF for people browsing the folder goes first; the .eml is the
    # commit point, so a crash in between leaves a retry to finish the job.
    if message.pdf is not None:
        _write_atomically(outbox / f"{name}.pdf", message.pdf, exclusive=False)
    raw = build_message(message, settings).as_bytes(policy=policy.SMTP)
    written = _write_atomically(eml, raw, exclusive=True)
    log.info("document written to outbox message_id=%s new=%s", mid, written)
    return Delivery(message.idempotency_key, mid, "outbox", eml, already_delivered=not written)


def _by_smtp(message: OutgoingDocument, settings: DeliverySettings) -> Delivery:
    msg = build_message(message, settings)
    context = ssl.create_default_context(cafile=str(settings.smtp_ca_file) if settings.smtp_ca_file else None)
    smtp: _SMTP | _SMTP_SSL
    if settings.smtp_security == "ssl":
        smtp = _SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout, context=context)
    else:
        smtp = _SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
    try:
        with smtp:
            if settings.smtp_security == "starttls":
                smtp.starttls(context=context)
            if settings.smtp_username:
                password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                smtp.login(settings.smtp_username, password)
            smtp.send_message(msg, from_addr=settings.from_address, to_addrs=[message.to])
    except smtplib.SMTPResponseException:
        raise  # the relay answered: its answer says what became of the message
    except OSError as e:  # smtplib's own errors among them
        if smtp.handed_over:  # a timeout or a drop while waiting for the relay's answer
            raise AcceptanceUnknown(type(e).__name__) from e
        raise
    log.info("document sent by smtp message_id=%s", msg["Message-ID"])
    return Delivery(message.idempotency_key, str(msg["Message-ID"]), "smtp")


def deliver(message: OutgoingDocument, settings: DeliverySettings) -> Delivery:
    """Send one message (blocking; run it in a thread-pool activity)."""
    if not message.idempotency_key.strip():
        raise ValueError("an idempotency key is required")
    if settings.mode == "smtp":
        return _by_smtp(message, settings)
    return _to_outbox(message, settings)
