"""Attendance in SQL: register codes, one mark per placement, day and
session, every amendment, the alerts the daily sweep sent, and a small
projection of each placement (`attendance_expectations`) that lets the sweep
find, in one query, the placements owing a mark.

Why a table of its own for expectations: the sweep must not parse each
placement's JSON document. The projection holds only what attendance needs
(state, the day it really started and ended, pattern days and times, whether
the provider is a registered school, part or full time, dual registration) in
plain indexed columns; it is written in the same transaction as the
placement's register row (`store.register.project`), so it never drifts from
it, and it leaves the register's own table to the register.

Marks are kept at least 6 years (RULES, "Records"): nothing here deletes them.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from functools import lru_cache

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Connection,
    Date,
    Engine,
    ForeignKey,
    Integer,
    String,
    Text,
    Time,
    and_,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from domain.attendance import (
    ATTENDING_STATES,
    REGISTER_CLAUSE,
    WEEKDAYS,
    AttendanceSettings,
    CodeBook,
    PlacementFacts,
    effective_explained,
    mark_problems,
)
from domain.calendar import SchoolCalendar
from domain.clock import uk_date
from domain.models import Actor, Placement

from .db import insert_for
from .tables import Base, Instant

# Rows per statement: SQLite allows 32,766 bound values in one statement.
_CHUNK = 1_000


class AttendanceCodeRow(Base):
    __tablename__ = "attendance_codes"

    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    meaning: Mapped[str] = mapped_column(Text)
    counts_as: Mapped[str] = mapped_column(String(24))
    explained: Mapped[bool] = mapped_column(Boolean)
    needs_provider_mark: Mapped[bool] = mapped_column(Boolean)
    fits: Mapped[list] = mapped_column(JSON)
    retired: Mapped[bool] = mapped_column(Boolean)


class AttendanceMark(Base):
    """One session's mark. `code` is the register's current entry;
    `provider_code` what the provider itself last reported for the session."""

    __tablename__ = "attendance_marks"
    __table_args__ = (CheckConstraint("session IN ('am', 'pm')", name="ck_attendance_marks_session"),)

    placement_id: Mapped[str] = mapped_column(ForeignKey("placements.placement_id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    session: Mapped[str] = mapped_column(String(2), primary_key=True)
    code: Mapped[str] = mapped_column(ForeignKey("attendance_codes.code"))
    explained: Mapped[bool | None] = mapped_column(Boolean)  # absences only
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))  # provider | school
    provider_code: Mapped[str | None] = mapped_column(String(4))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_role: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[datetime] = mapped_column(Instant())


class AttendanceAmendment(Base):
    """The entry before and after every change to a mark, who made it and why
    (the 2024 regulations keep the original entry of an amended register)."""

    __tablename__ = "attendance_amendments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    placement_id: Mapped[str] = mapped_column(String(64), index=True)
    day: Mapped[date] = mapped_column(Date)
    session: Mapped[str] = mapped_column(String(2))
    old_code: Mapped[str] = mapped_column(String(4))
    old_explained: Mapped[bool | None] = mapped_column(Boolean)
    old_source: Mapped[str] = mapped_column(String(16))
    new_code: Mapped[str] = mapped_column(String(4))
    new_explained: Mapped[bool | None] = mapped_column(Boolean)
    new_source: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    amended_by: Mapped[str] = mapped_column(String(100))
    amended_role: Mapped[str] = mapped_column(String(32))
    amended_at: Mapped[datetime] = mapped_column(Instant())


class AttendanceAlertRow(Base):
    """A chase or escalation the sweep has signalled, so it is sent once."""

    __tablename__ = "attendance_alerts"

    placement_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    session: Mapped[str] = mapped_column(String(2), primary_key=True)
    problem: Mapped[str] = mapped_column(String(32), primary_key=True)
    code: Mapped[str | None] = mapped_column(String(4))
    signalled_at: Mapped[datetime] = mapped_column(Instant())


class AttendanceChaseRow(Base):
    """A provider asked for a session's missing mark (RULES, "attendance
    marks": chase the provider the same day, then escalate). `check_day` and
    `check` name the sweep that sent it, so the same sweep run again is quiet
    and only a later one escalates. `settled_at` is set once the chase needs
    no more thought: escalated, or the mark arrived, or the placement stopped."""

    __tablename__ = "attendance_chases"
    __table_args__ = (CheckConstraint("session IN ('am', 'pm')", name="ck_attendance_chases_session"),)

    placement_id: Mapped[str] = mapped_column(ForeignKey("placements.placement_id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    session: Mapped[str] = mapped_column(String(2), primary_key=True)
    check_day: Mapped[date] = mapped_column(Date)
    check: Mapped[str] = mapped_column(String(2))  # the sweep's check: am | pm
    document_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))  # sent | unconfirmed (documents)
    chased_at: Mapped[datetime] = mapped_column(Instant())
    settled_at: Mapped[datetime | None] = mapped_column(Instant(), index=True)


class AttendanceExpectation(Base):
    __tablename__ = "attendance_expectations"

    placement_id: Mapped[str] = mapped_column(ForeignKey("placements.placement_id"), primary_key=True)
    school_id: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(32), index=True)
    version: Mapped[int] = mapped_column(Integer)  # as on the register's row: only moves forward
    seq: Mapped[int] = mapped_column(Integer)
    started_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    mon: Mapped[bool] = mapped_column(Boolean)
    tue: Mapped[bool] = mapped_column(Boolean)
    wed: Mapped[bool] = mapped_column(Boolean)
    thu: Mapped[bool] = mapped_column(Boolean)
    fri: Mapped[bool] = mapped_column(Boolean)
    arrival: Mapped[time] = mapped_column(Time)
    departure: Mapped[time] = mapped_column(Time)
    provider_registered: Mapped[bool] = mapped_column(Boolean)
    full_time: Mapped[bool] = mapped_column(Boolean)
    dual_registration_from: Mapped[date | None] = mapped_column(Date)


def _chunks(items: Sequence, size: int = _CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


# --- codes -----------------------------------------------------------------------


def sync_codes(engine: Engine, book: CodeBook) -> None:
    """Makes the codes table match the book. A code no longer in the book is
    kept, retired, so the marks recorded with it keep their meaning."""
    rows = [
        dict(code=c.code, meaning=c.meaning, counts_as=c.counts_as.value, explained=c.explained,
             needs_provider_mark=c.needs_provider_mark, fits=[f.value for f in c.fits], retired=c.retired)
        for c in book
    ]
    stmt = insert_for(engine.dialect.name, AttendanceCodeRow).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[AttendanceCodeRow.code],
        set_={k: stmt.excluded[k] for k in rows[0] if k != "code"},
    )
    with engine.begin() as conn:
        conn.execute(stmt)
        conn.execute(update(AttendanceCodeRow).where(AttendanceCodeRow.code.not_in([r["code"] for r in rows])).values(retired=True))


# --- the expectations projection ----------------------------------------------------


def expectation_values(p: Placement) -> dict:
    started = next((h for h in p.history if h.action == "start"), None)
    ended_on = uk_date(p.history[-1].at) if p.final and p.history else None
    days = {d.value for d in p.pattern.days}
    return dict(
        placement_id=p.placement_id,
        school_id=p.school.school_id,
        state=p.state,
        version=p.version,
        seq=p.seq,
        started_on=uk_date(started.at) if started else None,
        ended_on=ended_on,
        **{d: d in days for d in WEEKDAYS},
        arrival=p.pattern.arrival,
        departure=p.pattern.departure,
        provider_registered=p.provider.registered_school,
        full_time=p.pattern.full_time,
        dual_registration_from=p.dual_registration_from,
    )


def upsert_expectations(conn: Connection, placements: Sequence[Placement]) -> None:
    """Brings the projection up to these placements; like the register row it
    only moves forward (`newer`). One statement built once an engine, for
    every row (a multi-row VALUES would be compiled again every time)."""
    rows = [expectation_values(p) for p in placements]
    if rows:
        conn.execute(_expectation_upsert(conn.dialect.name, tuple(rows[0])), rows)


@lru_cache
def _expectation_upsert(dialect: str, keys: tuple[str, ...]):
    stmt = insert_for(dialect, AttendanceExpectation)
    return stmt.on_conflict_do_update(
        index_elements=[AttendanceExpectation.placement_id],
        set_={k: stmt.excluded[k] for k in keys if k != "placement_id"},
        where=newer(AttendanceExpectation, stmt.excluded),
    )


def newer(table, excluded):
    """Whether the incoming row (`excluded`) is newer than the stored one: a
    higher version, the number the workflow raises at every change it
    publishes (escalations included, which leave seq alone); at the same
    version, which only placements built outside a workflow share, a longer
    history. A late or repeated projection is therefore never applied."""
    return or_(
        table.version < excluded.version,
        and_(table.version == excluded.version, table.seq < excluded.seq),
    )


def _facts(row) -> PlacementFacts:
    return PlacementFacts(
        placement_id=row.placement_id, school_id=row.school_id, state=row.state,
        started_on=row.started_on, ended_on=row.ended_on,
        days=frozenset(d for d in WEEKDAYS if getattr(row, d)),
        arrival=row.arrival, departure=row.departure,
        provider_registered=row.provider_registered, full_time=row.full_time,
        dual_registration_from=row.dual_registration_from,
    )


def facts_for(engine: Engine, placement_ids: Iterable[str]) -> dict[str, PlacementFacts]:
    ids = sorted(set(placement_ids))
    e = AttendanceExpectation.__table__
    out: dict[str, PlacementFacts] = {}
    with engine.connect() as conn:
        for chunk in _chunks(ids):
            for row in conn.execute(select(e).where(e.c.placement_id.in_(chunk))):
                out[row.placement_id] = _facts(row)
    return out


# --- recording a register -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarkIn:
    placement_id: str
    day: date
    session: str
    code: str
    explained: bool | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    placement_id: str
    day: date
    session: str
    field: str
    message: str
    clause: str = REGISTER_CLAUSE


class RegisterRefused(Exception):
    """Nothing was recorded: every row that cannot be, with why."""

    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} row(s) refused")
        self.errors = errors


@dataclass
class Recorded:
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    marks: list[dict] = field(default_factory=list, repr=False)


# Who records a row, asked per school (a person may hold roles at several):
# the actor they record as there, or none when they may not record there.
ActorAt = Callable[[str], Actor | None]
# Whether the person may see a school's placements at all (a row of a school
# they cannot see is refused as if its placement did not exist).
MaySee = Callable[[str], bool]


def validate_register(
    engine: Engine,
    book: CodeBook,
    marks: Sequence[MarkIn],
    actor_at: ActorAt,
    today: date,
    calendar_for: Callable[[str], SchoolCalendar],
    may_see: MaySee,
    boundary: time = AttendanceSettings().session_boundary,
) -> list[RowError]:
    """Every reason any row cannot be recorded (empty: all can), each with
    its clause. A session the placement's pattern does not schedule (not a
    pattern day, or outside its times by the session `boundary`) is refused:
    no mark may count a session nobody was due to attend (§10.3)."""
    return _judge(engine, book, marks, actor_at, today, calendar_for, may_see, boundary)[0]


def _judge(engine, book, marks, actor_at, today, calendar_for, may_see, boundary) -> tuple[list[RowError], dict[str, Actor]]:
    """The refused rows, and the actor recording each placement's rows."""
    facts = facts_for(engine, (m.placement_id for m in marks))
    calendars: dict[str, SchoolCalendar] = {}
    recorders: dict[str, Actor] = {}
    seen: dict[tuple[str, date, str], int] = {}
    errors: list[RowError] = []
    for i, m in enumerate(marks):
        def refuse(field_: str, message: str, clause: str = REGISTER_CLAUSE) -> None:
            errors.append(RowError(i, m.placement_id, m.day, m.session, field_, message, clause))

        key = (m.placement_id, m.day, m.session)
        if key in seen:
            refuse("session", f"the same session is listed in row {seen[key]} too")
            continue
        seen[key] = i
        f = facts.get(m.placement_id)
        if f is None or not may_see(f.school_id):  # the same answer: ids of others' placements leak nothing
            refuse("placement_id", f"no placement {m.placement_id}")
            continue
        actor = actor_at(f.school_id)
        if actor is None:
            refuse("placement_id", f"your role at school {f.school_id} does not record its attendance", "roles")
            continue
        recorders[m.placement_id] = actor
        if f.school_id not in calendars:
            calendars[f.school_id] = calendar_for(f.school_id)
        for p in mark_problems(book, f, m.day, m.code, m.explained, calendars[f.school_id], today, m.session, boundary):
            refuse(p.field, p.message, p.clause)
    return errors, recorders


