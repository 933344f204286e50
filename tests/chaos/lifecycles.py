"""Placements driven through their lifecycles over the API, as an
integration drives them while parts of the service fail under it.

Each placement follows one of `PATHS`, chosen from the run's seed, to closed
or terminated. Every write carries an Idempotency-Key of its own; an answer
503 "outcome unknown: safe to retry" is retried with the same key until the
service answers, which is what the API asks of its clients. Anything else
unexpected (another status, any 5xx but that 503) stops the placement and
is kept for the report. `Tally` records every answer and every action's
first send and final answer, so the chaos can be timed against it.
"""
from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import httpx

from apflow import samples
from apflow.calendars import load_calendar
from apflow.settings import Settings
from tests.api.test_api import HEAD, LEAD, last_school_day, new_pupil, today, unknown_outcome

# How long one call is retried while the service answers 503: a killed
# worker's letter is retried after its heartbeat timeout, a stopped server
# is down for seconds; this is far past both on a slow machine.
RETRY_FOR_S = 150
RETRY_EVERY_S = 0.25


@dataclass(frozen=True)
class Staff:
    """Who acts: the headers of each one's requests, and the user id the
    audit trail names them by (`system` is the workflow's own start)."""

    headers: dict[str, dict[str, str]]
    ids: dict[str, str]


# The school's AP lead and headteacher through the trusted proxy, as the API tests ask.
PROXIED = Staff({"lead": LEAD, "head": HEAD}, {"lead": LEAD["X-User"], "head": HEAD["X-User"], "system": "apflow"})


@dataclass(frozen=True)
class Step:
    action: str
    to_state: str
    who: str  # lead, head, or system (the workflow's own start on its date)


_TO_ACTIVE = [
    Step("propose", "proposed", "lead"), Step("vet", "vetted", "lead"), Step("consult_la", "la_consulted", "lead"),
    Step("notify", "notified", "head"), Step("start", "active", "system"),
]
_TERMINATE = Step("terminate", "terminated", "head")
PATHS: dict[str, list[Step]] = {
    "closed": [
        *_TO_ACTIVE, Step("open_review", "under_review", "lead"), Step("record_review", "active", "lead"),
        Step("open_review", "under_review", "head"), Step("reintegrate", "reintegrating", "lead"),
        *[Step("record_evaluation", "reintegrating", "lead")] * 4, Step("close", "closed", "head"),
    ],
    "terminated_vetted": [*_TO_ACTIVE[:2], _TERMINATE],
    "terminated_consulted": [*_TO_ACTIVE[:3], _TERMINATE],
    "terminated_active": [*_TO_ACTIVE, _TERMINATE],
    "terminated_under_review": [*_TO_ACTIVE, Step("open_review", "under_review", "lead"), _TERMINATE],
}
# The letters each step sends (`domain.letters.LetterPlan.for_step`) on these
# paths: kind and recipient role. Notices and invitations are handed over,
# their copies uploaded, so the start can be today; a clock escalation's
# message comes on top of these.
STEP_LETTERS: dict[str, list[tuple[str, str]]] = {
    "consult_la": [("la_placement_notice", "la")],
    "notify": [("provider_initial_assessment_request", "provider")],
    "open_review": [("provider_progress_report_request", "provider")],
    "reintegrate": [("provider_final_report_request", "provider")],
    "close": [("destination_record", "ap_lead")],
}


