"""Records histories of the placement workflow for the replay tests.

Record a path when it is new, on the code that made it, so later changes
must keep replaying it: `python -m tests.workflows.record_histories [NAME ...]`
(no names: every path; an existing file is overwritten). After a change the
workflow marks with `workflow.patched`, record its paths beside the old ones:
`... --suffix PATCH NAME ...` writes NAME_PATCH.json and keeps NAME.json.
"""
from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from apflow import samples
from apflow.settings import Settings
from apflow.temporal import data_converter, register_search_attributes
from domain.calendar import default_calendar
from store.db import make_engine, migrate
from tests.conftest import BIN, CODEC_KEY
from tests.workflows.test_placement_workflow import HEAD, LEAD, next_school_day, school_day_after, to_notified, today
from worker import build_worker
from domain.actions import RecordReview
from domain.models import Actor, Role
from workflows.client import act, snapshot, start_placement

HISTORIES = Path(__file__).parent / "histories"


async def lifecycle(env, tq) -> str:
    start = await next_school_day(env, 21)
    handle, _ = await start_placement(env.client, tq, samples.proposal(start), LEAD, default_calendar("137000", start), now=await env.get_current_time())
    await to_notified(env, handle)
    await env.sleep(timedelta(days=(start - await today(env)).days + 1))
    d = await today(env)
    meeting = school_day_after(d, 7)
    await act(env.client, handle.id, LEAD, samples.open_review(meeting, d))
    await env.sleep(timedelta(days=(meeting - d).days))
    d = await today(env)
    await act(env.client, handle.id, LEAD, samples.reintegrate(d))
    for part in samples.end_evaluation(d):
        await act(env.client, handle.id, LEAD, part)
    await act(env.client, handle.id, HEAD, samples.close(d))
    await handle.result()
    return handle.id


async def evaluations(env, tq) -> str:
    """A mid evaluation with the parent's part through its link, the end
    evaluation entered by staff, and the close that reads it."""
    from domain.models import EvaluationPart, EvaluationStage

    start = await next_school_day(env, 21)
    handle, _ = await start_placement(env.client, tq, samples.proposal(start), LEAD, default_calendar("137000", start), now=await env.get_current_time())
    await to_notified(env, handle)
    await env.sleep(timedelta(days=(start - await today(env)).days + 1))
    d = await today(env)
    parent = Actor(user_id="lnk-recorded-parent", role=Role.parent, school_id="137000")
    for part in samples.evaluation(EvaluationStage.mid, d):
        await act(env.client, handle.id, parent if part.part is EvaluationPart.parent else LEAD, part)
    meeting = school_day_after(d, 7)
    await act(env.client, handle.id, LEAD, samples.open_review(meeting, d))
    await env.sleep(timedelta(days=(meeting - d).days))
    d = await today(env)
    await act(env.client, handle.id, LEAD, samples.reintegrate(d))
    for part in samples.end_evaluation(d):
        await act(env.client, handle.id, LEAD, part)
    await act(env.client, handle.id, HEAD, samples.close(d))
    await handle.result()
    return handle.id


async def terminated(env, tq) -> str:
    start = await next_school_day(env, 21)
    handle, _ = await start_placement(env.client, tq, samples.proposal(start), LEAD, default_calendar("137000", start), now=await env.get_current_time())
    await act(env.client, handle.id, LEAD, samples.vet())
    await act(env.client, handle.id, LEAD, samples.terminate(await today(env)))
    await handle.result()
    return handle.id


async def escalations(env, tq) -> str:
    """A placement left alone after its start: the policy clock escalates, one is resolved."""
    from domain.actions import ResolveEscalation
    from tests.workflows.test_policy_clock import sleep_until, term_ahead

    calendar, first = term_ahead(await today(env))
    start = first + timedelta(days=1)
    handle, _ = await start_placement(
        env.client, tq, samples.proposal(start, planned_end_date=first + timedelta(days=58), number_of_days=None),
        LEAD, calendar, now=await env.get_current_time(),
    )
    await to_notified(env, handle)
    await sleep_until(env, start + timedelta(days=9))
    await act(env.client, handle.id, LEAD, ResolveEscalation(escalation_id=f"wellbeing:{start + timedelta(days=7)}", note="Spoke to the pupil"))
    await sleep_until(env, first + timedelta(days=35))  # the first day of the next half-term
    await act(env.client, handle.id, LEAD, samples.terminate(await today(env)))
    await handle.result()
    return handle.id


