"""Temporal's mutual TLS as far as it can be tried here: the certificates
`apflow certs make` writes, checked by Python's ssl against a server that
requires a client certificate of the CA; and apflow's own Temporal client,
built from the settings, through such a server in front of the dev server
(`temporal server start-dev` itself serves no TLS). Temporal's server reading
the same files is configured in docker-compose.yml and not run here."""
from __future__ import annotations

import asyncio
import ssl

import pytest

from apflow import certs
from apflow.settings import Settings
from apflow.temporal import connect
from tests.conftest import CODEC_KEY
from tests.deploy.relay import Relay


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    folder = tmp_path_factory.mktemp("certs")
    certs.make(folder)
    return folder


def frontend_context(folder) -> ssl.SSLContext:
    """A server context as Temporal's frontend is configured: its certificate,
    and a client certificate signed by the CA required."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(folder / "ca.pem"))
    ctx.load_cert_chain(folder / "server.pem", folder / "server.key")
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.set_alpn_protocols(["h2"])  # gRPC
    return ctx


def client_context(folder, client: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(folder / "ca.pem"))
    if client is not None:
        ctx.load_cert_chain(folder / f"{client}.pem", folder / f"{client}.key")
    return ctx


async def exchange(port: int, ctx: ssl.SSLContext) -> bytes:
    """What the server answers to a client's line; its refusal comes as an
    alert at the handshake or at the first read (TLS 1.3)."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="temporal")
        writer.write(b"hello\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(100), 10)
        writer.close()
        return answer
    except (ssl.SSLError, ConnectionError):
        return b""


async def test_the_frontend_takes_apflow_clients_only(made, tmp_path):
    seen: list[str] = []

    async def answer(reader, writer):
        subject = dict(part[0] for part in writer.get_extra_info("peercert")["subject"])
        seen.append(subject["commonName"])
        await reader.readline()
        writer.write(b"welcome " + subject["commonName"].encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=frontend_context(made))
    port = server.sockets[0].getsockname()[1]
    stranger = tmp_path / "stranger"
    certs.make(stranger)  # another CA's "worker"
    try:
        for client in certs.CLIENTS:
            assert await exchange(port, client_context(made, client)) == f"welcome apflow {client}".encode()
        assert await exchange(port, client_context(made, None)) == b""
        ctx = client_context(made, None)
        ctx.load_cert_chain(stranger / "worker.pem", stranger / "worker.key")
        assert await exchange(port, ctx) == b""
    finally:
        server.close()
    assert seen == [f"apflow {c}" for c in certs.CLIENTS]  # no other handshake got through
    # The client checks the frontend too: a server certificate of another CA is refused.
    other = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=frontend_context(stranger))
    try:
        assert await exchange(other.sockets[0].getsockname()[1], client_context(made, "worker")) == b""
    finally:
        other.close()


def tls_settings(made, port: int, tmp_path, client: str | None = "worker") -> Settings:
    return Settings(
        temporal_address=f"127.0.0.1:{port}", payload_key=CODEC_KEY.decode(), var_dir=tmp_path,
        temporal_tls_ca_file=made / "ca.pem", temporal_tls_server_name="temporal",
        temporal_tls_cert_file=made / f"{client}.pem" if client else None,
        temporal_tls_key_file=made / f"{client}.key" if client else None,
    )


async def test_apflow_reaches_temporal_through_mutual_tls_with_its_certificate_only(made, dev_env, tmp_path):
    dev_port = int(dev_env.client.service_client.config.target_host.rsplit(":", 1)[1])
    async with Relay(dev_port, tls=frontend_context(made)) as frontend:
        client = await connect(tls_settings(made, frontend.port, tmp_path))
        assert await client.service_client.check_health()
        with pytest.raises(RuntimeError):
            await connect(tls_settings(made, frontend.port, tmp_path, client=None))
        with pytest.raises(RuntimeError):  # no TLS at all
            await connect(Settings(temporal_address=f"127.0.0.1:{frontend.port}", payload_key=CODEC_KEY.decode(),
                                   var_dir=tmp_path))


def test_the_settings_build_the_client_side(made, tmp_path):
    tls = tls_settings(made, 7233, tmp_path).temporal_tls
    assert tls.server_root_ca_cert == (made / "ca.pem").read_bytes()
    assert tls.client_cert == (made / "worker.pem").read_bytes()
    assert tls.client_private_key == (made / "worker.key").read_bytes()
    assert tls.domain == "temporal"
    assert Settings(var_dir=tmp_path).temporal_tls is False  # the dev server: plain
    with pytest.raises(SystemExit, match="APFLOW_TEMPORAL_TLS_CA_FILE: cannot read"):
        _ = Settings(var_dir=tmp_path, temporal_tls_ca_file=tmp_path / "missing.pem").temporal_tls


def test_keys_are_private_and_a_ca_is_never_overwritten(made):
    assert {p.name for p in made.iterdir()} == {
        f"{stem}.{ext}" for stem in ("ca", "server", *certs.CLIENTS) for ext in ("pem", "key")}
    assert all(p.stat().st_mode & 0o077 == 0 for p in made.glob("*.key"))
    before = (made / "ca.pem").read_bytes()
    with pytest.raises(SystemExit, match="already holds a CA"):
        certs.make(made)
    assert (made / "ca.pem").read_bytes() == before
