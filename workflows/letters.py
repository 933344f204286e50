"""Sending the letters of `domain.letters`' plan from workflow code.

`domain.letters.LetterPlan` says which letters a step or an escalation sends,
to whom and with what in them. `Letters.gaps` runs in the update validator: a
step whose letter would lack a required item, or has nobody to go to, is
refused before anything happens, naming the item and its clause. The handler
then sends each letter through the `send_document` activity, which sends it
exactly once per idempotency key
`<placement id>:<history seq or escalation id>:<kind>:<recipient role>` (a
second parent is `parent.2`). A letter that may not have gone (the worker died
mid-send over SMTP) or could not be sent comes back as an escalation to the
AP lead, so nothing is lost quietly.

Letters need the school's directory entry, which a placement carries from its
proposal; a placement without one (started before letters existed, or by a
test of the lifecycle alone) sends none. Workflows whose history predates
letters replay without them (`workflow.patched`).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from messages import REFUSED_BY_RELAY, LetterRequest, LetterResult
    from documents.delivery import document_id as document_id_for
    from documents.render import missing_items
    from domain.actions import with_outcome
    from domain.clock import uk_date
    from domain.directory import SchoolContacts
    from domain.escalations import Escalation
    from domain.guards import Context, Unmet
    from domain.letters import CLAUSES, TITLES, Kind, Letter, LetterPlan, RecipientRole
    from domain.models import Delivery, Placement, Role

PATCH = "send-letters"
SEND_TIMEOUT = timedelta(minutes=3)
# The activity heartbeats while it sends: a worker that dies mid-send has its
# attempt retried this soon, and the retry finds what the register recorded.
HEARTBEAT_TIMEOUT = timedelta(seconds=15)


def retry_policy(attempts: int) -> RetryPolicy:
    """A transient failure (the relay down, a 4xx answer) is retried this many
    times at most; a refusal (a 5xx answer, a bad address) not at all."""
    return RetryPolicy(maximum_interval=timedelta(minutes=5), maximum_attempts=attempts,
                       non_retryable_error_types=["DocumentIncomplete", REFUSED_BY_RELAY])


def record_outcome(p: Placement, sent: Sent) -> Placement:
    """The placement with what became of a notice or invitation copy apflow
    sent: given the day it left, waiting on the list to post, or not sent."""
    if sent.letter.kind not in (Kind.offsite_direction_notice, Kind.review_invitation) or sent.letter.role is RecipientRole.provider:
        return p
    result = sent.result
    given = uk_date(result.sent_at) if result and result.sent_at else None
    document_id = result.document_id if result else document_id_for(sent.request.idempotency_key)
    failed = sent.failure if result is None else None
    if sent.letter.kind is Kind.offsite_direction_notice and p.notice:
        copies = with_outcome(p.notice.copies, sent.letter.who, document_id, given, failed)
        if copies != p.notice.copies:
            return p.model_copy(update={"notice": p.notice.model_copy(update={"copies": copies})})
    elif p.review_meetings:
        meeting = p.review_meetings[-1]
        copies = with_outcome(meeting.invitation, sent.letter.who, document_id, given, failed)
        if copies != meeting.invitation:
            meetings = [*p.review_meetings[:-1], meeting.model_copy(update={"invitation": copies})]
            return p.model_copy(update={"review_meetings": meetings})
    return p


# Where a missing detail is to be filled in, for the refusal's message.
_FROM_DIRECTORY = ("signed_by.", "school.", "la.", "recorded_by.", "review_meeting.written_views_to")


@dataclass
class Sent:
    """A letter and what became of it: its result, or why it could not go."""

    letter: Letter
    request: LetterRequest
    result: LetterResult | None
    failure: str | None = None


class Letters:
    """The letters of one placement's workflow."""

    def __init__(self, directory: SchoolContacts | None, enabled: bool):
        self.directory = directory  # replaced when the trust pushes its directory again
        self.enabled = enabled

    def _planner(self) -> LetterPlan | None:
        return LetterPlan(self.directory) if self.enabled and self.directory is not None else None

    # --- what a step or an escalation sends -------------------------------------

    def plan(self, p: Placement, action: str, ctx: Context) -> list[Letter]:
        """The letters `action` sends, `p` being the placement after it."""
        planner = self._planner()
        return planner.for_step(p, action, ctx) if planner else []

    def gaps(self, candidate: Placement, action: str, ctx: Context) -> list[Unmet]:
        """Why a letter of this step could not be sent: each missing item or
        address, with its clause. Empty when every letter is complete."""
        unmet: list[Unmet] = []
        for letter in self.plan(candidate, action, ctx):
            title = TITLES[letter.kind]
            for m in missing_items(letter.kind, letter.context):
                hint = " (from the trust's directory)" if m.path.startswith(_FROM_DIRECTORY) else ""
                unmet.append(Unmet(m.clause, f"the {title} cannot be sent without the {m.item}{hint}"))
            if not letter.to and letter.delivery is Delivery.email:
                unmet.append(Unmet(CLAUSES[letter.kind], f"the {title} cannot be sent: there is no email address for {letter.who} ({letter.where})"))
        return list(dict.fromkeys(unmet))  # a notice to two parents lacks the same item twice

    def for_escalation(self, p: Placement, escalation: Escalation, ctx: Context) -> list[Letter]:
        """The escalation's letters that can be sent (nobody acts on an
        escalation in advance to complete its letters)."""
        planner = self._planner()
        letters = planner.for_escalation(p, escalation, ctx) if planner else []
        sendable = [x for x in letters if x.to and not missing_items(x.kind, x.context)]
        if len(sendable) < len(letters):
            workflow.logger.warning("escalation letters left unsent for want of details", extra={"kind": escalation.kind})
        return sendable

    # --- sending ------------------------------------------------------------------

    async def send(self, p: Placement, event: str, letters: list[Letter], retry: RetryPolicy) -> list[Sent]:
        """Sends each letter once under its key; never raises: a letter that
        could not go comes back with the reason."""
        requests, count = [], {}
        for letter in letters:
            n = count[letter.role] = count.get(letter.role, 0) + 1
            key = f"{p.placement_id}:{event}:{letter.kind.value}:{letter.role.value}" + (f".{n}" if n > 1 else "")
            requests.append(LetterRequest(
                idempotency_key=key, placement_id=p.placement_id, event=event, kind=letter.kind.value,
                role=letter.role, to=letter.to or "", context=letter.context, link=letter.link,
                delivery=letter.delivery.value,
            ))
        return list(await asyncio.gather(*(self._deliver(letter, r, retry) for letter, r in zip(letters, requests))))

    async def _deliver(self, letter: Letter, request: LetterRequest, retry: RetryPolicy) -> Sent:
        try:
            result = await workflow.execute_activity(
                "send_document", request, result_type=LetterResult,
                start_to_close_timeout=SEND_TIMEOUT, heartbeat_timeout=HEARTBEAT_TIMEOUT, retry_policy=retry,
            )
            return Sent(letter, request, result)
        except ActivityError as e:
            cause = e.cause
            reason = cause.message if isinstance(cause, ApplicationError) and cause.type == REFUSED_BY_RELAY else "the mail relay could not be reached"
            workflow.logger.warning("a letter could not be sent", extra={"kind": request.kind})
            return Sent(letter, request, None, reason)

    @staticmethod
    def problem(sent: Sent, ctx: Context) -> Escalation | None:
        """An escalation to the AP lead for a letter that did not (or may not
        have) reached its recipient; None for one that went or waits to be posted."""
        request, result = sent.request, sent.result
        if result is not None and result.status != "unconfirmed":
            return None
        kind = Kind(request.kind)
        recipient = request.role.value.replace("_", " ")
        if result is not None:
            what = f"may not have been delivered: sending it was cut off before the mail relay confirmed it; check with the {recipient} and send it again from the placement's documents"
        else:
            what = f"could not be sent: {sent.failure}; hand it over or post it, and record that on the placement"
        return Escalation(
            escalation_id=f"letter:{request.event}:{request.kind}:{request.idempotency_key.rsplit(':', 1)[1]}",
            kind="letter_unconfirmed" if result else "letter_failed",
            clause=CLAUSES[kind],
            owner=Role.ap_lead,
            message=f"the {TITLES[kind]} to the {recipient} {what}",
            raised_at=workflow.now(),
            due=ctx.today,
        )
