"""The register's counts for monitoring, on both databases: one GROUP BY a
series, by state and school, overdue only while running, open escalations
by owner, letters by kind and status."""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import event

from store import documents, register

from tests.store.conftest import postgres_url  # noqa: F401  (fixture)
from tests.store.test_register import db, escalated, published  # noqa: F401  (db: fixture)
from tests.store.test_register_console import put

AT = datetime(2027, 1, 6, 9, tzinfo=timezone.utc)


def letter(engine, key: str, kind: str, status: str) -> None:
    documents.claim(engine, documents.NewDocument(
        idempotency_key=key, placement_id="p-a", event="1", kind=kind, recipient_role="parent",
        recipient="parent@example.org", subject="s", html="", pdf=b"%PDF", sha256="0" * 64,
        delivery_mode="email", link_id=None, created_at=AT), status=status)


def test_each_series_is_one_aggregate_of_what_the_register_holds(db):
    put(db, "p-a", next_deadline=date(2027, 1, 1))
    put(db, "p-b", next_deadline=date(2027, 3, 1), pupil="P-0002")
    put(db, "p-c", next_deadline=date(2027, 1, 1), state="closed")
    put(db, "p-d", next_deadline=date(2027, 1, 1), school="137001", pupil="P-0004")
    p = put(db, "p-e", state="vetted", pupil="P-0005")
    resolved = dict(resolved_at=AT, resolved_by=p.history[0].actor, resolution="done")
    two = escalated(escalated(p), "vetting:2027-01-02")
    two = two.model_copy(update={"escalations": [two.escalations[0], two.escalations[1].model_copy(update=resolved)]})
    register.project(db, published(two, 5), None)
    letter(db, "k1", "offsite_direction_notice", documents.SENT)
    letter(db, "k2", "offsite_direction_notice", documents.SENT)
    letter(db, "k3", "staff_escalation", documents.FAILED)

    statements = []

    def seen(conn, cursor, statement, *rest):
        statements.append(statement)

    event.listen(db, "before_cursor_execute", seen)
    t = register.tallies(db, today=date(2027, 2, 1))
    event.remove(db, "before_cursor_execute", seen)

    assert sorted(t.placements) == [("closed", "137000", 1), ("proposed", "137000", 2), ("proposed", "137001", 1),
                                    ("vetted", "137000", 1)]
    assert sorted(t.overdue) == [("137000", 1), ("137001", 1)]  # the closed one owes nothing; p-b is not due yet
    assert t.open_escalations == [("headteacher", "137000", 1)]  # the resolved one is not counted
    assert sorted(t.letters) == [("offsite_direction_notice", "sent", 2), ("staff_escalation", "failed", 1)]
    # Four aggregates, and no read of a placement's JSON.
    counts = [s for s in statements if "count(" in s.lower()]
    assert len(counts) == 4 and all("group by" in s.lower() for s in counts), statements
    assert not any("placements.data" in s for s in statements), statements


def test_letters_and_overdue_placements_are_counted_and_a_provider_probed_from_indexes_alone(db):
    """/metrics counts letters and overdue placements without reading a row
    (a letter's HTML and PDF, a placement's JSON), and Today asks whether a
    provider has a running placement at a school with one probe: by the
    indexes as migration 0016 leaves them."""
    if db.dialect.name != "sqlite":
        return  # the plans are SQLite's; PostgreSQL chooses its own by the table's size
    tally = "SELECT kind, status, count(*) FROM documents GROUP BY status, kind"
    overdue = ("SELECT school_id, count(*) FROM placements WHERE next_deadline < '2027-02-01' "
               "AND state NOT IN ('closed', 'terminated') GROUP BY school_id")
    probe = ("SELECT 1 FROM placements WHERE provider_id = 'prov-1' AND school_id = '137000' "
             "AND state NOT IN ('closed', 'terminated')")
    with db.connect() as conn:
        plans = {sql: " ".join(r[-1] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")) for sql in (tally, probe, overdue)}
    assert "COVERING INDEX ix_documents_status_kind" in plans[tally], plans
    assert "COVERING INDEX ix_placements_provider_school_state" in plans[probe], plans
    assert "COVERING INDEX ix_placements_deadline_school" in plans[overdue], plans
