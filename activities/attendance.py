"""The attendance sweep's side effects: one bulk query for the placements
that owe a session and have no mark, a mark the provider has not stood behind,
or an unexplained absence; then a signal to each of those placements' workflows,
and to no other.

Safe to run twice: an alert is recorded once it has been signalled and the
query leaves out what was recorded, and the workflow raises an escalation once
per (kind, day, session) whatever it is told.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime, timezone
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from apflow.calendars import load_calendar
from domain.attendance import AttendanceSettings
from domain.calendar import SchoolCalendar
from domain.escalations import AttendanceAlert
from store import attendance as store

log = logging.getLogger("apflow.attendance")

ALERT_SIGNAL = "attendance_alert"  # PlacementWorkflow.attendance_alert
_BATCH = 500  # signals between heartbeats and alert records


class SweepRequest(BaseModel):
    day: date
    sessions: list[Literal["am", "pm"]]


class SweepReport(BaseModel):
    day: date
    sessions: list[str]
    schools_open: int = 0
    schools_closed: int = 0
    missing: int = 0
    unexplained_absence: int = 0
    signalled: int = 0
    not_found: int = 0
    query_seconds: float = 0.0  # finding them, in the database
    signal_seconds: float = 0.0  # telling their workflows and recording it


class AttendanceActivities:
    def __init__(
        self,
        engine: Engine,
        client: Client,
        settings: AttendanceSettings = AttendanceSettings(),
        calendar_for: Callable[[str], SchoolCalendar] = load_calendar,
    ):
        self._engine = engine
        self._client = client
        self._settings = settings
        self._calendar_for = calendar_for

    def find(self, day: date, sessions: Sequence[str], report: SweepReport) -> list[store.Candidate]:
        """The alerts due for `day`: only at schools open that day (each
        school's own calendar), only for sessions the pattern covers."""
        schools = store.schools_expecting(self._engine, day)
        open_ = [s for s in schools if self._calendar_for(s).is_school_day(day)]
        report.schools_open, report.schools_closed = len(open_), len(schools) - len(open_)
        found = store.sweep_candidates(self._engine, day, sessions, open_, self._settings.session_boundary)
        report.missing = sum(1 for c in found if c.problem == "missing")
        report.unexplained_absence = len(found) - report.missing
        return found

    async def _signal(self, c: store.Candidate, limit: asyncio.Semaphore) -> bool:
        """True when signalled, False when the placement has no running workflow."""
        alert = AttendanceAlert(day=c.day, session=c.session, problem=c.problem, code=c.code)
        async with limit:
            try:
                await self._client.get_workflow_handle(c.placement_id).signal(ALERT_SIGNAL, alert)
                return True
            except RPCError as e:
                if e.status is not RPCStatusCode.NOT_FOUND:
                    raise
                log.warning("attendance alert for %s: no running workflow", c.placement_id)
                return False

    @activity.defn(name="sweep_attendance")
    async def sweep_attendance(self, req: SweepRequest) -> SweepReport:
        report = SweepReport(day=req.day, sessions=list(req.sessions))
        started = time.perf_counter()
        found = await asyncio.to_thread(self.find, req.day, req.sessions, report)
        report.query_seconds = time.perf_counter() - started
        limit = asyncio.Semaphore(self._settings.signal_concurrency)
        for i in range(0, len(found), _BATCH):
            batch = found[i:i + _BATCH]
            sent = await asyncio.gather(*(self._signal(c, limit) for c in batch))
            report.signalled += sum(sent)
            report.not_found += len(sent) - sum(sent)
            # Recorded whether or not a workflow was there: a placement with
            # none cannot be told, and asking again every sweep helps nobody.
            await asyncio.to_thread(store.record_alerts, self._engine, batch, datetime.now(timezone.utc))
            activity.heartbeat(i + len(batch))
        report.signal_seconds = time.perf_counter() - started - report.query_seconds
        return report
