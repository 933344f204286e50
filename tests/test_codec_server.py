"""The Temporal Web UI's codec endpoint, against the real service: uvicorn,
the Temporal dev server and a worker. A placement's history rests in
Temporal encrypted: a client without the key finds no pupil in it; the
endpoint decrypts it for the trust's operations staff signed in to the
console, and for nobody else; CORS lets the UI's origin alone call it."""
from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest_asyncio
from temporalio.client import Client

from apflow.launcher import temporal_command
from apflow.settings import Settings
from console.api import create_app
from console.codec_server import MAX_PAYLOADS
from domain.access import Grant
from domain.models import Role
from store import accounts
from store.db import make_engine, migrate
from tests.api.conftest import serving
from tests.conftest import CODEC_KEY
from tests.api.test_api import LEAD, OPS, SCHOOL, new_pupil, propose
from worker import build_worker

UI = "https://temporal.trust.example"
DECODE = "/temporal-codec/decode"


@pytest_asyncio.fixture(scope="module")
async def stack(dev_env, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("codec")
    engine = make_engine(f"sqlite:///{tmp / 'register.db'}")
    migrate(engine)
    # The API holds the key the workers encrypt with, as every apflow process does.
    settings = Settings(task_queue=f"tq-codec-{uuid.uuid4()}", var_dir=tmp / "var", temporal_ui_origin=UI,
                        payload_key=CODEC_KEY.decode())
    app = create_app(settings, client=dev_env.client, engine=engine)
    try:
        async with build_worker(dev_env.client, settings.task_queue, engine), serving(app) as url:
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                yield engine, http
    finally:
        engine.dispose()


def session(engine, *grants: Grant) -> dict[str, str]:
    """The cookie of a console session of a new person with these grants."""
    user = accounts.add_user(engine, f"{uuid.uuid4().hex[:10]}@staff.example", "Staff", datetime.now(UTC)).user_id
    for g in grants:
        accounts.add_grant(engine, user, g)
    opened = accounts.open_session(engine, user, "password", datetime.now(UTC), timedelta(hours=1))
    return {"Cookie": f"apflow_session={opened.cookie}"}


def payloads_in(node) -> list[dict]:
    """Every payload of a history in proto3 JSON: objects with metadata and data."""
    if isinstance(node, dict):
        if "metadata" in node and "encoding" in node.get("metadata", {}):
            return [node]
        return [p for v in node.values() for p in payloads_in(v)]
    if isinstance(node, list):
        return [p for v in node for p in payloads_in(v)]
    return []


async def placement_history(http, dev_env) -> tuple[str, list[dict], bytes]:
    """A new placement's pupil name, and its history's payloads and raw bytes
    as read by a bare client: one with no key, as anyone reaching the port."""
    pupil = new_pupil().model_copy(update={"name": f"Zephyrine Quillfeather-{uuid.uuid4().hex[:6]}"})
    pid = (await propose(http, pupil=pupil))["placement"]["placement_id"]
    bare = await Client.connect(dev_env.client.service_client.config.target_host, namespace=dev_env.client.namespace)
    history = await bare.get_workflow_handle(pid).fetch_history()
    raw = b"".join(e.SerializeToString() for e in history.events)
    return pupil.name, payloads_in(history.to_json_dict()), raw


def decoded_text(answer: dict) -> str:
    return "".join(base64.b64decode(p.get("data", "")).decode("utf-8", "replace") for p in answer["payloads"])


async def test_the_history_is_encrypted_at_rest_and_decoded_for_trust_operations_alone(stack, dev_env):
    engine, http = stack
    name, payloads, raw = await placement_history(http, dev_env)
    assert payloads and name.encode() not in raw and b"Zephyrine" not in raw
    body = {"payloads": payloads}

    ops = session(engine, Grant(Role.trust_operations))
    r = await http.post(DECODE, json=body, headers={**ops, "Origin": UI, "X-Namespace": "default"})
    assert r.status_code == 200, r.text
    assert name in decoded_text(r.json()) and len(r.json()["payloads"]) == len(payloads)
    assert r.headers["access-control-allow-origin"] == UI and r.headers["access-control-allow-credentials"] == "true"
    assert r.headers["cache-control"] == "no-store"

    # Everyone else: refused, and nothing decoded in the answer.
    lead = session(engine, Grant(Role.ap_lead, SCHOOL))
    dsl = session(engine, Grant(Role.trust_dsl), Grant(Role.headteacher, SCHOOL))
    ops_token = {"Authorization": f"Bearer {accounts.create_token(engine, _user_of(engine, ops), 't', datetime.now(UTC), timedelta(days=1)).token}"}
    for who, status in ((lead, 403), (dsl, 403), ({}, 401), (OPS, 401), (LEAD, 401), (ops_token, 401),
                        ({"Cookie": "apflow_session=not-a-session"}, 401)):
        r = await http.post(DECODE, json=body, headers={**who, "Origin": UI})
        assert r.status_code == status, (who, r.status_code, r.text)
        assert "Zephyrine" not in r.text and "payloads" not in r.text

    # Signed out: the same cookie opens nothing more.
    accounts.close_session(engine, ops["Cookie"].split("=", 1)[1])
    assert (await http.post(DECODE, json=body, headers={**ops, "Origin": UI})).status_code == 401


def _user_of(engine, cookie: dict[str, str]) -> str:
    held = accounts.session_holder(engine, cookie["Cookie"].split("=", 1)[1], datetime.now(UTC), timedelta(hours=1))
    return held.user_id


async def test_cors_allows_the_uis_origin_alone_with_credentials(stack, dev_env):
    engine, http = stack
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-namespace"}
    r = await http.options(DECODE, headers={**preflight, "Origin": UI})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == UI
    assert r.headers["access-control-allow-credentials"] == "true" and "POST" in r.headers["access-control-allow-methods"]
    for other in ("https://evil.example", "http://temporal.trust.example", "https://temporal.trust.example.evil.example"):
        r = await http.options(DECODE, headers={**preflight, "Origin": other})
        assert "access-control-allow-origin" not in r.headers, (other, r.headers)
        assert r.status_code >= 400

    # A page of another site posting with the session's cookie is refused before anything is read.
    name, payloads, _ = await placement_history(http, dev_env)
    ops = session(engine, Grant(Role.trust_operations))
    r = await http.post(DECODE, json={"payloads": payloads}, headers={**ops, "Origin": "https://evil.example"})
    assert r.status_code == 403 and name not in r.text and "access-control-allow-origin" not in r.headers
    # The rest of the API gives the UI's origin nothing.
    r = await http.get("/api/placements", headers={**OPS, "Origin": UI})
    assert "access-control-allow-origin" not in r.headers


async def test_encode_is_never_offered_and_bad_input_is_refused(stack, caplog):
    engine, http = stack
    ops = {**session(engine, Grant(Role.trust_operations)), "Origin": UI}
    plain = {"metadata": {"encoding": base64.b64encode(b"json/plain").decode()}, "data": base64.b64encode(b'"x"').decode()}
    r = await http.post("/temporal-codec/encode", json={"payloads": [plain]}, headers=ops)
    assert r.status_code == 403 and "not offered" in r.text
    # A payload apflow did not encrypt comes back as it came, and is no refusal to log.
    caplog.set_level("WARNING", logger="apflow")
    r = await http.post(DECODE, json={"payloads": [plain]}, headers=ops)
    assert r.status_code == 200 and r.json() == {"payloads": [plain]}
    assert "payload refused" not in caplog.text
    for bad in ({"payloads": [{"metadata": {"encoding": "***"}, "data": ""}]}, {"payloads": [{"data": 5}]},
                {"payloads": [plain] * (MAX_PAYLOADS + 1)}, {"payload": []}, [1]):
        r = await http.post(DECODE, json=bad, headers=ops)
        assert r.status_code == 422, (bad if len(json.dumps(bad)) < 200 else "many", r.status_code, r.text)
    r = await http.post(DECODE, content=b"{not json", headers={**ops, "Content-Type": "application/json"})
    assert r.status_code == 422


def test_apflow_up_points_the_dev_servers_ui_at_the_codec_endpoint(monkeypatch):
    cmd = temporal_command(Settings())
    assert cmd[cmd.index("--ui-codec-endpoint") + 1] == "http://127.0.0.1:8000/temporal-codec"
    monkeypatch.setenv("APFLOW_PUBLIC_URL", "https://apflow.trust.example/")
    cmd = temporal_command(Settings())
    assert cmd[cmd.index("--ui-codec-endpoint") + 1] == "https://apflow.trust.example/temporal-codec"
    # The UI the endpoint lets in is the dev server's own by default, or the one named.
    assert Settings(temporal_address="127.0.0.1:7233", temporal_ui_port=8233).ui_origin == "http://127.0.0.1:8233"
    monkeypatch.setenv("APFLOW_TEMPORAL_UI_ORIGIN", UI)
    assert Settings().ui_origin == UI
