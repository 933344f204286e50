"""The placement lifecycle as a state chart, and the one function that moves
a placement: `decide`.

proposed → vetted → la_consulted → notified → active ⇄ under_review →
reintegrating → closed, and terminated from any state that is not final.
Every move's condition is the guard its action declares (`domain.actions`).
"""
from __future__ import annotations

from datetime import datetime

from statemachine import State, StateMachine

from . import guards
from .access import access
from .actions import ACTION_MODELS, Action, apply
from .guards import Context, Unmet
from .models import HistoryEntry, Placement


def _judged_by(action: type[Action]):
    """The chart's condition for an action: the action's own guard, under its
    name (the diagram shows it)."""
    def condition(before: Placement, candidate: Placement, ctx: Context, action: Action) -> bool:
        return not action.judge(before, candidate, ctx)

    condition.__name__ = condition.__qualname__ = action.guard.__name__
    return condition


JUDGED = {name: _judged_by(model) for name, model in ACTION_MODELS.items()}


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
        proposed.to.itself(cond=JUDGED["amend"])
        | vetted.to.itself(cond=JUDGED["amend"])
        | la_consulted.to.itself(cond=JUDGED["amend"])
        # A new start date after notice: the notice named the old one, so it is given again.
        | notified.to(la_consulted, cond=JUDGED["amend"])
    )
    vet = proposed.to(vetted, cond=JUDGED["vet"])
    consult_la = vetted.to(la_consulted, cond=JUDGED["consult_la"])
    notify = la_consulted.to(notified, cond=JUDGED["notify"])
    start = notified.to(active, cond=JUDGED["start"])
    open_review = active.to(under_review, cond=JUDGED["open_review"])
    record_review = under_review.to(active, cond=JUDGED["record_review"])
    reintegrate = under_review.to(reintegrating, cond=JUDGED["reintegrate"])
    close = reintegrating.to(closed, cond=JUDGED["close"])
    # Steps that record something without moving the placement on.
    record_contact = (
        active.to.itself(cond=JUDGED["record_contact"])
        | under_review.to.itself(cond=JUDGED["record_contact"])
        | reintegrating.to.itself(cond=JUDGED["record_contact"])
    )
    # A running placement is reviewed at once (§9.7); before the start the
    # concern is recorded and blocks the start until it is addressed.
    raise_concern = (
        proposed.to.itself() | vetted.to.itself() | la_consulted.to.itself() | notified.to.itself()
        | active.to(under_review) | under_review.to.itself() | reintegrating.to(under_review)
    )
    request_review = active.to.itself(cond=JUDGED["request_review"])
    record_delivery = (
        notified.to.itself(cond=JUDGED["record_delivery"]) | active.to.itself(cond=JUDGED["record_delivery"])
        | under_review.to.itself(cond=JUDGED["record_delivery"]) | reintegrating.to.itself(cond=JUDGED["record_delivery"])
    )
    resolve_escalation = (
        proposed.to.itself(cond=JUDGED["resolve_escalation"]) | vetted.to.itself(cond=JUDGED["resolve_escalation"])
        | la_consulted.to.itself(cond=JUDGED["resolve_escalation"]) | notified.to.itself(cond=JUDGED["resolve_escalation"])
        | active.to.itself(cond=JUDGED["resolve_escalation"]) | under_review.to.itself(cond=JUDGED["resolve_escalation"])
        | reintegrating.to.itself(cond=JUDGED["resolve_escalation"])
    )
    # What the provider sends (through its link, or staff enter it for them).
    record_initial_assessment = (
        notified.to.itself(cond=JUDGED["record_initial_assessment"]) | active.to.itself(cond=JUDGED["record_initial_assessment"])
        | under_review.to.itself(cond=JUDGED["record_initial_assessment"])
    )
    record_progress_report = (
        active.to.itself(cond=JUDGED["record_progress_report"]) | under_review.to.itself(cond=JUDGED["record_progress_report"])
        | reintegrating.to.itself(cond=JUDGED["record_progress_report"])
    )
    record_final_report = (
        active.to.itself(cond=JUDGED["record_final_report"]) | under_review.to.itself(cond=JUDGED["record_final_report"])
        | reintegrating.to.itself(cond=JUDGED["record_final_report"])
    )
    terminate = (
        proposed.to(terminated, cond=JUDGED["terminate"])
        | vetted.to(terminated, cond=JUDGED["terminate"])
        | la_consulted.to(terminated, cond=JUDGED["terminate"])
        | notified.to(terminated, cond=JUDGED["terminate"])
        | active.to(terminated, cond=JUDGED["terminate"])
        | under_review.to(terminated, cond=JUDGED["terminate"])
        | reintegrating.to(terminated, cond=JUDGED["terminate"])
    )



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
    text = format(Lifecycle(start_value=current or Lifecycle.initial_state.value), "mermaid")
    if current is None:  # the chart marks where it is: nowhere in particular
        text = "\n".join(line for line in text.splitlines() if ":::active" not in line) + "\n"
    return text


def move(state: str, action: str) -> str:
    """Where the chart takes a placement in `state` on `action`."""
    (target,) = {t.target.value for t in getattr(Lifecycle, state).transitions if t.event == action}
    return target


def possible_actions(state: str) -> list[str]:
    """The actions the chart offers from a state, guards aside."""
    return sorted({t.event for t in getattr(Lifecycle, state).transitions})


def check(placement: Placement, action: Action, ctx: Context, at: datetime | None = None) -> tuple[Placement, list[Unmet]]:
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
    return candidate, action.judge(placement, candidate, ctx)


def decide(placement: Placement, action: Action, ctx: Context, at: datetime, note: str | None = None) -> Placement:
    """The placement after the action, or `Refused` naming every unmet condition."""
    name = action.action  # type: ignore[attr-defined]
    candidate, unmet = check(placement, action, ctx, at)
    if unmet:
        raise Refused(name, unmet)
    # Judged once, above: the move itself is the chart's, its condition met.
    candidate.state = move(placement.state, name)
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
