"""What must hold once the chaos is over, read from every place it can be
seen: each placement's workflow (its result and history), the register (its
row and audit trail), the documents register, and what reached the SMTP
server or the outbox folder.

`settle` waits for every workflow to finish (a closed or terminated
placement's workflow ends once its letters have gone); `check` then returns
the figures and every problem found, so a run reports all of them at once.
"""
from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

from temporalio.client import WorkflowFailureError

from documents.delivery import PARTIAL, message_id
from store import documents as sent
from store import register
from tests.letters.conftest import FROM
from workflows.placement import PlacementWorkflow

from .lifecycles import PROXIED, STEP_LETTERS, Placement, Staff
from .stack import Stack

SETTLE_S = 150  # a letter cut off by the last kill is retried after its heartbeat timeout
DELIVERED = (sent.SENT, sent.UNCONFIRMED)


@dataclass
class Figures:
    placements: Counter = field(default_factory=Counter)  # by final state
    letters_expected: int = 0  # the steps' letters (`STEP_LETTERS`)
    letters: int = 0  # every letter recorded, escalations' messages too
    sent_once: int = 0  # recorded sent and received exactly once
    unconfirmed: int = 0  # a send cut off by a kill: not sent again, staff told
    unconfirmed_received: int = 0  # of those, how many had in fact arrived (once)
    duplicates: int = 0  # a message received more than once
    audit_expected: int = 0
    audit_found: int = 0
    partial_out_of_sight: int = 0  # a killed write's temporary file, in the outbox's private folder
    problems: list[str] = field(default_factory=list)


async def settle(stack: Stack, placements: list[Placement], timeout: float = SETTLE_S) -> dict[str, object]:
    """Each placement's final snapshot, once its workflow has ended."""

    async def result(p: Placement):
        try:
            handle = stack.client.get_workflow_handle_for(PlacementWorkflow.run, p.placement_id)
            return await asyncio.wait_for(handle.result(), timeout)
        except (TimeoutError, WorkflowFailureError) as e:
            return e

    started = [p for p in placements if p.placement_id]
    results = await asyncio.gather(*(result(p) for p in started))
    return dict(zip((p.placement_id for p in started), results))