@lru_cache(maxsize=4)
def _mark_upsert(dialect: str):
    """One statement, built and compiled once, executed for every row
    (SQLAlchemy sends them as multi-row INSERTs where the driver allows)."""
    table = AttendanceMark.__table__
    stmt = insert_for(dialect, table)
    keys = ("placement_id", "day", "session")
    return stmt.on_conflict_do_update(
        index_elements=list(keys), set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys},
    )


def record_register(
    engine: Engine,
    book: CodeBook,
    marks: Sequence[MarkIn],
    actor_at: ActorAt,
    source: str,
    today: date,
    calendar_for: Callable[[str], SchoolCalendar],
    may_see: MaySee,
    now: datetime | None = None,
    boundary: time = AttendanceSettings().session_boundary,
) -> Recorded:
    """Validates the whole register, then writes it in one transaction: all of
    it or nothing (`RegisterRefused`). Idempotent per (placement, day,
    session): a row equal to what is stored is left alone, a different one
    replaces it and leaves an amendment behind. Each row is recorded by the
    actor `actor_at` names at its placement's school."""
    errors, recorders = _judge(engine, book, marks, actor_at, today, calendar_for, may_see, boundary)
    if errors:
        raise RegisterRefused(errors)
    now = now or datetime.now(timezone.utc)
    m_ = AttendanceMark
    result = Recorded()
    with engine.begin() as conn:
        existing: dict[tuple, tuple] = {}
        keys = [(m.placement_id, m.day, m.session) for m in marks]
        for chunk in _chunks(keys):
            q = select(m_.placement_id, m_.day, m_.session, m_.code, m_.explained, m_.note, m_.source, m_.provider_code).where(
                tuple_(m_.placement_id, m_.day, m_.session).in_(chunk)
            )
            for r in conn.execute(q):
                existing[(r.placement_id, r.day, r.session)] = r
        writes, amendments = [], []
        for m in marks:
            actor = recorders[m.placement_id]
            entry = book.get(m.code)
            explained = effective_explained(entry, m.explained)
            key = (m.placement_id, m.day, m.session)
            old = existing.get(key)
            provider_code = m.code if source == "provider" else (old.provider_code if old else None)
            row = dict(
                placement_id=m.placement_id, day=m.day, session=m.session, code=m.code, explained=explained,
                note=m.note, source=source, provider_code=provider_code,
                recorded_by=actor.user_id, recorded_role=actor.role.value, recorded_at=now,
            )
            if old is None:
                result.created += 1
            elif (old.code, old.explained, old.note, old.provider_code) == (m.code, explained, m.note, provider_code):
                result.unchanged += 1
                continue
            else:
                result.changed += 1
                amendments.append(dict(
                    placement_id=m.placement_id, day=m.day, session=m.session,
                    old_code=old.code, old_explained=old.explained, old_source=old.source,
                    new_code=m.code, new_explained=explained, new_source=source, reason=m.note,
                    amended_by=actor.user_id, amended_role=actor.role.value, amended_at=now,
                ))
            writes.append(row)
        if writes:
            conn.execute(_mark_upsert(engine.dialect.name), writes)
        if amendments:
            conn.execute(AttendanceAmendment.__table__.insert(), amendments)
    return result


