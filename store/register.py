"""Writing and reading the register. Every write is idempotent: the same
projection applied twice leaves one row and one audit event per action, and
a late, older projection changes nothing."""
from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from functools import lru_cache
from typing import Generic, TypeVar

from pydantic import TypeAdapter
from sqlalchemy import Connection, Engine, and_, bindparam, case, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from domain.calendar import SchoolCalendar
from domain.deadlines import planned_end
from domain.lifecycle import FINAL_STATES
from domain.models import STORED, Actor, Escalation, HistoryEntry, Placement, Proposal, RecordedContact, Role
from domain.overlaps import Span
from domain.records import RegisterEntry, Returns, register_entry, returns

from . import attendance
from .db import insert_for
from .tables import AuditEvent, ContactRow, EscalationRow, PlacementRow

T = TypeVar("T")


# A projection's escalations, audit events and contacts go as lists of rows
# to one statement each (executemany), built once a dialect: a multi-row
# VALUES has no cache key, so SQLAlchemy compiled it again every time. The
# placement's own upsert is built once too: building its `excluded` columns
# and compiling it again was three quarters of a projection's time.
@lru_cache
def _upsert_escalations(dialect: str, keys: tuple[str, ...]):
    stmt = insert_for(dialect, EscalationRow)
    return stmt.on_conflict_do_update(
        index_elements=[EscalationRow.placement_id, EscalationRow.escalation_id],
        set_={k: stmt.excluded[k] for k in keys if k not in ("placement_id", "escalation_id")},
    )


@lru_cache
def _upsert_placement(dialect: str, keys: tuple[str, ...]):
    stmt = insert_for(dialect, PlacementRow)
    t, new = PlacementRow, stmt.excluded
    # In the same state, the time it was entered stays as stored: the step
    # into it may have left the placement's window since.
    since = case((t.state == new.state, func.coalesce(t.state_since, new.state_since)), else_=new.state_since)
    return stmt.on_conflict_do_update(
        index_elements=[t.placement_id],
        set_={k: since if k == "state_since" else new[k] for k in keys if k != "placement_id"},
        where=attendance.newer(t, new),
    ).returning(t.placement_id)  # a row back only when inserted or updated


@lru_cache
def _add_missing(dialect: str, table, *index_elements):
    return insert_for(dialect, table).on_conflict_do_nothing(index_elements=list(index_elements) or None)


def escalation_values(placement: Placement, e: Escalation) -> dict:
    return dict(
        placement_id=placement.placement_id,
        escalation_id=e.escalation_id,
        school_id=placement.school.school_id,
        kind=e.kind,
        owner_role=e.owner.value,
        clause=e.clause,
        message=e.message,
        raised_at=e.raised_at,
        due=e.due,
        resolved_at=e.resolved_at,
        resolved_by_id=e.resolved_by.user_id if e.resolved_by else None,
        resolved_by_role=e.resolved_by.role.value if e.resolved_by else None,
        resolution=e.resolution,
    )


# A register entry as its row's `entry` holds it: JSON, its days as ISO text;
# and the same for what the returns take (`returns`).
ENTRY = TypeAdapter(RegisterEntry)
RETURNS = TypeAdapter(Returns)


def placement_values(placement: Placement, next_deadline: date | None, planned_end: date | None = None) -> dict:
    """The placement's register row (`project` upserts it; the benchmarks write
    it in bulk). `planned_end` is its last day as the workflow counts it on the
    school's calendar; without it, the end date the placement states."""
    end = planned_end or placement.planned_end
    return dict(
        placement_id=placement.placement_id,
        school_id=placement.school.school_id,
        state=placement.state,
        kind=placement.kind.value,
        pupil_id=placement.pupil.pupil_id,
        provider_name=placement.provider.name,
        provider_id=placement.provider_id,
        start_date=placement.start_date,
        planned_end_date=end,
        next_deadline=next_deadline,
        state_since=entered(placement),
        pattern_days=",".join(d.value for d in placement.pattern.days),
        pupil_search=pupil_search(placement.pupil),
        pupil_name=placement.pupil.name,
        version=placement.version,
        seq=placement.seq,
        data=placement.model_dump(mode="json"),
        entry=ENTRY.dump_python(register_entry(placement, end), mode="json"),
        returns=RETURNS.dump_python(returns(placement, end), mode="json"),
        updated_at=datetime.now(timezone.utc),
    )


