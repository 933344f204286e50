"""A real SMTP server (aiosmtpd on 127.0.0.1), a worker whose letters go to
it, and ways to read back what arrived: headers, HTML, and the PDF's text."""
from __future__ import annotations

import asyncio
import contextlib

import io
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from pypdf import PdfReader

from activities.documents import DocumentActivities
from apflow import samples
from apflow.directory import school_contacts
from apflow.settings import Settings
from documents import DeliverySettings

SECRET = "test-link-secret-for-letters"
BASE_URL = "https://apflow.test"
FROM = "letters@nexus-valley.example"
DIRECTORY = school_contacts(samples.SCHOOL, Settings().directory_file)


@dataclass
class Mail:
    to: list[str]
    msg: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.msg["Subject"])

    @property
    def role(self) -> str:
        return str(self.msg["X-Apflow-Recipient-Role"])

    @property
    def message_id(self) -> str:
        return str(self.msg["Message-ID"])

    @property
    def html(self) -> str:
        return self.msg.get_body(("html",)).get_content()

    @property
    def pdf(self) -> bytes:
        (part,) = [p for p in self.msg.iter_attachments() if p.get_content_type() == "application/pdf"]
        return part.get_payload(decode=True)

    @property
    def pdf_text(self) -> str:
        return pdf_text(self.pdf)

    @property
    def link(self) -> str | None:
        found = re.search(re.escape(BASE_URL) + r"/provider/[A-Za-z0-9_.\-]+", self.html)
        return found.group(0) if found else None


def pdf_text(pdf: bytes) -> str:
    """The PDF's text as one line of words (layout breaks lines anywhere)."""
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())


class Inbox:
    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.arrived = threading.Condition()
        self.refused: set[str] = set()  # recipients this relay answers 550, as a real one does for an unknown mailbox

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 <%s>: recipient address rejected: user unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        mail = Mail(list(envelope.rcpt_tos), message_from_bytes(envelope.original_content, policy=policy.default))
        with self.arrived:
            self.mails.append(mail)
            self.arrived.notify_all()
        return "250 OK"

    def of(self, kind_subject: str) -> list[Mail]:
        return [m for m in self.mails if kind_subject in m.subject]

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mails if address in m.to]

    async def until(self, found, timeout: float = 10):
        """What `found()` returns once it is truthy: letters follow their step."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (result := found()):
            assert loop.time() < deadline, [m.subject for m in self.mails]
            await asyncio.sleep(0.05)
        return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server (aiosmtpd) on loopback; yields (inbox, port)."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def smtp():
    with smtp_server() as served:
        yield served


def mail_settings(port: int) -> DeliverySettings:
    return DeliverySettings(mode="smtp", smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", from_address=FROM)


@pytest.fixture
def inbox(smtp) -> Inbox:
    return smtp[0]


@pytest.fixture
def documents(smtp, engine) -> DocumentActivities:
    return DocumentActivities(engine, mail_settings(smtp[1]), [SECRET], BASE_URL)
