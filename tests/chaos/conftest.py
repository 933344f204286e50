"""The chaos tests' seed: random each run, printed, and replayed by setting
CHAOS_SEED to the number a failing run printed."""
from __future__ import annotations

import os
import random

import pytest


@pytest.fixture
def chaos_seed() -> int:
    seed = int(os.environ["CHAOS_SEED"]) if os.environ.get("CHAOS_SEED") else random.SystemRandom().randrange(2**32)
    print(f"chaos seed {seed}: CHAOS_SEED={seed} replays this run's choices")  # shown with a failure's output
    return seed
