"""Sending a placement's letters and messages, each exactly once.

The workflow decides what to send and to whom (`workflows.letters`) and
hands over a `LetterRequest` with an idempotency key. This activity renders
the document, issues the provider's link where the letter carries one, and
sends it with the register as its memory:

1. A key already `sent` (or `unconfirmed`) is never sent again.
2. Otherwise the document is recorded as `sending` *before* it leaves,
   then delivered, then recorded as `sent`.
3. A retry that finds `sending` knows an earlier attempt stopped in
   between (the worker died). In outbox mode delivery is idempotent by key,
   so it simply delivers again. Over SMTP there is no way to ask whether the
   message went: it is not sent a second time, the row becomes
   `unconfirmed` and the workflow tells staff to check with the recipient.
   So does an attempt whose connection the relay lost after the whole
   message had gone to it, before its answer came.

Rendering is deterministic (the PDF's date is the letter's), and the link id
is derived from the key, so every attempt produces the same document, link
and hash; an attempt that finds an earlier one stopped mid-send dates the
letter as that one did, so what leaves is what the register holds.

A provider's link is never kept. The register (and the outbox's PDF) holds
the document as `Renderer.render` makes it, naming the link by its id and
expiry; its URL, with the signed token, is written only into the email body
(`Renderer.message_html`) as the message is handed to the relay or outbox.
"""
from __future__ import annotations

import contextlib
import contextvars
import hashlib
import logging
import os
import re
import smtplib
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from documents import AcceptanceUnknown, DeliverySettings, DocumentIncomplete, OutgoingDocument, Renderer, deliver, issue_link
from documents.links import link_url
from domain.clock import uk_date
from messages import REFUSED_BY_RELAY, HandOver, LetterRequest, LetterResult
from store import documents as register

from . import runs_to_its_end

if TYPE_CHECKING:
    from apflow.settings import Settings

log = logging.getLogger(__name__)

# Test-only: set to "1" in a worker's environment to end its process right
# after a message is delivered and before the register records it, which is
# the moment a real crash would be hardest on exactly-once.
EXIT_AFTER_SEND_FOR_TESTS = "APFLOW_TEST_EXIT_AFTER_SEND"
HEARTBEAT_EVERY_S = 2.0


_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>]+>?")


def _without_addresses(text: str) -> str:
    # A relay's answer often echoes the address: it is personal data, and the
    # reason goes into escalations, emails to staff and the logs.
    return _ADDRESS.sub("<recipient>", text)


