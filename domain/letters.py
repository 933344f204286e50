"""The letters plan: which letters each step or escalation sends, to whom,
with what in them, by when the provider is to reply and how long its link
works. Pure: every number comes from `PolicySettings`, every address from the
placement and its school's `SchoolContacts`.

| step (or escalation)        | document                                   | to                      |
| --------------------------- | ------------------------------------------ | ----------------------- |
| vet, pupil with an EHC plan | LA consultation (§3.1-3.2)                 | the LA's SEND team      |
| consult_la                  | notice that a placement is commissioned (§8.1) | the LA              |
| notify                      | notice of off-site direction (§6.5-6.6), for an off-site direction | each parent, and the LA for an EHC plan |
| notify                      | request for the initial assessment (§12.1.3), with a link | the provider |
| open_review                 | invitation to the review (§6.8), for an off-site direction; a parent's by email carries a link for their written views | each parent, and the LA for an EHC plan |
| open_review                 | request for a progress report before the meeting (§2.6), with a link | the provider |
| reintegrate                 | request for the final report (§2.6, §8.2.17), with a link | the provider |
| close                       | record of the pupil's destination (§3.7, §8.2.19) | the AP lead       |
| any escalation              | escalation message                         | its owner (AP lead, headteacher or DSL) |
| progress report overdue     | a new request for the progress report, with a link | the provider     |
| end of placement near       | request for the final report, with a link  | the provider            |

The kinds of letter, recipient roles and link purposes are declared here;
`documents` renders and delivers the letters and `messages` carries them to
the activity, both taking these words from here, so the policy names each once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from .clock import uk_date, uk_instant
from .deadlines import initial_assessment_due, planned_end, referred_on
from .directory import SchoolContacts, StaffMember
from .escalations import Escalation
from .evaluations import end_total
from .guards import Context, number_of_days
from .models import Delivery, EvaluationPart, EvaluationRequest, LetterCopy, Placement


class Kind(StrEnum):
    offsite_direction_notice = "offsite_direction_notice"
    review_invitation = "review_invitation"
    la_placement_notice = "la_placement_notice"
    la_ehcp_consultation = "la_ehcp_consultation"
    provider_initial_assessment_request = "provider_initial_assessment_request"
    provider_progress_report_request = "provider_progress_report_request"
    provider_final_report_request = "provider_final_report_request"
    provider_attendance_chase = "provider_attendance_chase"
    staff_escalation = "staff_escalation"
    destination_record = "destination_record"
    evaluation_request = "evaluation_request"


class RecipientRole(StrEnum):
    parent = "parent"
    la = "la"
    provider = "provider"
    ap_lead = "ap_lead"
    headteacher = "headteacher"
    dsl = "dsl"
    staff = "staff"  # a member of staff, about their own account (a password reset link)


class LinkPurpose(StrEnum):
    attendance = "attendance"  # §10.3, §12.1.4
    initial_assessment = "initial_assessment"  # §12.1.3
    progress_report = "progress_report"  # §2.6, §12.1.7
    final_report = "final_report"  # §2.6, §8.2.17
    review_views = "review_views"  # §6.8: a parent's written views before a review meeting
    # One part of one evaluation (appendix), answered by the pupil, a parent or the provider.
    evaluation_mid_pupil = "evaluation_mid_pupil"
    evaluation_mid_parent = "evaluation_mid_parent"
    evaluation_mid_provider = "evaluation_mid_provider"
    evaluation_end_pupil = "evaluation_end_pupil"
    evaluation_end_parent = "evaluation_end_parent"
    evaluation_end_provider = "evaluation_end_provider"


class LinkRequest(BaseModel):
    """A provider's link for a letter to carry: the activity issues and signs it."""

    purpose: LinkPurpose
    expires_at: datetime


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
    Kind.evaluation_request: "request for a part of the placement's evaluation",
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
    Kind.evaluation_request: "appendix: evaluation",
}
ROLE_TITLES = {
    "ap_lead": "Alternative provision lead",
    "headteacher": "Headteacher",
    "dsl": "Designated safeguarding lead",
}


