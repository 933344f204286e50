"""The trust's list of providers, and the record of every change to it.

A provider is a row with the columns the list shows and filters on (its
name, type, registration, LA approval, whether its record is a complete
vetting, and the first day anything blocking on it lapses) and its whole
record as JSON. Every change is written in the same transaction as an
event in `provider_events`, with who made it: the record's version
rises by one each time, so an edit made over another is refused, never lost."""
from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Engine, ForeignKey, Index, Integer, String, UniqueConstraint, and_, exists, func, or_, select
from sqlalchemy.orm import Mapped, mapped_column

from domain.lifecycle import FINAL_STATES
from domain.models import STORED, Actor
from domain.providers import ProviderIn, ProviderRecord, next_expiry, next_warning

from .attendance import AttendanceCodeRow, AttendanceMark
from .register import Page, _count, _in, _page
from .tables import Base, Instant, PlacementRow


class ProviderRow(Base):
    __tablename__ = "providers"
    __table_args__ = (
        # The list's order (by name), and the providers lapsing soonest.
        Index("ix_providers_name", "name", "provider_id"),
        Index("ix_providers_next_expiry", "next_expiry", "provider_id"),
    )

    provider_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    provider_type: Mapped[str] = mapped_column(String(32))
    urn: Mapped[str | None] = mapped_column(String(6))
    ukprn: Mapped[str | None] = mapped_column(String(8))
    la_approved: Mapped[bool] = mapped_column(Boolean)
    trust_exception: Mapped[bool] = mapped_column(Boolean)
    vetted: Mapped[bool] = mapped_column(Boolean)  # the record was a complete vetting when saved
    next_expiry: Mapped[date | None] = mapped_column(Date)
    # The first day anything on the record lapses, blocking or only warning
    # (migration 0016; none on a record not saved since: read it to know).
    next_warning: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(Instant())
    updated_at: Mapped[datetime] = mapped_column(Instant())


