"""`apflow up` as a user runs it: a real process with the Temporal dev server,
the worker (a process of its own) and the API, filling a fresh register with the demo; `apflow demo` against it again, signing in with its
invented people's tokens and printing how they sign in; Ctrl-C stops
everything; a second `apflow up` on the same var dir finds every placement
where it was."""
from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from apflow.demo_people import PEOPLE
from console.signin.credentials import password_matches
from domain.models import Role
from store import accounts
from store.db import make_engine

APFLOW = Path(sys.executable).parent / "apflow"
OPS_EMAIL = next(p.email for p in PEOPLE if p.grant.role is Role.trust_operations)
UP_WAIT_S = 90
STOP_WAIT_S = 60
DEMO_WAIT_S = 180
DEMO_STATES = {"proposed", "la_consulted", "notified", "active", "under_review", "reintegrating", "terminated", "closed"}


_GIVEN: set[int] = set()  # never the same port twice in one run


def free_port() -> int:
    """A free port below the kernel's ephemeral range: a port handed out for
    `:0` (as the dev server does for its own inner services at every start)
    could otherwise be the one `apflow up` is about to be told to listen on."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    while True:
        port = random.randrange(10_000, low)
        if port in _GIVEN:
            continue
        _GIVEN.add(port)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def children(pid: int) -> list[int]:
    """Direct children of a process, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: the fields after it are plain.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def environ(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes().replace(b"\0", b"\n").decode(errors="replace")
    except OSError:
        return ""


def workers_for(var: Path) -> list[int]:
    """Live `apflow worker` processes started for this var dir (by their environment)."""
    mark = f"APFLOW_VAR_DIR={var}\n"
    return [int(e.name) for e in Path("/proc").iterdir()
            if e.name.isdigit() and "apflow worker" in cmdline(int(e.name)) and alive(int(e.name))
            and mark in environ(int(e.name))]


class Up:
    """One `apflow up` process, its output in a file."""

    def __init__(self, workdir: Path, env: dict[str, str], name: str):
        self.workdir, self.env = workdir, env
        self.log = workdir / f"{name}.log"
        self.proc: subprocess.Popen | None = None
        self.temporal_pids: list[int] = []
        self.worker_pids: list[int] = []

    def start(self) -> None:
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [str(APFLOW), "up"], cwd=self.workdir, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    def output(self) -> str:
        text = self.log.read_text(errors="replace")
        server_log = Path(self.env["APFLOW_VAR_DIR"]) / "temporal.log"
        if server_log.exists():
            tail = server_log.read_text(errors="replace")[-3000:]
            text += f"\n--- end of {server_log.name} ---\n{tail}"
        return text

    def wait_healthy(self, api: str) -> dict:
        deadline = time.monotonic() + UP_WAIT_S
        last = "no answer"
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"apflow up exited with {self.proc.returncode}:\n{self.output()}"
            try:
                r = httpx.get(f"{api}/healthz", timeout=5)
                # Ready once it answers and has printed what it started (the lines come after the API is up).
                if r.status_code == 200 and "Press Ctrl-C to stop." in self.log.read_text(errors="replace"):
                    self.temporal_pids = [p for p in children(self.proc.pid) if "temporal" in cmdline(p)]
                    self.worker_pids = [p for p in children(self.proc.pid) if "apflow worker" in cmdline(p)]
                    return r.json()
                last = f"{r.status_code} {r.text[:200]}"
            except httpx.HTTPError as e:
                last = type(e).__name__
            time.sleep(0.25)
        raise AssertionError(f"/healthz not ready within {UP_WAIT_S} s (last: {last}):\n{self.output()}")

    def wait_for(self, text: str, wait_s: float) -> str:
        """Its output once `text` and the lines after it are there (the demo prints them all at once)."""
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"apflow up exited with {self.proc.returncode}:\n{self.output()}"
            out = self.log.read_text(errors="replace")
            if text in out and "and send it as `Authorization: Bearer <token>`." in out:
                return out
            time.sleep(0.5)
        raise AssertionError(f"{text!r} not in apflow up's output within {wait_s} s:\n{self.output()}")

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"apflow up still running {STOP_WAIT_S} s after SIGINT:\n{self.output()}") from None

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # The dev server runs in its own session: a signal to apflow does not reach it.
        # Ours is the one holding this test's var dir.
        db = str((Path(self.env["APFLOW_VAR_DIR"]) / "temporal.db").resolve())
        strays = [int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit() and db in cmdline(int(e.name))]
        workers = workers_for(Path(self.env["APFLOW_VAR_DIR"]))
        for pid in {*self.temporal_pids, *strays, *self.worker_pids, *workers}:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def placements(api: str, who: dict) -> dict[str, str]:
    r = httpx.get(f"{api}/api/placements", headers=who, params={"limit": 500}, timeout=30)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["next_cursor"] is None, "more placements than one page"
    return {row["placement_id"]: row["state"] for row in page["items"]}