def entered(placement: Placement) -> datetime | None:
    """When the placement moved into its state, by the last such step it
    holds. The step that moves it is always held when it is projected
    (`domain.window`), so the row learns the time then and keeps it
    (`project`), though later projections may no longer hold that step."""
    return next((h.at for h in reversed(placement.history)
                 if h.to_state == placement.state and h.from_state != h.to_state and h.seq > 0), None)


def audit_values(placement: Placement) -> list[dict]:
    """An audit event for each step the placement holds."""
    return [
        dict(
            placement_id=placement.placement_id,
            seq=h.seq,
            action=h.action,
            actor_id=h.actor.user_id,
            actor_role=h.actor.role.value,
            actor_school_id=h.actor.school_id,
            from_state=h.from_state,
            to_state=h.to_state,
            at=h.at,
            note=h.note,
        )
        for h in placement.history
    ]


def project(engine: Engine, placement: Placement, next_deadline: date | None, planned_end: date | None = None) -> bool:
    """Upserts the placement's row and, only if this projection is newer than
    it (`attendance.newer`), its attendance expectations and escalations; adds
    the audit events and contacts it does not have yet (the placement holds
    only its last few: each step's projection carries the step and its
    contact, so the register has every one). One transaction. Returns whether
    the projection was newer (and so applied)."""
    row = placement_values(placement, next_deadline, planned_end)
    events = audit_values(placement)
    contacts = [contact_values(placement, c) for c in placement.contacts]
    escalations = [escalation_values(placement, e) for e in placement.escalations]
    with engine.begin() as conn:
        # The upsert holds the placement's row until commit, so the writes
        # below are never interleaved with another projection's.
        applied = conn.execute(_upsert_placement(engine.dialect.name, tuple(row)), row).first() is not None
        if applied:
            attendance.upsert_expectations(conn, [placement])
            if escalations:
                conn.execute(_upsert_escalations(engine.dialect.name, tuple(escalations[0])), escalations)
        if events:
            conn.execute(_add_missing(engine.dialect.name, AuditEvent), events)
        if contacts:
            conn.execute(_add_missing(engine.dialect.name, ContactRow, ContactRow.placement_id, ContactRow.contact_id),
                         contacts)
    return applied


def contact_values(placement: Placement, c: RecordedContact) -> dict:
    step = c.contact_id.removeprefix("contact-")
    return dict(
        placement_id=placement.placement_id,
        contact_id=c.contact_id,
        seq=int(step) if step.isdigit() else 0,
        kind=c.kind.value,
        contacted_on=c.on,
        notes=c.notes,
        unannounced=c.unannounced,
        record=c.visit.model_dump(mode="json") if c.visit is not None else None,
    )


@dataclass(frozen=True)
class Records:
    """Every contact and step of a placement, as the register keeps them."""

    contacts: list[RecordedContact]
    history: list[HistoryEntry]


# Built once: every action's answer and every placement's page reads them.
_CONTACTS = (select(ContactRow.contact_id, ContactRow.kind, ContactRow.contacted_on, ContactRow.notes,
                    ContactRow.unannounced, ContactRow.record)
             .where(ContactRow.placement_id == bindparam("placement_id")).order_by(ContactRow.seq, ContactRow.id))
_STEPS = (select(AuditEvent.seq, AuditEvent.action, AuditEvent.actor_id, AuditEvent.actor_role,
                 AuditEvent.actor_school_id, AuditEvent.at, AuditEvent.from_state, AuditEvent.to_state, AuditEvent.note)
          .where(AuditEvent.placement_id == bindparam("placement_id")).order_by(AuditEvent.seq))


