"""PlacementWorkflow: one durable workflow per placement.

Staff actions arrive as the `act` update: its validator asks the domain
whether the action is allowed now (a refusal leaves no trace in history), the
handler applies it, projects the register and returns the new snapshot.
Between actions the workflow sleeps until its next deadline. Time comes from
`workflow.now()`; the school calendar and settings travel in the input.
"""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    # The workflow's input and snapshot live beside the activities' messages,
    # passed through: built once a worker, not again for every new workflow.
    from messages import HandOver, PlacementInput, Projection, Snapshot
    from domain.actions import ActionRequest, Start
    from domain.calendar import SchoolCalendar
    from domain.clock import uk_date, uk_instant
    from domain.deadlines import Deadline, deadlines, missed, next_check, planned_end
    from domain.directory import SchoolContacts
    from domain.evaluations import typed_scores
    from domain.escalations import AttendanceAlert, Escalation, attendance_escalation
    from domain.guards import Context, Unmet
    from domain.lifecycle import Refused, check, decide, possible_actions
    from domain.models import SYSTEM, Actor, Placement
    from domain.providers import ProviderAlert, provider_escalation
    from workflows.search import NEXT_DEADLINE, PLACEMENT_KIND, PLACEMENT_STATE, SCHOOL_ID

from . import letters

REFUSED = "PolicyRefused"
PROJECTION_TIMEOUT = timedelta(seconds=15)  # a write of one row and a few audit events
# Register writes run as local activities, in the workflow task that asks for
# them (no round trip through the server's task queues), and search attributes
# are upserted only when one changes. Placements started before keep the
# activities and upserts their histories hold.
LOCAL_WRITES = "local-register-writes"


def refusal(e: Refused) -> ApplicationError:
    return ApplicationError(
        str(e),
        *({"clause": u.clause, "message": u.message} for u in e.unmet),
        type=REFUSED,
        non_retryable=True,
    )