def snapshot_state(api: str, pid: str, who: dict) -> str:
    r = httpx.get(f"{api}/api/placements/{pid}", headers=who, timeout=30)
    assert r.status_code == 200, f"{pid}: {r.status_code} {r.text}"
    return r.json()["placement"]["state"]


def demo_sign_ins(out: str, var: Path) -> set[str]:
    """The demo people whose printed password opens their account in the
    register, each with a second factor; the demo's own tokens all revoked."""
    printed = dict(re.findall(r"email +(\S+)\n +password +(\S+)\n", out))
    engine = make_engine(f"sqlite:///{(var / 'apflow.db').resolve()}")
    try:
        good = set()
        for email, password in printed.items():
            user = accounts.user_by_email(engine, email)
            assert user.totp_secret and user.totp_secret in out, email
            assert all(t.revoked_at is not None for t in accounts.tokens_of(engine, user.user_id)), email
            if password_matches(user.password_hash, password):
                good.add(email)
        return good
    finally:
        engine.dispose()


def test_up_demo_stop_and_up_again(tmp_path):
    temporal_port, ui_port, api_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("APFLOW_")}
    env.update(
        APFLOW_VAR_DIR=str(tmp_path / "var"),
        APFLOW_TEMPORAL_ADDRESS=f"127.0.0.1:{temporal_port}",
        APFLOW_TEMPORAL_UI_PORT=str(ui_port),
        APFLOW_API_PORT=str(api_port),
    )
    api = f"http://127.0.0.1:{api_port}"
    ports = (temporal_port, ui_port, api_port)

    first = Up(tmp_path, env, "first")
    # The second start with two workers on the one task queue.
    second = Up(tmp_path, {**env, "APFLOW_WORKER_PROCESSES": "2"}, "second")
    try:
        first.start()
        health = first.wait_healthy(api)
        assert health["database"] == "ok" and health["temporal"] == "ok"
        assert first.temporal_pids, f"no Temporal dev server under apflow up:\n{first.output()}"
        # The worker is a process of its own beside the API's, so neither waits on the other's GIL.
        assert len(first.worker_pids) == 1, f"no worker process under apflow up:\n{first.output()}"
        assert f"process {first.worker_pids[0]})" in first.output()
        paths = httpx.get(f"{api}/openapi.json", timeout=10).json()["paths"]
        assert "/api/placements" in paths
        assert "/api/placements/{placement_id}/actions/notify" in paths
        assert httpx.get(f"{api}/api/placements", timeout=10).status_code == 401
        # A fresh machine's first start fills the register with the demo and says how its people sign in.
        first_start = first.wait_for(f"Sign in at {api}/sign-in ", DEMO_WAIT_S)
        assert "First start: the demo is making invented people and placements" in first_start
        assert demo_sign_ins(first_start, tmp_path / "var") == {p.email for p in PEOPLE}, first_start

        demo = subprocess.run(
            [str(APFLOW), "demo", "--api", api], check=False, cwd=tmp_path, env=env,
            capture_output=True, text=True, timeout=DEMO_WAIT_S,
        )
        assert demo.returncode == 0, f"apflow demo failed:\n{demo.stdout}\n{demo.stderr}\n{first.output()}"
        made = [line.split()[0] for line in demo.stdout.splitlines() if line.startswith("placement-")]
        signed_in_as = demo_sign_ins(demo.stdout, tmp_path / "var")
        assert f"Sign in at {api}/sign-in " in demo.stdout and signed_in_as == {p.email for p in PEOPLE}, demo.stdout
        token = subprocess.run([str(APFLOW), "tokens", "create", OPS_EMAIL], check=True, cwd=tmp_path, env=env,
                               capture_output=True, text=True, timeout=60).stdout.splitlines()[-1]
        ops = {"Authorization": f"Bearer {token}"}
        before = placements(api, ops)
        assert set(made) <= set(before), demo.stdout
        assert DEMO_STATES <= set(before.values()), before

        assert first.interrupt() == 0, first.output()
        # Children's data at rest: the register, keys, letters and Temporal's state are the service user's alone.
        var = tmp_path / "var"
        assert var.stat().st_mode & 0o077 == 0
        shared = [str(p) for p in var.rglob("*") if p.stat().st_mode & 0o077]
        assert not shared, shared
        out = first.log.read_text()
        assert "Stopped." in out, out
        assert not [p for p in first.temporal_pids if alive(p)], "the Temporal dev server outlived apflow up"
        assert not [p for p in first.worker_pids if alive(p)], "the worker outlived apflow up"
        assert not workers_for(var)
        still = [p for p in ports if listening(p)]
        assert not still, f"ports still listening after stop: {still}"

        second.start()
        second.wait_healthy(api)
        assert len(second.worker_pids) == 2, second.output()
        assert "no accounts yet" not in second.output() and "accounts: `apflow users list`" in second.output()
        after = placements(api, ops)
        assert after == before
        for pid, state in before.items():  # the workflows too, not only the register
            assert snapshot_state(api, pid, ops) == state, pid
        assert second.interrupt() == 0, second.output()
        assert "Stopped." in second.log.read_text()
        assert not [p for p in second.worker_pids if alive(p)], "a worker outlived apflow up"
    finally:
        first.cleanup()
        second.cleanup()


