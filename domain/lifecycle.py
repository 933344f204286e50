"""The placement lifecycle as a state chart, and the one function that moves
a placement: `decide`.

proposed → vetted → la_consulted → notified → active ⇄ under_review →
reintegrating → closed, and terminated from any state that is not final.
Every move's condition is the guard its action declares (`domain.actions`).
"""
from __future__ import annotations

from datetime import datetime

from statemachine import StateMachine
from statemachine.states import States

from . import guards
from .access import access
from .actions import ACTION_MODELS, Action, apply
from .guards import Context, Unmet
from .models import HistoryEntry, Placement, PlacementState
from .window import trim


def _judged_by(action: type[Action]):
    """The chart's condition for an action: the action's own guard, under its
    name (the diagram shows it)."""
    def condition(before: Placement, candidate: Placement, ctx: Context, action: Action) -> bool:
        return not action.judge(before, candidate, ctx)

    condition.__name__ = condition.__qualname__ = action.guard.__name__
    return condition


JUDGED = {name: _judged_by(model) for name, model in ACTION_MODELS.items()}


class Lifecycle(StateMachine):
    s = States.from_enum(PlacementState, initial=PlacementState.proposed,
                         final=[PlacementState.closed, PlacementState.terminated])

    amend = (
        s.proposed.to.itself(cond=JUDGED["amend"])
        | s.vetted.to.itself(cond=JUDGED["amend"])
        | s.la_consulted.to.itself(cond=JUDGED["amend"])
        # A new start date after notice: the notice named the old one, so it is given again.
        | s.notified.to(s.la_consulted, cond=JUDGED["amend"])
    )
    vet = s.proposed.to(s.vetted, cond=JUDGED["vet"])
    consult_la = s.vetted.to(s.la_consulted, cond=JUDGED["consult_la"])
    notify = s.la_consulted.to(s.notified, cond=JUDGED["notify"])
    start = s.notified.to(s.active, cond=JUDGED["start"])
    open_review = s.active.to(s.under_review, cond=JUDGED["open_review"])
    record_review = s.under_review.to(s.active, cond=JUDGED["record_review"])
    reintegrate = s.under_review.to(s.reintegrating, cond=JUDGED["reintegrate"])
    close = s.reintegrating.to(s.closed, cond=JUDGED["close"])
    # Steps that record something without moving the placement on.
    record_contact = (
        s.active.to.itself(cond=JUDGED["record_contact"])
        | s.under_review.to.itself(cond=JUDGED["record_contact"])
        | s.reintegrating.to.itself(cond=JUDGED["record_contact"])
    )
    record_visit = (
        s.active.to.itself(cond=JUDGED["record_visit"])
        | s.under_review.to.itself(cond=JUDGED["record_visit"])
        | s.reintegrating.to.itself(cond=JUDGED["record_visit"])
    )
    # A running placement is reviewed at once (§9.7); before the start the
    # concern is recorded and blocks the start until it is addressed.
    raise_concern = (
        s.proposed.to.itself() | s.vetted.to.itself() | s.la_consulted.to.itself() | s.notified.to.itself()
        | s.active.to(s.under_review) | s.under_review.to.itself() | s.reintegrating.to(s.under_review)
    )
    request_review = s.active.to.itself(cond=JUDGED["request_review"])
    record_delivery = (
        s.notified.to.itself(cond=JUDGED["record_delivery"]) | s.active.to.itself(cond=JUDGED["record_delivery"])
        | s.under_review.to.itself(cond=JUDGED["record_delivery"]) | s.reintegrating.to.itself(cond=JUDGED["record_delivery"])
    )
    resolve_escalation = (
        s.proposed.to.itself(cond=JUDGED["resolve_escalation"]) | s.vetted.to.itself(cond=JUDGED["resolve_escalation"])
        | s.la_consulted.to.itself(cond=JUDGED["resolve_escalation"]) | s.notified.to.itself(cond=JUDGED["resolve_escalation"])
        | s.active.to.itself(cond=JUDGED["resolve_escalation"]) | s.under_review.to.itself(cond=JUDGED["resolve_escalation"])
        | s.reintegrating.to.itself(cond=JUDGED["resolve_escalation"])
    )
    # What the provider sends (through its link, or staff enter it for them).
    record_initial_assessment = (
        s.notified.to.itself(cond=JUDGED["record_initial_assessment"]) | s.active.to.itself(cond=JUDGED["record_initial_assessment"])
        | s.under_review.to.itself(cond=JUDGED["record_initial_assessment"])
    )
    record_progress_report = (
        s.active.to.itself(cond=JUDGED["record_progress_report"]) | s.under_review.to.itself(cond=JUDGED["record_progress_report"])
        | s.reintegrating.to.itself(cond=JUDGED["record_progress_report"])
    )
    record_final_report = (
        s.active.to.itself(cond=JUDGED["record_final_report"]) | s.under_review.to.itself(cond=JUDGED["record_final_report"])
        | s.reintegrating.to.itself(cond=JUDGED["record_final_report"])
    )
    # A part of the mid or end evaluation (appendix): staff, or the pupil, parent and provider through their links.
    record_evaluation = (
        s.active.to.itself(cond=JUDGED["record_evaluation"]) | s.under_review.to.itself(cond=JUDGED["record_evaluation"])
        | s.reintegrating.to.itself(cond=JUDGED["record_evaluation"])
    )
    # A part of an evaluation asked for by email with its link.
    request_evaluation = (
        s.active.to.itself(cond=JUDGED["request_evaluation"]) | s.under_review.to.itself(cond=JUDGED["request_evaluation"])
        | s.reintegrating.to.itself(cond=JUDGED["request_evaluation"])
    )
    terminate = (
        s.proposed.to(s.terminated, cond=JUDGED["terminate"])
        | s.vetted.to(s.terminated, cond=JUDGED["terminate"])
        | s.la_consulted.to(s.terminated, cond=JUDGED["terminate"])
        | s.notified.to(s.terminated, cond=JUDGED["terminate"])
        | s.active.to(s.terminated, cond=JUDGED["terminate"])
        | s.under_review.to(s.terminated, cond=JUDGED["terminate"])
        | s.reintegrating.to(s.terminated, cond=JUDGED["terminate"])
    )