@dataclass
class Letter:
    """One planned letter to one recipient."""

    kind: Kind
    role: RecipientRole
    to: str | None
    who: str  # the recipient as a refusal may name them: a role, never a name
    where: str  # where the missing address belongs
    context: dict[str, Any]
    link: LinkRequest | None = None
    delivery: Delivery = Delivery.email  # or onto the school's list of letters to post


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


def reply_by(day: date, ctx: Context) -> date:
    """A reply date on a school day: the last one on or before `day`, but after today."""
    d = day
    while not ctx.calendar.is_school_day(d) and d > ctx.today + timedelta(days=1):
        d -= timedelta(days=1)
    return d if ctx.calendar.is_school_day(d) else day


def link_expires(due_by: date, ctx: Context) -> datetime:
    """A provider's link works to the end of the day `provider_link_days` after its reply date."""
    return uk_instant(due_by + timedelta(days=ctx.settings.provider_link_days), time(23, 59))


def views_link_expires(meeting_on: date, starts_at: time | None) -> datetime:
    """A parent's link for written views works until the meeting starts (§6.8: views before the meeting)."""
    return uk_instant(meeting_on, starts_at or time(0))


def with_views_links(letters: list[Letter], meeting_on: date, starts_at: time | None) -> list[Letter]:
    """The invitations with a link for each parent's written views, on the
    copies apflow emails (a posted copy's PDF never holds a link: it says
    where to send views instead). The LA's copy has none: the views are the parents'."""
    expires = views_link_expires(meeting_on, starts_at)
    for letter in letters:
        if letter.role is RecipientRole.parent and letter.delivery is Delivery.email and letter.to:
            letter.link = LinkRequest(purpose=LinkPurpose.review_views, expires_at=expires)
            letter.context = {**letter.context, "link": {"url": PENDING_LINK, "expires_at": expires.isoformat()}}
    return letters


def _provider_address(p: Placement) -> str | None:
    named = p.provider.named_contact
    return (named.email if named and named.email else None) or p.provider.email


def _final_report_asked(p: Placement) -> bool:
    """Received already, or asked for when the end of the placement drew near."""
    return bool(p.closure and p.closure.final_report) or any(e.kind == "end_of_placement" for e in p.escalations)


