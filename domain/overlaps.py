"""One placement at a time: a pupil is not placed twice at the same provider
for the same days. A second open placement for the same pupil at the same
provider whose dates overlap the first's, on a weekday both attend, is
refused at proposal, naming the first; two part-time placements on different
weekdays may run side by side.

Pure: it takes the proposal and the pupil's other open placements as plain
data (`Span`); finding those is the register's job.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from .calendar import SchoolCalendar
from .deadlines import proposed_end
from .guards import Unmet
from .models import Proposal

CLAUSE = "RULES: one placement at a time"
_ORDER = ("mon", "tue", "wed", "thu", "fri")


@dataclass(frozen=True)
class Span:
    """When a placement runs: from its start to its planned end, its end date
    or the last of its number of days (none: no end planned yet, so it runs
    on), on its pattern's weekdays."""

    placement_id: str | None  # none for the proposal itself
    provider_name: str
    start: date
    end: date | None
    days: frozenset[str]

    @classmethod
    def of(cls, proposal: Proposal, calendar: SchoolCalendar, placement_id: str | None = None) -> Span:
        """The proposal's span: to its end date, or to the last of its number
        of days on the school's calendar."""
        return cls(
            placement_id=placement_id, provider_name=proposal.provider.name, start=proposal.start_date,
            end=proposed_end(proposal, calendar), days=frozenset(d.value for d in proposal.pattern.days),
        )


def same_provider(a: str, b: str) -> bool:
    """Names as staff type them: case and spacing aside."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def dates_overlap(a: Span, b: Span) -> bool:
    return (a.end is None or b.start <= a.end) and (b.end is None or a.start <= b.end)


def clashes(proposal: Span, others: Iterable[Span]) -> list[Unmet]:
    """Each open placement the proposal would run alongside, at the same
    provider, on a weekday both attend, within both placements' dates."""
    unmet = []
    for other in others:
        if other.placement_id is not None and other.placement_id == proposal.placement_id:
            continue  # the proposal itself, already registered (a retried proposal)
        shared = proposal.days & other.days
        if not (same_provider(proposal.provider_name, other.provider_name) and shared and dates_overlap(proposal, other)):
            continue
        until = f"to {other.end}" if other.end else "with no planned end"
        days = ", ".join(d for d in _ORDER if d in shared)
        unmet.append(Unmet(CLAUSE, (
            f"the pupil already has an open placement at {other.provider_name}: {other.placement_id}, "
            f"from {other.start} {until}, on {days} as this one would be; "
            "close or amend it, or propose other dates or days"
        )))
    return unmet
