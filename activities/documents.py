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

Rendering is deterministic (the PDF's date is the letter's), and the link id
is derived from the key, so every attempt produces the same document, link
and hash.
"""
from __future__ import annotations

import contextlib
import contextvars
import hashlib
import logging
import os
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from documents import DeliverySettings, DocumentIncomplete, LinkPurpose, OutgoingDocument, RecipientRole, Renderer, deliver, issue_link
from store import documents as register

log = logging.getLogger(__name__)

# Test-only: set to "1" in a worker's environment to end its process right
# after a message is delivered and before the register records it, which is
# the moment a real crash would be hardest on exactly-once.
EXIT_AFTER_SEND_FOR_TESTS = "APFLOW_TEST_EXIT_AFTER_SEND"
HEARTBEAT_EVERY_S = 2.0


class LinkRequest(BaseModel):
    purpose: LinkPurpose
    expires_at: datetime


class LetterRequest(BaseModel):
    idempotency_key: str  # placement id : event : kind : recipient role
    placement_id: str
    event: str  # the history seq or escalation id the letter answers
    kind: str
    role: RecipientRole
    to: str
    context: dict[str, Any]
    link: LinkRequest | None = None  # a provider's link to issue and put in `context.link.url`


class LetterResult(BaseModel):
    document_id: str
    status: Literal["sent", "already_sent", "unconfirmed"]
    sha256: str


def link_id_for(key: str) -> str:
    return "lnk-" + hashlib.sha256(key.encode()).hexdigest()[:24]


def provider_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/provider/{token}"


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
            ctx.run(activity.heartbeat)

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
    def from_environment(cls, engine: Engine) -> DocumentActivities:
        """From APFLOW_* settings: mail as APFLOW_MAIL_*, the outbox under the
        var folder unless APFLOW_MAIL_OUTBOX_DIR says otherwise, templates a
        trust has edited in APFLOW_TEMPLATES_DIR (the package's otherwise)."""
        from apflow.settings import Settings

        settings = Settings()
        delivery = DeliverySettings()
        if "outbox_dir" not in delivery.model_fields_set:
            delivery = delivery.model_copy(update={"outbox_dir": settings.var_dir / "outbox"})
        templates = os.environ.get("APFLOW_TEMPLATES_DIR")
        return cls(engine, delivery, settings.link_secrets, settings.base_url, Path(templates) if templates else None)

    @activity.defn(name="send_document")
    def send_document(self, req: LetterRequest) -> LetterResult:
        key = req.idempotency_key
        done = register.by_key(self._engine, key)
        if done is not None and done.status in (register.SENT, register.UNCONFIRMED):
            return LetterResult(document_id=done.document_id, status="already_sent", sha256=done.sha256)

        context = dict(req.context)
        link_id = None
        if req.link is not None:
            link_id = link_id_for(key)
            token = issue_link(self._secrets, req.placement_id, req.link.purpose, req.link.expires_at, link_id)
            context["link"] = {"url": provider_url(self._base_url, token), "expires_at": req.link.expires_at}
        if req.kind == "staff_escalation":
            context.setdefault("console_url", f"{self._base_url}/api/placements/{req.placement_id}")
        try:
            doc = self._renderer.render(req.kind, context)
        except DocumentIncomplete as e:
            # The workflow checks every letter before its step is allowed;
            # reaching this is a bug, and retrying will not mend it.
            raise ApplicationError(str(e), type="DocumentIncomplete", non_retryable=True) from None

        now = datetime.now(timezone.utc)
        row, ours = register.claim(self._engine, register.NewDocument(
            idempotency_key=key, placement_id=req.placement_id, event=req.event, kind=req.kind,
            recipient_role=req.role.value, recipient=req.to, subject=doc.subject, html=doc.html, pdf=doc.pdf,
            sha256=doc.sha256, delivery_mode=self._delivery.mode, link_id=link_id, created_at=now,
        ))
        if not ours:
            if row.status in (register.SENT, register.UNCONFIRMED):
                return LetterResult(document_id=row.document_id, status="already_sent", sha256=row.sha256)
            if self._delivery.mode == "smtp":  # `sending`: an attempt died mid-send
                register.mark_unconfirmed(self._engine, key)
                log.warning("document %s may have been sent by an attempt that stopped; not sent again", row.document_id)
                return LetterResult(document_id=row.document_id, status="unconfirmed", sha256=row.sha256)
            # The outbox never holds two files for one key: delivering again is safe.

        if req.link is not None and link_id is not None:
            # Recorded before the letter leaves, so the link works the moment it arrives.
            register.add_link(self._engine, link_id, req.placement_id, req.link.purpose.value,
                              req.link.expires_at, now, row.document_id)
        message = OutgoingDocument(
            to=req.to, role=req.role, subject=doc.subject, html=doc.html, pdf=doc.pdf,
            idempotency_key=key, attachment_name=doc.filename,
        )
        try:
            with _heartbeating():
                sent = deliver(message, self._delivery)
        except Exception:
            register.mark_failed(self._engine, key)
            raise
        if os.environ.get(EXIT_AFTER_SEND_FOR_TESTS) == "1":
            os._exit(70)
        register.mark_sent(self._engine, key, sent.message_id, datetime.now(timezone.utc))
        return LetterResult(document_id=row.document_id, status="sent", sha256=doc.sha256)
