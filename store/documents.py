"""The register of documents sent and of the links given to providers.

A document row is written *before* the message leaves (status `sending`) and
marked `sent` after, under a unique idempotency key, so a retried send knows
what an earlier attempt did:

    no row        nothing was tried: claim it and send
    sending       an earlier attempt stopped between claiming and recording:
                  it may have delivered (the caller decides what that means
                  for its delivery mode)
    failed        an earlier attempt was told the message was not accepted:
                  claim it again and send
    sent          done: never again
    unconfirmed   an earlier attempt stopped mid-send and the message was not
                  sent again; staff were told to check with the recipient

Documents hold the PDF as sent and the HTML of the email, so they can be
fetched again for years; a provider's link is kept by its id alone (the
HTML names it where the email held its URL), since the URL is a credential.
"""
from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Engine, Index, LargeBinary, String, Text, UniqueConstraint, func, select, update
from sqlalchemy.orm import Mapped, Session, defer, mapped_column

from documents.delivery import document_id

from .db import insert_for
from .register import COUNT_CAP
from .tables import Base, Instant, PlacementRow

SENDING, SENT, FAILED, UNCONFIRMED = "sending", "sent", "failed", "unconfirmed"
# A letter for a parent with no email address waits on the school's list to
# print and post until staff record it posted (or handed over).
TO_POST, POSTED, HANDED_OVER = "to_post", "posted", "handed_over"
DONE = (SENT, UNCONFIRMED, TO_POST, POSTED, HANDED_OVER)  # never sent (or listed) again


class DocumentRow(Base):
    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_documents_idempotency_key"),
        # Letters by status and kind (/metrics) without reading a row's HTML or PDF.
        Index("ix_documents_status_kind", "status", "kind"),
    )

    document_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(400))
    placement_id: Mapped[str] = mapped_column(String(64), index=True)
    event: Mapped[str] = mapped_column(String(200))  # the history seq or escalation id it answers
    kind: Mapped[str] = mapped_column(String(64))
    recipient_role: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(400))
    html: Mapped[str] = mapped_column(Text)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))  # of the PDF
    status: Mapped[str] = mapped_column(String(16))  # indexed with kind: ix_documents_status_kind
    delivery_mode: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str | None] = mapped_column(String(200))
    link_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Instant())
    sent_at: Mapped[datetime | None] = mapped_column(Instant())
    failure: Mapped[str | None] = mapped_column(Text)  # why the last attempt did not go
    handed_over_by: Mapped[str | None] = mapped_column(String(100))  # who posted it or handed it over


