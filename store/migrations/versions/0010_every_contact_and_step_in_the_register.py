"""placement_contacts: every contact recorded; audit_events: the actor's school

A placement's workflow now keeps only the contacts and steps its decisions
read, so the register keeps every one: contacts in a table of their own,
steps in audit_events, with the school the actor acted at so a row is the
history entry as recorded. Both are filled from the placements' stored JSON.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 10:00:00
"""
import json
import re
from datetime import date, datetime

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

BATCH = 500
_STEP = re.compile(r"^contact-([0-9]+)$")


def _named(contacts: list[dict], history: list[dict]) -> list[tuple[str, int]]:
    """Each contact's id and the step that recorded it, as the placement
    names them when it loads (`domain.models.contact_ids`): the i-th contact
    was recorded by the i-th `record_contact` step."""
    steps = [h["seq"] for h in history if h.get("action") == "record_contact"]
    out = []
    for i, c in enumerate(contacts):
        if c.get("contact_id"):
            m = _STEP.match(c["contact_id"])
            out.append((c["contact_id"], int(m.group(1)) if m else 0))
        elif len(steps) == len(contacts):
            out.append((f"contact-{steps[i]}", steps[i]))
        else:
            out.append((f"contact-listed-{i + 1}", 0))
    return out


def upgrade() -> None:
    op.create_table(
        "placement_contacts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("placement_id", sa.String(64), sa.ForeignKey("placements.placement_id"), nullable=False),
        sa.Column("contact_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("contacted_on", sa.Date, nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("unannounced", sa.Boolean, nullable=False),
        sa.UniqueConstraint("placement_id", "contact_id", name="uq_contacts_placement_contact"),
    )
    op.create_index("ix_contacts_placement", "placement_contacts", ["placement_id", "seq", "id"])
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("actor_school_id", sa.String(16), nullable=True))

    conn = op.get_bind()
    placements = sa.table("placements", sa.column("placement_id", sa.String), sa.column("data", sa.JSON))
    contacts = sa.table("placement_contacts", *(sa.column(c) for c in (
        "placement_id", "contact_id", "seq", "kind", "contacted_on", "notes", "unannounced")))
    events = sa.table("audit_events", *(sa.column(c) for c in (
        "placement_id", "seq", "action", "actor_id", "actor_role", "actor_school_id", "from_state", "to_state", "at", "note")))
    last = ""
    while True:  # in batches by id: a large register is never read whole
        rows = conn.execute(sa.select(placements.c.placement_id, placements.c.data)
                            .where(placements.c.placement_id > last).order_by(placements.c.placement_id).limit(BATCH)).all()
        if not rows:
            break
        ids = [pid for pid, _ in rows]
        have = {(pid, seq) for pid, seq in conn.execute(
            sa.select(events.c.placement_id, events.c.seq).where(events.c.placement_id.in_(ids)))}
        new_contacts, schools, missing = [], [], []
        for placement_id, data in rows:
            p = json.loads(data) if isinstance(data, str) else data
            history = p.get("history") or []
            listed = p.get("contacts") or []
            for c, (contact_id, seq) in zip(listed, _named(listed, history)):
                new_contacts.append(dict(placement_id=placement_id, contact_id=contact_id, seq=seq, kind=c["kind"],
                                         contacted_on=date.fromisoformat(c["on"]), notes=c["notes"],
                                         unannounced=bool(c.get("unannounced", False))))
            for h in history:
                actor = h.get("actor") or {}
                if (placement_id, h["seq"]) not in have:  # every projection wrote its steps: none, unless lost
                    missing.append(dict(placement_id=placement_id, seq=h["seq"], action=h["action"],
                                        actor_id=actor.get("user_id"), actor_role=actor.get("role"),
                                        actor_school_id=actor.get("school_id"), from_state=h["from_state"],
                                        to_state=h["to_state"], at=datetime.fromisoformat(h["at"].replace("Z", "+00:00")),
                                        note=h.get("note")))
                elif actor.get("school_id"):
                    schools.append(dict(pid=placement_id, s=h["seq"], school=actor["school_id"]))
        if new_contacts:
            conn.execute(contacts.insert(), new_contacts)
        if missing:
            conn.execute(events.insert(), missing)
        if schools:
            conn.execute(events.update()
                         .where(events.c.placement_id == sa.bindparam("pid"), events.c.seq == sa.bindparam("s"))
                         .values(actor_school_id=sa.bindparam("school")), schools)
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("actor_school_id")
    op.drop_index("ix_contacts_placement", "placement_contacts")
    op.drop_table("placement_contacts")
