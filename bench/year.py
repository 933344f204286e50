"""Benchmark: a school year of placements, every timer and letter, on
Temporal's time-skipping test server, beside the letters' own rendering cost.

    .venv/bin/python -m bench.year                          # 100 placements, 2027-28
    .venv/bin/python -m bench.year --placements 5           # a quick look
    .venv/bin/python -m bench.year --floor-letters 500      # the floor on 500 letters, scaled

What runs, in one process on one machine:

1. setup (not a result): the time-skipping test server (from the pip
   package), and the worker as the service builds it (`worker.build_worker`):
   the real activities, the register on a SQLite file in a temporary folder,
   letters rendered to PDF and written to the outbox there, payloads
   encrypted with the service's codec. Each placement carries its school's
   directory entry (so its letters are sent) and its school's calendar, both
   from the repository (`directory/`, `calendars/`).
2. the year: N placements at the trust's two schools, of every kind
   (off-site directions, suspension cover, EHCP placements, health
   packages), each with an invented pupil. Each is proposed, vetted, the LA
   consulted and notice given by apflow, and starts by itself on its start
   date, staggered across the 2027 autumn term. Then the clock is moved on
   day by day (`env.sleep`) to the end of the summer term of 2028, staff and
   providers acting on the way as they would:
   - each half-term a review booked (parents invited) and held about a week
     later, continuing the placement; a placement planned to Easter is
     extended at its February review;
   - a wellbeing contact each week and a visit each half-term, with a few
     missed; most providers send a progress report every fortnight, a few
     only when chased or asked before a review; an initial assessment after
     the notice, a few late;
   - escalations triaged each Friday at half the placements;
   - the summer-2 review decides on reintegration; the provider sends its
     final report once asked; the placement closes on its planned end.
   The workflow's own clock raises what is missed (the daily attendance
   calls, which nobody records here, wellbeing, visits, reports, the end of
   the placement, the national limits) and sends each escalation's letters.
   The wall clock runs from the first proposal to the last placement's
   workflow completing.
3. the floor, in the same run: the PDF renderer (`documents.pdf.html_to_pdf`)
   in a tight loop over the HTML of the letters the year sent, as the
   register kept them, with its fonts already loaded (each result checked
   against the PDF the register holds). Its wall time beside the year's says
   how much of the year is letters and how much the engine.

Printed: placements, school days covered, timers fired, escalations raised,
letters sent, actions taken, the wall seconds, figures per placement and
per letter, the floor, and a count of placements per final state. It exits
non-zero if any placement is not closed, an action is refused, or the
letters sent do not match the register and the outbox.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time as clock
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from apflow import samples
from apflow.calendars import load_calendar
from apflow.settings import Settings
from apflow.temporal import data_converter, register_search_attributes
from documents.pdf import html_to_pdf
from domain.actions import (
    RecordContact,
    RecordFinalReport,
    RecordInitialAssessment,
    RecordProgressReport,
    RecordReview,
    ResolveEscalation,
)
from domain.calendar import SchoolCalendar
from domain.settings import PolicySettings
from domain.clock import uk_date, uk_instant
from domain.models import (
    Actor,
    ContactKind,
    ContactRecord,
    Contact,
    Pattern,
    PlacementKind,
    ProviderReport,
    Pupil,
    ReviewOutcome,
    Role,
    Weekday,
)
from store.db import make_engine, migrate
from store.documents import SENT, DocumentRow
from worker import build_worker
from activities.documents import DocumentActivities
from workflows.client import act, snapshot, start_placement

from .letters import RenderTimer

TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"
TASK_QUEUE = "bench-year"
SCHOOLS = (samples.SCHOOL, samples.OTHER_SCHOOL)  # both in the repository's directory
# Starts across the autumn term of 2027: the test server's clock begins at
# today's date, so the first school year wholly ahead of it, and one the
# repository's calendars hold. From the term's second week (three school
# days' notice) to two weeks before Christmas.
FIRST_START, LAST_START = date(2027, 9, 8), date(2027, 12, 3)
EASTER_END = date(2028, 3, 31)  # a Friday in spring 2 at both schools: the first plan of the extended ones
ACT_AT = time(10, 0)  # staff act mid-morning; the workflow's deadlines fall at midnight
POLICY = PolicySettings()  # the placements' own: start_placement's default
AT_ONCE = 16  # placements acted on concurrently within a day

FIRST = ["Amara", "Bilal", "Callum", "Darcey", "Ebony", "Finley", "Grace", "Harvey", "Isla", "Jayden",
         "Kacper", "Leah", "Mason", "Nia", "Oscar", "Poppy", "Reuben", "Sienna", "Tyler", "Zainab"]
LAST = ["Ahmed", "Bailey", "Clarke", "Dobson", "Evans", "Foster", "Gill", "Hussain", "Iqbal", "Jones",
        "Kaur", "Lister", "Moss", "Nowak", "Oakes", "Patel", "Quinn", "Riley", "Shaw", "Walsh"]


def weekday_before(day: date, n: int) -> date:
    """The n-th weekday before `day`: staff prepare a placement on working
    days, in the holidays too."""
    while n:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def weekday_on_or_after(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def school_day_on_or_after(cal: SchoolCalendar, day: date) -> date:
    while not cal.is_school_day(day):
        day += timedelta(days=1)
    return day


def school_day_on_or_before(cal: SchoolCalendar, day: date) -> date:
    while not cal.is_school_day(day):
        day -= timedelta(days=1)
    return day


@dataclass
class Review:
    booked: date
    meeting: date
    outcome: ReviewOutcome


@dataclass
class Plan:
    """One placement's year, decided beforehand from its index: what staff
    and the provider do on which day. The workflow decides the rest."""

    i: int
    kind: PlacementKind
    school_index: int
    cal: SchoolCalendar
    start: date
    end: date  # the planned end it closes on
    first_end: date  # the planned end as proposed (Easter for the extended ones)
    propose_on: date
    vet_on: date
    consult_on: date
    notify_on: date
    assessment_on: date
    reviews: list[Review]
    visits: list[date]
    wellbeing: list[date]
    prompt_provider: bool  # reports every fortnight unasked; the others only when asked
    triages: bool  # staff resolve its escalations each Friday
    handle: WorkflowHandle | None = None
    last_report: date | None = None
    final_report_due: date | None = None
    state: str = "not proposed"
    actions: Counter = field(default_factory=Counter)

    @property
    def school(self):
        return SCHOOLS[self.school_index]

    def actor(self, role: Role) -> Actor:
        urn = self.school.school_id
        if role is Role.provider:
            return Actor(user_id=f"lnk-bench-{self.i}", role=role, school_id=urn)
        return Actor(user_id=f"{role.value}-{urn}", role=role, school_id=urn)


def plan(i: int, n: int, calendars: list[SchoolCalendar]) -> Plan:
    school_index = 1 if i % 3 == 2 else 0
    cal = calendars[school_index]
    kind = {0: PlacementKind.suspension_cover, 1: PlacementKind.ehcp_placement, 2: PlacementKind.health_package}.get(
        i % 10, PlacementKind.off_site_direction)
    days = (LAST_START - FIRST_START).days + 1
    autumn = [d for d in (FIRST_START + timedelta(days=k) for k in range(days)) if cal.is_school_day(d)]
    start = autumn[(i * len(autumn)) // max(n, 1)]
    # Notice 4 to 6 school days ahead: for a start in the term's first weeks,
    # given before the summer holiday, so those placements are arranged in July.
    notify_on = cal.add_school_days(start, -(4 + i % 3))
    consult_on = weekday_before(notify_on, 1)
    vet_on = weekday_before(consult_on, 1 + i % 2)
    propose_on = weekday_before(vet_on, 2 + i % 3)
    # The last school days before the summer term's INSET day.
    summer_last = school_day_on_or_before(cal, date(2028, 7, 20))
    end = cal.add_school_days(summer_last, -(i % 5))
    full_time = kind in (PlacementKind.suspension_cover, PlacementKind.ehcp_placement)
    extended = full_time or i % 10 == 3
    first_end = EASTER_END if extended else end
    # Initial assessment: a week is allowed from the notice (§12.1.3); one provider in eight is late.
    assessment_on = weekday_on_or_after(notify_on + timedelta(days=10 if i % 8 == 5 else 2))

    reviews: list[Review] = []
    visits: list[date] = []
    half_terms = [h for h in cal.half_terms if h.end >= start and h.start <= end]
    for k, ht in enumerate(half_terms):
        first = max(ht.start, start)
        if (ht.end - first).days < 14:  # the clock does not count a half-term joined in its last two weeks
            continue
        last_of_term = school_day_on_or_before(cal, min(ht.end, end))
        if ht is half_terms[-1]:
            # The reintegration review: about a week before the placement ends.
            meeting = cal.add_school_days(end, -5)
            booked = school_day_on_or_before(cal, meeting - timedelta(days=7 + i % 3))
            reviews.append(Review(booked, meeting, ReviewOutcome.reintegrate))
        else:
            booked = school_day_on_or_after(cal, max(cal.add_school_days(first, 1), ht.end - timedelta(days=21 - i % 4)))
            meeting = school_day_on_or_after(cal, booked + timedelta(days=7))
            if meeting > last_of_term:
                booked, meeting = cal.add_school_days(first, 1), school_day_on_or_after(cal, cal.add_school_days(first, 1) + timedelta(days=7))
            spring_1 = ht.start <= date(2028, 2, 1) <= ht.end
            reviews.append(Review(booked, meeting, ReviewOutcome.extend if extended and spring_1 else ReviewOutcome.continue_))
        if (k + i) % 5:  # one half-term in five, the visit is missed
            visits.append(school_day_on_or_after(cal, first + (ht.end - first) / 2))
    # A wellbeing contact on the first school day of each week after the
    # start's, until the placement ends; one week in seven is missed.
    wellbeing, week, weeks = [], start - timedelta(days=start.weekday()) + timedelta(days=7), 0
    while week < end:
        days = [week + timedelta(days=k) for k in range(5) if cal.is_school_day(week + timedelta(days=k))]
        if days and days[0] < end:
            weeks += 1
            if (weeks + i) % 7 != 3:
                wellbeing.append(days[0])
        week += timedelta(days=7)
    return Plan(
        i=i, kind=kind, school_index=school_index, cal=cal, start=start, end=end, first_end=first_end,
        propose_on=propose_on, vet_on=vet_on, consult_on=consult_on, notify_on=notify_on, assessment_on=assessment_on,
        reviews=reviews, visits=visits, wellbeing=wellbeing,
        prompt_provider=i % 6 != 4, triages=i % 2 == 0,
    )


def proposal(p: Plan):
    i = p.i
    first, last = FIRST[i % len(FIRST)], LAST[(i * 7 + i // len(FIRST)) % len(LAST)]
    pupil = Pupil(pupil_id=f"Y-{i:04d}", name=f"{first} {last}", date_of_birth=date(2013 - i % 5, 1 + i % 12, 1 + i % 28),
                  year_group=8 + i % 5, ehc_plan=p.kind is PlacementKind.ehcp_placement, free_school_meals=i % 3 == 0)
    days = [[Weekday.mon, Weekday.wed], [Weekday.tue, Weekday.thu], [Weekday.mon, Weekday.thu]][i % 3]
    if i % 10 == 3:
        days = [Weekday.mon, Weekday.tue, Weekday.thu]  # past the part-time limit until extended with a reason
    pattern = Pattern(full_time=False, days=days, arrival=time(9, 0), departure=time(15, 0))
    changes = dict(
        school=p.school, pupil=pupil, number_of_days=None, planned_end_date=p.first_end, pattern=pattern,
        parent_contacts=[Contact(name=f"Sam {last}", relationship="Parent", phone="07700 900001",
                                 email=f"parent.{i}@family.example")],
        emergency_contacts=[Contact(name=f"Alex {last}", relationship="Grandparent", phone="07700 900002")],
    )
    if p.kind is PlacementKind.suspension_cover:
        changes.update(pattern=samples.FULL_TIME, suspension_first_day=p.cal.add_school_days(p.start, -3))
    elif p.kind is PlacementKind.ehcp_placement:
        changes.update(pattern=samples.FULL_TIME, provider=samples.registered_provider())
    return samples.proposal(p.start, p.kind, **changes)


class Refusal(RuntimeError):
    """The lifecycle went wrong: an action refused, or the workflow not where it should be."""


async def step(env, p: Plan, role: Role, action) -> None:
    """One action, counted; a refusal stops the benchmark, naming it."""
    try:
        snap = await act(env.client, p.handle.id, p.actor(role), action)
    except Exception as e:
        raise Refusal(f"placement {p.i} ({p.kind.value}, start {p.start}), {action.action} on "
                      f"{uk_date(await env.get_current_time())} as {role.value}: {e}") from None
    p.state = snap.placement.state
    p.actions[action.action] += 1


async def day_of(env, p: Plan, d: date, directory: dict) -> None:
    """What staff and the provider do for one placement on day `d`."""
    lead, head, provider = Role.ap_lead, Role.headteacher, Role.provider
    if p.state in ("closed", "terminated"):
        return
    if d == p.propose_on:
        p.handle, snap = await start_placement(
            env.client, TASK_QUEUE, proposal(p), p.actor(lead), p.cal, now=await env.get_current_time(),
            directory=directory[p.school.school_id],
        )
        p.state = snap.placement.state
        p.actions["propose"] += 1
    if d == p.vet_on:
        await step(env, p, lead, samples.vet(safeguarding_confirmation_received_on=d))
    if d == p.consult_on:
        await step(env, p, lead, samples.consult_la(d, ehcp=p.kind is PlacementKind.ehcp_placement))
    if d == p.notify_on:
        dual = p.start if p.kind is PlacementKind.ehcp_placement else None
        await step(env, p, head, samples.notify(dual_registration_from=dual))
    if d == p.assessment_on:
        await step(env, p, provider, RecordInitialAssessment(assessment=ProviderReport(
            received_on=d, summary="Entry 3 maths and English; small-group support suits")))
    if d < p.start:
        return
    if d == p.start:
        p.state = (await snapshot(env.client, p.handle.id)).placement.state
        if p.state != "active":
            raise Refusal(f"placement {p.i} ({p.kind.value}) is {p.state} on its start date {p.start}, not active")

    # The provider's reports: fortnightly unasked, or 3 days after a chase
    # (the clock chases the day after 14 days without one); and before a review.
    last = p.last_report or p.start
    asked = any(r.booked + timedelta(days=3) <= d < r.meeting and last < r.booked for r in p.reviews)
    due = (d - last).days >= 14 if p.prompt_provider else (d - last).days >= 18
    if d.weekday() < 5 and (due or asked) and d < p.end:
        await step(env, p, provider, RecordProgressReport(report=ProviderReport(
            received_on=d, summary="Attending well; steady progress on the objectives", attendance_percent=88.0 + p.i % 10)))
        p.last_report = d
    if d in p.wellbeing:
        await step(env, p, lead, RecordContact(contact=ContactRecord(kind=ContactKind.wellbeing, on=d, notes="Checked in with the pupil by phone")))
    if d in p.visits:
        await step(env, p, lead, RecordContact(contact=ContactRecord(kind=ContactKind.visit, on=d, notes="Visited the pupil at the provider")))
    for r in p.reviews:
        if d == r.booked:
            await step(env, p, lead, samples.open_review(r.meeting))
        if d == r.meeting:
            if r.outcome is ReviewOutcome.reintegrate:
                await step(env, p, head, samples.reintegrate(d))
            elif r.outcome is ReviewOutcome.extend:
                await step(env, p, head, RecordReview(review=samples.review(
                    d, ReviewOutcome.extend, new_end_date=p.end, extension_reason="Good progress; to the end of the year to consolidate")))
            else:
                await step(env, p, head, samples.record_review(d))
    # The final report: the clock asks for it ten school days before the end.
    if p.final_report_due is None and d > p.cal.add_school_days(p.end, -POLICY.end_of_placement_school_days):
        p.final_report_due = weekday_on_or_after(d + timedelta(days=3))
    if d == p.final_report_due:
        await step(env, p, provider, RecordFinalReport(report=ProviderReport(
            received_on=d, summary="Good progress against all objectives.", attendance_percent=92.5)))
    # Friday triage of what the clock raised.
    if p.triages and d.weekday() == 4 and d < p.end:
        snap = await snapshot(env.client, p.handle.id)
        for e in snap.placement.escalations:
            if e.open and e.kind != "safeguarding":
                await step(env, p, lead if e.owner is not Role.headteacher else head,
                           ResolveEscalation(escalation_id=e.escalation_id, note="Followed up with the provider and the family"))
    if d == p.end:
        if p.state != "reintegrating":
            raise Refusal(f"placement {p.i} is {p.state} on its last day {d}, not reintegrating")
        for part in samples.end_evaluation(d):
            await step(env, p, head, part)
        await step(env, p, head, samples.close(d))


async def sleep_until(env: WorkflowEnvironment, day: date) -> None:
    target = uk_instant(day) + timedelta(hours=ACT_AT.hour)
    gap = target - await env.get_current_time()
    if gap > timedelta(0):
        await env.sleep(gap)


def proc_cpu(pid: int) -> float:
    """User and system CPU seconds of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_server_pid() -> int | None:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            name, rest = stat.split("(", 1)[1].rsplit(")", 1)
            if "temporal-test" in name and int(rest.split()[1]) == os.getpid():
                return int(entry.name)
    return None


