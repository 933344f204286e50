"""Stored histories replay on today's workflow code: a change that would
break running placements fails here before it lands. New paths are recorded
with `python -m tests.workflows.record_histories` on the code as it was."""
from __future__ import annotations

from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner
from temporalio.workflow import NondeterminismError

from apflow.temporal import data_converter
from tests.conftest import CODEC_KEY
from workflows.placement import PlacementInput, PlacementWorkflow, Snapshot
from workflows.sandbox import RUNNER

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_stored_history_replays(path: Path):
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(workflows=[PlacementWorkflow], data_converter=data_converter(CODEC_KEY), workflow_runner=RUNNER)
    await replayer.replay_workflow(history)


def test_there_are_histories_to_replay():
    assert {p.stem for p in HISTORIES} >= {
        "lifecycle", "terminated", "escalations", "letters", "safeguarding", "extension", "continued", "by_post",
        # register writes as local activities, search attributes upserted when changed
        "lifecycle_local_writes", "letters_local_writes", "escalations_local_writes", "continued_local_writes",
        "by_post_local_writes", "provider_alert",
        "evaluations",  # a mid evaluation with a part through its link, the end evaluation, and the close that reads it
    }


@workflow.defn(name="PlacementWorkflow")
class WritesNothing(PlacementWorkflow):
    """A change that forgets to go behind `workflow.patched`: the register is
    no longer written, so the commands differ from every recorded history's."""

    @workflow.run
    async def run(self, inp: PlacementInput) -> Snapshot:
        return await super().run(inp)

    async def _write(self, activity, arg) -> None:
        return None


async def test_a_change_that_breaks_running_placements_fails_replay():
    path = HISTORIES[0].parent / "lifecycle.json"
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(workflows=[WritesNothing], data_converter=data_converter(CODEC_KEY),
                        workflow_runner=UnsandboxedWorkflowRunner())
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(history)
