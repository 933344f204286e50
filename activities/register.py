"""Activities that keep the register in step with the workflow."""
from __future__ import annotations

from sqlalchemy import Engine

from messages import Projection
from store import register

from . import runs_to_its_end


class RegisterActivities:
    def __init__(self, engine: Engine):
        self._engine = engine

    @runs_to_its_end("project_placement")
    def project_placement(self, projection: Projection) -> None:
        """Idempotent by construction: the row only moves forward by seq,
        audit events are unique on (placement, seq) and contacts on
        (placement, contact id). Each step's projection carries that step and
        its contact, so the register keeps every one the placement has let go."""
        register.project(self._engine, projection.placement, projection.next_deadline, projection.planned_end)
