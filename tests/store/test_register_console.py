"""The register's reads for the console's pages, on both databases: the
list's filters, and Today's short lists."""
from __future__ import annotations

from datetime import date, datetime, timezone

from domain.models import PlacementState
from store import register
from store.register import Filters

from tests.store.conftest import postgres_url  # noqa: F401  (fixture)
from tests.store.test_register import db, escalated, placement, published, vetted  # noqa: F401  (db: fixture)


def put(db, pid: str, *, start=date(2027, 1, 11), next_deadline=None, state=None, provider=None, school="137000", pupil="P-0001"):
    p = placement(pid)
    changes = {"start_date": start, "school": p.school.model_copy(update={"school_id": school}),
               "pupil": p.pupil.model_copy(update={"pupil_id": pupil})}
    if state:
        changes["state"] = PlacementState(state)
    if provider:
        changes["provider"] = p.provider.model_copy(update={"name": provider})
    p = p.model_copy(update=changes)
    register.project(db, p, next_deadline)
    return p


def ids(page) -> set[str]:
    return {r.placement_id for r in page.rows}


def test_the_list_filters_on_what_the_register_holds(db):
    put(db, "p-a", provider="Bridgeway Learning Centre", next_deadline=date(2027, 1, 1))
    put(db, "p-b", provider="Northgate 100%_Centre", next_deadline=date(2027, 3, 1), pupil="P-0002")
    put(db, "p-c", provider="Bridgeway Learning Centre", next_deadline=date(2027, 1, 1), state="closed", school="137001")
    p = published(escalated(vetted(placement("p-d"))), 3)
    register.project(db, p, None)

    def listed(**f):
        return ids(register.placements_page(db, filters=Filters(**f)))

    assert listed(provider="bridgeway") == {"p-a", "p-c", "p-d"}
    assert listed(provider="100%_") == {"p-b"}  # a wildcard is a letter like any other
    assert listed(overdue_on=date(2027, 2, 1)) == {"p-a"}  # the closed one owes nothing
    assert listed(escalated=True) == {"p-d"}
    assert listed(school_ids={"137001"}) == {"p-c"} and listed(school_ids=set()) == set()
    assert listed(pupil_id="P-0002") == {"p-b"}
    assert listed(state="vetted", school_ids={"137000", "137001"}) == {"p-d"}
    assert register.placements_page(db, filters=Filters(kind="off_site_direction")).total == 4


def test_todays_lists_are_the_soonest_first_and_only_the_schools_asked(db):
    put(db, "p-late", next_deadline=date(2027, 1, 4))
    put(db, "p-soon", next_deadline=date(2027, 1, 8), start=date(2027, 1, 13))
    put(db, "p-later", next_deadline=date(2027, 2, 8))
    put(db, "p-other", next_deadline=date(2027, 1, 5), school="137001")
    put(db, "p-done", next_deadline=date(2027, 1, 5), state="closed")
    due = register.due_by(db, {"137000"}, date(2027, 1, 10), limit=10)
    assert [r.placement_id for r in due.rows] == ["p-late", "p-soon"]
    assert ids(register.due_by(db, None, date(2027, 1, 10), limit=10)) == {"p-late", "p-soon", "p-other"}
    starting = register.starting_between(db, {"137000"}, {"proposed"}, date(2027, 1, 12), date(2027, 1, 20), limit=10)
    assert [r.placement_id for r in starting.rows] == ["p-soon"]


def test_open_escalations_by_schools_owners_and_kinds(db):
    p = published(vetted(placement("p-e")), 2)
    p = escalated(p, "review:2027-02-12", at=datetime(2027, 1, 6, 9, tzinfo=timezone.utc))
    p = escalated(p, "visit:2027-02-12", at=datetime(2027, 1, 6, 10, tzinfo=timezone.utc))
    register.project(db, p.model_copy(update={"version": 9}), None)
    assert register.open_escalations(db, {"137000"}, {"headteacher"}, limit=10).total == 2
    assert register.open_escalations(db, {"137001"}, None, limit=10).total == 0
    (review,) = register.open_escalations(db, None, None, limit=10, kinds=("review",)).rows
    assert review.escalation_id == "review:2027-02-12"
    assert register.open_escalation_counts(db, ["p-e", "p-none"]) == {"p-e": 2}
    assert set(register.by_ids(db, ["p-e", "p-none"])) == {"p-e"}
