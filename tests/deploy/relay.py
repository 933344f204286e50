"""A TCP relay on loopback in front of a real server, for tests that need a
server that is not up yet (it closes every connection until `up`) or one
that requires mutual TLS (it terminates TLS with a server context, as
Temporal's frontend does, and relays the plain bytes behind it)."""
from __future__ import annotations

import asyncio
import contextlib
import ssl


class Relay:
    def __init__(self, target_port: int, tls: ssl.SSLContext | None = None, up: bool = True):
        self.target_port, self.tls, self.up = target_port, tls, up
        self.port = 0
        self.refused = 0  # connections closed at once while not up
        self._server: asyncio.AbstractServer | None = None

    async def __aenter__(self) -> Relay:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            self.refused += 1
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
