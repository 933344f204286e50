"""Outside development every serving command refuses to start with a secret
missing, made for development, copied from deploy/env.example or too short,
or with a development stand-in not explicitly allowed: `apflow api` and
`apflow worker` run as processes, their exit code and what they say."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from apflow.settings import Settings

APFLOW = Path(sys.executable).parent / "apflow"
ENV_EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "env.example"
START_S = 60
GOOD_KEY = Fernet.generate_key().decode()
GOOD_SECRET = "x" * 40


def example() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if line and not line.startswith("#"))
    return {k: v for k, v in pairs}


def run(command: str, tmp_path: Path, **variables: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APFLOW_")}
    env.update(APFLOW_VAR_DIR=str(tmp_path / "var"), APFLOW_ENVIRONMENT="production",
               # Nothing answers here: a process that got past the check would wait, not exit.
               APFLOW_TEMPORAL_ADDRESS="127.0.0.1:1", **variables)
    return subprocess.run([str(APFLOW), command], env=env, capture_output=True, text=True, timeout=START_S)


def production(**overrides: str) -> dict[str, str]:
    """Settings that pass the check, less what a test changes."""
    return {
        "APFLOW_PAYLOAD_KEY": GOOD_KEY, "APFLOW_LINK_SECRET": GOOD_SECRET,
        "APFLOW_DATABASE_URL": "postgresql+psycopg://apflow:a-real-password@127.0.0.1:1/apflow",
        "APFLOW_MAIL_MODE": "smtp", "APFLOW_TEMPORAL_TLS_CA_FILE": "/nonexistent/ca.pem",
        "APFLOW_TEMPORAL_TLS_CERT_FILE": "/nonexistent/worker.pem", "APFLOW_TEMPORAL_TLS_KEY_FILE": "/nonexistent/worker.key",
        **overrides,
    }


@pytest.mark.parametrize("command", ["api", "worker"])
def test_nothing_set_names_every_variable(command, tmp_path):
    done = run(command, tmp_path)
    assert done.returncode == 1, done
    said = done.stderr
    assert "will not start in production" in said and "Traceback" not in said
    for variable in ("APFLOW_PAYLOAD_KEY", "APFLOW_LINK_SECRET", "APFLOW_DATABASE_URL", "APFLOW_MAIL_MODE",
                     "APFLOW_TEMPORAL_TLS_CERT_FILE", "APFLOW_ALLOW_EMBEDDED_REGISTER", "APFLOW_ALLOW_OUTBOX_MAIL",
                     "APFLOW_ALLOW_PLAIN_TEMPORAL"):
        assert variable in said, (variable, said)


@pytest.mark.parametrize("command", ["api", "worker"])
def test_the_examples_placeholders_are_refused(command, tmp_path):
    values = example()
    done = run(command, tmp_path, **production(
        APFLOW_PAYLOAD_KEY=values["APFLOW_PAYLOAD_KEY"], APFLOW_LINK_SECRET=f"{GOOD_SECRET},{values['APFLOW_LINK_SECRET']}",
        APFLOW_DATABASE_URL=f"postgresql+psycopg://apflow:{values['REGISTER_DB_PASSWORD']}@127.0.0.1:1/apflow",
        APFLOW_SIGNIN__TRUSTED_PROXY_SECRET="change-me-proxy-0000000000000000000000"))
    assert done.returncode == 1, done
    lines = [line for line in done.stderr.splitlines() if line.startswith("  - ")]
    assert lines == [
        "  - APFLOW_PAYLOAD_KEY is the placeholder from deploy/env.example: make a real one",
        "  - APFLOW_LINK_SECRET (key 2) is the placeholder from deploy/env.example: make a real one",
        "  - APFLOW_SIGNIN__TRUSTED_PROXY_SECRET is the placeholder from deploy/env.example: make a real one",
        "  - APFLOW_DATABASE_URL holds the example password from deploy/env.example",
    ], done.stderr
    assert values["APFLOW_PAYLOAD_KEY"] not in done.stderr and values["REGISTER_DB_PASSWORD"] not in done.stderr


def test_the_development_files_short_and_malformed_secrets_are_refused(tmp_path):
    var = tmp_path / "var"
    var.mkdir()
    (var / "payload.key").write_text(GOOD_KEY)  # as a development run made them
    (var / "link.secret").write_text(GOOD_SECRET)
    done = run("api", tmp_path, **production(APFLOW_PAYLOAD_KEY=f"not-a-key,{GOOD_KEY}", APFLOW_LINK_SECRET=GOOD_SECRET,
                                             APFLOW_SIGNIN__TRUSTED_PROXY_SECRET="short"))
    assert done.returncode == 1, done
    said = done.stderr
    assert "APFLOW_PAYLOAD_KEY (key 1) is not a Fernet key" in said
    assert f"APFLOW_PAYLOAD_KEY (key 2) is the development one apflow made in {var / 'payload.key'}" in said
    assert f"APFLOW_LINK_SECRET is the development one apflow made in {var / 'link.secret'}" in said
    assert "APFLOW_SIGNIN__TRUSTED_PROXY_SECRET is too short (5 characters; at least 32)" in said
    assert GOOD_KEY not in said and GOOD_SECRET not in said


def test_an_empty_proxy_secret_is_refused():
    # An empty secret would let an empty X-Proxy-Secret header through.
    assert Settings(environment="production", **{"signin": {"trusted_proxy_secret": ""}}).refusals()[2].startswith(
        "APFLOW_SIGNIN__TRUSTED_PROXY_SECRET is not set")


def test_the_stand_ins_are_refused_unless_allowed(tmp_path):
    stand_ins = {"APFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'register.db'}", "APFLOW_MAIL_MODE": "outbox",
                 "APFLOW_TEMPORAL_TLS_CA_FILE": "", "APFLOW_TEMPORAL_TLS_CERT_FILE": "", "APFLOW_TEMPORAL_TLS_KEY_FILE": ""}
    refused = run("worker", tmp_path, **production(**stand_ins))
    assert refused.returncode == 1, refused
    assert [line.split()[1] for line in refused.stderr.splitlines() if line.startswith("  - ")] == [
        "APFLOW_DATABASE_URL", "APFLOW_MAIL_MODE", "APFLOW_TEMPORAL_TLS_CA_FILE,"], refused.stderr


def test_allowed_stand_ins_and_good_secrets_pass_and_development_checks_nothing(tmp_path, monkeypatch):
    for name in [n for n in os.environ if n.startswith("APFLOW_")]:
        monkeypatch.delenv(name)
    allowed = Settings(environment="production", var_dir=tmp_path, payload_key=GOOD_KEY, link_secret=GOOD_SECRET,
                       allow_embedded_register=True, allow_outbox_mail=True, allow_plain_temporal=True)
    assert allowed.refusals() == []
    assert Settings(var_dir=tmp_path).refusals() == []  # development: the README's two commands keep working


def test_a_process_past_the_check_waits_for_temporal(tmp_path):
    """Good settings are not refused: the worker goes on to wait for Temporal
    (nothing answers at 127.0.0.1:1), saying so, until it is stopped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APFLOW_")}
    env.update(APFLOW_VAR_DIR=str(tmp_path / "var"), APFLOW_ENVIRONMENT="production", APFLOW_TEMPORAL_ADDRESS="127.0.0.1:1",
               **production(APFLOW_TEMPORAL_TLS_CA_FILE="", APFLOW_TEMPORAL_TLS_CERT_FILE="", APFLOW_TEMPORAL_TLS_KEY_FILE="",
                            APFLOW_ALLOW_PLAIN_TEMPORAL="true"))
    proc = subprocess.Popen([str(APFLOW), "worker"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        assert "waiting for Temporal at 127.0.0.1:1" in line, line
    finally:
        proc.terminate()
        proc.wait(timeout=START_S)
