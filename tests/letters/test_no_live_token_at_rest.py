"""What someone who can read apflow's files finds: no provider link that works.

The attack of issue 8: a local user read the register (`var/apflow.db`) and
the rendered letters beside it and found provider links whose tokens still
answered. Here a real letter with a link is sent by the running service (the
API over HTTP, a worker, the Temporal dev server, letters to the outbox), and
then every row of every table, every file under the var folder but the
outbox's messages, the log and the workflow's history are searched for any
string `documents.links` accepts. The outbox's `.eml` is the message as it
left (the mail relay's stand-in): the link must be there, and it must work.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
import uuid
import zlib
from datetime import UTC, datetime
from email import message_from_bytes, policy

import httpx
import pytest_asyncio
import uvicorn
from google.protobuf.message import Message
from sqlalchemy import MetaData, select
from temporalio.api.common.v1 import Payload

from activities.documents import link_id_for
from apflow.settings import Settings
from console.api import create_app, server_config
from documents import DeliverySettings, LinkError, LinkPurpose, LinkWrongPurpose, issue_link, verify_link
from documents.delivery import safe_name
from store import documents as sent
from store.db import make_engine, migrate
from worker import build_worker

from .conftest import SECRET, pdf_text
from .test_provider_links import LEAD, notified, ok

# Length of a token's signature, from one the code issues (itsdangerous's HMAC).
SIGNATURE_CHARS = len(issue_link([SECRET], "p", LinkPurpose.attendance, datetime.now(UTC), "l").rsplit(".", 1)[1])
_CLAIMS_END = re.compile(r"\.(?=[A-Za-z0-9_-]{%d})" % SIGNATURE_CHARS)
_CLAIMS_CHAR = re.compile(r"[A-Za-z0-9_-]")


def live_tokens(text: str) -> set[str]:
    """Every substring of `text` that `documents.links` accepts now, for one
    purpose or another: a token is (".")claims "." signature. A claims part
    that could end at a "." is tried from every start, since in text
    extracted from a PDF (spaces removed) a token runs into the words before it."""
    now = datetime.now(UTC)
    found = set()
    for dot in _CLAIMS_END.finditer(text):
        end = start = dot.start()
        while start > 0 and end - start < 2000 and _CLAIMS_CHAR.match(text[start - 1]):
            start -= 1
        signature = text[end + 1:end + 1 + SIGNATURE_CHARS]
        for i in range(start, end):
            for candidate in (f"{text[i:end]}.{signature}", f".{text[i:end]}.{signature}"):
                try:
                    verify_link([SECRET], candidate, now, purpose=LinkPurpose.attendance)
                except LinkWrongPurpose:
                    pass  # genuine and current: a link for another purpose
                except LinkError:
                    continue
                found.add(candidate)
    return found


def readable(blob: bytes | str) -> list[str]:
    """What a reader gets from a stored value or file: its text, and for a
    PDF also its decompressed streams and the text a PDF reader extracts."""
    if isinstance(blob, str):
        return [blob]
    texts = [blob.decode("latin-1")]
    if blob.startswith(b"%PDF"):
        for stream in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", blob, re.S):
            with contextlib.suppress(zlib.error):
                texts.append(zlib.decompress(stream.group(1)).decode("latin-1"))
        texts.append("".join(pdf_text(blob).split()))
    return texts


def register_rows(engine) -> dict[str, list[str]]:
    """Every value of every row of every table, as text, by table.column."""
    tables = MetaData()
    tables.reflect(engine)
    out: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for table in tables.sorted_tables:
            for row in conn.execute(select(table)).mappings():
                for column, value in row.items():
                    if value is None:
                        continue
                    blob = value if isinstance(value, (bytes, str)) else json.dumps(value, default=str)
                    out.setdefault(f"{table.name}.{column}", []).extend(readable(blob))
    return out


def payloads(message: Message) -> list[Payload]:
    """Every Payload in a history's protobuf, however deep."""
    if isinstance(message, Payload):
        return [message]
    found = []
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.is_repeated:
            items = value.values() if field.message_type.GetOptions().map_entry else value
            for item in items:
                if isinstance(item, Message):
                    found += payloads(item)
        else:
            found += payloads(value)
    return found


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):
        yield


