"""The lifecycle drawn from the state chart itself (`domain.lifecycle.Lifecycle`),
as HTML: each state in the chart's order with the moves that leave it and
the guard each names, the placement's own state marked.

HTML rather than a picture: it needs no script and no diagram tool on the
server, a screen reader reads it as a list, and it is the chart's own
states and transitions, so it cannot drift from the rules. (`GET
/api/lifecycle` gives the same chart as Mermaid.) The chart is fixed, so
its HTML is drawn once for each state a placement can be in.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from markupsafe import Markup

from domain.lifecycle import Lifecycle

from .rendering import env


@dataclass(frozen=True)
class Move:
    action: str
    target: str
    guards: tuple[str, ...]


@dataclass
class StateBox:
    state: str
    final: bool
    current: bool
    moves: list[Move] = field(default_factory=list)


@dataclass
class Chart:
    states: list[StateBox]
    from_any: list[Move]  # moves every state that is not final has (ending early)


def chart(current: str | None) -> Chart:
    moves_of = {
        s.value: sorted({Move(t.event, t.target.value, tuple(str(c) for c in t.cond))
                         for t in s.transitions if t.target is not s}, key=lambda m: m.action)
        for s in Lifecycle.states
    }
    running = [s.value for s in Lifecycle.states if not s.final]
    common = set.intersection(*(set(moves_of[s]) for s in running)) if running else set()
    states = [StateBox(state=s.value, final=s.final, current=s.value == current,
                       moves=[m for m in moves_of[s.value] if m not in common])
              for s in Lifecycle.states]
    return Chart(states=states, from_any=sorted(common, key=lambda m: m.action))


@cache
def drawn(current: str) -> Markup:
    """The chart as HTML (`_lifecycle.html`) with `current` marked: the same
    for every placement in that state, so drawn once a state."""
    return Markup(env.get_template("_lifecycle.html").module.lifecycle(chart(current)))