def records(engine: Engine, placement_id: str) -> Records:
    """A placement's contacts and steps, in the order they were recorded:
    one read (two statements in one snapshot), however many there are."""
    with engine.connect() as conn:
        _one_snapshot(conn)
        contacts = conn.execute(_CONTACTS, {"placement_id": placement_id}).all()
        events = conn.execute(_STEPS, {"placement_id": placement_id}).all()
    return Records(
        contacts=[RecordedContact(contact_id=r.contact_id, kind=r.kind, on=r.contacted_on, notes=r.notes,
                                  unannounced=r.unannounced, visit=r.record) for r in contacts],
        history=[HistoryEntry(seq=r.seq, action=r.action, at=r.at, from_state=r.from_state,
                              to_state=r.to_state, note=r.note,
                              actor=Actor(user_id=r.actor_id, role=r.actor_role, school_id=r.actor_school_id))
                 for r in events],
    )


def with_records(p: Placement, kept: Records) -> Placement:
    """The placement with every contact and step it recorded: the register's,
    and those the workflow holds that their projection has not stored yet
    (it is under way). What people are shown, never what a workflow holds."""
    own = {c.contact_id: c for c in p.contacts}
    # The workflow drops a visit's record once it is stored: the register's is whole.
    contacts = [_whole(own.pop(c.contact_id, c), c) for c in kept.contacts] + list(own.values())
    steps = {h.seq: h for h in kept.history} | {h.seq: h for h in p.history}
    history = [steps[seq] for seq in sorted(steps)]
    return p.model_copy(update=dict(contacts=contacts, history=history, trimmed_history=max(0, p.seq - len(history))))


def _whole(held: RecordedContact, stored: RecordedContact) -> RecordedContact:
    return held.model_copy(update={"visit": stored.visit}) if held.visit is None and stored.visit is not None else held


def with_all_records(engine: Engine, p: Placement) -> Placement:
    """`with_records` from one read of the register."""
    return with_records(p, records(engine, p.placement_id))


def get(engine: Engine, placement_id: str) -> PlacementRow | None:
    with Session(engine) as s:
        return s.get(PlacementRow, placement_id)


_SCHOOL = select(PlacementRow.school_id).where(PlacementRow.placement_id == bindparam("placement_id"))
_STATE = select(PlacementRow.state).where(PlacementRow.placement_id == bindparam("placement_id"))


def school_of(engine: Engine, placement_id: str) -> str | None:
    """The placement's school, without reading its row's JSON."""
    with engine.connect() as conn:
        return conn.execute(_SCHOOL, {"placement_id": placement_id}).scalar()


def state_of(engine: Engine, placement_id: str) -> str | None:
    """The placement's state as last projected, without reading its row's JSON."""
    with engine.connect() as conn:
        return conn.execute(_STATE, {"placement_id": placement_id}).scalar()


def search(engine: Engine, state: str | None = None, school_ids: Collection[str] | None = None, limit: int = 500) -> list:
    return placements_page(engine, state=state, school_ids=school_ids, limit=limit).rows


# Counting stops here: an exact total would read every matching row, so a
# page would cost more the larger the register. Past it, "more than".
COUNT_CAP = 1_000

# What a list of placements shows: never the row's JSON, the costly part.
SUMMARY = tuple(PlacementRow.__table__.c[name] for name in (
    "placement_id", "school_id", "state", "kind", "pupil_id", "pupil_name", "provider_name",
    "start_date", "planned_end_date", "next_deadline",
))


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]  # plain rows: their table's columns (or the list's) as attributes
    total: int  # the rows matching the filters across all pages, counted to one past COUNT_CAP at most
    next_after: tuple | None  # the key to pass as `after` for the next page; none on the last

    @property
    def capped(self) -> bool:
        """More rows match than `total` says: counting stopped at COUNT_CAP."""
        return self.total > COUNT_CAP


