"""What the weekday sweeps share (`workflows.attendance`, `workflows.providers`):
a Temporal Schedule that starts a short workflow at a set UK time, Monday to
Friday (each school's calendar decides the rest), made or brought up to date at
every worker start, and the day a run is for."""
from __future__ import annotations

from datetime import date, time, timedelta

from temporalio import workflow
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
from temporalio.common import SearchAttributeKey

from domain.clock import uk_date

UK_ZONE = "Europe/London"
SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
RUN_TIMEOUT = timedelta(hours=3)


def scheduled_day(given: date | None) -> date:
    """In a sweep's workflow: the day asked for, else the day the schedule
    meant (a run delayed past midnight still sweeps the day it was for), else
    today in England."""
    scheduled = workflow.info().typed_search_attributes.get(SCHEDULED_START)
    return given or uk_date(scheduled or workflow.now())


def weekdays_at(run, arg, *, workflow_id: str, task_queue: str, at: time, catchup: timedelta) -> Schedule:
    """`run(arg)` at `at`, UK time, each weekday. Missed while the service was
    down, it still runs when it is back within `catchup`; never twice at once."""
    return Schedule(
        action=ScheduleActionStartWorkflow(run, arg, id=workflow_id,  # the server appends the scheduled time
                                           task_queue=task_queue, execution_timeout=RUN_TIMEOUT),
        spec=ScheduleSpec(
            calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(at.hour)], minute=[ScheduleRange(at.minute)],
                                            day_of_week=[ScheduleRange(1, 5)])],  # Monday to Friday
            time_zone_name=UK_ZONE,
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=catchup),
    )


async def ensure(client: Client, schedule_id: str, schedule: Schedule) -> None:
    """Creates the schedule, or brings it to this one: safe at every worker start."""
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:
        await client.get_schedule_handle(schedule_id).update(lambda _: ScheduleUpdate(schedule=schedule))
