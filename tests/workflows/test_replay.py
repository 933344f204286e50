"""Stored histories replay on today's workflow code: a change that would
break running placements fails here before it lands. New paths are recorded
with `python -m tests.workflows.record_histories` on the code as it was."""
from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from apflow.temporal import data_converter
from tests.conftest import CODEC_KEY
from workflows.placement import PlacementWorkflow
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
        "by_post_local_writes",
    }