def _one_snapshot(conn) -> None:
    """The statements that follow read one moment of the register, so a page
    and its total agree while the worker writes. SQLite's driver opens no
    transaction for reads (each would see its own moment); PostgreSQL's
    default gives each statement its own snapshot."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def _count(t, where) -> object:
    """How many rows match, counting no further than one past COUNT_CAP."""
    return select(func.count()).select_from(select(literal(1)).select_from(t).where(*where).limit(COUNT_CAP + 1).subquery())


def _page(engine: Engine, q, count_q, order_key, limit: int) -> Page:
    """A page of plain rows (a Core connection: no ORM objects to build for a
    list) and its total, read in one snapshot."""
    with engine.connect() as conn:
        _one_snapshot(conn)
        rows = list(conn.execute(q.limit(limit + 1)))
        total = conn.scalar(count_q)
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, total, order_key(rows[-1]) if more else None)


@dataclass(frozen=True)
class Filters:
    """What a list of placements may be narrowed to; none of it is about a pupil
    but `pupil_id`, which the console takes from a form, never from a URL."""

    state: str | None = None
    school_ids: Collection[str] | None = None  # none: every school
    provider: str | None = None  # part of the provider's name, any case
    kind: str | None = None
    overdue_on: date | None = None  # running, with a deadline before this day
    escalated: bool = False  # with an open escalation
    pupil_id: str | None = None
    pupil: str | None = None  # part of the pupil's name, their UPN, or the school's id for them


def pupil_search(pupil) -> str:
    return " ".join(filter(None, (pupil.name, pupil.upn))).lower()


def _placement_filters(f: Filters) -> list:
    t = PlacementRow
    out = []
    if f.state:
        out.append(t.state == f.state)
    out += _in(t.school_id, f.school_ids)
    if f.provider:
        out.append(func.lower(t.provider_name).contains(f.provider.lower(), autoescape=True))
    if f.kind:
        out.append(t.kind == f.kind)
    if f.overdue_on is not None:
        out += [t.next_deadline < f.overdue_on, t.state.not_in(FINAL_STATES)]
    if f.escalated:
        e = EscalationRow
        out.append(exists().where(e.placement_id == t.placement_id, e.resolved_at.is_(None)))
    if f.pupil_id:
        out.append(t.pupil_id == f.pupil_id)
    if f.pupil:
        out.append(or_(t.pupil_id == f.pupil.strip(),
                       t.pupil_search.contains(" ".join(f.pupil.lower().split()), autoescape=True)))
    return out


def placements_page(
    engine: Engine,
    state: str | None = None,
    school_ids: Collection[str] | None = None,
    limit: int = 50,
    after: tuple[date, str] | None = None,
    filters: Filters | None = None,
) -> Page:
    """One page of the register's SUMMARY columns at `school_ids` (none: every school), newest
    start first (then by id), after the key `after` (keyset: served by the
    ix_placements_list* indexes)."""
    t = PlacementRow
    f = filters or Filters()
    if state:
        f = replace(f, state=state)
    if school_ids is not None:
        f = replace(f, school_ids=school_ids)
    where = _placement_filters(f)
    q = select(*SUMMARY).where(*where)
    if after is not None:
        start, pid = after
        q = q.where(or_(t.start_date < start, and_(t.start_date == start, t.placement_id < pid)))
    q = q.order_by(t.start_date.desc(), t.placement_id.desc())
    return _page(engine, q, _count(t, where), lambda r: (r.start_date, r.placement_id), limit)


def escalations_page(
    engine: Engine,
    school_ids: Collection[str] | None = None,
    open_only: bool = True,
    owner: Role | None = None,
    limit: int = 50,
    after: tuple[datetime, str, str] | None = None,
) -> Page:
    """One page of escalations at `school_ids` (none: every school), oldest
    first (then by placement and id), after the key `after` (keyset: served
    by the ix_escalations_* indexes)."""
    t = EscalationRow
    filters = _in(t.school_id, school_ids)
    if open_only:
        filters.append(t.resolved_at.is_(None))
    if owner is not None:
        filters.append(t.owner_role == owner.value)
    q = select(*t.__table__.c).where(*filters)  # plain rows: no ORM objects to build
    if after is not None:
        at, pid, eid = after
        at = at
        q = q.where(or_(
            t.raised_at > at,
            and_(t.raised_at == at, or_(t.placement_id > pid, and_(t.placement_id == pid, t.escalation_id > eid))),
        ))
    q = q.order_by(t.raised_at, t.placement_id, t.escalation_id)
    return _page(engine, q, _count(t, filters), lambda r: (r.raised_at, r.placement_id, r.escalation_id), limit)


def running(engine: Engine, school_id: str) -> list[PlacementRow]:
    """A school's placements whose workflows still run (every state but the final two)."""
    q = select(PlacementRow).where(PlacementRow.school_id == school_id, PlacementRow.state.not_in(FINAL_STATES))
    with Session(engine) as s:
        return list(s.scalars(q))


