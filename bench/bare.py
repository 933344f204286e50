"""The bare lifecycle `bench.lifecycle` compares apflow with: a workflow that
takes the same number of updates, each running one no-op activity, and then
completes. Its own module so the workflow sandbox imports nothing else."""
from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

STEPS = 8


@activity.defn(name="bench_noop")
async def noop(step: str) -> str:
    return step


@workflow.defn(name="BenchBareLifecycle")
class BareLifecycle:
    def __init__(self) -> None:
        self.steps = 0

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.steps >= STEPS)
        return self.steps

    @workflow.update
    async def step(self, name: str) -> int:
        await workflow.execute_activity(noop, name, start_to_close_timeout=timedelta(seconds=30))
        self.steps += 1
        return self.steps
