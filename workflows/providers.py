"""The daily providers' sweep: one short workflow a weekday morning, started
by a Temporal Schedule, instead of a timer per certificate per placement. Its
activity reads the register once for the running placements at providers on
the trust's list whose insurance or a required check has expired or expires
within the warning days (APFLOW_POLICY__PROVIDERS__WARN_DAYS), and signals
only those placements' workflows (`provider_alert`), which escalate to the
AP lead once for each cause. Every other placement sleeps on, untouched."""
from __future__ import annotations

from datetime import date, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel
    from temporalio.client import (
        Client,
        Schedule,
        ScheduleActionStartWorkflow,
        ScheduleAlreadyRunningError,
        ScheduleCalendarSpec,
        ScheduleOverlapPolicy,
        SchedulePolicy,
        ScheduleRange,
        ScheduleSpec,
        ScheduleUpdate,
    )

    from domain.clock import uk_date
    from domain.settings import ProviderSettings
    from messages import ProviderSweepReport, ProviderSweepRequest
    from workflows.attendance import SCHEDULED_START, UK_ZONE

SWEEP_TIMEOUT = timedelta(minutes=30)


class ProviderSweepInput(BaseModel):
    day: date | None = None  # default: the day the schedule meant, in England


@workflow.defn
class ProviderSweepWorkflow:
    @workflow.run
    async def run(self, inp: ProviderSweepInput) -> ProviderSweepReport:
        scheduled = workflow.info().typed_search_attributes.get(SCHEDULED_START)
        day = inp.day or uk_date(scheduled or workflow.now())
        return await workflow.execute_activity(
            "sweep_providers",
            ProviderSweepRequest(day=day),
            result_type=ProviderSweepReport,
            start_to_close_timeout=SWEEP_TIMEOUT,
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1), maximum_attempts=10),
        )


def schedule_id(task_queue: str) -> str:
    return f"providers-sweep-{task_queue}"


def schedule(task_queue: str, settings: ProviderSettings) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ProviderSweepWorkflow.run, ProviderSweepInput(), id="providers-sweep",  # the server appends the time
            task_queue=task_queue, execution_timeout=timedelta(hours=3),
        ),
        spec=ScheduleSpec(
            calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(settings.sweep_at.hour)],
                                            minute=[ScheduleRange(settings.sweep_at.minute)],
                                            day_of_week=[ScheduleRange(1, 5)])],  # Monday to Friday
            time_zone_name=UK_ZONE,
        ),
        # Missed while the service was down, it still runs when it is back that day; never twice at once.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(hours=12)),
    )


async def ensure_schedule(client: Client, task_queue: str, settings: ProviderSettings) -> str:
    """Creates the sweep's schedule, or brings it to the settings' time: safe at every worker start."""
    sid, s = schedule_id(task_queue), schedule(task_queue, settings)
    try:
        await client.create_schedule(sid, s)
    except ScheduleAlreadyRunningError:
        await client.get_schedule_handle(sid).update(lambda _: ScheduleUpdate(schedule=s))
    return sid
