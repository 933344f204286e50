"""docker-compose.yml as Debian's docker-compose (v1) reads it, without an
engine: valid with every variable deploy/env.example names, and refused,
naming what is missing, without them."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def compose(*args: str) -> subprocess.CompletedProcess:
    if shutil.which("docker-compose") is None:
        if os.environ.get("APFLOW_REQUIRE_POSTGRES"):  # CI: nothing skipped for want of a machine package
            pytest.fail("docker-compose is required here (apt-get install docker-compose)")
        pytest.skip("Debian's docker-compose is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APFLOW_", "TEMPORAL_", "REGISTER_"))}
    return subprocess.run(["docker-compose", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_the_compose_file_is_valid_with_the_example_env_file():
    done = compose("-f", "docker-compose.yml", "--env-file", "deploy/env.example", "config", "-q")
    assert done.returncode == 0, done.stderr


def test_without_the_env_file_it_names_what_is_missing(tmp_path):
    empty = tmp_path / "empty.env"
    empty.write_text("")
    done = compose("-f", "docker-compose.yml", "--env-file", str(empty), "config", "-q")
    assert done.returncode != 0
    assert "Missing mandatory value" in done.stderr and "set " in done.stderr, done.stderr


def test_the_example_names_every_variable_the_compose_file_reads():
    read = set(re.findall(r"\$\{([A-Z0-9_]+)", (ROOT / "docker-compose.yml").read_text()))
    named = {line.split("=", 1)[0] for line in (ROOT / "deploy/env.example").read_text().splitlines()
             if line and not line.startswith("#")}
    assert read == named, (read - named, named - read)


def test_a_stopping_worker_is_given_longer_than_a_relay_is_waited_for():
    """Killed before its letter's answer came, the letter would be left
    unconfirmed for staff to check (never sent twice, but not known sent)."""
    from documents import DeliverySettings

    done = compose("-f", "docker-compose.yml", "--env-file", "deploy/env.example", "config")
    assert done.returncode == 0, done.stderr
    # The worker's service as compose resolved it: its lines up to the next service or section.
    worker = re.search(r"^  worker:\n((?:(?:    .*)?\n)*)", done.stdout, re.M)
    assert worker, done.stdout
    grace = re.search(r"^    stop_grace_period: (\d+)s$", worker.group(1), re.M)
    assert grace, worker.group(1)
    assert int(grace.group(1)) >= DeliverySettings().smtp_timeout + 10


def test_apflow_up_gives_a_stopping_worker_longer_than_the_relay_is_set_to_wait():
    """The same for the workers `apflow up` starts, whatever the trust sets
    the relay's timeout to."""
    from apflow.launcher import worker_stop_s
    from apflow.settings import Settings
    from documents import DeliverySettings

    for timeout in (DeliverySettings().smtp_timeout, 90.0):
        assert worker_stop_s(Settings(mail=DeliverySettings(smtp_timeout=timeout))) >= timeout + 10