async def runs_of(env, handle: WorkflowHandle) -> list:
    """Every run's history of a workflow, following continue-as-new back to its first run."""
    out, run_id = [], None
    while True:
        history = await env.client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        out.append(history)
        first = history.events[0].workflow_execution_started_event_attributes
        if not first.continued_execution_run_id:
            return out
        run_id = first.continued_execution_run_id


async def year(args) -> int:
    load_before = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="apflow-bench-year-"))
    settings = Settings(var_dir=tmp)
    calendars = [load_calendar(s.school_id, settings.calendars_dir) for s in SCHOOLS]
    directory = {s.school_id: settings.letters_from(s) for s in SCHOOLS}
    plans = [plan(i, args.placements, calendars) for i in range(args.placements)]
    first_day = min(p.propose_on for p in plans)
    last_day = max(p.end for p in plans)
    print(f"apflow school-year benchmark: {args.placements} placements, {first_day} to {last_day}, "
          f"time-skipping test server; python {sys.version.split()[0]}")
    print(f"register: SQLite file, outbox: {settings.mail.outbox_dir}")
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} ({os.cpu_count()} cores)")

    t0 = clock.perf_counter()
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=data_converter(settings.codec_keys))
    await register_search_attributes(env.client, env.client.namespace)
    server = test_server_pid()
    engine = make_engine(settings.db_url)
    migrate(engine)
    documents = DocumentActivities.from_settings(engine, settings)
    # CPU time the activities spend rendering (templates and PDF), to tell it from the rest.
    rendering = RenderTimer(documents)
    await sleep_until(env, first_day)
    print(f"setup (not a result): {clock.perf_counter() - t0:.2f} s; the test server's clock at {uk_date(await env.get_current_time())}")
    print()

    gate = asyncio.Semaphore(AT_ONCE)

    async def one(p: Plan, d: date) -> None:
        async with gate:
            await day_of(env, p, d, directory)

    days = 0
    async with build_worker(env.client, TASK_QUEUE, engine, documents=documents, settings=settings):
        cpu0, server0 = clock.process_time(), proc_cpu(server) if server else 0.0
        w0 = clock.perf_counter()
        d = first_day
        while d <= last_day:
            await sleep_until(env, d)
            await asyncio.gather(*(one(p, d) for p in plans))
            days += 1
            if d.day == 1 or d == last_day:
                states = Counter(p.state for p in plans)
                print(f"  {d}  {clock.perf_counter() - w0:7.1f} s  " + ", ".join(f"{s} {c}" for s, c in sorted(states.items())),
                      flush=True)
            d += timedelta(days=1)
        results = await asyncio.gather(*(p.handle.result() for p in plans))
        wall = clock.perf_counter() - w0
        cpu = clock.process_time() - cpu0
        server_cpu = (proc_cpu(server) - server0) if server else float("nan")
    load_after = os.getloadavg()

    # What the year did, from the workflows' histories and the register.
    events, runs, history_bytes = Counter(), 0, 0
    for p in plans:
        for history in await runs_of(env, p.handle):
            runs += 1
            events.update(EventType.Name(e.event_type) for e in history.events)
            history_bytes += sum(e.ByteSize() for e in history.events)
    escalations = Counter(e.kind for snap in results for e in snap.placement.escalations)
    resolved = sum(1 for snap in results for e in snap.placement.escalations if not e.open)
    with engine.connect() as c:
        rows = c.execute(select(DocumentRow.status, DocumentRow.kind)).all()
    by_status = Counter(s for s, _ in rows)
    by_kind = Counter(k for s, k in rows if s == SENT)
    letters = by_status[SENT]
    outbox = len(list(settings.mail.outbox_dir.glob("*.eml")))
    actions = Counter()
    for p in plans:
        actions.update(p.actions)
    n_actions = sum(actions.values())
    final = Counter(snap.placement.state for snap in results)
    school_days = calendars[0].school_days_between(min(p.start for p in plans) - timedelta(days=1), last_day)
    placement_days = sum(p.cal.school_days_between(p.start - timedelta(days=1), p.end) for p in plans)
    await env.shutdown()

    # The floor: the renderer alone over the letters the year sent.
    with engine.connect() as c:
        sent = c.execute(select(DocumentRow.placement_id, DocumentRow.kind, DocumentRow.html, DocumentRow.subject,
                                DocumentRow.created_at, DocumentRow.pdf).where(DocumentRow.status == SENT).order_by(DocumentRow.created_at)).all()
    school_of = {snap.placement.placement_id: snap.placement.school.name for snap in results}
    sample = sent if not args.floor_letters or args.floor_letters >= len(sent) else sent[:: max(1, len(sent) // args.floor_letters)]
    same = 0
    fw, fc = clock.perf_counter(), clock.process_time()
    for pid, kind, html, subject, created, pdf in sample:
        # As the renderer lays the letter out: dated the day it was sent, by
        # its school (a staff escalation names none).
        out = html_to_pdf(html, title=subject, footer=f"Reference {pid}",
                          created=datetime.combine(uk_date(created.replace(tzinfo=timezone.utc)), time(0), tzinfo=timezone.utc),
                          author="" if kind == "staff_escalation" else school_of.get(pid, ""))
        same += out == pdf
    floor_wall = (clock.perf_counter() - fw) * len(sent) / max(len(sample), 1)
    floor_cpu = (clock.process_time() - fc) * len(sent) / max(len(sample), 1)
    engine.dispose()

    n = len(plans)
    print()
    print(f"  placements                 {n}  ({', '.join(f'{k.value} {c}' for k, c in sorted(Counter(p.kind for p in plans).items()))};"
          f" {sum(p.school_index == 0 for p in plans)} at {SCHOOLS[0].school_id}, {sum(p.school_index == 1 for p in plans)} at {SCHOOLS[1].school_id})")
    print(f"  days driven                {days} calendar days, {school_days} school days ({SCHOOLS[0].school_id}'s calendar, first start to last end);"
          f" {placement_days} placement school days")
    print(f"  workflow timers            {events['EVENT_TYPE_TIMER_FIRED']} fired, {events['EVENT_TYPE_TIMER_STARTED']} started,"
          f" {events['EVENT_TYPE_TIMER_CANCELED']} cancelled")
    print(f"  escalations raised         {sum(escalations.values())} ({resolved} resolved by staff): "
          + ", ".join(f"{k} {c}" for k, c in sorted(escalations.items())))
    print(f"  letters sent               {letters} in the register, {outbox} in the outbox: "
          + ", ".join(f"{k} {c}" for k, c in sorted(by_kind.items())))
    print(f"  actions taken              {n_actions}: " + ", ".join(f"{k} {c}" for k, c in sorted(actions.items())))
    print(f"  histories                  {runs} runs ({runs - n} continued as new), {sum(events.values())} events,"
          f" {events['EVENT_TYPE_ACTIVITY_TASK_SCHEDULED']} activities, {events['EVENT_TYPE_WORKFLOW_TASK_COMPLETED']} workflow tasks,"
          f" {events['EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT']} activity timeouts; {history_bytes / 1e6:.1f} MB"
          f" ({history_bytes / 1e3 / n:.0f} KB a placement)")
    print()
    print(f"  the year, wall             {wall:9.1f} s   {wall / n:7.2f} s a placement   {1000 * wall / max(letters, 1):7.1f} ms a letter"
          f"   {1000 * wall / max(n_actions, 1):6.1f} ms an action")
    print(f"    CPU, this process        {cpu:9.1f} s   (driver, worker and activities; of which rendering letters"
          f" {rendering.seconds:.1f} s, {1000 * rendering.seconds / max(rendering.letters, 1):.0f} ms a letter)")
    print(f"    CPU, test server         {server_cpu:9.1f} s")
    print(f"    rendering / process CPU  {rendering.seconds / cpu:9.2f}     (letters' share of this process's CPU: steadier than wall"
          f" time on a shared machine)")
    print(f"  floor: renderer alone      {floor_wall:9.1f} s   {1000 * floor_wall / max(letters, 1):7.1f} ms a letter"
          f"   ({len(sample)} of {len(sent)} letters rendered{', scaled' if len(sample) < len(sent) else ''};"
          f" CPU {floor_cpu:.1f} s; {same} of {len(sample)} the same bytes as the register's)")
    print(f"  floor / year               {floor_wall / wall:9.2f}     (the share of the year's wall time that rendering its letters alone takes)")
    print(f"  load average               before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f},"
          f" after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    print()
    print("  final states: " + ", ".join(f"{s} {c}" for s, c in sorted(final.items())))
    problems = []
    if final != Counter({"closed": n}):
        problems.append(f"expected all {n} placements closed, found {dict(final)}")
    if letters != outbox:
        problems.append(f"{letters} letters sent in the register but {outbox} in the outbox")
    if set(by_status) - {SENT}:
        problems.append(f"documents not sent: {dict(by_status)}")
    if problems:
        raise SystemExit("FAILED: " + "; ".join(problems))
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.year", description=__doc__.split("\n\n")[0])
    parser.add_argument("--placements", type=int, default=100, help="placements in the year")
    parser.add_argument("--floor-letters", type=int, default=0,
                        help="letters the floor renders, scaled to all the year sent (0: all of them)")
    args = parser.parse_args(argv)
    try:
        asyncio.run(year(args))
    except Refusal as e:
        raise SystemExit(f"FAILED: {e}") from None


if __name__ == "__main__":
    main()
