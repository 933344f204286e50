"""The daily attendance sweep: one short workflow per check, started by a
Temporal Schedule at set UK times on weekdays, instead of a timer per session
per placement. Its activity finds in one query the placements that owe a mark
(or whose mark is an unexplained absence) and acts on only those: a missing
mark is chased with the provider first (an email with its attendance link),
and signalled to the placement's workflow, to escalate, only if a later sweep
still finds it missing; an unexplained absence is signalled at once. Every
other placement workflow sleeps on, untouched.

At the morning check the am register is checked; at the afternoon check both
(a morning mark changed to an unexplained absence at lunchtime still reaches
the DSL the same day). Each school's own calendar decides whether the day is a
school day, so holidays, INSET days and bank holidays are never chased.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel
    from temporalio.client import Client, Schedule

    from domain.attendance import AttendanceSettings
    from messages import SweepReport, SweepRequest
    from workflows import schedules as weekday

SWEEP_TIMEOUT = timedelta(minutes=30)


class SweepInput(BaseModel):
    sessions: list[Literal["am", "pm"]]
    day: date | None = None  # default: today in England


@workflow.defn
class AttendanceSweepWorkflow:
    @workflow.run
    async def run(self, inp: SweepInput) -> SweepReport:
        day = weekday.scheduled_day(inp.day)
        return await workflow.execute_activity(
            "sweep_attendance",
            SweepRequest(day=day, sessions=inp.sessions),
            result_type=SweepReport,
            start_to_close_timeout=SWEEP_TIMEOUT,
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1), maximum_attempts=10),
        )


# --- the schedules ----------------------------------------------------------------


def schedule_id(task_queue: str, check: str) -> str:
    return f"attendance-sweep-{check}-{task_queue}"


def _schedule(task_queue: str, check: str, at, sessions: list[str]) -> Schedule:
    return weekday.weekdays_at(AttendanceSweepWorkflow.run, SweepInput(sessions=sessions),
                               workflow_id=f"attendance-sweep-{check}", task_queue=task_queue, at=at,
                               catchup=timedelta(hours=3))


def schedules(task_queue: str, settings: AttendanceSettings) -> dict[str, Schedule]:
    return {
        schedule_id(task_queue, "am"): _schedule(task_queue, "am", settings.am_check, ["am"]),
        schedule_id(task_queue, "pm"): _schedule(task_queue, "pm", settings.pm_check, ["am", "pm"]),
    }


async def ensure_schedules(client: Client, task_queue: str, settings: AttendanceSettings) -> list[str]:
    """Creates the sweep's schedules, or brings them to the settings' times:
    safe at every worker start."""
    if not settings.schedules_enabled:
        return []
    for sid, schedule in schedules(task_queue, settings).items():
        await weekday.ensure(client, sid, schedule)
    return list(schedules(task_queue, settings))