async def letters(env, tq) -> str:
    """A placement with its school's directory entry: every step's letters, a
    provider's answer through its link, an escalation's message."""
    from apflow.directory import school_contacts
    from domain.actions import RecordInitialAssessment
    from domain.escalations import AttendanceAlert
    from domain.models import Actor, ProviderReport, Role
    from workflows.placement import PlacementWorkflow

    start = await next_school_day(env, 21)
    proposal = samples.proposal(start)
    proposal.pupil.ehc_plan = True
    handle, _ = await start_placement(
        env.client, tq, proposal, LEAD, default_calendar("137000", start), now=await env.get_current_time(),
        directory=school_contacts(proposal.school, Settings().directory_file),
    )
    d = await today(env)
    await act(env.client, handle.id, LEAD, samples.vet())
    await act(env.client, handle.id, LEAD, samples.consult_la(d, ehcp=True))
    await act(env.client, handle.id, HEAD, samples.notify(d))
    provider = Actor(user_id="lnk-recorded", role=Role.provider, school_id="137000")
    report = ProviderReport(received_on=d, summary="Entry 3 maths; small-group support")
    await act(env.client, handle.id, provider, RecordInitialAssessment(assessment=report))
    await env.sleep(timedelta(days=(start - await today(env)).days + 1))
    await handle.signal(PlacementWorkflow.attendance_alert, AttendanceAlert(day=start, session="am", problem="unexplained_absence"))
    d = await today(env)
    meeting = school_day_after(d, 7)
    await act(env.client, handle.id, LEAD, samples.open_review(meeting, d))
    await env.sleep(timedelta(days=(meeting - d).days))
    d = await today(env)
    await act(env.client, handle.id, LEAD, samples.reintegrate(d))
    for part in samples.end_evaluation(d):
        await act(env.client, handle.id, LEAD, part)
    await act(env.client, handle.id, HEAD, samples.close(d))
    await handle.result()
    return handle.id


DSL = Actor(user_id="dsl@nexus-valley", role=Role.dsl, school_id="137000")


async def safeguarding(env, tq) -> str:
    """A concern before the start blocks it until the DSL addresses it, then
    the placement starts by itself; a concern on the running placement puts
    it under review until addressed, and a review continues it."""
    from domain.actions import RaiseConcern, ResolveEscalation

    start = await next_school_day(env, 21)
    handle, _ = await start_placement(env.client, tq, samples.proposal(start), LEAD, default_calendar("137000", start), now=await env.get_current_time())
    await to_notified(env, handle)
    await act(env.client, handle.id, LEAD, RaiseConcern(summary="A worry reported by the provider"))
    await env.sleep(timedelta(days=(start - await today(env)).days + 1))
    await act(env.client, handle.id, DSL, ResolveEscalation(escalation_id="safeguarding:concern-1", note="Addressed with the provider's DSL"))
    await act(env.client, handle.id, LEAD, RaiseConcern(summary="A second worry"))
    await act(env.client, handle.id, DSL, ResolveEscalation(escalation_id="safeguarding:concern-2", note="Addressed at a meeting"))
    await act(env.client, handle.id, DSL, samples.record_review(await today(env)))
    await act(env.client, handle.id, HEAD, samples.terminate(await today(env)))
    await handle.result()
    return handle.id


async def extension(env, tq) -> str:
    """A running placement told of new term dates and directory, a provider's
    report, drift past its planned end, and a review that extends it."""
    from apflow.directory import school_contacts
    from domain.actions import RecordProgressReport
    from domain.models import ProviderReport, ReviewOutcome
    from workflows.placement import PlacementWorkflow

    start = await next_school_day(env, 21)
    calendar = default_calendar("137000", start)
    end = calendar.add_school_days(start, 4)
    handle, _ = await start_placement(env.client, tq, samples.proposal(start, planned_end_date=end, number_of_days=None), LEAD,
                                      calendar, now=await env.get_current_time())
    await to_notified(env, handle)
    await handle.signal(PlacementWorkflow.calendar_changed, calendar.model_copy(update={"closures": frozenset({end})}))
    await handle.signal(PlacementWorkflow.directory_changed, school_contacts(samples.SCHOOL, Settings().directory_file))
    await env.sleep(timedelta(days=(start - await today(env)).days + 1))
    provider = Actor(user_id="lnk-recorded", role=Role.provider, school_id="137000")
    await act(env.client, handle.id, provider, RecordProgressReport(report=ProviderReport(received_on=await today(env), summary="Settling in")))
    await env.sleep(timedelta(days=(end - await today(env)).days + 2))
    d = await today(env)
    meeting = calendar.add_school_days(d + timedelta(days=6), 1)
    await act(env.client, handle.id, LEAD, samples.open_review(meeting, d))
    await env.sleep(timedelta(days=(meeting - d).days))
    review = samples.review(meeting, ReviewOutcome.extend, new_end_date=meeting + timedelta(days=28), extension_reason="Good progress; two more weeks to consolidate")
    await act(env.client, handle.id, HEAD, RecordReview(review=review))
    await act(env.client, handle.id, HEAD, samples.terminate(await today(env)))
    await handle.result()
    return handle.id