def open_placements_of(engine: Engine, school_id: str, pupil_id: str) -> Sequence[PlacementRow]:
    """A pupil's placements not yet closed or terminated, at any provider
    (one query on ix_placements_pupil)."""
    q = select(PlacementRow).where(
        PlacementRow.school_id == school_id, PlacementRow.pupil_id == pupil_id, PlacementRow.state.not_in(FINAL_STATES),
    ).order_by(PlacementRow.start_date)
    with Session(engine) as s:
        return list(s.scalars(q))


def open_spans(engine: Engine, proposal: Proposal) -> list[Span]:
    """The pupil's other open placements, as the overlap rule reads them."""
    return [
        Span(placement_id=r.placement_id, provider_name=r.provider_name, start=r.start_date, end=r.planned_end_date,
             days=frozenset((r.pattern_days or "").split(",")) - {""})
        for r in open_placements_of(engine, proposal.school.school_id, proposal.pupil.pupil_id)
    ]


def audit_trail(engine: Engine, placement_id: str) -> list[AuditEvent]:
    q = select(AuditEvent).where(AuditEvent.placement_id == placement_id).order_by(AuditEvent.seq)
    with Session(engine) as s:
        return list(s.scalars(q))


# --- what the console's Today page asks -------------------------------------


def _in(column, values: Collection[str] | None) -> list:
    """The filter to these values (none: no filter). One value is an
    equality, so one school's list is a range of that school's index;
    several, an IN list."""
    if values is None:
        return []
    ordered = sorted(set(values))
    return [column == ordered[0]] if len(ordered) == 1 else [column.in_(ordered)]


def due_by(engine: Engine, school_ids: Collection[str] | None, until: date, limit: int) -> Page:
    """Running placements whose next deadline falls on or before `until`,
    the earliest first: every placement with any deadline by then is among
    them, its next deadline being its earliest."""
    t = PlacementRow
    where = [t.next_deadline <= until, t.state.not_in(FINAL_STATES), *_in(t.school_id, school_ids)]
    q = select(t).where(*where).order_by(t.next_deadline, t.placement_id)
    return _page(engine, q, _count(t, where), lambda r: (r.next_deadline, r.placement_id), limit)


def starting_between(engine: Engine, school_ids: Collection[str] | None, states: Collection[str],
                     first: date, last: date, limit: int) -> Page:
    """Placements in `states` starting from `first` to `last`, soonest first
    (a range of ix_placements_list)."""
    t = PlacementRow
    where = [t.start_date >= first, t.start_date <= last, t.state.in_(sorted(states)), *_in(t.school_id, school_ids)]
    q = select(t).where(*where).order_by(t.start_date, t.placement_id)
    return _page(engine, q, _count(t, where), lambda r: (r.start_date, r.placement_id), limit)


def open_escalations(engine: Engine, school_ids: Collection[str] | None, owners: Collection[str] | None,
                     limit: int, kinds: Collection[str] | None = None) -> Page:
    """Open escalations at these schools for these owners (none: any), oldest
    first (the ix_escalations_open* indexes)."""
    t = EscalationRow
    where = [t.resolved_at.is_(None), *_in(t.school_id, school_ids), *_in(t.owner_role, owners), *_in(t.kind, kinds)]
    q = select(t).where(*where).order_by(t.raised_at, t.placement_id, t.escalation_id)
    return _page(engine, q, _count(t, where), lambda r: (r.raised_at, r.placement_id, r.escalation_id), limit)


