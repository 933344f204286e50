"""The attendance sweep's side effects: one bulk query for the placements
that owe a session and have no mark, a mark the provider has not stood behind,
or an unexplained absence; then, for each, what RULES.md asks ("attendance
marks"), and for no other placement:

- a missing mark (or a B the provider has not confirmed) found for the first
  time: the provider is chased the same day, by email with its attendance
  link (`provider_attendance_chase`, sent through `send_document` under the
  key `<placement>:attendance:<day>:<session>:provider_attendance_chase:provider`),
  and the chase is recorded with the sweep that sent it;
- still missing at a later sweep (the pm check after an am chase, the next
  school day's am check after a pm chase): the placement's workflow is
  signalled (`attendance_alert`) and escalates to the AP lead;
- a provider that cannot be chased (no email address, a chase that lacks
  what the letter needs, or one that could not be sent): escalated at once;
- an unexplained absence: escalated to the DSL the same day.

Safe to run twice: a chase is sent once per key and recorded; the same sweep
run again finds its own chases and keeps quiet; an alert is recorded once it
has been signalled and the query leaves out what was recorded; and the
workflow raises an escalation once per (kind, day, session) whatever it is told.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from datetime import time as clock_time
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import Engine, select
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.documents import DocumentActivities
from documents import LinkPurpose, RecipientRole, missing_items
from documents.kinds import Kind
from domain.attendance import SESSION_NAMES, AttendanceSettings
from domain.calendar import SchoolCalendar
from domain.clock import uk_instant
from domain.directory import SchoolContacts
from domain.escalations import AttendanceAlert
from domain.letters import PENDING_LINK  # send_document issues the real, signed one
from domain.models import Placement, School
from messages import LetterRequest, LetterResult, LinkRequest, SweepReport, SweepRequest
from store import attendance as store
from store.tables import PlacementRow

log = logging.getLogger("apflow.attendance")

ALERT_SIGNAL = "attendance_alert"  # PlacementWorkflow.attendance_alert
_BATCH = 500  # signals between heartbeats and alert records
_HEARTBEAT_EVERY_S = 5.0


Key = tuple[str, date, str]  # placement, day, session


def _key(c: store.Candidate) -> Key:
    return c.placement_id, c.day, c.session


def chase_key(placement_id: str, day: date, session: str) -> str:
    """The chase's idempotency key: one per placement, day and session."""
    return f"{placement_id}:attendance:{day}:{session}:{Kind.provider_attendance_chase.value}:{RecipientRole.provider.value}"


def check_of(sessions: Sequence[str]) -> Literal["am", "pm"]:
    """Which of the day's checks a sweep is: the pm check is the one that checks the afternoon."""
    return "pm" if "pm" in sessions else "am"


@dataclass(frozen=True, slots=True)
class Alert:
    candidate: store.Candidate
    alert: AttendanceAlert


def _alert(c: store.Candidate, **extra: Any) -> Alert:
    return Alert(c, AttendanceAlert(day=c.day, session=c.session, problem=c.problem, code=c.code, **extra))