class ProviderEvent(Base):
    """Who added or changed a provider, when, and which parts of its record
    (the names of the parts, never their contents)."""

    __tablename__ = "provider_events"
    __table_args__ = (UniqueConstraint("provider_id", "version", name="uq_provider_events_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.provider_id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))  # created | updated
    changed: Mapped[list] = mapped_column(JSON)
    actor_id: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(32))
    actor_school_id: Mapped[str | None] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(Instant())


class Conflict(Exception):
    """The record changed since the version the edit was made over."""


def new_provider_id() -> str:
    return f"prov-{uuid.uuid4().hex}"


def _columns(record: ProviderRecord, vetted: bool) -> dict:
    p = record.provider
    return dict(
        name=p.name, provider_type=p.provider_type.value, urn=p.urn, ukprn=p.ukprn, la_approved=p.la_approved,
        trust_exception=p.trust_exception is not None, vetted=vetted, next_expiry=next_expiry(record),
        next_warning=next_warning(record),
        version=record.version, data=record.model_dump(mode="json"),
    )


def _changed(before: dict, after: dict) -> list[str]:
    """The parts of a record that differ: `provider.name`, `insurance`, `checklist.k` …"""
    out = []
    for part in sorted(set(before) | set(after)):
        if part in ("provider_id", "version"):
            continue
        a, b = before.get(part), after.get(part)
        if isinstance(a, dict) and isinstance(b, dict) and part in ("provider", "checklist"):
            out += [f"{part}.{k}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        elif a != b:
            out.append(part)
    return out


def _event(record: ProviderRecord, action: str, changed: list[str], actor: Actor, at: datetime) -> dict:
    return dict(provider_id=record.provider_id, version=record.version, action=action, changed=changed,
                actor_id=actor.user_id, actor_role=actor.role.value, actor_school_id=actor.school_id, at=at)


def add(engine: Engine, given: ProviderIn, actor: Actor, at: datetime, vetted: bool) -> ProviderRecord:
    record = ProviderRecord(provider_id=new_provider_id(), version=1, **given.model_dump())
    with engine.begin() as conn:
        conn.execute(ProviderRow.__table__.insert().values(
            provider_id=record.provider_id, created_at=at, updated_at=at, **_columns(record, vetted)))
        conn.execute(ProviderEvent.__table__.insert().values(
            **_event(record, "created", _changed({}, given.model_dump(mode="json")), actor, at)))
    return record


def update(engine: Engine, provider_id: str, given: ProviderIn, actor: Actor, at: datetime, vetted: bool,
           expected_version: int | None = None) -> ProviderRecord | None:
    """The record replaced by `given` as one new version (none: no such
    provider). `Conflict` when it is no longer at `expected_version` (or
    changed while this was being written); an edit that changes nothing
    records nothing."""
    t = ProviderRow
    with engine.begin() as conn:
        row = conn.execute(select(t.version, t.data).where(t.provider_id == provider_id)).first()
        if row is None:
            return None
        if expected_version is not None and row.version != expected_version:
            raise Conflict(f"the provider's record is at version {row.version}, not {expected_version}: "
                           "someone changed it meanwhile; read it again and make the change over theirs")
        changed = _changed(row.data, given.model_dump(mode="json"))
        if not changed:
            return ProviderRecord.model_validate(row.data)
        record = ProviderRecord(provider_id=provider_id, version=row.version + 1, **given.model_dump())
        done = conn.execute(t.__table__.update().where(t.provider_id == provider_id, t.version == row.version)
                            .values(updated_at=at, **_columns(record, vetted)))
        if done.rowcount != 1:
            raise Conflict("the provider's record changed while this was being saved: read it again")
        conn.execute(ProviderEvent.__table__.insert().values(**_event(record, "updated", changed, actor, at)))
    return record


def get(engine: Engine, provider_id: str) -> ProviderRecord | None:
    with engine.connect() as conn:
        data = conn.scalar(select(ProviderRow.data).where(ProviderRow.provider_id == provider_id))
    return ProviderRecord.model_validate(data) if data is not None else None


LIST_COLUMNS = tuple(ProviderRow.__table__.c[n] for n in (
    "provider_id", "name", "provider_type", "urn", "ukprn", "la_approved", "trust_exception", "vetted",
    "next_expiry", "version", "updated_at",
))


def page(engine: Engine, limit: int = 50, after: tuple[str, str] | None = None, name: str | None = None,
         expiring_by: date | None = None) -> Page:
    """One page of the list by name (then id), after the key `after`
    (keyset over ix_providers_name); `name` narrows to part of the name, any
    case; `expiring_by` to those with something blocking lapsing by that day."""
    t = ProviderRow
    where = []
    if name:
        where.append(func.lower(t.name).contains(name.lower(), autoescape=True))
    if expiring_by is not None:
        where.append(t.next_expiry <= expiring_by)
    q = select(*LIST_COLUMNS).where(*where)
    if after is not None:
        q = q.where(or_(t.name > after[0], and_(t.name == after[0], t.provider_id > after[1])))
    q = q.order_by(t.name, t.provider_id)
    return _page(engine, q, _count(t, where), lambda r: (r.name, r.provider_id), limit)


def choices(engine: Engine, limit: int = 500) -> list[tuple[str, str]]:
    """(id, name) of every provider, by name: what a proposal picks from."""
    t = ProviderRow
    with engine.connect() as conn:
        return [(r.provider_id, r.name) for r in conn.execute(select(t.provider_id, t.name).order_by(t.name, t.provider_id).limit(limit))]


def events(engine: Engine, provider_id: str) -> list:
    """A provider's changes, oldest first."""
    t = ProviderEvent
    with engine.connect() as conn:
        return list(conn.execute(select(*t.__table__.c).where(t.provider_id == provider_id).order_by(t.version)))


def placements_at(engine: Engine, provider_id: str, school_ids: Collection[str] | None, limit: int = 100) -> Page:
    """The placements made at this provider at `school_ids` (none: every
    school), newest start first (ix_placements_provider)."""
    t = PlacementRow
    where = [t.provider_id == provider_id, *_in(t.school_id, school_ids)]
    q = (select(t.placement_id, t.school_id, t.state, t.kind, t.pupil_name, t.start_date, t.planned_end_date, t.data)
         .where(*where).order_by(t.start_date.desc(), t.placement_id.desc()))
    return _page(engine, q, _count(t, where), lambda r: (r.start_date, r.placement_id), limit)


@dataclass(frozen=True)
class Attendance:
    present: int
    possible: int  # present and absent sessions: what a percentage is of

    @property
    def percent(self) -> float | None:
        return round(100 * self.present / self.possible, 1) if self.possible else None


def attendance_of(engine: Engine, placement_ids: Collection[str]) -> dict[str, Attendance]:
    """Each placement's sessions present and possible, from its marks, in one query."""
    if not placement_ids:
        return {}
    m, c = AttendanceMark, AttendanceCodeRow
    q = (select(m.placement_id, c.counts_as, func.count()).join(c, c.code == m.code)
         .where(m.placement_id.in_(sorted(set(placement_ids)))).group_by(m.placement_id, c.counts_as))
    counts: dict[str, dict[str, int]] = {}
    with engine.connect() as conn:
        for pid, counts_as, n in conn.execute(q):
            counts.setdefault(pid, {})[counts_as] = n
    out = {}
    for pid, by in counts.items():
        present = by.get("present", 0)
        out[pid] = Attendance(present, present + by.get("authorised_absence", 0) + by.get("unauthorised_absence", 0))
    return out


def open_placements_at_providers(engine: Engine, school_ids: Collection[str] | None,
                                 provider_ids: Collection[str] | None = None) -> dict[str, list]:
    """The running placements at `school_ids` (none: every school) made at
    these providers (none: any on the list), by provider id."""
    if provider_ids is not None and not provider_ids:
        return {}
    t = PlacementRow
    at = [t.provider_id.in_(sorted(provider_ids))] if provider_ids is not None else [t.provider_id.is_not(None)]
    q = (select(t.provider_id, t.placement_id, t.school_id, t.pupil_name)
         .where(*at, t.state.not_in(FINAL_STATES), *_in(t.school_id, school_ids))
         .order_by(t.provider_id, t.start_date))
    out: dict[str, list] = {}
    with engine.connect() as conn:
        for r in conn.execute(q):
            out.setdefault(r.provider_id, []).append(r)
    return out


def with_open_placements(engine: Engine, school_ids: Collection[str] | None,
                         lapsing_by: date | None = None) -> dict[str, ProviderRecord]:
    """The records of the providers with a running placement at `school_ids`
    (none: every school), and with something lapsing by `lapsing_by` (or not
    known yet: a record not saved since migration 0016): one probe of
    ix_placements_provider_school_state a provider, so what is read grows
    with the list, never with the placements made there."""
    if school_ids is not None and not school_ids:
        return {}
    t, p = ProviderRow, PlacementRow
    there = (exists().where(p.provider_id == t.provider_id, p.state.not_in(FINAL_STATES), *_in(p.school_id, school_ids))
             .correlate(t))
    lapsing = [or_(t.next_warning.is_(None), t.next_warning <= lapsing_by)] if lapsing_by is not None else []
    with engine.connect() as conn:
        return {r.data["provider_id"]: ProviderRecord.model_validate(r.data, context=STORED)
                for r in conn.execute(select(t.data).where(there, *lapsing))}
