"""When a placement entered its state, kept on its row: set by the
projection of the step that moved it, kept while later steps leave it in
that state (though the step has left the placement's window), read by the
stuck report's states held too long, and filled from the audit trail for
placements registered before the column."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from alembic.config import Config
from sqlalchemy import insert, text

from domain.models import HistoryEntry, PlacementState
from store import register, stuck
from store.db import MIGRATIONS
from store.tables import AuditEvent, PlacementRow

from tests.store.conftest import postgres_url  # noqa: F401  (fixture)
from tests.store.test_register import db, placement, published, vetted  # noqa: F401  (db: fixture)

PROPOSED_AT = datetime(2026, 12, 1, 10, tzinfo=UTC)
VETTED_AT = datetime(2026, 12, 1, 11, tzinfo=UTC)


def since(db, pid: str) -> datetime | None:  # noqa: F811
    at = register.get(db, pid).state_since
    return at if at is None or at.tzinfo else at.replace(tzinfo=UTC)  # SQLite hands instants back without their zone


def test_the_step_into_the_state_sets_it_and_later_steps_in_that_state_keep_it(db):  # noqa: F811
    p = published(placement("p-a"), 1)
    register.project(db, p, None)
    assert since(db, "p-a") == PROPOSED_AT
    v = published(vetted(p), 2)
    register.project(db, v, None)
    assert since(db, "p-a") == VETTED_AT
    # A later step that leaves it vetted, with the vetting no longer in the window.
    note = HistoryEntry(seq=3, action="record_contact", actor=v.history[-1].actor, at=VETTED_AT + timedelta(days=3),
                        from_state="vetted", to_state="vetted")
    later = published(v.model_copy(update={"history": [v.history[0], note], "trimmed_history": 1}), 3)
    register.project(db, later, None)
    assert since(db, "p-a") == VETTED_AT
    register.project(db, p, None)  # a late, older projection changes nothing
    assert since(db, "p-a") == VETTED_AT and register.get(db, "p-a").state == "vetted"


def test_the_states_held_too_long_are_those_entered_before_the_day(db):  # noqa: F811
    register.project(db, published(placement("p-a"), 1), None)  # proposed at PROPOSED_AT
    register.project(db, published(vetted(placement("p-b")), 2), None)
    closed = placement("p-c").model_copy(update={"state": PlacementState.closed})
    register.project(db, published(closed, 1), None)
    assert [r.placement_id for r in stuck.in_state_since(db, "proposed", PROPOSED_AT + timedelta(minutes=1))] == ["p-a"]
    assert stuck.in_state_since(db, "proposed", PROPOSED_AT) == []
    (row,) = stuck.in_state_since(db, "vetted", VETTED_AT + timedelta(days=1))
    assert row.placement_id == "p-b"


def test_the_migration_fills_it_from_the_audit_trail(db):  # noqa: F811
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    p = vetted(placement("p-old"))
    with db.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0015")
        row = {k: v for k, v in register.placement_values(p, None).items() if k not in ("state_since", "entry", "returns")}
        conn.execute(insert(PlacementRow).values(**row))
        conn.execute(insert(AuditEvent), register.audit_values(p))
        command.upgrade(cfg, "head")
        assert conn.execute(text("select count(*) from placements where state_since is not null")).scalar_one() == 1
    assert since(db, "p-old") == VETTED_AT
