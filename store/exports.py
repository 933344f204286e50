"""What the register's exports read, and the record of every export made.

An export can hold every placement the trust ever made, so nothing here
loads it whole: placements come in keyset pages of `PAGE` rows over the
list's own indexes (ix_placements_list*, the order the list shows), and
attendance marks through a streamed cursor (`yield_per`), so memory stays
one page however large the register grows."""
from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy import JSON, Connection, Engine, Integer, String, and_, or_, select
from sqlalchemy.orm import Mapped, mapped_column

from domain.models import Actor
from domain.records import RegisterEntry, Returns

from .attendance import AttendanceCodeRow, AttendanceMark
from .register import Filters, _in, _placement_filters, entries_of, returns_of
from .tables import Base, Instant, PlacementRow

PAGE = 500
T = TypeVar("T")


class ExportEvent(Base):
    """Who exported what, when, under which filter. The filter holds no pupil
    data: the exports are filtered by state, school, provider, kind and dates
    only (a pupil is searched for on the list, never exported by name)."""

    __tablename__ = "export_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    export: Mapped[str] = mapped_column(String(32))  # register | la_notice | census | attendance
    file_format: Mapped[str] = mapped_column(String(8))  # csv | xlsx
    actor_id: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(32))
    actor_school_id: Mapped[str | None] = mapped_column(String(16))
    filters: Mapped[dict] = mapped_column(JSON)
    rows: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(Instant(), index=True)


def record_export(engine: Engine, export: str, file_format: str, actor: Actor, filters: dict, rows: int,
                  at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(ExportEvent.__table__.insert().values(
            export=export, file_format=file_format, actor_id=actor.user_id, actor_role=actor.role.value,
            actor_school_id=actor.school_id, filters=filters, rows=rows, at=at,
        ))


def export_events(engine: Engine, limit: int = 100) -> list:
    """The latest exports, newest first."""
    q = select(*ExportEvent.__table__.c).order_by(ExportEvent.id.desc()).limit(limit)
    with engine.connect() as conn:
        return list(conn.execute(q))


def _pages(engine: Engine, filters: Filters, columns: list, read: Callable[[Connection, list], Iterable[T]],
           page: int) -> Iterator[T]:
    """`columns` of every placement the filters match, newest start first,
    read a page at a time (keyset on start date and id, as the list pages),
    each page made into what `read` makes of it: one page of rows in memory
    at once."""
    t = PlacementRow
    where = _placement_filters(filters)
    after: tuple[date, str] | None = None
    while True:
        q = select(t.placement_id, t.start_date, *columns).where(*where)
        if after is not None:
            q = q.where(or_(t.start_date < after[0], and_(t.start_date == after[0], t.placement_id < after[1])))
        with engine.connect() as conn:
            rows = list(conn.execute(q.order_by(t.start_date.desc(), t.placement_id.desc()).limit(page)))
            made = list(read(conn, rows))
        yield from made
        if len(rows) < page:
            return
        after = (rows[-1].start_date, rows[-1].placement_id)


def placement_returns(engine: Engine, filters: Filters, page: int = PAGE) -> Iterator[Returns]:
    """What the LA notice and the census take of every placement the filters
    match (`_pages`), from the rows' `returns` column (`store.register.returns_of`)."""
    t = PlacementRow
    return _pages(engine, filters, [t.returns, t.planned_end_date], returns_of, page)


def register_entries(engine: Engine, filters: Filters, page: int = PAGE) -> Iterator[RegisterEntry]:
    """The register's entry of every placement the filters match (`_pages`),
    from the rows' `entry` column (`store.register.entries_of`)."""
    t = PlacementRow
    return _pages(engine, filters, [t.entry, t.planned_end_date], entries_of, page)


@dataclass(frozen=True)
class MarkRow:
    placement_id: str
    school_id: str
    day: date
    session: str
    code: str
    meaning: str
    counts_as: str
    explained: bool | None
    source: str


def attendance(engine: Engine, school_ids: Collection[str] | None, first: date, last: date,
               placement_id: str | None = None) -> Iterator[MarkRow]:
    """Every mark at these schools (none: every school), or of one placement,
    from `first` to `last`, by placement, day and session, with what its code
    means. A streamed cursor: rows come from the database as they are written out."""
    m, p, c = AttendanceMark, PlacementRow, AttendanceCodeRow
    q = (select(m.placement_id, p.school_id, m.day, m.session, m.code, c.meaning, c.counts_as, m.explained, m.source)
         .join(p, p.placement_id == m.placement_id).join(c, c.code == m.code)
         .where(m.day >= first, m.day <= last, *_in(p.school_id, school_ids)))
    if placement_id is not None:
        q = q.where(m.placement_id == placement_id)
    q = q.order_by(m.placement_id, m.day, m.session)
    with engine.connect() as conn:
        for r in conn.execution_options(yield_per=PAGE).execute(q):
            yield MarkRow(*r)