def test_up_with_its_api_port_taken_fails_clearly_and_stops_temporal(tmp_path):
    temporal_port, ui_port = free_port(), free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        api_port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("APFLOW_")}
        env.update(
            APFLOW_VAR_DIR=str(tmp_path / "var"),
            APFLOW_TEMPORAL_ADDRESS=f"127.0.0.1:{temporal_port}",
            APFLOW_TEMPORAL_UI_PORT=str(ui_port),
            APFLOW_API_PORT=str(api_port),
        )
        up = Up(tmp_path, env, "up")
        try:
            up.start()
            try:
                code = up.proc.wait(timeout=UP_WAIT_S)
            except subprocess.TimeoutExpired:
                raise AssertionError(f"apflow up kept running with its API port taken:\n{up.output()}") from None
            out = up.log.read_text()
            assert code != 0, out
            assert f"the API could not start on http://127.0.0.1:{api_port}" in out, out
            assert "Traceback" not in out, out
            assert not listening(temporal_port), "the Temporal dev server outlived apflow up"
            assert not listening(ui_port)
            assert not workers_for(tmp_path / "var"), "a worker outlived apflow up"
        finally:
            up.cleanup()


def test_the_worker_stops_by_itself_when_apflow_up_is_killed(tmp_path):
    """A worker is in a session of its own (Ctrl-C reaches apflow up first):
    should apflow up die without stopping it, it stops by itself."""
    api_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("APFLOW_")}
    env.update(
        APFLOW_VAR_DIR=str(tmp_path / "var"), APFLOW_TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}",
        APFLOW_TEMPORAL_UI_PORT=str(free_port()), APFLOW_API_PORT=str(api_port), APFLOW_DEMO_ON_FIRST_START="false",
    )
    up = Up(tmp_path, env, "up")
    try:
        up.start()
        up.wait_healthy(f"http://127.0.0.1:{api_port}")
        assert up.worker_pids, up.output()
        up.proc.kill()
        up.proc.wait()
        deadline = time.monotonic() + 20
        while [p for p in up.worker_pids if alive(p)] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [p for p in up.worker_pids if alive(p)], f"the worker outlived a killed apflow up:\n{up.output()}"
    finally:
        up.cleanup()


def test_a_worker_waits_for_temporal_and_stops_when_told(tmp_path):
    """`apflow worker` started before its server does not give up, and a
    signal stops it even while it waits."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APFLOW_")}
    env.update(APFLOW_VAR_DIR=str(tmp_path / "var"), APFLOW_TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}")
    log = tmp_path / "worker.log"
    for sig in (signal.SIGINT, signal.SIGTERM):
        with open(log, "wb") as out:
            proc = subprocess.Popen([str(APFLOW), "worker"], cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            # Its signal handlers are in place before it first tries to connect.
            deadline = time.monotonic() + STOP_WAIT_S
            while b"waiting for Temporal" not in log.read_bytes():
                assert proc.poll() is None, f"the worker gave up waiting for Temporal:\n{log.read_text()}"
                assert time.monotonic() < deadline, f"the worker never said it waits:\n{log.read_text()}"
                time.sleep(0.2)
            time.sleep(1)  # still waiting, a few attempts later
            assert proc.poll() is None, f"the worker gave up waiting for Temporal:\n{log.read_text()}"
            proc.send_signal(sig)
            assert proc.wait(timeout=STOP_WAIT_S) == 0, log.read_text()
            assert "Traceback" not in log.read_text(), log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_apflow_api_keeps_providers_tokens_out_of_its_access_log(tmp_path, dev_env):
    """`apflow api` as the compose file runs it: a provider's page asked for
    by its token-shaped path is logged with the token redacted."""
    api_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("APFLOW_")}
    env.update(APFLOW_VAR_DIR=str(tmp_path / "var"), APFLOW_API_PORT=str(api_port),
               APFLOW_TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host)
    token = "eyJwbGFjZW1lbnQiOiJwbGFjZW1lbnQtMSJ9.ZXhwaXJlcw.c2lnbmF0dXJlLW5vdC1yZWFs"
    log = tmp_path / "api.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(APFLOW), "api"], cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + UP_WAIT_S
        while True:
            assert proc.poll() is None, f"apflow api exited with {proc.returncode}:\n{log.read_text()}"
            try:
                if httpx.get(f"http://127.0.0.1:{api_port}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.25)
        for path in (f"/provider/{token}", f"/provider/{token}?x=1"):
            assert httpx.get(f"http://127.0.0.1:{api_port}{path}", timeout=10).status_code < 500
        assert httpx.post(f"http://127.0.0.1:{api_port}/provider/{token}", data={"a": "b"}, timeout=10).status_code < 500
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=STOP_WAIT_S)
    out = log.read_text()
    assert '"GET /provider/… HTTP/1.1"' in out, out
    assert "eyJ" not in out and "c2lnbmF0dXJl" not in out, out