# --- reading ---------------------------------------------------------------------------


def marks_for(engine: Engine, placement_id: str, first: date | None = None, last: date | None = None) -> list[AttendanceMark]:
    q = select(AttendanceMark).where(AttendanceMark.placement_id == placement_id)
    if first:
        q = q.where(AttendanceMark.day >= first)
    if last:
        q = q.where(AttendanceMark.day <= last)
    with Session(engine) as s:
        return list(s.scalars(q.order_by(AttendanceMark.day, AttendanceMark.session)))


def counted_marks(engine: Engine, placement_id: str) -> list[tuple[date, str, str]]:
    """(day, session, what the mark counts as) for each of a placement's marks."""
    q = (select(AttendanceMark.day, AttendanceMark.session, AttendanceCodeRow.counts_as)
         .join(AttendanceCodeRow, AttendanceCodeRow.code == AttendanceMark.code)
         .where(AttendanceMark.placement_id == placement_id).order_by(AttendanceMark.day, AttendanceMark.session))
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(q)]


def amendments_for(engine: Engine, placement_id: str) -> list[AttendanceAmendment]:
    q = select(AttendanceAmendment).where(AttendanceAmendment.placement_id == placement_id).order_by(AttendanceAmendment.id)
    with Session(engine) as s:
        return list(s.scalars(q))