class Refused(Exception):
    """An action the policy does not allow now; the placement is unchanged."""

    def __init__(self, action: str, unmet: list[Unmet]):
        self.action = action
        self.unmet = unmet
        super().__init__(f"'{action}' refused: " + "; ".join(str(u) for u in unmet))


FINAL_STATES = frozenset(s.value for s in Lifecycle.final_states)


def _reachable(state) -> set:
    seen, todo = set(), [state]
    while todo:
        for t in todo.pop().transitions:
            if t.target not in seen:
                seen.add(t.target)
                todo.append(t.target)
    return seen


# Running: where a started placement can be before it ends, as the chart draws it.
RUNNING_STATES = frozenset(s.value for s in _reachable(Lifecycle.s.active) if not s.final) | {PlacementState.active}
NOT_STARTED = frozenset(PlacementState) - RUNNING_STATES - FINAL_STATES


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
    if candidate.state in FINAL_STATES:
        _settle_escalations(candidate, ctx.actor, at)
    # Judged and recorded: what the decisions no longer read goes (the
    # register keeps it), so the placement does not grow with every contact.
    return trim(candidate)


def _settle_escalations(p: Placement, actor, at: datetime) -> None:
    """An ended placement takes no more steps, so nobody could resolve what is
    still open on it: each is resolved by whoever ended it, saying so."""
    for e in p.escalations:
        if e.open:
            e.resolved_at, e.resolved_by = at, actor
            e.resolution = f"The placement was {p.state.replace('_', ' ')}: nothing more can be done on it."


def propose(placement: Placement, ctx: Context, at: datetime) -> Placement:
    """A new placement in state `proposed`, or `Refused` (§3.6)."""
    unmet = access(ctx.actor, "propose", placement.school.school_id) + guards.proposal(placement, ctx)
    if unmet:
        raise Refused("propose", unmet)
    p = placement.model_copy(deep=True)
    p.state = PlacementState.proposed
    p.history = [HistoryEntry(seq=1, action="propose", actor=ctx.actor, at=at, from_state="", to_state="proposed")]
    p.trimmed_history = 0
    return p
