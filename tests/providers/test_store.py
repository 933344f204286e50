"""The providers' table and its audit on SQLite (and PostgreSQL where the
suite has it): versions, refused stale edits, pages by name, the placements
that name a provider, and the migration that made them."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Column, MetaData, Table, inspect, text

from apflow import samples
from domain.models import Actor, Placement, PlacementState, Role
from store import providers as store
from store import register
from store.db import MIGRATIONS
from store.tables import PlacementRow
from tests.store.test_register import db  # noqa: F401  (SQLite and PostgreSQL)

from .records import insurance, record

TODAY = date(2027, 1, 11)
LEAD = Actor(user_id="aplead-1", role=Role.ap_lead, school_id="137000")
OPS = Actor(user_id="ops-1", role=Role.trust_operations)
AT = datetime(2027, 1, 11, 9, tzinfo=UTC)


def test_each_change_is_a_version_with_its_actor_and_a_stale_edit_is_refused(db):  # noqa: F811
    made = store.add(db, record(TODAY, name="Alder House"), LEAD, AT, vetted=True)
    assert made.version == 1 and store.get(db, made.provider_id) == made
    changed = record(TODAY, name="Alder House", insurance=insurance(TODAY + timedelta(days=5)))
    after = store.update(db, made.provider_id, changed, OPS, AT + timedelta(hours=1), vetted=True, expected_version=1)
    assert after.version == 2
    assert store.update(db, made.provider_id, changed, OPS, AT, vetted=True) == after  # nothing changed: nothing recorded
    with pytest.raises(store.Conflict):
        store.update(db, made.provider_id, record(TODAY, name="Alder House Two"), LEAD, AT, vetted=True, expected_version=1)
    assert store.update(db, "prov-" + "9" * 32, changed, OPS, AT, vetted=True) is None
    events = store.events(db, made.provider_id)
    assert [(e.version, e.action, e.actor_id, e.actor_role, e.actor_school_id, e.changed) for e in events] == [
        (1, "created", "aplead-1", "ap_lead", "137000", ["checklist", "insurance", "other_sections", "provider",
                                                        "safeguarding_confirmation_received_on"]),
        (2, "updated", "ops-1", "trust_operations", None, ["insurance"]),
    ]
    (row,) = store.page(db, name="alder").rows
    assert row.next_expiry == TODAY + timedelta(days=5) and row.version == 2


def test_the_list_pages_by_name_and_finds_what_lapses_first(db):  # noqa: F811
    names = [f"Provider {c}" for c in "EDCBA"]
    for n, name in enumerate(names):
        store.add(db, record(TODAY, name=name, insurance=insurance(TODAY + timedelta(days=10 * n))), LEAD, AT, vetted=True)
    first = store.page(db, limit=2)
    assert [r.name for r in first.rows] == ["Provider A", "Provider B"] and first.total == 5
    rest = store.page(db, limit=10, after=first.next_after)
    assert [r.name for r in rest.rows] == ["Provider C", "Provider D", "Provider E"] and rest.next_after is None
    assert [r.name for r in store.page(db, expiring_by=TODAY + timedelta(days=15)).rows] == ["Provider D", "Provider E"]


def test_a_placement_picked_from_the_list_is_found_at_its_provider_and_its_school(db):  # noqa: F811
    made = store.add(db, record(TODAY), LEAD, AT, vetted=True)
    p = Placement(placement_id="placement-at", **samples.proposal(TODAY, provider_id=made.provider_id).model_dump())
    elsewhere = Placement(placement_id="placement-other", **samples.proposal(TODAY, school=samples.OTHER_SCHOOL,
                                                                             provider_id=made.provider_id).model_dump())
    for x in (p, elsewhere):
        register.project(db, x, None)
    assert [r.placement_id for r in store.placements_at(db, made.provider_id, {"137000"}).rows] == ["placement-at"]
    assert store.placements_at(db, made.provider_id, None).total == 2
    assert set(store.open_placements_at_providers(db, {"137001"})) == {made.provider_id}
    assert store.attendance_of(db, ["placement-at"]) == {}


def test_only_providers_with_a_running_placement_at_the_schools_asked_are_read(db):  # noqa: F811
    """Today's providers lapsing: the records of providers with a running
    placement at the person's schools, then the placements of those alone."""
    alder, birch, cedar, _unused = (store.add(db, record(TODAY, name=n), LEAD, AT, vetted=True).provider_id
                                    for n in ("Alder", "Birch", "Cedar", "Damson"))
    for pid, provider_id, school, state in (("placement-a", alder, samples.SCHOOL, PlacementState.active),
                                            ("placement-b", birch, samples.SCHOOL, PlacementState.closed),
                                            ("placement-c", cedar, samples.OTHER_SCHOOL, PlacementState.proposed)):
        register.project(db, Placement(placement_id=pid, state=state, **samples.proposal(
            TODAY, school=school, provider_id=provider_id).model_dump()), None)
    assert set(store.with_open_placements(db, {"137000"})) == {alder}
    assert set(store.with_open_placements(db, None)) == {alder, cedar}
    assert store.with_open_placements(db, set()) == {}
    assert store.with_open_placements(db, None)[cedar].provider.name == "Cedar"
    assert {k: [r.placement_id for r in v] for k, v in store.open_placements_at_providers(db, None, [cedar]).items()} == {
        cedar: ["placement-c"]}
    assert store.open_placements_at_providers(db, None, []) == {}


