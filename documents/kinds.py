"""The documents the policy asks for, what each must contain, and the context
each template reads.

A context is a plain mapping (pydantic models are dumped first). Field names
follow `domain.models` (`Proposal`/`Placement` and their parts) so a caller
can mostly hand over `placement.model_dump()` plus a few letter fields.

Shared by every kind except the escalation:

    placement_id   str     reference printed on every page (no personal data)
    issued_on      date    the date the document is sent
    school         {name, school_id?, local_authority?, address?, phone?, email?}
    signed_by      {name, role?}   who signs (the headteacher for a notice, §6.5)

Per kind (required items are in `KINDS`; "?" marks optional fields):

offsite_direction_notice  to parents, copy to the LA for an EHC plan (§6.5-6.6)
    pupil {name, date_of_birth?, ehc_plan?}, parent_contacts [{name}],
    provider {name, sites [{name, address, postcode}]}, report_to {name, role?,
    phone?}, start_date, number_of_days, planned_end_date?, pattern {full_time,
    days [mon..fri], arrival, departure}, reasons, objectives [{description,
    baseline?, target?}], la {name}? (required when pupil.ehc_plan)
review_invitation  to parents, sent `review_invitation_days` before the meeting (§6.8)
    pupil {name}, parent_contacts [{name}], review_meeting {meeting_on, time,
    place, written_views_to}, la {name}? (invited too for an EHC plan, §8.2.8),
    link {url, expires_at, link_id?}? (a parent's emailed copy: their written
    views online, until the meeting starts)
la_placement_notice  to the LA when a placement is commissioned (§8.1)
    la {name, contact?}, pupil {name, date_of_birth, year_group?, ehc_plan?,
    looked_after?}, provider {name, provider_type?, urn?, ukprn?, sites}, kind?,
    start_date, planned_end_date?, pattern {full_time, days?, arrival?,
    departure?}, reasons
la_ehcp_consultation  to the LA that maintains the EHC plan (§3.1-3.2, §3.8)
    la {name, contact?}, pupil {name, date_of_birth, year_group?}, provider
    {name, sites?}, start_date (proposed), pattern?, reasons, objectives,
    reply_by?
provider_initial_assessment_request  (§12.1.3: due `initial_assessment_days` after referral)
    provider {name, named_contact {name}?}, pupil {name, date_of_birth?,
    year_group?}, referred_on, due_by, link {url, expires_at, link_id?}
    (`url` is written into the email only, never into the kept copy: see
    `documents.render`; every request to a provider has a link)
provider_progress_report_request  (§2.6, §12.1.7)
    provider, pupil, objectives, due_by, link {url, expires_at},
    period_start?, period_end?
provider_attendance_chase  (§10.3, §12.1.4: a session's mark has not arrived)
    provider, pupil, session_day, session_name ("morning" | "afternoon"),
    due_by (the day it is sent: the mark is owed today), link {url,
    expires_at} (an attendance link)
provider_final_report_request  (§2.6, §8.2.17)
    provider, pupil, objectives, due_by, link {url, expires_at},
    planned_end_date?
staff_escalation  by email to staff; the template sees ONLY placement_id,
    issued_on, escalation {what, clause, who_should_act, due, raised_at?} and
    console_url?, so no pupil data can reach it even if a caller passes some.
evaluation_request  (appendix: evaluation) to the provider or a parent:
    pupil, provider, parent_contacts, stage ("mid" | "end"), part ("pupil" |
    "parent" | "provider"), due_by, link {url, expires_at}
destination_record  the register's record of the outcome (§3.7, §8.2.3,
    §8.2.17-8.2.19)
    pupil {name, date_of_birth?}, provider {name}, start_date, ended_on,
    destination {kind, name, from_date}, pupil_view, final_report {summary,
    received_on?, attendance_percent?}, evaluation_total?, termination
    {reason}?, recorded_by {name, role?}
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from domain.letters import Kind

from .formatting import as_date, as_datetime

Context = Mapping[str, Any]




@dataclass(frozen=True)
class MissingItem:
    """Something the policy needs in a document that the context lacks."""

    item: str
    clause: str
    path: str = ""

    def __str__(self) -> str:
        return f"{self.item} ({self.clause})"


@dataclass(frozen=True)
class Required:
    """A context path that must hold a value; `*` walks every list element."""

    path: str
    item: str
    clause: str
    when: Callable[[Context], bool] | None = None


Check = Callable[[Context], "MissingItem | None"]


@dataclass(frozen=True)
class DocumentKind:
    name: Kind
    template: str
    required: tuple[Required, ...]
    optional: tuple[str, ...] = ()  # filled with None so templates can test them
    checks: tuple[Check, ...] = ()
    only: tuple[str, ...] | None = None  # top-level keys the template may see

    def missing(self, context: Context) -> list[MissingItem]:
        out: list[MissingItem] = []
        for req in self.required:
            if req.when is not None and not req.when(context):
                continue
            if not present(context, req.path):
                out.append(MissingItem(req.item, req.clause, req.path))
        if not out:  # rules compare values, so they only make sense on a full context
            out.extend(m for check in self.checks if (m := check(context)) is not None)
        return out


# --- reading paths -----------------------------------------------------------

_ABSENT = object()


def _step(value: Any, key: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(key, _ABSENT)
    return getattr(value, key, _ABSENT)


def resolve(context: Any, path: str) -> list[Any]:
    """Every value at `path`; `_ABSENT` where a step is missing."""
    values = [context]
    for key in path.split("."):
        nxt: list[Any] = []
        for v in values:
            if v is _ABSENT or v is None:
                nxt.append(_ABSENT)
            elif key == "*":
                nxt.extend(v if isinstance(v, (list, tuple)) and v else [_ABSENT])
            else:
                nxt.append(_step(v, key))
        values = nxt
    return values


def _filled(value: Any) -> bool:
    if value is _ABSENT or value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (list, tuple, dict, set, frozenset)):
        return bool(value)
    return True  # 0 and False are answers, not gaps


def present(context: Context, path: str) -> bool:
    return all(_filled(v) for v in resolve(context, path))


def get(context: Context, path: str) -> Any:
    v = resolve(context, path)[0]
    return None if v is _ABSENT else v


def _ehc_plan(context: Context) -> bool:
    return bool(get(context, "pupil.ehc_plan"))


# --- rules on values ---------------------------------------------------------


def _link_outlives_due_date(clause: str) -> Check:
    def check(context: Context) -> MissingItem | None:
        expires = as_datetime(get(context, "link.expires_at"))
        if expires.date() < as_date(context["due_by"]):
            return MissingItem("a link that stays valid until the due date", clause, "link.expires_at")
        return None

    return check


def _notice_before_start(context: Context) -> MissingItem | None:
    # §6.5 counts school days, which needs the school's calendar: the workflow's
    # guard keeps that rule. Here only the impossible case is refused.
    if as_date(context["issued_on"]) >= as_date(context["start_date"]):
        return MissingItem("notice given before the start date", "§6.5", "start_date")
    return None


# --- the kinds ---------------------------------------------------------------

_SCHOOL_OPTIONAL = ("school.school_id", "school.local_authority", "school.address", "school.phone", "school.email")


def _letter(clause: str) -> tuple[Required, ...]:
    return (
        Required("placement_id", "placement reference", "§8.2.3"),
        Required("issued_on", "date of the document", clause),
        Required("school.name", "commissioning school", "§3.3"),
    )


_PROVIDER_REQUEST = (
    Required("provider.name", "provider", "§12.1"),
    Required("pupil.name", "pupil's name", "§8.2.1"),
    Required("due_by", "date the provider should reply by", "§8.2.2"),
    Required("link.url", "link for the provider's reply", "§8.2.2"),
    Required("link.expires_at", "when the link expires", "§8.2.2"),
    Required("signed_by.name", "who sends the request", "§3.4"),
)
_PROVIDER_OPTIONAL = _SCHOOL_OPTIONAL + (
    "link.link_id",  # what the kept copy names the link by
    "provider.named_contact",
    "pupil.date_of_birth",
    "pupil.year_group",
    "signed_by.role",
)

_KINDS: tuple[DocumentKind, ...] = (
    DocumentKind(
        Kind.offsite_direction_notice,
        "offsite_direction_notice.html.j2",
        required=_letter("§6.5")
        + (
            Required("pupil.name", "pupil's name", "§6.5"),
            Required("parent_contacts.*.name", "parents to whom notice is given", "§6.5"),
            Required("start_date", "first day at the provision", "§6.5"),
            Required("provider.name", "provider", "§6.6.1"),
            Required("provider.sites.*.address", "address where education is provided", "§6.6.1"),
            Required("provider.sites.*.postcode", "postcode of the provision", "§6.6.1"),
            Required("report_to.name", "person to report to on the first day", "§6.6.2"),
            Required("number_of_days", "number of days directed off-site", "§6.6.3"),
            Required("reasons", "reasons for directing the pupil off-site", "§6.6.4"),
            Required("objectives.*.description", "objectives of the direction", "§6.6.4"),
            Required("pattern.days", "days the pupil is to attend", "§6.6.5"),
            Required("pattern.arrival", "time the pupil is to arrive", "§6.6.5"),
            Required("pattern.departure", "time the pupil may leave", "§6.6.5"),
            Required("signed_by.name", "headteacher's signature", "§6.4-6.5"),
            Required("la.name", "local authority sent a copy (EHC plan)", "§6.5", when=_ehc_plan),
        ),
        optional=_SCHOOL_OPTIONAL
        + (
            "kind",
            "review_invitation_days",
            "pupil.date_of_birth",
            "pupil.ehc_plan",
            "report_to.role",
            "report_to.phone",
            "planned_end_date",
            "pattern.full_time",
            "la",
        ),
        checks=(_notice_before_start,),
    ),
    DocumentKind(
        Kind.review_invitation,
        "review_invitation.html.j2",
        required=_letter("§6.8")
        + (
            Required("pupil.name", "pupil's name", "§6.8"),
            Required("parent_contacts.*.name", "parents invited", "§6.8"),
            Required("review_meeting.meeting_on", "date of the review meeting", "§6.8"),
            Required("review_meeting.time", "time of the review meeting", "§6.8"),
            Required("review_meeting.place", "place of the review meeting", "§6.8"),
            Required("review_meeting.written_views_to", "where to send views in writing", "§6.8"),
            Required("signed_by.name", "who sends the invitation", "§6.8"),
        ),
        # A parent's emailed copy carries a link for written views (§6.8).
        optional=_SCHOOL_OPTIONAL + ("pupil.ehc_plan", "la", "signed_by.role", "link", "link.link_id"),
    ),
    DocumentKind(
        Kind.la_placement_notice,
        "la_placement_notice.html.j2",
        required=_letter("§8.1")
        + (
            Required("la.name", "local authority informed", "§8.1"),
            Required("pupil.name", "pupil's name", "§8.1"),
            Required("pupil.date_of_birth", "pupil's date of birth", "§13.4.1"),
            Required("provider.name", "provider commissioned", "§8.1"),
            Required("provider.sites.*.address", "address of every site the pupil attends", "§9.5"),
            Required("provider.sites.*.postcode", "postcode of every site", "§9.5"),
            Required("start_date", "start date", "§8.1"),
            Required("pattern.full_time", "full or part time", "§13.4.1"),
            Required("reasons", "reason for the placement", "§13.4.1"),
            Required("signed_by.name", "who sends the notice", "§8.1"),
        ),
        optional=_SCHOOL_OPTIONAL
        + (
            "la.contact",
            "pupil.year_group",
            "pupil.ehc_plan",
            "pupil.looked_after",
            "provider.provider_type",
            "provider.urn",
            "provider.ukprn",
            "kind",
            "planned_end_date",
            "pattern.days",
            "pattern.arrival",
            "pattern.departure",
            "signed_by.role",
        ),
    ),
    DocumentKind(
        Kind.la_ehcp_consultation,
        "la_ehcp_consultation.html.j2",
        required=_letter("§3.1")
        + (
            Required("la.name", "local authority maintaining the EHC plan", "§3.1"),
            Required("pupil.name", "pupil's name", "§3.1"),
            Required("pupil.date_of_birth", "pupil's date of birth", "§3.1"),
            Required("reasons", "why the school believes alternative provision would help", "§3.1"),
            Required("objectives.*.description", "objectives linked to the plan's outcomes", "§3.6"),
            Required("provider.name", "proposed provider", "§3.2"),
            Required("start_date", "proposed start date", "§3.2"),
            Required("signed_by.name", "who sends the consultation", "§3.1"),
        ),
        optional=_SCHOOL_OPTIONAL
        + ("la.contact", "pupil.year_group", "provider.sites", "pattern", "reply_by", "signed_by.role"),
    ),
    DocumentKind(
        Kind.provider_initial_assessment_request,
        "provider_initial_assessment_request.html.j2",
        required=_letter("§12.1.3")
        + _PROVIDER_REQUEST
        + (Required("referred_on", "date of referral", "§12.1.3"),),
        optional=_PROVIDER_OPTIONAL,
        checks=(_link_outlives_due_date("§12.1.3"),),
    ),
    DocumentKind(
        Kind.provider_progress_report_request,
        "provider_progress_report_request.html.j2",
        required=_letter("§2.6")
        + _PROVIDER_REQUEST
        + (Required("objectives.*.description", "objectives to report against", "§8.2.6"),),
        optional=_PROVIDER_OPTIONAL + ("period_start", "period_end"),
        checks=(_link_outlives_due_date("§12.1.7"),),
    ),
    DocumentKind(
        Kind.evaluation_request,
        "evaluation_request.html.j2",
        required=_letter("appendix: evaluation")
        + (
            Required("pupil.name", "pupil's name", "appendix: evaluation"),
            Required("provider.name", "provider", "appendix: evaluation"),
            Required("stage", "which evaluation", "appendix: evaluation"),
            Required("part", "whose part", "appendix: evaluation"),
            Required("due_by", "date to reply by", "appendix: evaluation"),
            Required("link.url", "link for the answer", "appendix: evaluation"),
            Required("link.expires_at", "when the link expires", "appendix: evaluation"),
            Required("signed_by.name", "who sends the request", "§3.4"),
        ),
        optional=_PROVIDER_OPTIONAL + ("parent_contacts", "objectives"),
    ),
    DocumentKind(
        Kind.provider_final_report_request,
        "provider_final_report_request.html.j2",
        required=_letter("§8.2.17")
        + _PROVIDER_REQUEST
        + (Required("objectives.*.description", "objectives to report against", "§8.2.17"),),
        optional=_PROVIDER_OPTIONAL + ("planned_end_date",),
        checks=(_link_outlives_due_date("§2.6"),),
    ),
    DocumentKind(
        Kind.provider_attendance_chase,
        "provider_attendance_chase.html.j2",
        required=_letter("§12.1.4")
        + _PROVIDER_REQUEST
        + (
            Required("session_day", "day of the missing mark", "§10.3"),
            Required("session_name", "session of the missing mark (morning or afternoon)", "§10.3"),
        ),
        optional=_PROVIDER_OPTIONAL,
        checks=(_link_outlives_due_date("§12.1.4"),),
    ),
    DocumentKind(
        Kind.staff_escalation,
        "staff_escalation.html.j2",
        required=(
            Required("placement_id", "placement reference", "§8.2.3"),
            Required("issued_on", "date of the message", "escalation record"),
            Required("escalation.what", "what is late or wrong", "escalation record"),
            Required("escalation.clause", "policy clause", "escalation record"),
            Required("escalation.who_should_act", "who should act", "escalation record"),
            Required("escalation.due", "when it was due", "escalation record"),
        ),
        optional=("escalation.raised_at", "console_url"),
        # It goes by email to staff: a pupil reference is all it may carry.
        only=("placement_id", "issued_on", "escalation", "console_url"),
    ),
    DocumentKind(
        Kind.destination_record,
        "destination_record.html.j2",
        required=_letter("§3.7")
        + (
            Required("pupil.name", "pupil's name", "§3.7"),
            Required("provider.name", "provider", "§8.2.3"),
            Required("start_date", "start date", "§8.2.3"),
            Required("ended_on", "end date", "§8.2.3"),
            Required("destination.kind", "destination after the placement", "§8.2.19"),
            Required("destination.name", "name of the destination", "§8.2.19"),
            Required("destination.from_date", "date the destination starts", "§8.2.19"),
            Required("final_report.summary", "progress and achievements", "§3.7, §8.2.17"),
            Required("pupil_view", "pupil's own assessment of the placement", "§3.7, §8.2.18"),
            Required("recorded_by.name", "who recorded it", "§8.2.3"),
        ),
        optional=_SCHOOL_OPTIONAL
        + (
            "pupil.date_of_birth",
            "final_report.received_on",
            "final_report.attendance_percent",
            "evaluation_total",
            "termination",
            "recorded_by.role",
        ),
    ),
)

KINDS: dict[str, DocumentKind] = {k.name.value: k for k in _KINDS}