def expectation(engine: Engine, placement_id: str) -> PlacementFacts | None:
    return facts_for(engine, [placement_id]).get(placement_id)


# --- the sweep ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    placement_id: str
    day: date
    session: str
    problem: str  # missing | unexplained_absence
    code: str | None


def _weekday_column(day: date):
    return getattr(AttendanceExpectation, WEEKDAYS[day.weekday()]) if day.weekday() < 5 else None


def schools_expecting(engine: Engine, day: date) -> list[str]:
    """The schools with a running placement whose pattern includes `day`'s weekday."""
    e = AttendanceExpectation
    weekday = _weekday_column(day)
    if weekday is None:
        return []
    q = select(e.school_id).distinct().where(e.state.in_(ATTENDING_STATES), e.started_on <= day, weekday.is_(True))
    with engine.connect() as conn:
        return sorted(conn.scalars(q))


def sweep_candidates(
    engine: Engine, day: date, sessions: Sequence[str], school_ids: Sequence[str], boundary: time,
) -> list[Candidate]:
    """Placements owing `day`'s sessions (running, pattern day, at a school
    open that day) whose mark is missing, is a code the provider has not
    itself reported (a B with no provider report), or is an unexplained
    absence; less what was signalled already. One query per session."""
    e, m, c = AttendanceExpectation, AttendanceMark, AttendanceCodeRow
    weekday = _weekday_column(day)
    if weekday is None or not school_ids:
        return []
    alerted = alerted_on(engine, day)
    out: list[Candidate] = []
    with engine.connect() as conn:
        for session in sessions:
            covers = e.arrival < boundary if session == "am" else e.departure > boundary
            q = (
                select(e.placement_id, m.code, m.explained, m.provider_code, c.needs_provider_mark)
                .select_from(e)
                .outerjoin(m, and_(m.placement_id == e.placement_id, m.day == day, m.session == session))
                .outerjoin(c, c.code == m.code)
                .where(
                    e.state.in_(ATTENDING_STATES), e.started_on <= day, weekday.is_(True), covers,
                    e.school_id.in_(list(school_ids)),
                    or_(
                        m.code.is_(None),
                        and_(c.needs_provider_mark.is_(True), or_(m.provider_code.is_(None), m.provider_code != m.code)),
                        m.explained.is_(False),
                    ),
                )
                .order_by(e.placement_id)
            )
            for r in conn.execute(q):
                problem = "unexplained_absence" if r.explained is False else "missing"
                if (r.placement_id, session, problem) not in alerted:
                    out.append(Candidate(r.placement_id, day, session, problem, r.code))
    return out


