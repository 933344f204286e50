"""Writing and reading the register. Every write is idempotent: the same
projection applied twice leaves one row and one audit event per action."""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from domain.models import Placement

from . import attendance
from .tables import AuditEvent, PlacementRow


def _insert(engine: Engine, table):
    return (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)(table)


def project(engine: Engine, placement: Placement, next_deadline: date | None) -> None:
    """Upserts the placement's row (if this projection is newer) and adds the
    audit events it does not have yet, in one transaction."""
    row = dict(
        placement_id=placement.placement_id,
        school_id=placement.school.school_id,
        state=placement.state,
        kind=placement.kind.value,
        pupil_id=placement.pupil.pupil_id,
        provider_name=placement.provider.name,
        start_date=placement.start_date,
        planned_end_date=placement.planned_end,
        next_deadline=next_deadline,
        seq=placement.seq,
        data=placement.model_dump(mode="json"),
        updated_at=datetime.now(timezone.utc),
    )
    upsert = _insert(engine, PlacementRow).values(**row)
    upsert = upsert.on_conflict_do_update(
        index_elements=[PlacementRow.placement_id],
        set_={k: upsert.excluded[k] for k in row if k != "placement_id"},
        where=PlacementRow.seq <= upsert.excluded.seq,
    )
    events = [
        dict(
            placement_id=placement.placement_id,
            seq=h.seq,
            action=h.action,
            actor_id=h.actor.user_id,
            actor_role=h.actor.role.value,
            from_state=h.from_state,
            to_state=h.to_state,
            at=h.at,
            note=h.note,
        )
        for h in placement.history
    ]
    with engine.begin() as conn:
        conn.execute(upsert)
        conn.execute(attendance.expectation_upsert(engine, [placement]))
        if events:
            conn.execute(_insert(engine, AuditEvent).values(events).on_conflict_do_nothing())


def get(engine: Engine, placement_id: str) -> PlacementRow | None:
    with Session(engine) as s:
        return s.get(PlacementRow, placement_id)


def search(engine: Engine, state: str | None = None, school_id: str | None = None, limit: int = 500) -> list[PlacementRow]:
    q = select(PlacementRow).order_by(PlacementRow.start_date.desc()).limit(limit)
    if state:
        q = q.where(PlacementRow.state == state)
    if school_id:
        q = q.where(PlacementRow.school_id == school_id)
    with Session(engine) as s:
        return list(s.scalars(q))


FINAL_STATES = ("closed", "terminated")


def running(engine: Engine, school_id: str) -> list[PlacementRow]:
    """A school's placements whose workflows still run (every state but the final two)."""
    q = select(PlacementRow).where(PlacementRow.school_id == school_id, PlacementRow.state.not_in(FINAL_STATES))
    with Session(engine) as s:
        return list(s.scalars(q))


def audit_trail(engine: Engine, placement_id: str) -> list[AuditEvent]:
    q = select(AuditEvent).where(AuditEvent.placement_id == placement_id).order_by(AuditEvent.seq)
    with Session(engine) as s:
        return list(s.scalars(q))
