"""What a placement keeps of its records as the workflow holds it: what its
decisions read, not every contact and step of the year. Every contact and
step is kept in the register (`store.register.project` writes each the
first time a projection carries it; `store.register.with_records` reads
them back for whoever is shown the placement).

What the decisions read, and so is never dropped:

- contacts (`domain.deadlines`): the daily call and the weekly wellbeing
  contact are due from the latest day one was made, so of each kind the one
  on the latest day is kept; the half-termly visit check asks of every
  half-term since the start whether a visit fell in it, and a change to the
  school's term dates can move any half-term's bounds, so one visit of each
  day there was one is kept (visits are few: one a half-term is the rule).
  The guard judges the contact being recorded, before anything is dropped.
  A visit's progress record (`record_visit`) is read by no decision: only
  the contact just recorded keeps it, so the projection that follows its
  step carries it to the register; the visit stays, as its day.
- history (`domain.guards`, `domain.deadlines`, `store.attendance`): the
  first step (the vetting deadline counts from the proposal), the first
  `start` (a review cannot be held before it; attendance is expected from
  it), the last `notify` (the initial assessment is due from it), every
  step that put the placement under review (each asks for a review of its
  own; the last bounds when that review can have been held), and the last
  `HISTORY_KEPT` steps.

The contact and the step just recorded are always kept, so the projection
that follows the step carries them to the register.
"""
from __future__ import annotations

from .models import ContactKind, HistoryEntry, Placement, RecordedContact

# The last steps a placement keeps in full (besides those its decisions read):
# enough for a snapshot to show what happened lately.
HISTORY_KEPT = 20

# The contacts that are due again from the latest one made.
_DUE_FROM_LATEST = (ContactKind.attendance_call, ContactKind.wellbeing)


def needed_contacts(contacts: list[RecordedContact]) -> list[RecordedContact]:
    """The contacts the deadlines read, in the order they were recorded,
    with the last one recorded."""
    keep: set[int] = {len(contacts) - 1} if contacts else set()
    latest: dict[ContactKind, int] = {}
    visit_days: dict = {}
    for i, c in enumerate(contacts):
        if c.kind in _DUE_FROM_LATEST:
            if c.kind not in latest or c.on >= contacts[latest[c.kind]].on:
                latest[c.kind] = i
        else:
            visit_days.setdefault(c.on, i)
    keep |= set(latest.values()) | set(visit_days.values())
    last = len(contacts) - 1
    return [c if i == last or c.visit is None else c.model_copy(update={"visit": None})
            for i, c in enumerate(contacts) if i in keep]


def needed_history(history: list[HistoryEntry], kept: int = HISTORY_KEPT) -> list[HistoryEntry]:
    """The steps the guards and deadlines read, and the last `kept`, in order."""
    keep = set(range(max(0, len(history) - kept), len(history)))
    if history:
        keep.add(0)
    starts = [i for i, h in enumerate(history) if h.action == "start"]
    notices = [i for i, h in enumerate(history) if h.action == "notify"]
    keep |= set(starts[:1]) | set(notices[-1:])
    keep |= {i for i, h in enumerate(history) if h.to_state == "under_review" and h.from_state != "under_review"}
    return [h for i, h in enumerate(history) if i in keep]


def trim(p: Placement, kept: int = HISTORY_KEPT) -> Placement:
    """`p` holding only what its decisions read (in place; `seq` unchanged)."""
    contacts = needed_contacts(p.contacts)
    if len(contacts) < len(p.contacts) or any(a.visit is not b.visit for a, b in zip(contacts, p.contacts)):
        p.contacts = contacts
    history = needed_history(p.history, kept)
    if len(history) < len(p.history):
        p.trimmed_history += len(p.history) - len(history)
        p.history = history
    return p