@workflow.defn
class PlacementWorkflow:
    @workflow.init
    def __init__(self, inp: PlacementInput) -> None:
        self.p = inp.placement
        self.inp = inp
        self.start_blocked: list[dict] = list(inp.start_blocked)
        self.lock = asyncio.Lock()
        self.changed = False
        self.letters = letters.Letters(inp.directory, enabled=workflow.patched(letters.PATCH))
        self.letters_in_flight = 0  # sends under way, which follow the step that asked for them
        # The version the register has confirmed; a continued run was registered before.
        self.registered_version = inp.placement.version if inp.continued else 0

    @workflow.run
    async def run(self, inp: PlacementInput) -> Snapshot:
        if not inp.continued:
            await self._publish()
        while not self.p.final:
            self.changed = False
            wake = self._next_wake()
            timeout = max(wake - workflow.now(), timedelta(0)) if wake else None
            try:
                await workflow.wait_condition(lambda: self.changed, timeout=timeout)
            except asyncio.TimeoutError:
                pass
            await self._on_clock()
            if self._history_full():
                await workflow.wait_condition(self._settled)
                workflow.continue_as_new(self.inp.model_copy(update=dict(
                    placement=self.p, start_blocked=self.start_blocked, continued=True,
                )))
        await workflow.wait_condition(self._settled)
        return self.snapshot()

    def _settled(self) -> bool:
        return workflow.all_handlers_finished() and self.letters_in_flight == 0

    @workflow.update
    async def act(self, request: ActionRequest) -> Snapshot:
        """Records the step and answers; its letters follow, so a slow or
        refusing mail relay never holds the placement or its caller."""
        name = request.action.action
        async with self.lock:
            # Judged again here (the placement may have moved since the
            # validator), once: `decide` refuses what the policy does not allow.
            ctx = self._context(request.actor)
            try:
                after = decide(self.p, request.action, ctx, workflow.now())
            except Refused as e:
                raise refusal(e) from None
            gaps = self.letters.gaps(after, name, ctx)
            if gaps:
                raise refusal(Refused(name, gaps))
            self.p = after
            self.changed = True
            if name == "start":
                self.start_blocked = []
            await self._publish()
            if name == "record_delivery":
                await self._write("record_hand_over", HandOver(document_id=request.action.document_id,
                                                               method=request.action.method.value, by=request.actor.user_id))
            self._send_later(str(self.p.seq), self.letters.plan(self.p, name, ctx), ctx, escalate=True)
        return self.snapshot()

    @workflow.update
    async def registered(self) -> Snapshot:
        """Answers once the register holds the placement: a proposal's caller
        finds it in every list at once, without writing the register itself."""
        await workflow.wait_condition(lambda: self.registered_version > 0)
        return self.snapshot()

    @act.validator
    def validate_act(self, request: ActionRequest) -> None:
        unmet = self._unmet(request)
        if unmet:
            raise refusal(Refused(request.action.action, unmet))

    def _unmet(self, request: ActionRequest) -> list[Unmet]:
        """The policy's objections to the action, including its letters' gaps."""
        ctx = self._context(request.actor)
        candidate, unmet = check(self.p, request.action, ctx, workflow.now())
        # Asked of new requests alone: stored histories' closes carry the scores.
        unmet = typed_scores(request.action) + unmet
        return unmet or self.letters.gaps(candidate, request.action.action, ctx)

    @workflow.signal
    async def attendance_alert(self, alert: AttendanceAlert) -> None:
        """From the daily attendance sweep: a missing mark or an unexplained absence."""
        if self.p.state in ("active", "under_review", "reintegrating"):
            await self._escalate(attendance_escalation(alert, workflow.now()))

    @workflow.signal
    async def provider_alert(self, alert: ProviderAlert) -> None:
        """From the daily providers' sweep: the provider's insurance or a check
        expires soon, or has expired; the AP lead is told once for each."""
        if not self.p.final and self.p.provider_id == alert.provider_id:
            await self._escalate(provider_escalation(alert, workflow.now()))

    @workflow.signal
    def calendar_changed(self, calendar: SchoolCalendar) -> None:
        """The school's term dates were edited: every deadline is recomputed."""
        self.inp = self.inp.model_copy(update={"calendar": calendar})
        self.changed = True

    @workflow.signal
    def directory_changed(self, directory: SchoolContacts) -> None:
        """The trust's directory was edited: letters from now on use the school's new entry."""
        self.inp = self.inp.model_copy(update={"directory": directory})
        self.letters.directory = directory

    @workflow.query
    def snapshot(self) -> Snapshot:
        return Snapshot(
            placement=self.p,
            possible_actions=[] if self.p.final else possible_actions(self.p.state),
            deadlines=self._deadlines(),
            start_blocked=self.start_blocked,
        )

    # --- the clock ---------------------------------------------------------

    def _today(self):
        return uk_date(workflow.now())

    def _context(self, actor: Actor) -> Context:
        return Context(today=self._today(), calendar=self.inp.calendar, actor=actor, settings=self.inp.settings)

    def _deadlines(self) -> list[Deadline]:
        return deadlines(self.p, self.inp.calendar, self.inp.settings, self._today())

    def _keeps_policy_clock(self) -> bool:
        # Placements started before the policy clock only knew the start timer.
        return workflow.patched("policy-clock")

    def _next_wake(self) -> datetime | None:
        """The next moment the workflow must act by itself: the start date, or
        the first day on which a deadline will have been missed."""
        wakes = []
        if self.p.state == "notified" and not self.start_blocked:
            wakes.append(uk_instant(self.p.start_date))
        if self._keeps_policy_clock():
            check_on = next_check(self.p, self.inp.calendar, self.inp.settings, self._today())
            if check_on:
                wakes.append(uk_instant(check_on))
        return min(wakes) if wakes else None

    async def _on_clock(self) -> None:
        await self._start_when_due()
        if self._keeps_policy_clock():
            for d in missed(self.p, self.inp.calendar, self.inp.settings, self._today()):
                await self._escalate(Escalation(
                    escalation_id=d.escalation_id, kind=d.kind, clause=d.clause, owner=d.owner,
                    message=f"{d.description} (due {d.due})", raised_at=workflow.now(), due=d.due,
                ))

    async def _start_when_due(self) -> None:
        """On the start date a notified placement starts by itself, dual
        registration beginning that day where the provider is a registered school."""
        # A blocked start is tried again after every change: once the notice is
        # posted or a concern addressed, the placement starts by itself.
        if self.p.state != "notified" or self._today() < self.p.start_date:
            return
        async with self.lock:
            if self.p.state != "notified":
                return
            dual = self.p.start_date if self.p.provider.registered_school else None
            try:
                self.p = decide(self.p, Start(dual_registration_from=dual), self._context(SYSTEM), workflow.now(), note="start date reached")
            except Refused as e:
                blocked = [{"clause": u.clause, "message": u.message} for u in e.unmet]
                if blocked != self.start_blocked:
                    self.start_blocked = blocked
                    workflow.logger.info("automatic start blocked", extra={"unmet": len(e.unmet)})
                return
            self.start_blocked = []
            await self._publish()

    def _history_full(self) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() >= self.inp.max_history_events

    async def _escalate(self, escalation: Escalation) -> None:
        """Raises an escalation once per cause, records it and tells its owner."""
        async with self.lock:
            if any(e.escalation_id == escalation.escalation_id for e in self.p.escalations):
                return
            self.p = self.p.model_copy(update={"escalations": [*self.p.escalations, escalation]})
            await self._publish()
            ctx = self._context(SYSTEM)
            self._send_later(escalation.escalation_id, self.letters.for_escalation(self.p, escalation, ctx), ctx, escalate=False)

    # --- letters -----------------------------------------------------------

    def _send_later(self, event: str, planned: list[letters.Letter], ctx: Context, escalate: bool) -> None:
        """Sends the letters of one step or escalation after it is recorded,
        without holding the placement: every later action and the clock go on."""
        if not planned:
            return
        self.letters_in_flight += 1
        asyncio.create_task(self._send_in_turn(event, planned, ctx, escalate))

    async def _send_in_turn(self, event: str, planned: list[letters.Letter], ctx: Context, escalate: bool) -> None:
        try:
            sent = await self._deliver(event, planned)
            async with self.lock:
                problems = await self._record(sent, ctx)
            if not escalate:
                # A letter about an escalation that fails is not escalated again (that
                # could go on for ever): staff see it in the placement's documents.
                if problems:
                    workflow.logger.warning("escalation letter not confirmed", extra={"event": event})
                return
            for problem in problems:
                await self._escalate(problem)
        finally:
            self.letters_in_flight -= 1

    async def _deliver(self, event: str, planned: list[letters.Letter]) -> list[letters.Sent]:
        return await self.letters.send(self.p, event, planned, letters.retry_policy(self.inp.letter_attempts))

    async def _record(self, sent: list[letters.Sent], ctx: Context) -> list[Escalation]:
        """Records when each notice or invitation copy was given (the lock
        held); returns an escalation for each letter that did not go."""
        before = self.p
        for outcome in sent:
            self.p = letters.record_outcome(self.p, outcome)
        if self.p is not before:
            await self._publish()
        return [e for e in (letters.Letters.problem(outcome, ctx) for outcome in sent) if e]

    # --- projection --------------------------------------------------------

    async def _publish(self) -> None:
        """Search attributes for operations, then the register row and audit events."""
        self.changed = True
        self.p = self.p.model_copy(update={"version": self.p.version + 1})
        upcoming = self._deadlines()
        next_due = upcoming[0].due if upcoming else None
        wanted = {
            PLACEMENT_STATE: self.p.state,
            SCHOOL_ID: self.p.school.school_id,
            PLACEMENT_KIND: self.p.kind.value,
            NEXT_DEADLINE: uk_instant(next_due) if next_due else None,
        }
        if workflow.patched(LOCAL_WRITES):
            held = workflow.info().typed_search_attributes
            wanted = {key: value for key, value in wanted.items() if held.get(key) != value}
        if wanted:
            workflow.upsert_search_attributes([
                key.value_set(value) if value is not None else key.value_unset() for key, value in wanted.items()
            ])
        version = self.p.version
        await self._write("project_placement", Projection(
            placement=self.p, next_deadline=next_due, planned_end=planned_end(self.p, self.inp.calendar)))
        self.registered_version = max(self.registered_version, version)

    async def _write(self, activity: str, arg: BaseModel) -> None:
        """A write to the register, done before the workflow goes on."""
        if workflow.patched(LOCAL_WRITES):
            await workflow.execute_local_activity(activity, arg, start_to_close_timeout=PROJECTION_TIMEOUT)
        else:
            await workflow.execute_activity(activity, arg, start_to_close_timeout=PROJECTION_TIMEOUT)
