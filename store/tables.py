"""The register: every placement and every action on it, kept for years
after the workflow's history is gone."""
from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, TypeDecorator, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Instant(TypeDecorator):
    """A moment, stored and read back in UTC. PostgreSQL keeps the zone;
    SQLite keeps none and would hand back a naive time (and store a zoned
    one's wall clock as if it were UTC), so the zone is fixed here, once,
    for every column, rather than wherever a time is read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    @staticmethod
    def _in_utc(value: datetime | None) -> datetime | None:
        """A naive time is taken as UTC: it is what this column stored."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        return self._in_utc(value)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return self._in_utc(value)


class PlacementRow(Base):
    __tablename__ = "placements"
    __table_args__ = (
        # The list's order (newest start first), alone and under each filter:
        # a page is a range scan from the cursor, never a sort of the table.
        Index("ix_placements_list", "start_date", "placement_id"),
        Index("ix_placements_list_school", "school_id", "start_date", "placement_id"),
        Index("ix_placements_list_state", "state", "start_date", "placement_id"),
        Index("ix_placements_list_school_state", "school_id", "state", "start_date", "placement_id"),
        # A pupil's other placements, asked at every proposal (domain.overlaps).
        Index("ix_placements_pupil", "school_id", "pupil_id"),
        # Deadlines soonest first (Today's due list, the overdue filter).
        Index("ix_placements_deadline", "next_deadline", "placement_id"),
        # With the state, so /metrics counts a school's overdue placements from the index alone.
        Index("ix_placements_deadline_school", "school_id", "next_deadline", "placement_id", "state"),
        # A provider's placements, newest start first (its page on the trust's list).
        Index("ix_placements_provider", "provider_id", "start_date", "placement_id"),
        # Placements in a state since before a day (the stuck report's states held too long).
        Index("ix_placements_state_since", "state", "state_since", "placement_id"),
        # Whether a provider has a running placement at these schools (its lapsing record on Today).
        Index("ix_placements_provider_school_state", "provider_id", "school_id", "state"),
    )

    placement_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    school_id: Mapped[str] = mapped_column(String(16), index=True)
    state: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    pupil_id: Mapped[str] = mapped_column(String(64))
    provider_name: Mapped[str] = mapped_column(String(200))
    provider_id: Mapped[str | None] = mapped_column(String(40))  # the trust's record, when picked from the list
    start_date: Mapped[date] = mapped_column(Date)
    planned_end_date: Mapped[date | None] = mapped_column(Date)
    next_deadline: Mapped[date | None] = mapped_column(Date)
    # When the placement last moved into its state (the step's time, UTC);
    # none without such a step (a placement written outside a workflow).
    state_since: Mapped[datetime | None] = mapped_column(Instant())
    pattern_days: Mapped[str | None] = mapped_column(String(24))  # "mon,wed": the weekdays attended
    # What staff search a pupil by: the name and UPN, lower case. Personal
    # data like the row's JSON; searched only by a form, never from a URL.
    pupil_search: Mapped[str | None] = mapped_column(String(300))
    # The name lists show, so a list never loads a row's whole JSON.
    pupil_name: Mapped[str | None] = mapped_column(String(200))
    # A projection is applied only when newer than what is stored: it may
    # arrive twice or late, never backwards. Newer = a higher `version` (the
    # workflow raises it at every change it publishes, escalations included);
    # at the same version (placements built outside a workflow), a longer history.
    version: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict] = mapped_column(JSON)
    # What the trust's register shows of it (`domain.records.RegisterEntry`),
    # written with every projection, so the register's export and page read
    # a few fields rather than each row's whole JSON. None on a row written
    # before the column (migration 0018): filled from the JSON when the API
    # next starts (`store.register.fill_entries`), read from it until then.
    entry: Mapped[dict | None] = mapped_column(JSON)
    # What the LA's notice and the school census return of it
    # (`domain.records.Returns`), the same way (migration 0019).
    returns: Mapped[dict | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(Instant())


class AuditEvent(Base):
    """One step of a placement's history, every one: the workflow keeps only
    its last few (`domain.window`)."""

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("placement_id", "seq", name="uq_audit_placement_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    placement_id: Mapped[str] = mapped_column(ForeignKey("placements.placement_id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(Instant())
    note: Mapped[str | None] = mapped_column(Text)
    # The school the actor acted at (none for trust-wide roles): with it a
    # row is the history entry as the placement recorded it.
    actor_school_id: Mapped[str | None] = mapped_column(String(16))


class ContactRow(Base):
    """Every contact recorded on a placement (§2.5), each once: the workflow
    keeps only those its deadlines read (`domain.window`)."""

    __tablename__ = "placement_contacts"
    __table_args__ = (
        UniqueConstraint("placement_id", "contact_id", name="uq_contacts_placement_contact"),
        # A placement's contacts in the order they were recorded.
        Index("ix_contacts_placement", "placement_id", "seq", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    placement_id: Mapped[str] = mapped_column(ForeignKey("placements.placement_id"))
    contact_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)  # the step that recorded it (0: not known)
    kind: Mapped[str] = mapped_column(String(32))
    contacted_on: Mapped[date] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text)
    unannounced: Mapped[bool] = mapped_column(Boolean)
    record: Mapped[dict | None] = mapped_column(JSON)  # a progress visit's whole record (migration 0014)


class EscalationRow(Base):
    """An escalation as a row of its own, written with its placement's row
    (`store.register.project`): the operations view reads this table, never
    a placement's JSON."""

    __tablename__ = "escalations"
    __table_args__ = (
        # Open ones, oldest first: mine (owner role) at my school, my school's,
        # every school's for one owner, every school's.
        Index("ix_escalations_open_school_owner", "school_id", "owner_role", "raised_at", "placement_id", "escalation_id",
              sqlite_where=text("resolved_at IS NULL"), postgresql_where=text("resolved_at IS NULL")),
        Index("ix_escalations_open_school", "school_id", "raised_at", "placement_id", "escalation_id",
              sqlite_where=text("resolved_at IS NULL"), postgresql_where=text("resolved_at IS NULL")),
        Index("ix_escalations_open_owner", "owner_role", "raised_at", "placement_id", "escalation_id",
              sqlite_where=text("resolved_at IS NULL"), postgresql_where=text("resolved_at IS NULL")),
        Index("ix_escalations_open", "raised_at", "placement_id", "escalation_id",
              sqlite_where=text("resolved_at IS NULL"), postgresql_where=text("resolved_at IS NULL")),
        # Open ones of a kind with a shorter limit than the rest (the stuck report).
        Index("ix_escalations_open_kind", "kind", "raised_at", "placement_id", "escalation_id",
              sqlite_where=text("resolved_at IS NULL"), postgresql_where=text("resolved_at IS NULL")),
        # Resolved ones too (open=false): by school, and trust-wide.
        Index("ix_escalations_school", "school_id", "raised_at", "placement_id", "escalation_id"),
        Index("ix_escalations_raised", "raised_at", "placement_id", "escalation_id"),
    )

    placement_id: Mapped[str] = mapped_column(ForeignKey("placements.placement_id"), primary_key=True)
    escalation_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    school_id: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(64))
    owner_role: Mapped[str] = mapped_column(String(32))
    clause: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(Instant())  # UTC
    due: Mapped[date | None] = mapped_column(Date)
    resolved_at: Mapped[datetime | None] = mapped_column(Instant())
    resolved_by_id: Mapped[str | None] = mapped_column(String(100))
    resolved_by_role: Mapped[str | None] = mapped_column(String(32))
    resolution: Mapped[str | None] = mapped_column(Text)