async def continued(env, tq) -> tuple[str, str]:
    """A placement whose history grows past its limit continues as new: the
    first run, which ends in continue-as-new, is the one kept."""
    from domain.actions import ResolveEscalation

    start = await next_school_day(env, 21)
    handle, _ = await start_placement(env.client, tq, samples.proposal(start), LEAD, default_calendar("137000", start),
                                      now=await env.get_current_time(), max_history_events=40)
    first_run = (await handle.describe()).run_id
    await to_notified(env, handle)
    await env.sleep(timedelta(days=(start - await today(env)).days + 12))
    snap = await snapshot(env.client, handle.id)
    for e in [e for e in snap.placement.escalations if e.open][:3]:
        await act(env.client, handle.id, LEAD, ResolveEscalation(escalation_id=e.escalation_id, note="Done"))
    await act(env.client, handle.id, HEAD, samples.terminate(await today(env)))
    return handle.id, first_run


async def by_post(env, tq) -> str:
    """A parent with no email address: the notice goes on the school's list
    to post, staff record it posted, and the placement starts when due."""
    from apflow.directory import school_contacts
    from domain.actions import RecordDelivery
    from domain.models import Delivery

    start = await next_school_day(env, 21)
    proposal = samples.proposal(start)
    proposal.parent_contacts[0].email = None
    handle, _ = await start_placement(
        env.client, tq, proposal, LEAD, default_calendar("137000", start), now=await env.get_current_time(),
        directory=school_contacts(proposal.school, Settings().directory_file),
    )
    await act(env.client, handle.id, LEAD, samples.vet())
    await act(env.client, handle.id, LEAD, samples.consult_la(await today(env)))
    await act(env.client, handle.id, HEAD, samples.notify())
    for _ in range(100):
        copy = (await snapshot(env.client, handle.id)).placement.notice.copies[0]
        if copy.document_id:
            break
        await asyncio.sleep(0.1)
    await act(env.client, handle.id, LEAD, RecordDelivery(document_id=copy.document_id, method=Delivery.post))
    await env.sleep(timedelta(days=(start - await today(env)).days + 1))
    await act(env.client, handle.id, HEAD, samples.terminate(await today(env)))
    await handle.result()
    return handle.id


async def provider_alert(env, tq) -> str:
    """A placement picked from the trust's list of providers: the providers'
    sweep tells it of insurance expiring, then expired; the AP lead resolves one."""
    from datetime import date

    from domain.actions import ResolveEscalation
    from domain.providers import ProviderAlert
    from workflows.placement import PlacementWorkflow

    provider_id = "prov-" + "5" * 32
    start = await next_school_day(env, 21)
    proposal = samples.proposal(start, provider_id=provider_id)
    handle, _ = await start_placement(env.client, tq, proposal, LEAD, default_calendar("137000", start), now=await env.get_current_time())
    await act(env.client, handle.id, LEAD, samples.vet())
    d = await today(env)
    ahead = ProviderAlert(provider_id=provider_id, what="public liability insurance", clause="appendix: insurance",
                          expires_on=d + timedelta(days=9), expired=False, found_on=d)
    await handle.signal(PlacementWorkflow.provider_alert, ahead)
    await handle.signal(PlacementWorkflow.provider_alert, ahead)  # the same cause again: raised once
    await handle.signal(PlacementWorkflow.provider_alert, ahead.model_copy(update={"expires_on": date(2020, 1, 1), "expired": True}))
    await handle.signal(PlacementWorkflow.provider_alert, ahead.model_copy(update={"provider_id": "prov-" + "6" * 32}))  # not its provider
    for _ in range(100):
        opened = [e for e in (await snapshot(env.client, handle.id)).placement.escalations if e.kind.startswith("provider_")]
        if len(opened) == 2:
            break
        await asyncio.sleep(0.1)
    await act(env.client, handle.id, LEAD, ResolveEscalation(escalation_id=opened[0].escalation_id, note="Renewed certificate seen"))
    await act(env.client, handle.id, LEAD, samples.terminate(await today(env)))
    await handle.result()
    return handle.id


async def main() -> None:
    import tempfile

    from activities.documents import DocumentActivities
    from documents import DeliverySettings

    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("names", nargs="*")
    parser.add_argument("--suffix", default="")
    args = parser.parse_args()
    only = set(args.names)
    paths = (("lifecycle", lifecycle), ("terminated", terminated), ("escalations", escalations), ("letters", letters),
             ("safeguarding", safeguarding), ("extension", extension), ("continued", continued), ("by_post", by_post),
             ("provider_alert", provider_alert),
             ("evaluations", evaluations))
    for name, path in paths:
        if only and name not in only:
            continue
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=str(BIN / "temporal-test-server"), data_converter=data_converter(CODEC_KEY)
        )
        await register_search_attributes(env.client, env.client.namespace)
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{tmp}/r.db")
            migrate(engine)
            documents = DocumentActivities(engine, DeliverySettings(outbox_dir=Path(tmp) / "outbox"), ["record"], "https://apflow.example")
            async with build_worker(env.client, "record", engine, documents):
                found = await path(env, "record")
            wid, run_id = found if isinstance(found, tuple) else (found, None)
            history = await env.client.get_workflow_handle(wid, run_id=run_id).fetch_history()
            engine.dispose()
        out = HISTORIES / f"{name}{'_' + args.suffix if args.suffix else ''}.json"
        out.write_text(history.to_json())
        print(f"wrote {out} ({len(history.events)} events)")
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