def escalations_of(engine: Engine, placement_id: str) -> list[EscalationRow]:
    """One placement's escalations, open and resolved, oldest first."""
    q = select(EscalationRow).where(EscalationRow.placement_id == placement_id).order_by(EscalationRow.raised_at)
    with Session(engine) as s:
        return list(s.scalars(q))


def by_ids(engine: Engine, placement_ids: Collection[str]) -> dict[str, PlacementRow]:
    """The rows of a page's placements, in one query."""
    if not placement_ids:
        return {}
    q = select(PlacementRow).where(PlacementRow.placement_id.in_(sorted(set(placement_ids))))
    with Session(engine) as s:
        return {r.placement_id: r for r in s.scalars(q)}


def entries_of(conn: Connection, rows: Sequence) -> list[RegisterEntry]:
    """The register's entries of `rows` (each with placement_id, entry and
    planned_end_date), in their order (`_kept`)."""
    return _kept(conn, rows, "entry", ENTRY, register_entry)


def returns_of(conn: Connection, rows: Sequence) -> list[Returns]:
    """What the returns take of `rows` (each with placement_id, returns and
    planned_end_date), in their order (`_kept`)."""
    return _kept(conn, rows, "returns", RETURNS, returns)


def _kept(conn: Connection, rows: Sequence, column: str, kept: TypeAdapter, made: Callable) -> list:
    """Each row's record as its `column` keeps it, or for a row written
    before the column, made from the row's whole placement (one more query)."""
    missing = [r.placement_id for r in rows if getattr(r, column) is None]
    t = PlacementRow
    older = {r.placement_id: made(Placement.model_validate(r.data, context=STORED), r.planned_end_date)
             for r in conn.execute(select(t.placement_id, t.planned_end_date, t.data).where(t.placement_id.in_(missing)))
             } if missing else {}
    return [older[r.placement_id] if getattr(r, column) is None else kept.validate_python(getattr(r, column))
            for r in rows]


def fill_entries(engine: Engine, calendar_of: Callable[[str], SchoolCalendar | None], batch: int = 500) -> int:
    """Writes the entry and the returns of each row projected before the
    register kept them (migrations 0018 and 0019), from the row's placement, with its last day counted on
    its school's calendar (`calendar_of`) where it stated only a number of
    days: a closed placement is never projected again, so its row would
    otherwise lack both for good. A row projected again meanwhile is left as
    that projection wrote it, and one whose school's calendar cannot be read
    (None) is left for a later run. How many rows were filled."""
    t = PlacementRow.__table__
    unfilled = or_(t.c.entry.is_(None), t.c.returns.is_(None))
    fill = (t.update()
            .where(t.c.placement_id == bindparam("b_id"), t.c.version == bindparam("b_version"), unfilled)
            .values(entry=bindparam("b_entry"), returns=bindparam("b_returns"), planned_end_date=bindparam("b_end")))
    filled, after = 0, ""
    while True:
        with engine.connect() as conn:
            rows = conn.execute(select(t.c.placement_id, t.c.version, t.c.planned_end_date, t.c.data)
                                .where(unfilled, t.c.placement_id > after)
                                .order_by(t.c.placement_id).limit(batch)).all()
        if not rows:
            return filled
        after = rows[-1].placement_id
        values = []
        for r in rows:
            p = Placement.model_validate(r.data, context=STORED)
            calendar = calendar_of(p.school.school_id)
            if calendar is None:
                continue
            end = r.planned_end_date or planned_end(p, calendar)
            values.append(dict(b_id=r.placement_id, b_version=r.version, b_end=end,
                               b_entry=ENTRY.dump_python(register_entry(p, end), mode="json"),
                               b_returns=RETURNS.dump_python(returns(p, end), mode="json")))
        if values:
            with engine.begin() as conn:
                filled += conn.execute(fill, values).rowcount