def alerted_on(engine: Engine, day: date) -> set[tuple[str, str, str]]:
    a = AttendanceAlertRow
    with engine.connect() as conn:
        return {tuple(r) for r in conn.execute(select(a.placement_id, a.session, a.problem).where(a.day == day))}


def record_alerts(engine: Engine, alerts: Sequence[Candidate], at: datetime) -> None:
    """Records what was signalled; a missing mark's escalation settles its chase too."""
    rows = [dict(placement_id=a.placement_id, day=a.day, session=a.session, problem=a.problem, code=a.code, signalled_at=at) for a in alerts]
    chased = sorted({(a.placement_id, a.day, a.session) for a in alerts if a.problem == "missing"})
    c = AttendanceChaseRow
    with engine.begin() as conn:
        for chunk in _chunks(rows):
            conn.execute(insert_for(engine.dialect.name, AttendanceAlertRow).values(list(chunk)).on_conflict_do_nothing())
        for chunk in _chunks(chased):
            conn.execute(update(c).where(tuple_(c.placement_id, c.day, c.session).in_(chunk), c.settled_at.is_(None)).values(settled_at=at))


def alerts_for(engine: Engine, placement_id: str) -> list[AttendanceAlertRow]:
    a = AttendanceAlertRow
    with Session(engine) as s:
        return list(s.scalars(select(a).where(a.placement_id == placement_id).order_by(a.day, a.session, a.problem)))



