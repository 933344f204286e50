"""The placement lifecycle as a state chart, and the one function that moves
a placement: `decide`.

proposed → vetted → la_consulted → notified → active ⇄ under_review →
reintegrating → closed, and terminated from any state that is not final.
Every transition is guarded by a function of `domain.guards`.
"""
from __future__ import annotations

from datetime import datetime

from statemachine import State, StateMachine

from . import guards
from .access import access
from .actions import apply
from .guards import Context, Unmet
from .models import HistoryEntry, Model, Placement


class Lifecycle(StateMachine):
    proposed = State(initial=True)
    vetted = State()
    la_consulted = State()
    notified = State()
    active = State()
    under_review = State()
    reintegrating = State()
    closed = State(final=True)
    terminated = State(final=True)

    amend = (
        proposed.to.itself(cond="proposal_complete")
        | vetted.to.itself(cond="proposal_complete")
        | la_consulted.to.itself(cond="proposal_complete")
        # A new start date after notice: the notice named the old one, so it is given again.
        | notified.to(la_consulted, cond="proposal_complete")
    )
    vet = proposed.to(vetted, cond="provider_vetted")
    consult_la = vetted.to(la_consulted, cond="la_involved")
    notify = la_consulted.to(notified, cond="notice_given")
    start = notified.to(active, cond="ready_to_start")
    open_review = active.to(under_review, cond="review_booked")
    record_review = under_review.to(active, cond="review_continues")
    reintegrate = under_review.to(reintegrating, cond="reintegration_planned")
    close = reintegrating.to(closed, cond="placement_complete")
    # Steps that record something without moving the placement on.
    record_contact = (
        active.to.itself(cond="contact_recorded")
        | under_review.to.itself(cond="contact_recorded")
        | reintegrating.to.itself(cond="contact_recorded")
    )
    # A running placement is reviewed at once (§9.7); before the start the
    # concern is recorded and blocks the start until it is addressed.
    raise_concern = (
        proposed.to.itself() | vetted.to.itself() | la_consulted.to.itself() | notified.to.itself()
        | active.to(under_review) | under_review.to.itself() | reintegrating.to(under_review)
    )
    request_review = active.to.itself(cond="review_request_valid")
    record_delivery = (
        notified.to.itself(cond="letter_handed_over") | active.to.itself(cond="letter_handed_over")
        | under_review.to.itself(cond="letter_handed_over") | reintegrating.to.itself(cond="letter_handed_over")
    )
    resolve_escalation = (
        proposed.to.itself(cond="escalation_open") | vetted.to.itself(cond="escalation_open")
        | la_consulted.to.itself(cond="escalation_open") | notified.to.itself(cond="escalation_open")
        | active.to.itself(cond="escalation_open") | under_review.to.itself(cond="escalation_open")
        | reintegrating.to.itself(cond="escalation_open")
    )
    # What the provider sends (through its link, or staff enter it for them).
    record_initial_assessment = (
        notified.to.itself(cond="assessment_received") | active.to.itself(cond="assessment_received")
        | under_review.to.itself(cond="assessment_received")
    )
    record_progress_report = (
        active.to.itself(cond="progress_report_received") | under_review.to.itself(cond="progress_report_received")
        | reintegrating.to.itself(cond="progress_report_received")
    )
    record_final_report = (
        active.to.itself(cond="final_report_received") | under_review.to.itself(cond="final_report_received")
        | reintegrating.to.itself(cond="final_report_received")
    )
    terminate = (
        proposed.to(terminated, cond="ending_recorded")
        | vetted.to(terminated, cond="ending_recorded")
        | la_consulted.to(terminated, cond="ending_recorded")
        | notified.to(terminated, cond="ending_recorded")
        | active.to(terminated, cond="ending_recorded")
        | under_review.to(terminated, cond="ending_recorded")
        | reintegrating.to(terminated, cond="ending_recorded")
    )

    # Conditions, named for the diagram; each is a guard of domain.guards.
    def proposal_complete(self, candidate: Placement, ctx: Context) -> bool:
        return not guards.amendment(candidate, ctx)

    def provider_vetted(self, candidate: Placement, ctx: Context) -> bool:
        return not guards.vetting(candidate, ctx)

    def la_involved(self, candidate: Placement, ctx: Context) -> bool:
        return not guards.la_consultation(candidate, ctx)

    def notice_given(self, candidate: Placement, ctx: Context) -> bool:
        return not guards.notice(candidate, ctx)

    def ready_to_start(self, candidate: Placement, ctx: Context) -> bool:
        return not guards.start(candidate, ctx)

    def review_booked(self, candidate: Placement, ctx: Context) -> bool:
        return not guards.review_booking(candidate, ctx)

    def review_continues(self, candidate: Placement, ctx: Context) -> bool:
        return not guards.review_continue(candidate, ctx)

    def reintegration_planned(self, candidate: Placement, ctx: Context) -> bool:
        return not guards.reintegration(candidate, ctx)

    def placement_complete(self, candidate: Placement, ctx: Context) -> bool:
        return not guards.closure(candidate, ctx)

    def ending_recorded(self, candidate: Placement, ctx: Context) -> bool:
        return not guards.termination(candidate, ctx)

    def contact_recorded(self, candidate: Placement, ctx: Context) -> bool:
        return not guards.contact(candidate, ctx)

    def letter_handed_over(self, candidate: Placement, ctx: Context, action) -> bool:
        return not guards.delivery_record(candidate, ctx, action)

    def review_request_valid(self, candidate: Placement, ctx: Context) -> bool:
        return not guards.review_request(candidate, ctx)

    def escalation_open(self, candidate: Placement, ctx: Context, action) -> bool:
        return not guards.escalation_resolution(candidate, ctx, action)

    def assessment_received(self, candidate: Placement, ctx: Context) -> bool:
        return not guards.initial_assessment(candidate, ctx)

    def progress_report_received(self, candidate: Placement, ctx: Context) -> bool:
        return not guards.progress_report(candidate, ctx)

    def final_report_received(self, candidate: Placement, ctx: Context) -> bool:
        return not guards.final_report(candidate, ctx)


