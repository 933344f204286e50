"""The Temporal side of the shell: the data converter (pydantic payloads,
encrypted at rest in the server) and the placement search attributes."""
from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import zlib
from typing import Sequence

from cryptography.fernet import Fernet, InvalidToken
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, PayloadCodec
from temporalio.service import RPCError, RPCStatusCode

from workflows.search import SEARCH_ATTRIBUTES

from .settings import Settings

_ENCODING = b"binary/encrypted"
# Which key encrypted a payload, so keys can be rotated: the newest encrypts,
# every key still configured decrypts (payloads written before key ids were
# recorded are tried against each).
_KEY_ID = "encryption-key-id"
# A placement's JSON shrinks to about a fifth compressed: every history, the
# server's database and each round trip carry that much less. Payloads
# written before compression have no such mark and are read as they are.
_COMPRESSION = "compression"
_ZLIB = b"zlib"
# What a payload that is not apflow's becomes: no converter reads this
# encoding, so an update carrying it is rejected, a signal dropped and an
# activity result never taken for an answer.
REFUSED_ENCODING = b"binary/refused-not-encrypted-by-apflow"
log = logging.getLogger("apflow")


def key_id(key: bytes) -> bytes:
    """A key's public name: the start of its SHA-256, which says nothing of the key."""
    return hashlib.sha256(key).hexdigest()[:16].encode()


class EncryptionCodec(PayloadCodec):
    """Compresses and encrypts every payload: children's data never rests in
    Temporal in the clear, and nothing reaches a workflow or the API that
    was not encrypted with one of the trust's keys. Someone able to reach
    the Temporal port without a key cannot make a placement act on their
    update, signal or activity result."""

    def __init__(self, keys: bytes | Sequence[bytes]):
        keys = [keys] if isinstance(keys, bytes) else list(keys)
        if not keys:
            raise ValueError("the payload codec needs at least one key")
        self._newest = key_id(keys[-1])
        self._by_id = {key_id(k): Fernet(k) for k in keys}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        fernet = self._by_id[self._newest]
        return [
            Payload(metadata={"encoding": _ENCODING, _KEY_ID: self._newest, _COMPRESSION: _ZLIB},
                    data=fernet.encrypt(zlib.compress(p.SerializeToString(), 1)))
            for p in payloads
        ]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decoded(p) for p in payloads]

    @staticmethod
    def encrypted(p: Payload) -> bool:
        """Whether `p` claims to be one of apflow's: a reader that merely shows
        payloads (the Web UI's) passes others through, unrefused and unlogged."""
        return p.metadata.get("encoding") == _ENCODING

    def _decoded(self, p: Payload) -> Payload:
        if not self.encrypted(p):
            return _refused("not encrypted")
        kid = p.metadata.get(_KEY_ID)
        if kid is None:  # written before payloads named their key
            candidates = list(self._by_id.values())
        else:
            candidates = [self._by_id[kid]] if kid in self._by_id else []
        for fernet in candidates:
            try:
                data = fernet.decrypt(p.data)
                break
            except InvalidToken:
                continue
        else:
            return _refused("not decrypted by any key configured here" if candidates else "encrypted with a key not configured here")
        if p.metadata.get(_COMPRESSION) == _ZLIB:
            data = zlib.decompress(data)
        decoded = Payload()
        decoded.ParseFromString(data)
        return decoded


def _refused(why: str) -> Payload:
    # Raising here would fail the whole workflow task, again at every retry:
    # one stray payload would stall the placement. Refused, it fails only what
    # carried it, where it is read.
    log.warning("payload refused: %s", why)
    return Payload(metadata={"encoding": REFUSED_ENCODING})


def data_converter(keys: bytes | Sequence[bytes]) -> DataConverter:
    return dataclasses.replace(pydantic_data_converter, payload_codec=EncryptionCodec(keys))


async def connect(settings: Settings) -> Client:
    """Every Temporal connection apflow makes: its codec, and mutual TLS
    when the settings name a certificate."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings.codec_keys),
        tls=settings.temporal_tls,
    )


# Retries start quick (a dev server answers within a second of taking its
# port) and back off to this, so a server down for long is not hammered.
RETRY_MAX_S = 5.0


async def connect_when_up(settings: Settings, wait_s: float | None = None, say_every_s: float = 10) -> Client:
    """A client once Temporal answers. The dev server takes its port a moment
    before its frontend answers ("Frontend is not healthy yet", more often on
    a busy machine), and a worker may start before its server: retry with
    backoff, for `wait_s` (None: until it answers), saying at once and then
    now and then what it waits for and why."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    said = None
    delay = 0.2
    while True:
        try:
            client = await connect(settings)
            if said is not None:
                log.warning("connected to Temporal at %s after %.0f s", settings.temporal_address, loop.time() - started)
            return client
        except RuntimeError as e:  # the SDK's "Failed client connect", a refused certificate too
            now = loop.time()
            if wait_s is not None and now - started > wait_s:
                raise SystemExit(f"could not connect to Temporal at {settings.temporal_address}: {e}") from None
            if said is None or now - said >= say_every_s:
                log.warning("waiting for Temporal at %s (%.0f s so far): %s", settings.temporal_address, now - started,
                            str(e).splitlines()[0][:300])
                said = now
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)


async def register_search_attributes(client: Client, namespace: str) -> None:
    """Adds the placement search attributes the namespace does not know yet
    (the time-skipping test server cannot list them: it is told them all)."""
    try:
        known = (await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )).custom_attributes
    except RPCError as e:
        if e.status is not RPCStatusCode.UNIMPLEMENTED:
            raise
        known = {}
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type)
        for key in SEARCH_ATTRIBUTES
        if key.name not in known
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
