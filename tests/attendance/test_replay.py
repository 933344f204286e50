"""Stored histories of the sweep and of a placement it signalled replay on
today's code (recorded by `python -m tests.attendance.record_histories`)."""
from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from apflow.temporal import data_converter
from tests.conftest import CODEC_KEY
from workflows.attendance import AttendanceSweepWorkflow
from workflows.placement import PlacementWorkflow
from workflows.sandbox import RUNNER

HISTORIES = Path(__file__).parent / "histories"


@pytest.mark.parametrize("name", ["sweep", "alerted_placement"])
async def test_stored_history_replays(name: str):
    path = HISTORIES / f"{name}.json"
    history = WorkflowHistory.from_json(name, path.read_text())
    replayer = Replayer(workflows=[AttendanceSweepWorkflow, PlacementWorkflow], data_converter=data_converter(CODEC_KEY),
                        workflow_runner=RUNNER)
    await replayer.replay_workflow(history)