def choose_paths(rng: random.Random, n: int) -> list[str]:
    """`n` paths, about half to closed, the rest terminated at every point."""
    others = [p for p in PATHS if p != "closed"]
    chosen = ["closed"] * ((n + 1) // 2) + [others[i % len(others)] for i in range(n // 2)]
    rng.shuffle(chosen)
    return chosen


@dataclass
class Action:
    placement: int
    step: str
    started: float
    finished: float | None = None
    retries: int = 0


@dataclass
class Tally:
    """Every answer the API gave, and every action from its first send to its answer."""

    statuses: Counter = field(default_factory=Counter)
    unknown: int = 0  # 503 "outcome unknown: safe to retry"
    unknown_writes: int = 0  # of those, answers to a write, sent again with its key
    unexpected: list[str] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    done: int = 0
    over: bool = False  # every placement driven as far as it goes
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def note(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    async def until(self, reached, timeout: float) -> None:
        """Waits until `reached()` is true (checked at every answer)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not reached():
            left = deadline - loop.time()
            assert left > 0, "the run did not get that far"
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 1.0))
            except TimeoutError:
                pass

    def writing(self) -> bool:
        """Whether a write (any step but the workflow's own start) awaits its answer."""
        return any(a.finished is None and a.step != "start" for a in self.actions)

    def spanning(self, at: float) -> list[Action]:
        return [a for a in self.actions if a.started <= at and (a.finished is None or a.finished > at)]

    def finished_after(self, at: float) -> list[Action]:
        return [a for a in self.actions if a.finished is not None and a.finished > at]


@dataclass
class Placement:
    index: int
    path: str
    placement_id: str | None = None
    error: str | None = None

    @property
    def steps(self) -> list[Step]:
        return PATHS[self.path]


class Driver:
    """Drives placements over one HTTP client, recording into `tally`."""

    def __init__(self, http: httpx.AsyncClient, tally: Tally, staff: Staff = PROXIED, run: str | None = None):
        self.http = http
        self.tally = tally
        self.staff = staff
        self.lead = staff.headers["lead"]
        self.run = run or uuid.uuid4().hex[:8]
        self.cal = load_calendar(samples.SCHOOL.school_id, Settings().calendars_dir)
        self.start = last_school_day(self.cal)  # starts by itself once notified
        self.notice_on = self.cal.add_school_days(self.start, -3)  # two clear school days before

    async def call(self, method: str, path: str, headers: dict, expect: int, **kwargs) -> tuple[dict, int]:
        """The answer's JSON once it is `expect`, and how many 503s came first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RETRY_FOR_S
        retries = 0
        while True:
            r = await self.http.request(method, path, headers=headers, **kwargs)
            self.tally.statuses[r.status_code] += 1
            if unknown_outcome(r):
                self.tally.unknown += 1
                self.tally.unknown_writes += method == "POST"
                self.tally.note()
                retries += 1
                assert loop.time() < deadline, f"{method} {path}: still 503 after {RETRY_FOR_S} s"
                await asyncio.sleep(RETRY_EVERY_S)
                continue
            if r.status_code != expect:
                self.tally.unexpected.append(f"{method} {path} -> {r.status_code}: {r.text[:500]}")
                self.tally.note()
                raise AssertionError(self.tally.unexpected[-1])
            return r.json(), retries

    async def write(self, p: Placement, step: Step, path: str, body: dict, expect: int = 200) -> dict:
        action = Action(p.index, step.action, asyncio.get_running_loop().time())
        self.tally.actions.append(action)
        headers = {**self.staff.headers[step.who], "Idempotency-Key": f"chaos:{self.run}:{p.index}:{len(self.tally.actions)}"}
        snap, action.retries = await self.call("POST", path, headers, expect, json=body)
        action.finished = asyncio.get_running_loop().time()
        self.tally.done += 1
        self.tally.note()
        state = snap["placement"]["state"]
        assert state == step.to_state, f"placement {p.index} {step.action}: answered {state}, expected {step.to_state}"
        return snap

    async def upload_copy(self, pid: str, kind: str) -> str:
        pdf = b"%PDF-1.4\n% the copy staff scanned of the letter they handed over\n%%EOF\n"
        out, _ = await self.call("POST", f"/api/placements/{pid}/documents", {**self.lead, "Content-Type": "application/pdf"},
                                 201, params={"kind": kind}, content=pdf)
        return out["document_id"]

    async def wait_for(self, p: Placement, step: Step) -> None:
        """The workflow's own step: polled until the placement shows it."""
        action = Action(p.index, step.action, asyncio.get_running_loop().time())
        self.tally.actions.append(action)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RETRY_FOR_S
        while (await self.call("GET", f"/api/placements/{p.placement_id}", self.lead, 200))[0]["placement"]["state"] != step.to_state:
            assert loop.time() < deadline, f"placement {p.index} not {step.to_state} after {RETRY_FOR_S} s"
            await asyncio.sleep(0.2)
        action.finished = loop.time()
        self.tally.done += 1
        self.tally.note()

    async def drive(self, p: Placement) -> None:
        """Takes `p` along its path; a failure is kept on it, not raised."""
        try:
            await self._drive(p)
        except Exception as e:  # noqa: BLE001 - reported with every other placement's outcome
            p.error = f"{type(e).__name__}: {e}"

    async def _drive(self, p: Placement) -> None:
        d = today()  # the review held, the return decided and the placement closed today
        meeting, invited = samples.review_bookable(self.cal, d)
        invitation = None
        evaluations = iter(samples.end_evaluation(d))
        for step in p.steps:
            if step.action == "propose":
                proposal = samples.proposal(self.start, pupil=new_pupil())
                snap = await self.write(p, step, "/api/placements", proposal.model_dump(mode="json"), expect=201)
                p.placement_id = snap["placement"]["placement_id"]
                continue
            if step.action == "start":
                await self.wait_for(p, step)
                continue
            if step.action == "notify":
                data = samples.notify(self.notice_on, await self.upload_copy(p.placement_id, "notice_copy"))
            elif step.action == "open_review":
                invitation = invitation or await self.upload_copy(p.placement_id, "invitation_copy")
                data = samples.open_review(meeting, invited, invitation)
            elif step.action == "record_evaluation":
                data = next(evaluations)
            else:
                data = _data(step.action, self.notice_on, d)
            body = data.model_dump(mode="json", exclude_unset=True)
            await self.write(p, step, f"/api/placements/{p.placement_id}/actions/{step.action}", body)


def _data(action: str, notice_on: date, d: date):
    return {
        "vet": lambda: samples.vet(safeguarding_confirmation_received_on=notice_on),
        "consult_la": lambda: samples.consult_la(notice_on),
        "record_review": lambda: samples.record_review(d),
        "reintegrate": lambda: samples.reintegrate(d),
        "close": lambda: samples.close(d),
        "terminate": lambda: samples.terminate(d),
    }[action]()

