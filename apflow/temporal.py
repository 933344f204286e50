"""The Temporal side of the shell: the data converter (pydantic payloads,
encrypted at rest in the server) and the placement search attributes."""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import zlib
from typing import Sequence

from cryptography.fernet import Fernet
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
# A placement's JSON shrinks to about a fifth compressed: every history, the
# server's database and each round trip carry that much less. Payloads
# written before compression have no such mark and are read as they are.
_COMPRESSION = "compression"
_ZLIB = b"zlib"
log = logging.getLogger("apflow")


class EncryptionCodec(PayloadCodec):
    """Compresses and encrypts every payload: children's data never rests in
    Temporal in the clear."""

    def __init__(self, key: bytes):
        self._fernet = Fernet(key)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            Payload(metadata={"encoding": _ENCODING, _COMPRESSION: _ZLIB},
                    data=self._fernet.encrypt(zlib.compress(p.SerializeToString(), 1)))
            for p in payloads
        ]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in payloads:
            if p.metadata.get("encoding") != _ENCODING:
                out.append(p)
                continue
            data = self._fernet.decrypt(p.data)
            if p.metadata.get(_COMPRESSION) == _ZLIB:
                data = zlib.decompress(data)
            decoded = Payload()
            decoded.ParseFromString(data)
            out.append(decoded)
        return out


def data_converter(key: bytes) -> DataConverter:
    return dataclasses.replace(pydantic_data_converter, payload_codec=EncryptionCodec(key))


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings.codec_key),
    )


async def connect_when_up(settings: Settings, wait_s: float | None = None, say_every_s: float = 10) -> Client:
    """A client once Temporal answers. The dev server takes its port a moment
    before its frontend answers ("Frontend is not healthy yet", more often on
    a busy machine), and a worker may start before its server: retry, for
    `wait_s` (None: until it answers), saying now and then what it waits for."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    said = started
    while True:
        try:
            return await connect(settings)
        except RuntimeError as e:  # the SDK's "Failed client connect"
            now = loop.time()
            if wait_s is not None and now - started > wait_s:
                raise SystemExit(f"could not connect to Temporal at {settings.temporal_address}: {e}") from None
            if now - said >= say_every_s:
                log.warning("waiting for Temporal at %s (%.0f s so far)", settings.temporal_address, now - started)
                said = now
            await asyncio.sleep(0.2)


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
