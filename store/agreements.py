"""Commissioning agreements: what the school recorded beyond the proposal
(`domain.agreement.CommissioningAgreement`, one row a placement, replaced
as a whole at each save) and the audit of everything done with one: saved,
printed for signatures, its signed copy uploaded. The signed copy itself is
a document (`store.documents`, kind `signed_agreement`), kept privately
like every letter."""
from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import JSON, Engine, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from documents.delivery import document_id
from domain.agreement import CommissioningAgreement
from domain.models import Actor

from . import documents as sent
from .db import insert_for
from .tables import Base, Instant

SIGNED = "signed_agreement"
SAVED, PRINTED, UPLOADED = "agreement_saved", "agreement_printed", "signed_agreement_uploaded"


class AgreementRow(Base):
    __tablename__ = "commissioning_agreements"

    placement_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(Instant())
    updated_by: Mapped[str] = mapped_column(String(100))


class AgreementEventRow(Base):
    """Who did what with a placement's agreement, and when."""

    __tablename__ = "agreement_events"
    __table_args__ = (Index("ix_agreement_events_placement", "placement_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    placement_id: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(Instant())
    detail: Mapped[str | None] = mapped_column(Text)  # a document id or hash: never the agreement's contents


def _event(s: Session, placement_id: str, event: str, actor: Actor, at: datetime, detail: str | None = None) -> None:
    s.add(AgreementEventRow(placement_id=placement_id, event=event, actor_id=actor.user_id,
                            actor_role=actor.role.value, at=at, detail=detail))


def get(engine: Engine, placement_id: str) -> CommissioningAgreement | None:
    with Session(engine) as s:
        row = s.get(AgreementRow, placement_id)
        return CommissioningAgreement.model_validate(row.data) if row else None


def save(engine: Engine, placement_id: str, agreement: CommissioningAgreement, actor: Actor, at: datetime) -> None:
    """Replaces what was recorded with `agreement`, and audits it."""
    data = agreement.model_dump(mode="json", exclude_none=True)
    with Session(engine) as s, s.begin():
        row = s.get(AgreementRow, placement_id)
        if row is None:
            s.add(AgreementRow(placement_id=placement_id, data=data, updated_at=at, updated_by=actor.user_id))
        else:
            row.data, row.updated_at, row.updated_by = data, at, actor.user_id
        _event(s, placement_id, SAVED, actor, at)


def printed(engine: Engine, placement_id: str, actor: Actor, at: datetime, sha256: str) -> None:
    with Session(engine) as s, s.begin():
        _event(s, placement_id, PRINTED, actor, at, f"sha256 {sha256}")


def add_signed(engine: Engine, placement_id: str, pdf: bytes, actor: Actor, at: datetime) -> sent.DocumentRow:
    """Keeps a signed copy (the same file twice is one document) and audits the upload."""
    sha = hashlib.sha256(pdf).hexdigest()
    key = f"{placement_id}:upload:{SIGNED}:{sha}"
    values = dict(
        document_id=document_id(key), idempotency_key=key, placement_id=placement_id, event="upload", kind=SIGNED,
        recipient_role="school", recipient="kept on file", subject="Signed commissioning agreement",
        html="", pdf=pdf, sha256=sha, status=sent.UPLOADED, delivery_mode="upload", created_at=at,
        handed_over_by=actor.user_id,
    )
    with engine.begin() as conn:
        conn.execute(insert_for(engine.dialect.name, sent.DocumentRow).values(**values)
                     .on_conflict_do_nothing(index_elements=["idempotency_key"]))
    with Session(engine) as s, s.begin():
        _event(s, placement_id, UPLOADED, actor, at, values["document_id"])
    row = sent.by_key(engine, key)
    assert row is not None
    return row


def signed_copies(engine: Engine, placement_id: str) -> list[sent.DocumentRow]:
    """The placement's signed copies, newest first."""
    q = (select(sent.DocumentRow)
         .where(sent.DocumentRow.placement_id == placement_id, sent.DocumentRow.kind == SIGNED)
         .order_by(sent.DocumentRow.created_at.desc()))
    with Session(engine) as s:
        return list(s.scalars(q))


def events(engine: Engine, placement_id: str) -> list[AgreementEventRow]:
    q = select(AgreementEventRow).where(AgreementEventRow.placement_id == placement_id).order_by(AgreementEventRow.id)
    with Session(engine) as s:
        return list(s.scalars(q))