# --- chases: the provider asked first -------------------------------------------------


@dataclass(frozen=True, slots=True)
class Chase:
    placement_id: str
    day: date
    session: str
    check_day: date  # the sweep that sent it
    check: str
    document_id: str
    status: str
    chased_at: datetime


def check_order(check_day: date, check: str) -> tuple[date, int]:
    """Sweeps in the order they run: a day's am check, then its pm check."""
    return check_day, 0 if check == "am" else 1


def chases_by_key(engine: Engine, keys: Iterable[tuple[str, date, str]]) -> dict[tuple[str, date, str], Chase]:
    c = AttendanceChaseRow
    out: dict[tuple[str, date, str], Chase] = {}
    with engine.connect() as conn:
        for chunk in _chunks(sorted(set(keys))):
            q = select(c.placement_id, c.day, c.session, c.check_day, c.check, c.document_id, c.status, c.chased_at).where(
                tuple_(c.placement_id, c.day, c.session).in_(chunk)
            )
            for r in conn.execute(q):
                out[(r.placement_id, r.day, r.session)] = Chase(*r)
    return out


@dataclass(frozen=True, slots=True)
class OpenChase:
    chase: Chase
    school_id: str
    still_missing: bool  # the placement still runs, and the session has no mark the provider stands behind
    code: str | None


def open_chases(engine: Engine, day: date, check: str) -> list[OpenChase]:
    """Chases sent by sweeps before this one (`day`'s `check`) that nothing
    has settled yet, with whether their session is still missing."""
    c, e, m, codes = AttendanceChaseRow, AttendanceExpectation, AttendanceMark, AttendanceCodeRow
    earlier = or_(c.check_day < day, and_(c.check_day == day, c.check < check)) if check == "pm" else c.check_day < day
    q = (
        select(c.placement_id, c.day, c.session, c.check_day, c.check, c.document_id, c.status, c.chased_at,
               e.school_id, e.state, m.code, m.provider_code, codes.needs_provider_mark)
        .select_from(c)
        .join(e, e.placement_id == c.placement_id)
        .outerjoin(m, and_(m.placement_id == c.placement_id, m.day == c.day, m.session == c.session))
        .outerjoin(codes, codes.code == m.code)
        .where(c.settled_at.is_(None), earlier)
        .order_by(c.placement_id, c.day, c.session)
    )
    out = []
    with engine.connect() as conn:
        for r in conn.execute(q):
            unconfirmed = bool(r.needs_provider_mark) and r.provider_code != r.code
            missing = r.state in ATTENDING_STATES and (r.code is None or unconfirmed)
            out.append(OpenChase(Chase(*r[:8]), r.school_id, missing, r.code))
    return out


def record_chases(engine: Engine, chases: Sequence[Chase]) -> None:
    """Recorded once sent; a chase already recorded is kept as it was (the sweep that sent it first)."""
    if not chases:
        return
    rows = [dict(placement_id=x.placement_id, day=x.day, session=x.session, check_day=x.check_day, check=x.check,
                 document_id=x.document_id, status=x.status, chased_at=x.chased_at, settled_at=None) for x in chases]
    with engine.begin() as conn:
        for chunk in _chunks(rows):
            conn.execute(insert_for(engine.dialect.name, AttendanceChaseRow).values(list(chunk)).on_conflict_do_nothing())


def settle_chases(engine: Engine, keys: Iterable[tuple[str, date, str]], at: datetime) -> None:
    c = AttendanceChaseRow
    with engine.begin() as conn:
        for chunk in _chunks(sorted(set(keys))):
            conn.execute(update(c).where(tuple_(c.placement_id, c.day, c.session).in_(chunk), c.settled_at.is_(None)).values(settled_at=at))


def chases_for(engine: Engine, placement_id: str) -> list[AttendanceChaseRow]:
    c = AttendanceChaseRow
    with Session(engine) as s:
        return list(s.scalars(select(c).where(c.placement_id == placement_id).order_by(c.day, c.session)))