class AttendanceActivities:
    def __init__(
        self,
        engine: Engine,
        client: Client,
        settings: AttendanceSettings,
        calendar_for: Callable[[str], SchoolCalendar],
        contacts_for: Callable[[School], SchoolContacts],
        documents: DocumentActivities | None = None,
    ):
        """`calendar_for` and `contacts_for` read the trust's files where the
        shell's settings say (`worker.build_worker` hands them over)."""
        self._engine = engine
        self._client = client
        self._settings = settings
        self._calendar_for = calendar_for
        # What sends the chases (`send_document`); without it no provider can be chased.
        self._documents = documents
        self._contacts_for = contacts_for

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

    def _earlier_chases(self, day: date, check: str) -> list[store.Candidate]:
        """Sessions chased by an earlier sweep and still missing, at schools
        open today: due to escalate now. An earlier chase whose mark has come
        (or whose placement has stopped) needs nothing more: it is settled."""
        due, done, open_today = [], [], {}
        for o in store.open_chases(self._engine, day, check):
            key = (o.chase.placement_id, o.chase.day, o.chase.session)
            if not o.still_missing:
                done.append(key)
                continue
            if o.school_id not in open_today:
                open_today[o.school_id] = self._calendar_for(o.school_id).is_school_day(day)
            if open_today[o.school_id]:
                due.append(store.Candidate(*key, "missing", o.code))
        if done:
            store.settle_chases(self._engine, done, datetime.now(timezone.utc))
        return due

    def plan(self, day: date, sessions: Sequence[str], report: SweepReport) -> tuple[list[store.Candidate], list[Alert]]:
        """What this sweep does: the missing marks to chase with their
        providers, and the alerts to signal (missing marks chased by an
        earlier sweep, unexplained absences)."""
        check = check_of(sessions)
        found = self.find(day, sessions, report)
        missing: dict[Key, store.Candidate] = {_key(c): c for c in found if c.problem == "missing"}
        for c in self._earlier_chases(day, check):
            missing.setdefault(_key(c), c)
        chased = store.chases_by_key(self._engine, missing)
        now = store.check_order(day, check)
        to_chase: list[store.Candidate] = []
        alerts = [_alert(c) for c in found if c.problem != "missing"]
        for key, c in missing.items():
            chase = chased.get(key)
            if chase is None:
                to_chase.append(c)
            elif store.check_order(chase.check_day, chase.check) < now:
                alerts.append(_alert(c, chased_on=chase.check_day, chased_at_check=chase.check))
            # else: this very sweep chased it (it is running again): nothing more until the next one
        return to_chase, alerts

    # --- chasing the provider ---------------------------------------------------------

    def _letters(self, day: date, candidates: Sequence[store.Candidate]) -> tuple[list[tuple[store.Candidate, LetterRequest]], list[Alert]]:
        """The chase to send for each candidate, or the reason none can go (an alert to escalate at once)."""
        ids = sorted({c.placement_id for c in candidates})
        data: dict[str, dict] = {}
        with self._engine.connect() as conn:
            for i in range(0, len(ids), 500):
                q = select(PlacementRow.placement_id, PlacementRow.data).where(PlacementRow.placement_id.in_(ids[i:i + 500]))
                data.update({pid: d for pid, d in conn.execute(q)})
        contacts: dict[str, SchoolContacts | None] = {}
        letters, alerts = [], []
        for c in candidates:
            try:
                p = Placement.model_validate(data[c.placement_id])
            except (KeyError, ValidationError):
                alerts.append(_alert(c, not_chased="the placement's record could not be read"))
                continue
            school = p.school.school_id
            if school not in contacts:
                try:
                    contacts[school] = self._contacts_for(p.school)
                except Exception:  # a broken directory file must not hold up the escalation
                    log.warning("attendance chases at school %s: the trust's directory could not be read", school, exc_info=True)
                    contacts[school] = None
            letter, why = self._chase_letter(p, contacts[school], c, day)
            if letter is None:
                alerts.append(_alert(c, not_chased=why))
            else:
                letters.append((c, letter))
        return letters, alerts

    def _chase_letter(self, p: Placement, d: SchoolContacts | None, c: store.Candidate, day: date) -> tuple[LetterRequest | None, str]:
        named = p.provider.named_contact
        to = (named.email if named and named.email else None) or p.provider.email
        if not to:
            return None, "the provider has no email address: add it to the provider's details"
        if d is None:
            return None, "the trust's directory could not be read"
        expires = uk_instant(day + timedelta(days=self._settings.chase_link_days), clock_time(23, 59))
        lead = d.ap_lead
        context = {
            "placement_id": p.placement_id,
            "issued_on": day.isoformat(),
            "school": {
                "name": p.school.name, "school_id": p.school.school_id, "local_authority": p.school.local_authority,
                "address": d.address, "phone": d.phone, "email": d.email,
            },
            "signed_by": {"name": lead.name if lead else None, "role": "Alternative provision lead"},
            "pupil": p.pupil.model_dump(mode="json", include={"name", "date_of_birth", "year_group"}),
            "provider": p.provider.model_dump(mode="json", include={"name", "named_contact"}),
            "session_day": c.day.isoformat(),
            "session": c.session,
            "session_name": SESSION_NAMES[c.session],
            "due_by": day.isoformat(),  # the mark is owed today
            "link": {"url": PENDING_LINK, "expires_at": expires.isoformat()},
        }
        gaps = missing_items(Kind.provider_attendance_chase.value, context)
        if gaps:
            hint = " (from the trust's directory)" if any(m.path.startswith(("signed_by.", "school.")) for m in gaps) else ""
            return None, "the chase cannot be sent without the " + "; ".join(str(m) for m in gaps) + hint
        return LetterRequest(
            idempotency_key=chase_key(p.placement_id, c.day, c.session), placement_id=p.placement_id,
            event=f"attendance:{c.day}:{c.session}", kind=Kind.provider_attendance_chase.value,
            role=RecipientRole.provider, to=to, context=context,
            link=LinkRequest(purpose=LinkPurpose.attendance, expires_at=expires),
        ), ""

    async def _send(self, letter: LetterRequest, limit: asyncio.Semaphore) -> LetterResult | None:
        assert self._documents is not None
        async with limit:
            try:
                # In an executor thread, which does not carry this activity's
                # context: `send_document` then sends without heartbeating
                # from its own thread (`_heartbeating` below does it here).
                return await asyncio.get_running_loop().run_in_executor(None, self._documents.send_document, letter)
            except Exception as e:  # SMTP down, a bad address: the AP lead hears at once instead
                log.warning("attendance chase for %s not sent: %s", letter.placement_id, type(e).__name__)
                return None

    async def chase(self, day: date, check: str, candidates: Sequence[store.Candidate], report: SweepReport) -> list[Alert]:
        """Sends each candidate's provider its chase, records the chases
        sent, and returns an alert for each that could not go."""
        if not candidates:
            return []
        if self._documents is None:
            return [_alert(c, not_chased="this service sends no letters") for c in candidates]
        letters, alerts = await asyncio.to_thread(self._letters, day, candidates)
        limit = asyncio.Semaphore(max(1, min(8, self._settings.signal_concurrency)))
        async with _heartbeating():
            results = await asyncio.gather(*(self._send(letter, limit) for _, letter in letters))
        now = datetime.now(timezone.utc)
        chases = []
        for (c, letter), result in zip(letters, results):
            if result is None:
                alerts.append(_alert(c, not_chased="the chase could not be sent"))
            else:
                chases.append(store.Chase(c.placement_id, c.day, c.session, day, check, result.document_id,
                                          "unconfirmed" if result.status == "unconfirmed" else "sent", now))
        await asyncio.to_thread(store.record_chases, self._engine, chases)
        report.chased = len(chases)
        return alerts

    # --- telling the placements' workflows ---------------------------------------------------

    async def _signal(self, a: Alert, limit: asyncio.Semaphore) -> bool:
        """True when signalled, False when the placement has no running workflow."""
        async with limit:
            try:
                await self._client.get_workflow_handle(a.candidate.placement_id).signal(ALERT_SIGNAL, a.alert)
                return True
            except RPCError as e:
                if e.status is not RPCStatusCode.NOT_FOUND:
                    raise
                log.warning("attendance alert for %s: no running workflow", a.candidate.placement_id)
                return False

    @activity.defn(name="sweep_attendance")
    async def sweep_attendance(self, req: SweepRequest) -> SweepReport:
        report = SweepReport(day=req.day, sessions=list(req.sessions))
        check = check_of(req.sessions)
        started = time.perf_counter()
        to_chase, alerts = await asyncio.to_thread(self.plan, req.day, req.sessions, report)
        report.query_seconds = time.perf_counter() - started
        not_chased = await self.chase(req.day, check, to_chase, report)
        report.not_chased = len(not_chased)
        alerts += not_chased
        report.missing = len(to_chase) + sum(1 for a in alerts if a.candidate.problem == "missing") - report.not_chased
        limit = asyncio.Semaphore(self._settings.signal_concurrency)
        for i in range(0, len(alerts), _BATCH):
            batch = alerts[i:i + _BATCH]
            sent = await asyncio.gather(*(self._signal(a, limit) for a in batch))
            report.signalled += sum(sent)
            report.not_found += len(sent) - sum(sent)
            # Recorded whether or not a workflow was there: a placement with
            # none cannot be told, and asking again every sweep helps nobody.
            await asyncio.to_thread(store.record_alerts, self._engine, [a.candidate for a in batch], datetime.now(timezone.utc))
            activity.heartbeat(i + len(batch))
        report.signal_seconds = time.perf_counter() - started - report.query_seconds
        return report


@contextlib.asynccontextmanager
async def _heartbeating():
    """Heartbeats from the activity's own loop while chases are sent."""
    async def beat() -> None:
        while True:
            await asyncio.sleep(_HEARTBEAT_EVERY_S)
            activity.heartbeat()

    task = asyncio.create_task(beat()) if activity.in_activity() else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