def entries(engine: Engine, placement_ids: Collection[str]) -> dict[str, RegisterEntry]:
    """The register's entries of a page's placements, in one query (two with rows from before `entry`)."""
    if not placement_ids:
        return {}
    t = PlacementRow
    with engine.connect() as conn:
        rows = list(conn.execute(select(t.placement_id, t.entry, t.planned_end_date)
                                 .where(t.placement_id.in_(sorted(set(placement_ids))))))
        return {e.placement_id: e for e in entries_of(conn, rows)}


def pupil_names(engine: Engine, placement_ids: Collection[str]) -> dict[str, str]:
    """Each placement's pupil's name, from its column (the JSON only for a
    row written before the column was)."""
    if not placement_ids:
        return {}
    t = PlacementRow
    with engine.connect() as conn:
        rows = list(conn.execute(select(t.placement_id, t.pupil_name).where(t.placement_id.in_(sorted(set(placement_ids))))))
        missing = [r.placement_id for r in rows if r.pupil_name is None]
        older = conn.execute(select(t.placement_id, t.data).where(t.placement_id.in_(missing))) if missing else []
        return {r.placement_id: r.pupil_name for r in rows if r.pupil_name is not None} | {
            r.placement_id: r.data["pupil"]["name"] for r in older}


def open_escalation_counts(engine: Engine, placement_ids: Collection[str]) -> dict[str, int]:
    """How many open escalations each of a page's placements has, in one query."""
    if not placement_ids:
        return {}
    t = EscalationRow
    q = (select(t.placement_id, func.count()).where(t.placement_id.in_(sorted(set(placement_ids))), t.resolved_at.is_(None))
         .group_by(t.placement_id))
    with engine.connect() as conn:
        return {pid: n for pid, n in conn.execute(q)}


def state_counts(engine: Engine, school_ids: Collection[str] | None) -> list[tuple[str, str, int]]:
    """(school_id, state, n) for the schools given (all when None): one
    GROUP BY on the list's (school, state) index."""
    if school_ids is not None and not school_ids:
        return []
    p = PlacementRow
    q = select(p.school_id, p.state, func.count()).where(*_in(p.school_id, school_ids)).group_by(p.school_id, p.state)
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(q)]


@dataclass(frozen=True)
class Tallies:
    """What monitoring counts, each a tuple of label values and a count: one
    GROUP BY apiece, read in one snapshot, so a scrape costs the same at
    10,000 placements as at ten. Labels are states, school ids, roles and
    statuses: nothing about a pupil."""

    placements: list[tuple[str, str, int]]  # (state, school_id, n)
    overdue: list[tuple[str, int]]  # (school_id, running placements with a deadline before today)
    open_escalations: list[tuple[str, str, int]]  # (owner_role, school_id, n)
    letters: list[tuple[str, str, int]]  # (kind, status, n)


def tallies(engine: Engine, today: date) -> Tallies:
    from .documents import DocumentRow  # the documents' module imports this one's tables

    p, e, d = PlacementRow, EscalationRow, DocumentRow
    with engine.connect() as conn:
        _one_snapshot(conn)
        placements = conn.execute(select(p.state, p.school_id, func.count()).group_by(p.state, p.school_id)).all()
        overdue = conn.execute(
            select(p.school_id, func.count())
            .where(p.next_deadline < today, p.state.not_in(FINAL_STATES)).group_by(p.school_id)).all()
        escalations = conn.execute(
            select(e.owner_role, e.school_id, func.count())
            .where(e.resolved_at.is_(None)).group_by(e.owner_role, e.school_id)).all()
        # In the order of ix_documents_status_kind: counted from the index alone.
        letters = conn.execute(select(d.kind, d.status, func.count()).group_by(d.status, d.kind)).all()
    return Tallies([tuple(r) for r in placements], [tuple(r) for r in overdue],
                   [tuple(r) for r in escalations], [tuple(r) for r in letters])
