"""Which documents each step sends, to whom, and sending them from workflow code.

| step (or escalation)        | document                                   | to                      |
| --------------------------- | ------------------------------------------ | ----------------------- |
| vet, pupil with an EHC plan | LA consultation (§3.1-3.2)                 | the LA's SEND team      |
| consult_la                  | notice that a placement is commissioned (§8.1) | the LA              |
| notify                      | notice of off-site direction (§6.5-6.6), for an off-site direction | each parent, and the LA for an EHC plan |
| notify                      | request for the initial assessment (§12.1.3), with a link | the provider |
| open_review                 | invitation to the review (§6.8), for an off-site direction | each parent, and the LA for an EHC plan |
| open_review                 | request for a progress report before the meeting (§2.6), with a link | the provider |
| reintegrate                 | request for the final report (§2.6, §8.2.17), with a link | the provider |
| close                       | record of the pupil's destination (§3.7, §8.2.19) | the AP lead       |
| any escalation              | escalation message                         | its owner (AP lead, headteacher or DSL) |
| progress report overdue     | a new request for the progress report, with a link | the provider     |
| end of placement near       | request for the final report, with a link  | the provider            |

`Letters.gaps` runs in the update validator: a step whose letter would lack a
required item, or has nobody to go to, is refused before anything happens,
naming the item and its clause. The handler then sends each letter through
the `send_document` activity, which sends it exactly once per idempotency key
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
from datetime import date, time, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from messages import REFUSED_BY_RELAY, LetterRequest, LetterResult, LinkRequest
    from documents.delivery import RecipientRole
    from documents.delivery import document_id as document_id_for
    from documents.kinds import Kind
    from documents.links import LinkPurpose
    from documents.render import missing_items
    from domain.clock import uk_date, uk_instant
    from domain.directory import SchoolContacts, StaffMember
    from domain.deadlines import initial_assessment_due, referred_on
    from domain.escalations import Escalation
    from domain.actions import with_outcome
    from domain.guards import Context, Unmet, number_of_days
    from domain.models import Delivery, LetterCopy, Placement, Role

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
PENDING_LINK = "https://link.invalid/issued-when-sent"  # the activity issues the real, signed one

TITLES = {
    Kind.offsite_direction_notice: "notice of off-site direction",
    Kind.review_invitation: "invitation to the review meeting",
    Kind.la_placement_notice: "notice of the placement to the local authority",
    Kind.la_ehcp_consultation: "consultation of the local authority about the EHC plan",
    Kind.provider_initial_assessment_request: "request for the provider's initial assessment",
    Kind.provider_progress_report_request: "request for the provider's progress report",
    Kind.provider_final_report_request: "request for the provider's final report",
    Kind.staff_escalation: "escalation message",
    Kind.destination_record: "record of the pupil's destination",
}
CLAUSES = {
    Kind.offsite_direction_notice: "§6.5-6.6",
    Kind.review_invitation: "§6.8",
    Kind.la_placement_notice: "§8.1",
    Kind.la_ehcp_consultation: "§3.1-3.2",
    Kind.provider_initial_assessment_request: "§12.1.3",
    Kind.provider_progress_report_request: "§2.6, §12.1.7",
    Kind.provider_final_report_request: "§2.6, §8.2.17",
    Kind.staff_escalation: "escalation record",
    Kind.destination_record: "§3.7, §8.2.19",
}
ROLE_TITLES = {
    "ap_lead": "Alternative provision lead",
    "headteacher": "Headteacher",
    "dsl": "Designated safeguarding lead",
}
# Where a missing detail is to be filled in, for the refusal's message.
_FROM_DIRECTORY = ("signed_by.", "school.", "la.", "recorded_by.", "review_meeting.written_views_to")


@dataclass
class Letter:
    kind: Kind
    role: RecipientRole
    to: str | None
    who: str  # the recipient as a refusal may name them: a role, never a name
    where: str  # where the missing address belongs
    context: dict[str, Any]
    link: LinkRequest | None = None
    delivery: Delivery = Delivery.email  # or onto the school's list of letters to post


@dataclass
class Sent:
    """A letter and what became of it: its result, or why it could not go."""

    letter: Letter
    request: LetterRequest
    result: LetterResult | None
    failure: str | None = None


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _pick(p: Placement, *fields: str) -> dict[str, Any]:
    return p.model_dump(mode="json", include=set(fields))


def _letter(p: Placement, d: SchoolContacts, issued_on: date, signer: StaffMember | None, signer_role: str | None) -> dict[str, Any]:
    return {
        "placement_id": p.placement_id,
        "issued_on": issued_on.isoformat(),
        "school": {
            "name": p.school.name,
            "school_id": p.school.school_id,
            "local_authority": p.school.local_authority,
            "address": d.address,
            "phone": d.phone,
            "email": d.email,
        },
        "signed_by": {"name": signer.name if signer else None, "role": ROLE_TITLES.get(signer_role or "")} if signer_role else None,
    }


def _la(p: Placement, d: SchoolContacts) -> dict[str, Any]:
    return {
        "name": (d.la.name if d.la and d.la.name else None) or p.school.local_authority,
        "contact": p.la_consultation.la_contact if p.la_consultation else None,
    }


def _reply_by(day: date, ctx: Context) -> date:
    """A reply date on a school day: the last one on or before `day`, but after today."""
    d = day
    while not ctx.calendar.is_school_day(d) and d > ctx.today + timedelta(days=1):
        d -= timedelta(days=1)
    return d if ctx.calendar.is_school_day(d) else day


def _provider_address(p: Placement) -> str | None:
    named = p.provider.named_contact
    return (named.email if named and named.email else None) or p.provider.email


class Letters:
    """The letters of one placement's workflow."""

    def __init__(self, directory: SchoolContacts | None, enabled: bool):
        self.directory = directory
        self.enabled = enabled

    @property
    def active(self) -> bool:
        return self.enabled and self.directory is not None

    # --- what a step sends ----------------------------------------------------

    def plan(self, p: Placement, action: str, ctx: Context) -> list[Letter]:
        """The letters `action` sends, `p` being the placement after it."""
        d = self.directory
        if not self.active or d is None:
            return []
        out: list[Letter] = []
        if action == "vet" and p.pupil.ehc_plan:
            out.append(self._to_la(d, Kind.la_ehcp_consultation, self._consultation(p, d, ctx), send_team=True))
        elif action == "consult_la":
            out.append(self._to_la(d, Kind.la_placement_notice, self._la_notice(p, d, ctx)))
        elif action == "notify":
            if p.notice and p.notice.copies and p.notice.copies[0].document_id is None:  # not given outside apflow
                out += self._copies(p, d, Kind.offsite_direction_notice, self._notice(p, d, ctx), p.notice.copies)
            out.append(self._initial_assessment_request(p, d, ctx))
        elif action == "open_review":
            meeting = p.review_meetings[-1]
            if meeting.invitation and meeting.invitation[0].document_id is None:
                out += self._copies(p, d, Kind.review_invitation, self._invitation(p, d, ctx), meeting.invitation)
            out.append(self._report_request(p, d, ctx, Kind.provider_progress_report_request,
                                             _reply_by(max(ctx.today + timedelta(days=1), meeting.meeting_on - timedelta(days=2)), ctx)))
        elif action == "reintegrate" and not self._final_report_asked(p):
            out.append(self._report_request(p, d, ctx, Kind.provider_final_report_request,
                                             _reply_by(ctx.today + timedelta(days=ctx.settings.provider_reply_days), ctx)))
        elif action == "close":
            out.append(self._destination_record(p, d, ctx))
        return out

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

    # --- sending ------------------------------------------------------------------

    def for_escalation(self, p: Placement, escalation: Escalation, ctx: Context) -> list[Letter]:
        """The escalation's message to its owner, and a chase to the provider
        where the escalation is theirs to answer: what can be sent of them
        (nobody acts on an escalation in advance to complete its letters)."""
        d = self.directory
        if not self.active or d is None:
            return []
        letters = [self._escalation(p, d, escalation, ctx)]
        reply_by = _reply_by(ctx.today + timedelta(days=ctx.settings.provider_reply_days), ctx)
        if escalation.kind == "progress_report":
            letters.append(self._report_request(p, d, ctx, Kind.provider_progress_report_request, reply_by))
        elif escalation.kind == "end_of_placement" and not (p.closure and p.closure.final_report):
            letters.append(self._report_request(p, d, ctx, Kind.provider_final_report_request, reply_by))
        sendable = [x for x in letters if x.to and not missing_items(x.kind, x.context)]
        if len(sendable) < len(letters):
            workflow.logger.warning("escalation letters left unsent for want of details", extra={"kind": escalation.kind})
        return sendable

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
            what = f"may not have been delivered: the sender stopped while sending it; check with the {recipient} and send it again from the placement's documents"
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

    # --- recipients -------------------------------------------------------------

    def _copies(self, p: Placement, d: SchoolContacts, kind: Kind, context: dict[str, Any], copies: list[LetterCopy]) -> list[Letter]:
        """One letter per copy the step recorded: to each parent (by email, or
        onto the list to post for one with no address) and the LA."""
        if not p.parent_contacts:  # the guards ask for parent contacts; the letter names them too
            return [Letter(kind, RecipientRole.parent, None, "the parents", "add a parent or carer", context)]
        parents = iter(p.parent_contacts)
        out = []
        for c in copies:
            if c.recipient == "the local authority":
                out.append(self._to_la(d, kind, context))
            else:
                contact = next(parents)
                out.append(Letter(kind, RecipientRole.parent, contact.email, c.recipient,
                                  "add it to their contact details", context, delivery=c.delivery))
        return out

    @staticmethod
    def _to_la(d: SchoolContacts, kind: Kind, context: dict[str, Any], send_team: bool = False) -> Letter:
        la = d.la
        to = ((la.send_email if send_team else None) or la.email) if la else None
        return Letter(kind, RecipientRole.la, to, "the local authority", "add it to the trust's directory", context)

    @staticmethod
    def _to_provider(p: Placement, kind: Kind, context: dict[str, Any], link: LinkRequest) -> Letter:
        return Letter(kind, RecipientRole.provider, _provider_address(p), "the provider",
                      "add it to the provider's details", context, link)

    # --- contexts (see documents.kinds for what each template reads) -----------

    def _notice(self, p: Placement, d: SchoolContacts, ctx: Context) -> dict[str, Any]:
        c = _letter(p, d, ctx.today, d.headteacher, "headteacher")
        c.update(_pick(p, "pupil", "parent_contacts", "provider", "report_to", "start_date", "pattern", "reasons", "objectives", "kind"))
        c["planned_end_date"] = _iso(p.planned_end)
        c["number_of_days"] = number_of_days(p, ctx.calendar)
        c["review_invitation_days"] = ctx.settings.review_invitation_days
        c["la"] = _la(p, d) if p.pupil.ehc_plan else None
        return c

    def _invitation(self, p: Placement, d: SchoolContacts, ctx: Context) -> dict[str, Any]:
        m = p.review_meetings[-1]
        c = _letter(p, d, ctx.today, d.ap_lead, "ap_lead")
        c.update(_pick(p, "pupil", "parent_contacts"))
        c["review_meeting"] = {
            "meeting_on": m.meeting_on.isoformat(),
            "time": m.starts_at.isoformat() if m.starts_at else None,
            "place": m.place,
            "written_views_to": m.written_views_to or (d.ap_lead.email if d.ap_lead else None) or d.email,
        }
        c["la"] = _la(p, d) if p.pupil.ehc_plan else None
        return c

    def _la_notice(self, p: Placement, d: SchoolContacts, ctx: Context) -> dict[str, Any]:
        c = _letter(p, d, ctx.today, d.ap_lead, "ap_lead")
        c.update(_pick(p, "pupil", "provider", "kind", "start_date", "pattern", "reasons"))
        c["planned_end_date"] = _iso(p.planned_end)
        c["la"] = _la(p, d)
        return c

    def _consultation(self, p: Placement, d: SchoolContacts, ctx: Context) -> dict[str, Any]:
        c = _letter(p, d, ctx.today, d.ap_lead, "ap_lead")
        c.update(_pick(p, "pupil", "provider", "start_date", "pattern", "reasons", "objectives"))
        c["la"] = _la(p, d)
        c["reply_by"] = None
        return c

    def _link(self, purpose: LinkPurpose, due_by: date, ctx: Context) -> tuple[LinkRequest, dict[str, Any]]:
        # Valid to the end of the day `provider_link_days` after the reply date.
        expires = uk_instant(due_by + timedelta(days=ctx.settings.provider_link_days), time(23, 59))
        return LinkRequest(purpose=purpose, expires_at=expires), {"url": PENDING_LINK, "expires_at": expires.isoformat()}

    def _initial_assessment_request(self, p: Placement, d: SchoolContacts, ctx: Context) -> Letter:
        # The same due date as the policy clock's (§12.1.3).
        referred = referred_on(p) or ctx.today
        due = initial_assessment_due(referred, ctx.settings)
        link, link_ctx = self._link(LinkPurpose.initial_assessment, due, ctx)
        c = _letter(p, d, ctx.today, d.ap_lead, "ap_lead")
        c.update(_pick(p, "pupil", "provider", "objectives"))
        c.update(referred_on=referred.isoformat(), due_by=due.isoformat(), link=link_ctx)
        return self._to_provider(p, Kind.provider_initial_assessment_request, c, link)

    def _report_request(self, p: Placement, d: SchoolContacts, ctx: Context, kind: Kind, due: date) -> Letter:
        purpose = LinkPurpose.progress_report if kind is Kind.provider_progress_report_request else LinkPurpose.final_report
        link, link_ctx = self._link(purpose, due, ctx)
        c = _letter(p, d, ctx.today, d.ap_lead, "ap_lead")
        c.update(_pick(p, "pupil", "provider", "objectives"))
        c.update(due_by=due.isoformat(), link=link_ctx)
        if purpose is LinkPurpose.progress_report:
            last = max([r.received_on for r in p.progress_reports], default=p.start_date)
            c.update(period_start=last.isoformat(), period_end=ctx.today.isoformat())
        else:
            c["planned_end_date"] = _iso(p.planned_end)
        return self._to_provider(p, kind, c, link)

    @staticmethod
    def _final_report_asked(p: Placement) -> bool:
        """Received already, or asked for when the end of the placement drew near."""
        return bool(p.closure and p.closure.final_report) or any(e.kind == "end_of_placement" for e in p.escalations)

    def _destination_record(self, p: Placement, d: SchoolContacts, ctx: Context) -> Letter:
        closure = p.closure
        c = _letter(p, d, ctx.today, None, None)
        c.update(_pick(p, "pupil", "provider", "start_date"))
        person = d.staff(ctx.actor.role.value)
        c.update(
            ended_on=ctx.today.isoformat(),
            destination=closure.destination.model_dump(mode="json") if closure and closure.destination else None,
            final_report=closure.final_report.model_dump(mode="json") if closure and closure.final_report else None,
            pupil_view=closure.pupil_view if closure else None,
            evaluation_total=closure.evaluation.total if closure and closure.evaluation else None,
            termination=None,
            recorded_by={
                "name": (person.name if person and person.name else None) or ctx.actor.user_id,
                "role": ROLE_TITLES.get(ctx.actor.role.value),
            },
        )
        lead = d.ap_lead
        return Letter(Kind.destination_record, RecipientRole.ap_lead, (lead.email if lead else None) or d.email,
                      "the AP lead", "add it to the trust's directory", c)

    def _escalation(self, p: Placement, d: SchoolContacts, e: Escalation, ctx: Context) -> Letter:
        owner = e.owner.value if e.owner.value in ROLE_TITLES else "ap_lead"
        person = d.staff(owner)
        c = {
            "placement_id": p.placement_id,
            "issued_on": ctx.today.isoformat(),
            "escalation": {
                "what": e.message,
                "clause": e.clause,
                "who_should_act": ROLE_TITLES[owner],
                "due": (e.due or uk_date(e.raised_at)).isoformat(),
                "raised_at": e.raised_at.isoformat(),
            },
        }
        return Letter(Kind.staff_escalation, RecipientRole(owner), (person.email if person else None) or d.email,
                      f"the {ROLE_TITLES[owner].lower()}", "add it to the trust's directory", c)
