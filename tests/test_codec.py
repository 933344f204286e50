"""The payload codec: what rests in Temporal is compressed and encrypted under
a named key; payloads written before compression or key names still read;
what no key of the trust's encrypted is refused, not read."""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from temporalio.api.common.v1 import Payload

from apflow.temporal import REFUSED_ENCODING, EncryptionCodec, data_converter
from tests.conftest import CODEC_KEY

NAME = "Zoë Łukasiewicz"
NEW_KEY = Fernet.generate_key()


def placement_json() -> Payload:
    body = ('{"pupil": {"name": "%s"}, "history": [%s]}' % (NAME, ",".join(['{"action": "record_contact"}'] * 200))).encode()
    return Payload(metadata={"encoding": b"json/plain"}, data=body)


async def test_a_payload_round_trips_encrypted_named_and_smaller():
    codec = EncryptionCodec(CODEC_KEY)
    plain = placement_json()
    [stored] = await codec.encode([plain])
    assert NAME.encode() not in stored.data and b"record_contact" not in stored.data
    assert CODEC_KEY not in stored.metadata["encryption-key-id"]
    assert len(stored.data) < len(plain.SerializeToString()) / 2
    assert await codec.decode([stored]) == [plain]


async def test_a_payload_stored_before_compression_and_key_ids_still_reads():
    plain = placement_json()
    old = Payload(metadata={"encoding": b"binary/encrypted"}, data=Fernet(CODEC_KEY).encrypt(plain.SerializeToString()))
    assert await EncryptionCodec([CODEC_KEY, NEW_KEY]).decode([old]) == [plain]


async def test_a_rotated_key_encrypts_new_payloads_and_the_old_key_still_decrypts():
    plain = placement_json()
    [before] = await EncryptionCodec(CODEC_KEY).encode([plain])
    rotated = EncryptionCodec([CODEC_KEY, NEW_KEY])
    [after] = await rotated.encode([plain])
    assert after.metadata["encryption-key-id"] != before.metadata["encryption-key-id"]
    assert await rotated.decode([before, after]) == [plain, plain]
    # Once the old key is retired, what it encrypted no longer reads: nothing is guessed.
    [gone] = await EncryptionCodec(NEW_KEY).decode([before])
    assert gone.metadata["encoding"] == REFUSED_ENCODING


@pytest.mark.parametrize("payload", [
    placement_json(),  # plain JSON, as a client with no key sends it
    Payload(metadata={"encoding": b"binary/encrypted"}, data=Fernet(Fernet.generate_key()).encrypt(b"x")),
    Payload(metadata={"encoding": b"binary/encrypted", "encryption-key-id": b"0123456789abcdef"}, data=b"x"),
], ids=["plain", "someone else's key", "unknown key id"])
async def test_what_no_key_of_ours_encrypted_is_refused_and_cannot_be_read(payload):
    [decoded] = await EncryptionCodec(CODEC_KEY).decode([payload])
    assert decoded.metadata["encoding"] == REFUSED_ENCODING and not decoded.data
    with pytest.raises(Exception):
        data_converter(CODEC_KEY).payload_converter.from_payloads([decoded])