def test_only_records_with_something_lapsing_by_the_day_asked_or_not_yet_known_are_read(db):  # noqa: F811
    """What lapses is known from a column, warning items too (the trust's own
    "other" check, which never blocks); a record saved before the column is
    read to find out."""
    from domain.providers import CheckRecord, problems

    soon = TODAY + timedelta(days=20)
    lapsing = record(TODAY, name="Alder", insurance=insurance(soon))
    other_only = record(TODAY, name="Birch")
    other_only = other_only.model_copy(update={"checklist": {**other_only.checklist, "q": CheckRecord(
        status="seen", seen_on=TODAY, expires_on=soon)}})
    made = {r.provider.name: store.add(db, r, LEAD, AT, vetted=True).provider_id
            for r in (lapsing, other_only, record(TODAY, name="Cedar"), record(TODAY, name="Damson"))}
    assert problems(other_only, TODAY, 30) and not problems(record(TODAY), TODAY, 30)
    with db.begin() as conn:  # saved before migration 0016
        conn.execute(store.ProviderRow.__table__.update().where(store.ProviderRow.provider_id == made["Damson"])
                     .values(next_warning=None))
    for name, provider_id in made.items():
        register.project(db, Placement(placement_id=f"placement-{name.lower()}", state=PlacementState.active, **samples.proposal(
            TODAY, provider_id=provider_id).model_dump()), None)
    read = store.with_open_placements(db, {"137000"}, TODAY + timedelta(days=30))
    assert {r.provider.name for r in read.values()} == {"Alder", "Birch", "Damson"}
    assert set(store.with_open_placements(db, {"137000"}, TODAY + timedelta(days=10))) == {made["Damson"]}
    assert len(store.with_open_placements(db, {"137000"})) == 4


def test_the_migration_adds_the_list_and_leaves_earlier_placements_unnamed(db):  # noqa: F811
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    p = Placement(placement_id="placement-before", state=PlacementState.active, **samples.proposal(TODAY).model_dump())
    with db.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0011")
        assert not {"providers", "provider_events"} & set(inspect(conn).get_table_names())
        conn.execute(_without(PlacementRow.__table__, "provider_id").insert().values(  # 0011's columns
            placement_id=p.placement_id, school_id="137000", state="active", kind=p.kind.value, pupil_id=p.pupil.pupil_id,
            provider_name=p.provider.name, start_date=p.start_date, version=1, seq=1, data=p.model_dump(mode="json"),
            updated_at=AT, pupil_name=p.pupil.name))
        command.upgrade(cfg, "head")
        assert {"providers", "provider_events"} <= set(inspect(conn).get_table_names())
        assert conn.execute(text("select provider_id from placements")).scalar_one() is None
    assert Placement.model_validate(register.get(db, "placement-before").data).provider_id is None


def _without(table, column: str):
    """The table as an earlier migration had it: without `column`."""
    return Table(table.name, MetaData(), *[Column(c.name, c.type, primary_key=c.primary_key) for c in table.columns
                                           if c.name != column])
