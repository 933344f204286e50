"""The progress visit (policy appendix, "Progress visit to Alternative
Provision"): what makes its record complete, and how it stands among the
placement's contacts.

A visit recorded with `record_visit` is a `visit` contact carrying its whole
record (`ContactRecord.visit`), so it meets the half-termly visit deadline
(§2.5, §8.2.6) exactly as a `visit` contact does. The questions and their
wording are data, `domain.models.VISIT_QUESTIONS` and
`RISK_ASSESSMENT_QUESTIONS`; the workflow keeps a visit's record only while it
is the contact just recorded (`domain.window`), the register keeps every one
(`placement_contacts.record`).
"""
from __future__ import annotations

from . import guards
from .guards import Context, Unmet
from .models import Placement, VisitArrangement, VisitRecord

CLAUSE = "appendix: progress visit record"


def summary(v: VisitRecord) -> str:
    """The contact's note: the visit in one line (the record holds the rest)."""
    how = "Unannounced" if v.arrangement is VisitArrangement.unannounced else "Planned"
    return f"{how} progress visit by {v.visited_by} ({v.role}) at {v.at.strftime('%H:%M')}"


def unmet(p: Placement, v: VisitRecord) -> list[Unmet]:
    """What the record lacks: comments on every answer that is no, and the
    progress against each of the placement's objectives, in their order."""
    out: list[Unmet] = []
    no = v.answered_no()
    if no and not v.general_comments:
        out.append(Unmet(CLAUSE, "general comments are needed when an answer is no; answered no: " + "; ".join(no)))
    wanted, given = len(p.objectives), len(v.objectives_progress)
    if given != wanted:
        out.append(Unmet(f"§8.2.6; {CLAUSE}",
                         f"progress against each of the placement's {wanted} objectives is needed, in their order: {given} given"))
    return out


def visit_record(p: Placement, ctx: Context) -> list[Unmet]:
    """`record_visit`'s guard, on the placement with the visit folded in."""
    c = p.contacts[-1]
    if c.visit is None:  # the step always carries one: see `domain.actions.RecordVisit`
        return [Unmet(CLAUSE, "the progress visit record is needed")]
    return guards.contact(p, ctx) + unmet(p, c.visit)