def refusal_reason(error: Exception) -> str | None:
    """Why the relay will never take this message (a 5xx answer, a refused
    recipient, an address that cannot be sent to); None for a failure that
    may pass (the relay down, a 4xx answer), which is retried."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [f"{code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}" for code, msg in error.recipients.values()]
        return _without_addresses("the mail relay refused the recipient (" + "; ".join(codes) + ")")
    if isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500:
        msg = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else str(error.smtp_error)
        return _without_addresses(f"the mail relay refused the message ({error.smtp_code} {msg})")
    if isinstance(error, (ValueError, smtplib.SMTPNotSupportedError)):
        return f"the message cannot be sent as addressed ({type(error).__name__})"
    return None


def link_id_for(key: str) -> str:
    return "lnk-" + hashlib.sha256(key.encode()).hexdigest()[:24]


@contextlib.contextmanager
def _heartbeating() -> Iterator[None]:
    """Heartbeats while a blocking send runs, so a dead worker's attempt is
    retried within the heartbeat timeout but a slow mail relay is not."""
    if not activity.in_activity():
        yield
        return
    ctx = contextvars.copy_context()
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_EVERY_S):
            try:
                ctx.run(activity.heartbeat)
            except Exception as e:  # noqa: BLE001 - the send goes on; the next beat tries again
                # The SDK hands a sync activity's heartbeat to the worker's event
                # loop and waits 10 s for it: a loop that busy, or stopping, is
                # no reason to end the thread (and with it every later beat).
                log.warning("a letter's heartbeat was not delivered (%s); the next one is tried", type(e).__name__)

    thread = threading.Thread(target=beat, name="letter-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


class DocumentActivities:
    def __init__(
        self,
        engine: Engine,
        delivery: DeliverySettings,
        link_secrets: list[str],
        base_url: str,
        template_dir: Path | None = None,
    ):
        self._engine = engine
        self._delivery = delivery
        self._secrets = link_secrets
        self._base_url = base_url.rstrip("/")
        self._renderer = Renderer(template_dir)

    @classmethod
    def from_settings(cls, engine: Engine, settings: Settings) -> DocumentActivities:
        """As the shell's settings say: the mail relay or outbox, the links'
        secrets and address, the templates a trust has edited (the package's otherwise)."""
        return cls(engine, settings.mail, settings.link_secrets, settings.base_url, settings.templates_dir)

    @runs_to_its_end("send_document")
    def send_document(self, req: LetterRequest) -> LetterResult:
        key = req.idempotency_key
        done = register.by_key(self._engine, key)
        if done is not None and done.status in register.DONE:
            return self._already(done)

        now = datetime.now(timezone.utc)
        # A letter is dated the day it is sent (or put on the list to post),
        # never earlier; a retry of an attempt that stopped mid-send, the day that one was.
        issued = done.created_at if done is not None and done.status == register.SENDING else now
        context = dict(req.context)
        link_id = None
        if req.link is not None:
            link_id = link_id_for(key)
            token = issue_link(self._secrets, req.placement_id, req.link.purpose, req.link.expires_at, link_id)
            context["link"] = {"url": link_url(self._base_url, req.link.purpose, token), "expires_at": req.link.expires_at,
                               "link_id": link_id}
        if req.kind == "staff_escalation":
            context.setdefault("console_url", f"{self._base_url}/placements/{req.placement_id}")
        context["issued_on"] = uk_date(issued).isoformat()
        try:
            doc = self._renderer.render(req.kind, context)
        except DocumentIncomplete as e:
            # The workflow checks every letter before its step is allowed;
            # reaching this is a bug, and retrying will not mend it.
            raise ApplicationError(str(e), type="DocumentIncomplete", non_retryable=True) from None

        to_post = req.delivery == "post"
        row, ours = register.claim(self._engine, register.NewDocument(
            idempotency_key=key, placement_id=req.placement_id, event=req.event, kind=req.kind,
            recipient_role=req.role.value, recipient=req.to or "by post", subject=doc.subject, html=doc.html, pdf=doc.pdf,
            sha256=doc.sha256, delivery_mode="post" if to_post else self._delivery.mode, link_id=link_id, created_at=now,
        ), status=register.TO_POST if to_post else register.SENDING)
        if not ours:
            if row.status in register.DONE:
                return self._already(row)
            if self._delivery.mode == "smtp":  # `sending`: an attempt died mid-send
                register.mark_unconfirmed(self._engine, key)
                log.warning("document %s may have been sent by an attempt that stopped; not sent again", row.document_id)
                return LetterResult(document_id=row.document_id, status="unconfirmed", sha256=row.sha256)
            # The outbox never holds two files for one key: delivering again is safe.

        if req.link is not None and link_id is not None:
            # Recorded before the letter leaves, so the link works the moment it arrives.
            register.add_link(self._engine, link_id, req.placement_id, req.link.purpose.value,
                              req.link.expires_at, now, row.document_id)
        if to_post:
            return LetterResult(document_id=row.document_id, status="to_post", sha256=doc.sha256)
        # The attachment is the PDF the register holds (its hash is the one
        # recorded); only the body, made now and kept nowhere, holds the link.
        # A letter with no link leaves as it is kept: its body is not rendered twice.
        body = self._renderer.message_html(req.kind, context) if isinstance(context.get("link"), dict) else doc.html
        message = OutgoingDocument(
            to=req.to, role=req.role, subject=row.subject, html=body,
            pdf=row.pdf, idempotency_key=key, attachment_name=doc.filename,
        )
        try:
            with _heartbeating():
                sent = deliver(message, self._delivery)
        except AcceptanceUnknown:  # the relay may hold it: sending it again could deliver it twice
            register.mark_unconfirmed(self._engine, key)
            log.warning("document %s went to the relay, whose answer was lost; not sent again", row.document_id)
            return LetterResult(document_id=row.document_id, status="unconfirmed", sha256=row.sha256)
        except Exception as e:
            reason = refusal_reason(e)
            register.mark_failed(self._engine, key, reason or f"not sent: {type(e).__name__}")
            if reason:
                log.warning("document %s refused by the relay; not retried", row.document_id)
                raise ApplicationError(reason, type=REFUSED_BY_RELAY, non_retryable=True) from None
            raise
        if os.environ.get(EXIT_AFTER_SEND_FOR_TESTS) == "1":
            os._exit(70)
        sent_at = datetime.now(timezone.utc)
        register.mark_sent(self._engine, key, sent.message_id, sent_at)
        return LetterResult(document_id=row.document_id, status="sent", sha256=row.sha256, sent_at=sent_at)

    @staticmethod
    def _already(row) -> LetterResult:
        if row.status == register.TO_POST:
            return LetterResult(document_id=row.document_id, status="to_post", sha256=row.sha256)
        return LetterResult(document_id=row.document_id, status="already_sent", sha256=row.sha256, sent_at=row.sent_at)

    @runs_to_its_end("record_hand_over")
    def record_hand_over(self, hand_over: HandOver) -> None:
        """Takes a posted (or handed over) letter off the school's list to post."""
        register.mark_handed_over(self._engine, hand_over.document_id, hand_over.method, hand_over.by,
                                  datetime.now(timezone.utc))
