"""The stuck report's read of escalations open too long, on both databases:
each kind against its own limit, in SQL, so only escalations already past
their limit are read, oldest first, and none of a placement that has ended."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from domain.models import PlacementState
from store import register
from store import stuck

from tests.store.conftest import postgres_url  # noqa: F401  (fixture)
from tests.store.test_register import db, escalated, placement, published  # noqa: F401  (db: fixture)

NOW = datetime(2027, 2, 1, 9, tzinfo=timezone.utc)


def with_escalations(pid: str, *opened: tuple[str, int], state: PlacementState | None = None, resolved: bool = False):
    p = placement(pid)
    for kind, days in opened:
        p = escalated(p, f"{kind}:{days}", at=NOW - timedelta(days=days))
    if resolved:
        done = dict(resolved_at=NOW, resolved_by=p.history[0].actor, resolution="done")
        p = p.model_copy(update={"escalations": [e.model_copy(update=done) for e in p.escalations]})
    return published(p.model_copy(update={"state": state}) if state else p, 2)


def test_each_kind_is_read_against_its_own_limit_oldest_first(db):  # noqa: F811
    register.project(db, with_escalations("p-a", ("notice", 12), ("notice", 5), ("safeguarding", 2)), None)
    register.project(db, with_escalations("p-b", ("safeguarding", 0), ("notice", 30)), None)
    register.project(db, with_escalations("p-c", ("notice", 40), resolved=True), None)  # resolved: not open
    register.project(db, with_escalations("p-d", ("notice", 50), state=PlacementState.closed), None)  # ended

    rows = stuck.escalations_open_too_long(db, NOW - timedelta(days=10), {"safeguarding": NOW - timedelta(days=1)})
    assert [(r.placement_id, r.escalation_id) for r in rows] == [
        ("p-b", "notice:30"), ("p-a", "notice:12"), ("p-a", "safeguarding:2")]
    assert {r.escalation_id for r in stuck.escalations_open_too_long(db, NOW - timedelta(days=1), {})} == {
        "notice:30", "notice:12", "notice:5", "safeguarding:2"}
    assert len(stuck.escalations_open_too_long(db, NOW - timedelta(days=10), {}, limit=1)) == 1