class ProviderLinkRow(Base):
    """A link given to a provider: signed and self-expiring; this row lets
    staff withdraw it and records when it was answered."""

    __tablename__ = "provider_links"

    link_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    placement_id: Mapped[str] = mapped_column(String(64), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[datetime] = mapped_column(Instant())
    issued_at: Mapped[datetime] = mapped_column(Instant())
    issued_by: Mapped[str] = mapped_column(String(100))  # a document key, or the member of staff
    revoked_at: Mapped[datetime | None] = mapped_column(Instant())
    revoked_by: Mapped[str | None] = mapped_column(String(100))
    used_at: Mapped[datetime | None] = mapped_column(Instant())


@dataclass(frozen=True)
class NewDocument:
    idempotency_key: str
    placement_id: str
    event: str
    kind: str
    recipient_role: str
    recipient: str
    subject: str
    html: str
    pdf: bytes
    sha256: str
    delivery_mode: str
    link_id: str | None
    created_at: datetime


def by_key(engine: Engine, key: str) -> DocumentRow | None:
    with Session(engine) as s:
        return s.scalar(select(DocumentRow).where(DocumentRow.idempotency_key == key))


def claim(engine: Engine, doc: NewDocument, status: str = SENDING) -> tuple[DocumentRow, bool]:
    """The document's row, and whether this call may send it: true for a new
    key or one whose last attempt failed (the row then holds this attempt's
    document, dated anew); false when the row was already there in any other
    status (the caller reads it)."""
    values = dict(asdict(doc), document_id=document_id(doc.idempotency_key), status=status)
    with engine.begin() as conn:
        inserted = conn.execute(
            insert_for(engine.dialect.name, DocumentRow).values(**values).on_conflict_do_nothing(index_elements=["idempotency_key"])
        ).rowcount
        if not inserted:
            fresh = {k: values[k] for k in ("subject", "html", "pdf", "sha256", "recipient", "created_at")}
            inserted = conn.execute(
                update(DocumentRow)
                .where(DocumentRow.idempotency_key == doc.idempotency_key, DocumentRow.status == FAILED)
                .values(status=status, failure=None, **fresh)
            ).rowcount
    row = by_key(engine, doc.idempotency_key)
    assert row is not None
    return row, bool(inserted)


def _set(engine: Engine, key: str, **values) -> None:
    with engine.begin() as conn:
        conn.execute(update(DocumentRow).where(DocumentRow.idempotency_key == key).values(**values))


def mark_sent(engine: Engine, key: str, message_id: str, at: datetime) -> None:
    _set(engine, key, status=SENT, message_id=message_id, sent_at=at)


def mark_failed(engine: Engine, key: str, reason: str) -> None:
    _set(engine, key, status=FAILED, failure=reason[:2000])


def mark_handed_over(engine: Engine, doc_id: str, method: str, by: str, at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(update(DocumentRow).where(DocumentRow.document_id == doc_id, DocumentRow.status.in_((TO_POST, FAILED)))
                     .values(status=POSTED if method == "post" else HANDED_OVER, handed_over_by=by, sent_at=at))


def to_post(engine: Engine, school_id: str) -> list[DocumentRow]:
    """A school's letters waiting to be printed and posted, oldest first."""
    q = (select(DocumentRow).join(PlacementRow, PlacementRow.placement_id == DocumentRow.placement_id)
         .where(DocumentRow.status == TO_POST, PlacementRow.school_id == school_id).order_by(DocumentRow.created_at))
    with Session(engine) as s:
        return list(s.scalars(q))


def to_post_first(engine: Engine, school_ids: Collection[str], limit: int) -> tuple[list, int]:
    """The oldest `limit` letters waiting to be posted at these schools (the
    columns a list shows, with the pupil's name), and how many wait in all,
    counted to one past `COUNT_CAP` at most: never every letter's HTML and PDF."""
    if not school_ids:
        return [], 0
    d, p = DocumentRow, PlacementRow
    where = [d.status == TO_POST, p.school_id.in_(sorted(school_ids))]
    q = (select(d.document_id, d.placement_id, d.kind, d.subject, d.created_at, p.pupil_name)
         .join(p, p.placement_id == d.placement_id).where(*where).order_by(d.created_at, d.document_id).limit(limit))
    waiting = (select(func.count()).select_from(select(d.document_id).join(p, p.placement_id == d.placement_id)
                                                .where(*where).limit(COUNT_CAP + 1).subquery()))
    with engine.connect() as conn:
        return list(conn.execute(q)), conn.scalar(waiting)


UPLOADED = "uploaded"
COPY_KINDS = {"notice_copy": "notice", "invitation_copy": "invitation to a review"}


def add_copy(engine: Engine, placement_id: str, kind: str, pdf: bytes, by: str, at: datetime) -> DocumentRow:
    """Keeps a copy of a letter the school gave outside apflow (the same file twice is one row)."""
    sha = hashlib.sha256(pdf).hexdigest()
    key = f"{placement_id}:upload:{kind}:{sha}"
    values = dict(
        document_id=document_id(key), idempotency_key=key, placement_id=placement_id, event="upload", kind=kind,
        recipient_role="school", recipient="kept on file", subject=f"Copy of the {COPY_KINDS[kind]} given outside apflow",
        html="", pdf=pdf, sha256=sha, status=UPLOADED, delivery_mode="upload", created_at=at, handed_over_by=by,
    )
    with engine.begin() as conn:
        conn.execute(insert_for(engine.dialect.name, DocumentRow).values(**values).on_conflict_do_nothing(index_elements=["idempotency_key"]))
    row = by_key(engine, key)
    assert row is not None
    return row


def mark_unconfirmed(engine: Engine, key: str) -> None:
    _set(engine, key, status=UNCONFIRMED)


def for_placement(engine: Engine, placement_id: str, *options) -> list[DocumentRow]:
    """A placement's documents, oldest first (loaded with `options`)."""
    q = (select(DocumentRow).where(DocumentRow.placement_id == placement_id).options(*options)
         .order_by(DocumentRow.created_at, DocumentRow.kind))
    with Session(engine) as s:
        return list(s.scalars(q))


def listed_for(engine: Engine, placement_id: str) -> list[DocumentRow]:
    """A placement's documents as a list shows them: each without its HTML
    and PDF (a year's letters are megabytes), which raise if read."""
    return for_placement(engine, placement_id, defer(DocumentRow.html, raiseload=True), defer(DocumentRow.pdf, raiseload=True))


def get(engine: Engine, placement_id: str, doc_id: str) -> DocumentRow | None:
    with Session(engine) as s:
        row = s.get(DocumentRow, doc_id)
    return row if row is not None and row.placement_id == placement_id else None


# --- provider links -----------------------------------------------------------


def add_link(engine: Engine, link_id: str, placement_id: str, purpose: str, expires_at: datetime, issued_at: datetime, issued_by: str) -> None:
    """Records a link (again, harmlessly: the id is derived from what issued it)."""
    stmt = insert_for(engine.dialect.name, ProviderLinkRow).values(
        link_id=link_id, placement_id=placement_id, purpose=purpose, expires_at=expires_at,
        issued_at=issued_at, issued_by=issued_by,
    ).on_conflict_do_nothing(index_elements=["link_id"])
    with engine.begin() as conn:
        conn.execute(stmt)


def get_link(engine: Engine, link_id: str) -> ProviderLinkRow | None:
    with Session(engine) as s:
        return s.get(ProviderLinkRow, link_id)


def links_for(engine: Engine, placement_id: str) -> list[ProviderLinkRow]:
    q = select(ProviderLinkRow).where(ProviderLinkRow.placement_id == placement_id).order_by(ProviderLinkRow.issued_at)
    with Session(engine) as s:
        return list(s.scalars(q))


def revoke_link(engine: Engine, link_id: str, by: str, at: datetime) -> bool:
    with engine.begin() as conn:
        return bool(conn.execute(
            update(ProviderLinkRow).where(ProviderLinkRow.link_id == link_id, ProviderLinkRow.revoked_at.is_(None))
            .values(revoked_at=at, revoked_by=by)
        ).rowcount)


def release_link(engine: Engine, link_id: str) -> None:
    """Undoes the claim of a one-answer link whose answer was not taken (only
    the claimant gets this far: every other answer was refused at the claim)."""
    with engine.begin() as conn:
        conn.execute(update(ProviderLinkRow).where(ProviderLinkRow.link_id == link_id).values(used_at=None))


def mark_link_used(engine: Engine, link_id: str, at: datetime) -> bool:
    """Marks a one-answer link answered; false if it had been already."""
    with engine.begin() as conn:
        return bool(conn.execute(
            update(ProviderLinkRow).where(ProviderLinkRow.link_id == link_id, ProviderLinkRow.used_at.is_(None))
            .values(used_at=at)
        ).rowcount)
