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
    from temporalio.client import Client, Schedule

    from domain.settings import ProviderSettings
    from messages import ProviderSweepReport, ProviderSweepRequest
    from workflows import schedules as weekday

SWEEP_TIMEOUT = timedelta(minutes=30)


class ProviderSweepInput(BaseModel):
    day: date | None = None  # default: the day the schedule meant, in England


@workflow.defn
class ProviderSweepWorkflow:
    @workflow.run
    async def run(self, inp: ProviderSweepInput) -> ProviderSweepReport:
        day = weekday.scheduled_day(inp.day)
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
    # A morning missed while the service was down is still swept when it is back that day.
    return weekday.weekdays_at(ProviderSweepWorkflow.run, ProviderSweepInput(), workflow_id="providers-sweep",
                               task_queue=task_queue, at=settings.sweep_at, catchup=timedelta(hours=12))


async def ensure_schedule(client: Client, task_queue: str, settings: ProviderSettings) -> str:
    """Creates the sweep's schedule, or brings it to the settings' time: safe at every worker start."""
    sid = schedule_id(task_queue)
    await weekday.ensure(client, sid, schedule(task_queue, settings))
    return sid
