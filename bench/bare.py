"""The bare lifecycle `bench.lifecycle` compares apflow with: a workflow that
takes `steps` updates (as many as apflow's lifecycle takes actions), each
running one activity, and then completes. The first `letters` steps'
activity sends a letter (with the letters on, the same renderer and send
activity as apflow's), the rest a no-op. Its own module so the workflow
sandbox imports nothing else."""
from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

STEPS = 8  # the bare lifecycle, from when apflow's took 8 steps
LETTER_ACTIVITY = "bench_letter"


@activity.defn(name="bench_noop")
async def noop(step: str) -> str:
    return step


@workflow.defn(name="BenchBareLifecycle")
class BareLifecycle:
    @workflow.init  # the first update may run before `run` starts
    def __init__(self, letters: int = 0, steps: int = STEPS) -> None:
        self.steps = 0
        self.letters = letters
        self.of = steps

    @workflow.run
    async def run(self, letters: int = 0, steps: int = STEPS) -> int:
        await workflow.wait_condition(lambda: self.steps >= self.of)
        return self.steps

    @workflow.update
    async def step(self, name: str) -> int:
        activity_name = LETTER_ACTIVITY if self.steps < self.letters else "bench_noop"
        await workflow.execute_activity(activity_name, name, start_to_close_timeout=timedelta(seconds=60))
        self.steps += 1
        return self.steps