def check(stack: Stack, placements: list[Placement], results: dict[str, object], staff: Staff = PROXIED) -> Figures:
    f = Figures()
    received = _received(stack)
    known: set[str] = set()
    for p in placements:
        f.audit_expected += len(p.steps)
        if p.error or not p.placement_id:
            f.problems.append(f"placement {p.index} ({p.path}) did not get to its end: {p.error}")
            f.placements["(not driven to the end)"] += 1
            continue
        pid = p.placement_id
        snap = results.get(pid)
        if not hasattr(snap, "placement"):
            f.problems.append(f"{pid} ({p.path}): its workflow did not end: {snap!r}")
            f.placements["(workflow still running)"] += 1
            continue
        placement = snap.placement
        f.placements[placement.state] += 1
        want = [(s.action, s.to_state) for s in p.steps]
        if placement.state != p.steps[-1].to_state:
            f.problems.append(f"{pid} ({p.path}): ended {placement.state}, expected {p.steps[-1].to_state}")
        if [(h.action, h.to_state) for h in placement.history] != want:
            f.problems.append(f"{pid} ({p.path}): workflow history {[(h.action, h.to_state) for h in placement.history]}")
        if [h.seq for h in placement.history] != list(range(1, len(want) + 1)):
            f.problems.append(f"{pid}: history seqs {[h.seq for h in placement.history]}")

        row = register.get(stack.engine, pid)
        if row is None or (row.state, row.seq) != (p.steps[-1].to_state, len(p.steps)):
            f.problems.append(f"{pid}: register row {(row.state, row.seq) if row else None}")
        trail = [(e.seq, e.action, e.to_state, e.actor_id) for e in register.audit_trail(stack.engine, pid)]
        f.audit_found += len(trail)
        expected_trail = [(i, s.action, s.to_state, staff.ids[s.who]) for i, s in enumerate(p.steps, start=1)]
        if trail != expected_trail:
            f.problems.append(f"{pid}: audit trail {trail}, expected {expected_trail}")

        expected = {f"{pid}:{seq}:{kind}:{role}" for seq, s in enumerate(p.steps, start=1)
                    for kind, role in STEP_LETTERS.get(s.action, [])}
        f.letters_expected += len(expected)
        rows = {r.idempotency_key: r for r in sent.for_placement(stack.engine, pid) if r.delivery_mode != "upload"}
        for key in sorted(expected - rows.keys()):
            f.problems.append(f"letter {key}: never recorded")
        escalations = {e.escalation_id for e in placement.escalations if e.kind == "letter_unconfirmed"}
        for key, r in rows.items():
            f.letters += 1
            mid = message_id(key, FROM)
            known.add(mid)
            times = received[mid]
            if times > 1:
                f.duplicates += 1
                f.problems.append(f"letter {key}: received {times} times")
            if r.status not in DELIVERED:
                f.problems.append(f"letter {key}: left {r.status}")
            elif r.status == sent.SENT:
                if times == 1:
                    f.sent_once += 1
                elif times == 0:
                    f.problems.append(f"letter {key}: recorded sent, never received")
            else:
                f.unconfirmed += 1
                f.unconfirmed_received += times == 1
                # The honest outcome of a send cut off mid-way: the AP lead is told to
                # check. (An escalation's own message is not escalated again, or that
                # could go on for ever: its row says `unconfirmed` on the placement.)
                if r.kind != "staff_escalation" and f"letter:{key.removeprefix(pid + ':')}" not in escalations:
                    f.problems.append(f"letter {key}: unconfirmed and nobody told")
    for mid in sorted(set(received) - known):
        f.problems.append(f"a message no letter records was received: {mid}")
    if stack.mail == "outbox":
        f.partial_out_of_sight = len(list((stack.outbox / PARTIAL).glob("*"))) if (stack.outbox / PARTIAL).exists() else 0
        f.problems += half_written(stack.outbox)
    return f


def _received(stack: Stack) -> Counter:
    """How many times each Message-ID reached the relay, or the outbox."""
    if stack.mail == "smtp":
        return Counter(m.message_id for m in stack.inbox.mails)
    found: Counter = Counter()
    for eml in stack.outbox.glob("*.eml"):
        msg = message_from_bytes(eml.read_bytes(), policy=policy.default)
        found[str(msg["Message-ID"])] += 1
    return found


def half_written(outbox: Path) -> list[str]:
    """Every file in sight in the outbox that is not whole: a message that
    does not parse to its end, a PDF without its end-of-file marker."""
    problems = []
    for path in sorted(outbox.iterdir()) if outbox.exists() else []:
        if path.name == PARTIAL:
            continue
        data = path.read_bytes()
        if path.suffix == ".pdf":
            if not (data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")):
                problems.append(f"outbox {path.name}: a PDF cut short")
        elif path.suffix == ".eml":
            msg = message_from_bytes(data, policy=policy.default)
            pdfs = [part.get_payload(decode=True) for part in msg.iter_attachments()
                    if part.get_content_type() == "application/pdf"]
            # A message cut short misses its closing MIME boundary: the parser says so as a defect.
            defects = [d for part in msg.walk() for d in part.defects]
            if msg["Message-ID"] is None or defects or msg.get_body(("html",)) is None \
                    or any(not (pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")) for pdf in pdfs):
                problems.append(f"outbox {path.name}: a message cut short")
        else:
            problems.append(f"outbox {path.name}: neither a message nor its PDF")
    return problems


def summary(f: Figures) -> str:
    states = ", ".join(f"{state} {n}" for state, n in sorted(f.placements.items()))
    return (f"placements: {states}\n"
            f"letters: {f.letters_expected} expected from the steps, {f.letters} recorded in all; "
            f"{f.sent_once} sent and received once, {f.unconfirmed} unconfirmed "
            f"({f.unconfirmed_received} of them had arrived), {f.duplicates} received twice\n"
            f"audit events: {f.audit_expected} expected, {f.audit_found} found")