@pytest_asyncio.fixture
async def service(dev_env, tmp_path):
    """The service as `apflow up` runs it, on one var folder: the register in
    it, letters to its outbox, links signed with the settings' secret."""
    # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets that say so,
    # and without it every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    var = tmp_path / "var"
    var.mkdir()
    settings = Settings(var_dir=var, task_queue=f"tq-at-rest-{uuid.uuid4()}", link_secret=SECRET, public_url=url,
                        mail=DeliverySettings(mode="outbox", outbox_dir=var / "outbox"))
    engine = make_engine(settings.db_url)
    migrate(engine)
    app = create_app(settings, client=dev_env.client, engine=engine)
    server = _Server(server_config(app, log_level="warning"))
    try:
        async with build_worker(dev_env.client, settings.task_queue, engine, settings=settings):
            serving = asyncio.create_task(server.serve(sockets=[sock]))
            while not server.started:
                assert not serving.done(), serving.result()
                await asyncio.sleep(0.05)
            async with httpx.AsyncClient(base_url=url, timeout=60) as http:
                yield http, engine, var
            server.should_exit = True
            await asyncio.wait_for(serving, 15)
    finally:
        sock.close()
        engine.dispose()


async def letter_sent(engine, placement_id: str, kind: str, timeout: float = 20) -> sent.DocumentRow:
    """The placement's one letter of `kind`, once sent: letters follow their step."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (rows := [d for d in sent.for_placement(engine, placement_id) if d.kind == kind and d.status == sent.SENT]):
        assert loop.time() < deadline, [(d.kind, d.status) for d in sent.for_placement(engine, placement_id)]
        await asyncio.sleep(0.1)
    (row,) = rows
    return row


async def test_no_live_provider_token_is_kept_in_the_register_its_files_or_the_log(service, dev_env, caplog):
    http, engine, var = service
    caplog.set_level(logging.DEBUG)
    pid = await notified(http)  # notify asks the provider for its initial assessment, with a link
    row = await letter_sent(engine, pid, "provider_initial_assessment_request")
    eml = var / "outbox" / f"{safe_name(row.idempotency_key)}.eml"
    assert eml.is_file()

    # The attacker reads everything at rest.
    found: dict[str, set[str]] = {}
    for where, texts in register_rows(engine).items():
        for text in texts:
            if tokens := live_tokens(text):
                found.setdefault(where, set()).update(tokens)
    files = [f for f in var.rglob("*") if f.is_file() and not (f.parent == var / "outbox" and f.suffix == ".eml")]
    assert any(f.suffix == ".pdf" for f in files) and any(f.name == "apflow.db" for f in files)
    for f in files:
        for text in readable(f.read_bytes()):
            if tokens := live_tokens(text):
                found.setdefault(str(f.relative_to(var)), set()).update(tokens)
    if tokens := live_tokens(caplog.text):
        found["log"] = tokens
    history = await dev_env.client.get_workflow_handle(pid).fetch_history()
    decoded = await dev_env.client.data_converter.payload_codec.decode([p for event in history.events for p in payloads(event)])
    for payload in decoded:
        if tokens := live_tokens(payload.data.decode("utf-8", "replace")):
            found.setdefault("workflow history", set()).update(tokens)

    assert found == {}, f"live provider tokens at rest in {sorted(found)}: {found}"

    # The message as it left holds the link, one that verifies; the PDF beside it does not.
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    (token,) = live_tokens(message.get_body(("html",)).get_content())
    assert token in message.get_body(("plain",)).get_content()
    claims = verify_link([SECRET], token, datetime.now(UTC), purpose=LinkPurpose.initial_assessment)
    assert claims.link_id == row.link_id == link_id_for(row.idempotency_key)
    for text in [row.html, *readable(row.pdf), *readable(eml.with_suffix(".pdf").read_bytes())]:
        assert token not in text and token[-SIGNATURE_CHARS:] not in text

    # Where the link was, the kept copy says truly where it went and which link it was.
    copy = pdf_text(row.pdf)
    assert row.link_id in copy and "sent in the email" in copy
    assert row.link_id in row.html and "sent in the email" in row.html

    # And the link works: it opens the provider's form and its answer is recorded.
    page = await http.get(f"/provider/{token}")
    assert page.status_code == 200 and "Send your initial assessment" in page.text
    answered = ok(await http.post(f"/provider/{token}", json={"summary": "Entry 3 maths; small-group support"}))
    assert answered["received"] == "initial_assessment"
    snap = ok(await http.get(f"/api/placements/{pid}", headers=LEAD))
    assert snap["placement"]["initial_assessment"]["summary"] == "Entry 3 maths; small-group support"
