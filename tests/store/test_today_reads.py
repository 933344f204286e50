"""What Today reads of the register, on both databases: the oldest letters
waiting to be posted at the person's schools with how many wait in all, and
pupils' names from their column, never a placement's JSON or a letter's
HTML and PDF."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import update

from store import documents, register
from store.tables import PlacementRow

from tests.store.conftest import postgres_url  # noqa: F401  (fixture)
from tests.store.test_register import db  # noqa: F401  (fixture)
from tests.store.test_register_console import put

AT = datetime(2027, 1, 6, 9, tzinfo=timezone.utc)


def letter(engine, key: str, placement_id: str, status: str, hours: int) -> None:
    documents.claim(engine, documents.NewDocument(
        idempotency_key=key, placement_id=placement_id, event="1", kind="offsite_direction_notice",
        recipient_role="parent", recipient="", subject=f"Letter {key}", html="<p>as sent</p>", pdf=b"%PDF",
        sha256="0" * 64, delivery_mode="post", link_id=None, created_at=AT + timedelta(hours=hours)), status=status)


def test_the_oldest_letters_to_post_at_the_schools_asked_with_how_many_wait(db):  # noqa: F811
    put(db, "p-a", pupil="P-0001")
    put(db, "p-b", pupil="P-0002", school="137001")
    for n in range(5):
        letter(db, f"a{n}", "p-a", documents.TO_POST, hours=5 - n)  # the last made is the oldest
    letter(db, "b0", "p-b", documents.TO_POST, hours=0)
    letter(db, "sent", "p-a", documents.SENT, hours=-1)

    rows, waiting = documents.to_post_first(db, {"137000"}, limit=2)
    assert [r.subject for r in rows] == ["Letter a4", "Letter a3"] and waiting == 5
    assert all(r.placement_id == "p-a" and r.pupil_name for r in rows)
    assert not {"html", "pdf"} & set(rows[0]._fields)
    rows, waiting = documents.to_post_first(db, {"137000", "137001"}, limit=10)
    assert rows[0].subject == "Letter b0" and waiting == 6
    assert documents.to_post_first(db, set(), limit=10) == ([], 0)


def test_pupils_names_come_from_their_column_and_the_json_only_without_it(db):  # noqa: F811
    a = put(db, "p-a", pupil="P-0001")
    put(db, "p-b", pupil="P-0002")
    with db.begin() as conn:  # a row from before the column was filled
        conn.execute(update(PlacementRow).where(PlacementRow.placement_id == "p-b").values(pupil_name=None))
    assert register.pupil_names(db, {"p-a", "p-b", "p-missing"}) == {"p-a": a.pupil.name, "p-b": a.pupil.name}
    assert register.pupil_names(db, set()) == {}
