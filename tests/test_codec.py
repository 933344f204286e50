"""The payload codec: what rests in Temporal is compressed and encrypted, and
payloads written before compression still read."""
from __future__ import annotations

from cryptography.fernet import Fernet
from temporalio.api.common.v1 import Payload

from apflow.temporal import EncryptionCodec
from tests.conftest import CODEC_KEY

NAME = "Zoë Łukasiewicz"


def placement_json() -> Payload:
    body = ('{"pupil": {"name": "%s"}, "history": [%s]}' % (NAME, ",".join(['{"action": "record_contact"}'] * 200))).encode()
    return Payload(metadata={"encoding": b"json/plain"}, data=body)


async def test_a_payload_round_trips_encrypted_and_smaller():
    codec = EncryptionCodec(CODEC_KEY)
    plain = placement_json()
    [stored] = await codec.encode([plain])
    assert NAME.encode() not in stored.data and b"record_contact" not in stored.data
    assert len(stored.data) < len(plain.SerializeToString()) / 2
    assert await codec.decode([stored]) == [plain]


async def test_a_payload_stored_before_compression_still_reads():
    plain = placement_json()
    old = Payload(metadata={"encoding": b"binary/encrypted"}, data=Fernet(CODEC_KEY).encrypt(plain.SerializeToString()))
    assert await EncryptionCodec(CODEC_KEY).decode([old]) == [plain]