class LetterPlan:
    """The letters of one school's placements, from its directory entry."""

    def __init__(self, contacts: SchoolContacts):
        self.contacts = contacts

    # --- what a step or an escalation sends --------------------------------------

    def for_step(self, p: Placement, action: str, ctx: Context) -> list[Letter]:
        """The letters `action` sends, `p` being the placement after it."""
        out: list[Letter] = []
        if action == "vet" and p.pupil.ehc_plan:
            out.append(self._to_la(Kind.la_ehcp_consultation, self._consultation(p, ctx), send_team=True))
        elif action == "consult_la":
            out.append(self._to_la(Kind.la_placement_notice, self._la_notice(p, ctx)))
        elif action == "notify":
            if p.notice and p.notice.copies and p.notice.copies[0].document_id is None:  # not given outside apflow
                out += self._copies(p, Kind.offsite_direction_notice, self._notice(p, ctx), p.notice.copies)
            out.append(self._initial_assessment_request(p, ctx))
        elif action == "open_review":
            meeting = p.review_meetings[-1]
            if meeting.invitation and meeting.invitation[0].document_id is None:
                out += with_views_links(self._copies(p, Kind.review_invitation, self._invitation(p, ctx), meeting.invitation),
                                        meeting.meeting_on, meeting.starts_at)
            # The report is wanted before the meeting, so those at it have read it.
            before = meeting.meeting_on - timedelta(days=ctx.settings.progress_report_before_review_days)
            out.append(self._report_request(p, ctx, Kind.provider_progress_report_request,
                                            reply_by(max(ctx.today + timedelta(days=1), before), ctx)))
        elif action == "reintegrate" and not _final_report_asked(p):
            out.append(self._report_request(p, ctx, Kind.provider_final_report_request, self._provider_reply_by(ctx)))
        elif action == "close":
            out.append(self._destination_record(p, ctx))
        elif action == "request_evaluation":
            out += self._evaluation_request(p, ctx, p.evaluation_requests[-1])
        return out

    def for_escalation(self, p: Placement, escalation: Escalation, ctx: Context) -> list[Letter]:
        """The escalation's message to its owner, and a chase to the provider
        where the escalation is theirs to answer."""
        letters = [self._escalation(p, escalation, ctx)]
        if escalation.kind == "progress_report":
            letters.append(self._report_request(p, ctx, Kind.provider_progress_report_request, self._provider_reply_by(ctx)))
        elif escalation.kind == "end_of_placement" and not (p.closure and p.closure.final_report):
            letters.append(self._report_request(p, ctx, Kind.provider_final_report_request, self._provider_reply_by(ctx)))
        return letters

    @staticmethod
    def _provider_reply_by(ctx: Context) -> date:
        return reply_by(ctx.today + timedelta(days=ctx.settings.provider_reply_days), ctx)

    # --- recipients ----------------------------------------------------------------

    def _copies(self, p: Placement, kind: Kind, context: dict[str, Any], copies: list[LetterCopy]) -> list[Letter]:
        """One letter per copy the step recorded: to each parent (by email, or
        onto the list to post for one with no address) and the LA."""
        if not p.parent_contacts:  # the guards ask for parent contacts; the letter names them too
            return [Letter(kind, RecipientRole.parent, None, "the parents", "add a parent or carer", context)]
        parents = iter(p.parent_contacts)
        out = []
        for c in copies:
            if c.recipient == "the local authority":
                out.append(self._to_la(kind, context))
            else:
                contact = next(parents)
                out.append(Letter(kind, RecipientRole.parent, contact.email, c.recipient,
                                  "add it to their contact details", context, delivery=c.delivery))
        return out

    def _to_la(self, kind: Kind, context: dict[str, Any], send_team: bool = False) -> Letter:
        la = self.contacts.la
        to = ((la.send_email if send_team else None) or la.email) if la else None
        return Letter(kind, RecipientRole.la, to, "the local authority", "add it to the trust's directory", context)

    @staticmethod
    def _to_provider(p: Placement, kind: Kind, context: dict[str, Any], link: LinkRequest) -> Letter:
        return Letter(kind, RecipientRole.provider, _provider_address(p), "the provider",
                      "add it to the provider's details", context, link)

    # --- contexts (see documents.kinds for what each template reads) -------------

    def _notice(self, p: Placement, ctx: Context) -> dict[str, Any]:
        d = self.contacts
        c = _letter(p, d, ctx.today, d.headteacher, "headteacher")
        c.update(_pick(p, "pupil", "parent_contacts", "provider", "report_to", "start_date", "pattern", "reasons", "objectives", "kind"))
        c["planned_end_date"] = _iso(planned_end(p, ctx.calendar))
        c["number_of_days"] = number_of_days(p, ctx.calendar)
        c["review_invitation_days"] = ctx.settings.review_invitation_days
        c["la"] = _la(p, d) if p.pupil.ehc_plan else None
        return c

    def _invitation(self, p: Placement, ctx: Context) -> dict[str, Any]:
        d = self.contacts
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

    def _la_notice(self, p: Placement, ctx: Context) -> dict[str, Any]:
        d = self.contacts
        c = _letter(p, d, ctx.today, d.ap_lead, "ap_lead")
        c.update(_pick(p, "pupil", "provider", "kind", "start_date", "pattern", "reasons"))
        c["planned_end_date"] = _iso(planned_end(p, ctx.calendar))
        c["la"] = _la(p, d)
        return c

    def _consultation(self, p: Placement, ctx: Context) -> dict[str, Any]:
        d = self.contacts
        c = _letter(p, d, ctx.today, d.ap_lead, "ap_lead")
        c.update(_pick(p, "pupil", "provider", "start_date", "pattern", "reasons", "objectives"))
        c["la"] = _la(p, d)
        c["reply_by"] = None
        return c

    @staticmethod
    def _link(purpose: LinkPurpose, due_by: date, ctx: Context) -> tuple[LinkRequest, dict[str, Any]]:
        expires = link_expires(due_by, ctx)
        return LinkRequest(purpose=purpose, expires_at=expires), {"url": PENDING_LINK, "expires_at": expires.isoformat()}

    def _initial_assessment_request(self, p: Placement, ctx: Context) -> Letter:
        # The same due date as the policy clock's (§12.1.3).
        referred = referred_on(p) or ctx.today
        due = initial_assessment_due(referred, ctx.settings)
        link, link_ctx = self._link(LinkPurpose.initial_assessment, due, ctx)
        d = self.contacts
        c = _letter(p, d, ctx.today, d.ap_lead, "ap_lead")
        c.update(_pick(p, "pupil", "provider", "objectives"))
        c.update(referred_on=referred.isoformat(), due_by=due.isoformat(), link=link_ctx)
        return self._to_provider(p, Kind.provider_initial_assessment_request, c, link)

    def _evaluation_request(self, p: Placement, ctx: Context, asked: EvaluationRequest) -> list[Letter]:
        """The part's link to whoever answers it: the provider, or each parent
        with an email address (the pupil's part too, for them to fill in with
        their child). Each letter has a link of its own; the part takes one answer."""
        due = self._provider_reply_by(ctx)
        d = self.contacts
        c = _letter(p, d, ctx.today, d.ap_lead, "ap_lead")
        c.update(_pick(p, "pupil", "provider", "parent_contacts", "objectives"))
        c.update(stage=asked.stage.value, part=asked.part.value, due_by=due.isoformat())
        purpose = LinkPurpose(f"evaluation_{asked.stage.value}_{asked.part.value}")

        def letter(role: RecipientRole, to: str | None, who: str, where: str) -> Letter:
            link, link_ctx = self._link(purpose, due, ctx)
            return Letter(Kind.evaluation_request, role, to, who, where, {**c, "link": link_ctx}, link)

        if asked.part is EvaluationPart.provider:
            return [letter(RecipientRole.provider, _provider_address(p), "the provider", "add it to the provider's details")]
        emailed = [contact for contact in p.parent_contacts if contact.email]
        if not emailed:  # a link cannot go by post: the school hands it over itself
            return [letter(RecipientRole.parent, None, "the parents", "add a parent's email address, or make a link to hand over")]
        return [letter(RecipientRole.parent, contact.email, f"parent or carer {i}", "") for i, contact in
                enumerate(p.parent_contacts, 1) if contact.email]

    def _report_request(self, p: Placement, ctx: Context, kind: Kind, due: date) -> Letter:
        purpose = LinkPurpose.progress_report if kind is Kind.provider_progress_report_request else LinkPurpose.final_report
        link, link_ctx = self._link(purpose, due, ctx)
        d = self.contacts
        c = _letter(p, d, ctx.today, d.ap_lead, "ap_lead")
        c.update(_pick(p, "pupil", "provider", "objectives"))
        c.update(due_by=due.isoformat(), link=link_ctx)
        if purpose is LinkPurpose.progress_report:
            last = max([r.received_on for r in p.progress_reports], default=p.start_date)
            c.update(period_start=last.isoformat(), period_end=ctx.today.isoformat())
        else:
            c["planned_end_date"] = _iso(planned_end(p, ctx.calendar))
        return self._to_provider(p, kind, c, link)

    def _destination_record(self, p: Placement, ctx: Context) -> Letter:
        d = self.contacts
        closure = p.closure
        c = _letter(p, d, ctx.today, None, None)
        c.update(_pick(p, "pupil", "provider", "start_date"))
        person = d.staff(ctx.actor.role.value)
        c.update(
            ended_on=ctx.today.isoformat(),
            destination=closure.destination.model_dump(mode="json") if closure and closure.destination else None,
            final_report=closure.final_report.model_dump(mode="json") if closure and closure.final_report else None,
            pupil_view=closure.pupil_view if closure else None,
            evaluation_total=end_total(p),
            termination=None,
            recorded_by={
                # Who recorded it: the person who acted, else the directory's holder of their role.
                "name": ctx.actor.name or (person.name if person and person.name else None) or ctx.actor.user_id,
                "role": ROLE_TITLES.get(ctx.actor.role.value),
            },
        )
        lead = d.ap_lead
        return Letter(Kind.destination_record, RecipientRole.ap_lead, (lead.email if lead else None) or d.email,
                      "the AP lead", "add it to the trust's directory", c)

    def _escalation(self, p: Placement, e: Escalation, ctx: Context) -> Letter:
        d = self.contacts
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