GUARDS: dict[str, guards.Guard] = {
    "amend": guards.amendment,
    "vet": guards.vetting,
    "consult_la": guards.la_consultation,
    "notify": guards.notice,
    "start": guards.start,
    "open_review": guards.review_booking,
    "record_review": guards.review_continue,
    "reintegrate": guards.reintegration,
    "close": guards.closure,
    "terminate": guards.termination,
    "record_contact": guards.contact,
    "raise_concern": guards.nothing_more,
    "request_review": guards.review_request,
    "record_initial_assessment": guards.initial_assessment,
    "record_progress_report": guards.progress_report,
    "record_final_report": guards.final_report,
}


class Refused(Exception):
    """An action the policy does not allow now; the placement is unchanged."""

    def __init__(self, action: str, unmet: list[Unmet]):
        self.action = action
        self.unmet = unmet
        super().__init__(f"'{action}' refused: " + "; ".join(str(u) for u in unmet))


FINAL_STATES = frozenset(s.value for s in Lifecycle.final_states)


def diagram(current: str | None = None) -> str:
    """The chart as a Mermaid state diagram, drawn from the class itself
    (states, moves and the guard each move names), with `current` marked."""
    text = format(Lifecycle(), "mermaid")
    if current is not None:
        text += f"\n    classDef current font-weight:bold,stroke-width:3px\n    class {current} current\n"
    return text


def possible_actions(state: str) -> list[str]:
    """The actions the chart offers from a state, guards aside."""
    return sorted({t.event for t in getattr(Lifecycle, state).transitions})


def check(placement: Placement, action: Model, ctx: Context, at: datetime | None = None) -> tuple[Placement, list[Unmet]]:
    """The candidate placement and every condition the action leaves unmet."""
    name = action.action  # type: ignore[attr-defined]
    if placement.final:
        return placement, [Unmet("lifecycle", f"the placement is {placement.state}: nothing more can be done")]
    possible = possible_actions(placement.state)
    if name not in possible:
        return placement, [Unmet("lifecycle", f"'{name}' is not possible while the placement is {placement.state}; possible now: {', '.join(possible)}")]
    denied = access(ctx.actor, name, placement.school.school_id)
    if denied:
        return placement, denied
    candidate = apply(placement, action, ctx, at)
    claimed = guards.claimed_dates(action)
    if claimed:
        return placement, claimed
    if name == "resolve_escalation":  # judged on the action: the candidate has it resolved already
        return candidate, guards.escalation_resolution(placement, ctx, action)
    if name == "record_delivery":
        return candidate, guards.delivery_record(placement, ctx, action)
    unmet = GUARDS[name](candidate, ctx)
    review = getattr(action, "review", None)  # record_review, reintegrate and terminate may carry one
    if review is not None:
        unmet = guards.review_held(candidate, review, ctx) + unmet
    return candidate, unmet


def decide(placement: Placement, action: Model, ctx: Context, at: datetime, note: str | None = None) -> Placement:
    """The placement after the action, or `Refused` naming every unmet condition."""
    name = action.action  # type: ignore[attr-defined]
    candidate, unmet = check(placement, action, ctx, at)
    if unmet:
        raise Refused(name, unmet)
    sm = Lifecycle(start_value=placement.state)
    judged = placement if name in ("resolve_escalation", "record_delivery") else candidate
    sm.send(name, candidate=judged, ctx=ctx, action=action)
    candidate.state = sm.current_state_value
    if placement.state == "notified" and candidate.state == "la_consulted":
        candidate.notice = None
    candidate.history.append(
        HistoryEntry(
            seq=placement.seq + 1,
            action=name,
            actor=ctx.actor,
            at=at,
            from_state=placement.state,
            to_state=candidate.state,
            note=note,
        )
    )
    return candidate


def propose(placement: Placement, ctx: Context, at: datetime) -> Placement:
    """A new placement in state `proposed`, or `Refused` (§3.6)."""
    unmet = access(ctx.actor, "propose", placement.school.school_id) + guards.proposal(placement, ctx)
    if unmet:
        raise Refused("propose", unmet)
    p = placement.model_copy(deep=True)
    p.state = "proposed"
    p.history = [HistoryEntry(seq=1, action="propose", actor=ctx.actor, at=at, from_state="", to_state="proposed")]
    return p
