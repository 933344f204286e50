"""A TCP relay on loopback in front of a real server, for tests that need a
server that is not up yet (it closes every connection until `up`), one that
requires mutual TLS (it terminates TLS with a server context, as Temporal's
frontend does, and relays the plain bytes behind it), or a network that
fails under a running service: `down()` drops what is open and refuses what
comes, `hang()` holds every byte (new connections are accepted and hear
nothing), `cut()` drops what is open, `cut_when()` drops one connection at a
chosen point of what the client sends, and `restore()` lets bytes pass again.
`Threaded` runs one on a loop of its own, beside a service that blocks its own."""
from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
import time
from dataclasses import dataclass


@dataclass
class Fault:
    """How the next connection is cut, once the client has sent `marker`
    (compared without case): with `deliver`, the marker reaches the server and
    the server's answer to it is lost (the connection then drops), or with
    `hold` too, held with every other byte until `restore`; without, the
    server's side drops before the marker, and the client's bytes are
    swallowed until it has sent `swallow_until` (if given), then it drops too."""

    marker: bytes
    deliver: bool = False
    swallow_until: bytes | None = None
    hold: bool = False


class _Link:
    """One client's connection and the one to the server behind it."""

    def __init__(self, writer: asyncio.StreamWriter):
        self.client = writer
        self.server: asyncio.StreamWriter | None = None
        self.fault: Fault | None = None
        self.seen = b""  # the client's bytes so far, while a fault waits for its marker
        self.answer_lost = False  # the server's next bytes are dropped, then the connection

    def close(self) -> None:
        for w in (self.client, self.server):
            if w is not None:
                with contextlib.suppress(Exception):
                    w.close()


class Relay:
    def __init__(self, target_port: int, tls: ssl.SSLContext | None = None, up: bool = True):
        self.target_port, self.tls, self.up = target_port, tls, up
        self.port = 0
        self.refused = 0  # connections closed at once while not up
        self.refused_at: list[float] = []  # when each was (time.monotonic())
        self.accepted = 0  # connections relayed (or held, while hanging)
        self.cuts = 0  # connections cut by `cut`, `down` or a fault
        self.holding = False  # a `hold` fault's marker has gone to the server
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._links: set[_Link] = set()
        self._faults: list[Fault] = []
        self._server: asyncio.AbstractServer | None = None

    async def __aenter__(self) -> Relay:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self._flowing.set()
        self._cut_all()
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5)

    # --- what the network does -------------------------------------------------

    def down(self) -> None:
        """The server is gone: what is open drops, new connections are refused."""
        self.up = False
        self._flowing.set()
        self._cut_all()

    def hang(self) -> None:
        """Nothing answers: every byte is held (none lost), and new
        connections are accepted and hear nothing, until `restore`."""
        self.up = True
        self._flowing.clear()

    def cut(self) -> None:
        """Drops the connections open now; new ones pass as before."""
        self._cut_all()

    def cut_when(self, fault: Fault) -> None:
        """The next connection made is cut as `fault` says."""
        self._faults.append(fault)

    def restore(self) -> None:
        self.up = True
        self._flowing.set()

    def _cut_all(self) -> None:
        for link in list(self._links):
            self.cuts += 1
            link.close()
        self._links.clear()

    # --- relaying ----------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            self.refused += 1
            self.refused_at.append(time.monotonic())
            writer.close()
            return
        self.accepted += 1
        link = _Link(writer)
        link.fault = self._faults.pop(0) if self._faults else None
        self._links.add(link)
        try:
            await self._flowing.wait()  # hanging: accepted, and held silent
            if link not in self._links:
                return
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
            except OSError:
                return
            link.server = up_writer
            if link not in self._links:  # cut while connecting
                return
            await asyncio.gather(self._pipe(link, reader, up_writer, upstream=True),
                                 self._pipe(link, up_reader, writer, upstream=False))
        finally:
            self._links.discard(link)
            link.close()

    async def _pipe(self, link: _Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: bool) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                if link not in self._links:
                    return
                if upstream and link.fault is not None:
                    data = self._until_fault(link, data)
                    if data is None:
                        return
                elif not upstream and link.answer_lost:
                    self.cuts += 1
                    self._links.discard(link)
                    link.close()
                    return
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    def _until_fault(self, link: _Link, data: bytes) -> bytes | None:
        """What of the client's `data` goes on to the server; None once the
        link is done (its server side closed, the rest swallowed)."""
        fault = link.fault
        if link.server.is_closing():  # swallowing the rest
            seen = link.seen + data
            if fault.swallow_until and fault.swallow_until.lower() in seen.lower():
                self._finish(link)
                return None
            link.seen = seen[-len(fault.swallow_until or b"x"):]
            return b""
        before = len(link.seen)
        link.seen += data
        at = link.seen.lower().find(fault.marker.lower())
        if at < 0:
            link.seen = link.seen[-len(fault.marker):]
            return data
        end = at + len(fault.marker) - before  # where the marker ends within `data`
        if fault.deliver:
            if fault.hold:
                self.holding = True
                self._flowing.clear()  # the marker still goes: it is written once this returns
            else:
                link.answer_lost = True
            link.fault = None
            return data[:end]
        passing = data[:max(at - before, 0)]
        link.server.write(passing)
        link.server.close()  # the server sees its client gone mid-stream
        if fault.swallow_until is None:
            self._finish(link)
            return None
        link.seen = data[max(at - before, 0):]
        if fault.swallow_until.lower() in link.seen.lower():
            self._finish(link)
            return None
        return b""

    def _finish(self, link: _Link) -> None:
        self.cuts += 1
        self._links.discard(link)
        link.close()


class Threaded:
    """A relay on an event loop of its own thread, for a service whose own
    loop may block on the very connection relayed (a synchronous migration
    at start-up): each way of failing is done there and waited for."""

    def __init__(self, relay: Relay):
        self.relay = relay
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="relay", daemon=True)

    def __enter__(self) -> Threaded:
        self._thread.start()
        self._run(self.relay.__aenter__())
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._run(self.relay.__aexit__(None, None, None))
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            self._loop.close()

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def _call(self, fn, *args) -> None:
        async def call():
            fn(*args)
        self._run(call())

    def down(self) -> None:
        self._call(self.relay.down)

    def hang(self) -> None:
        self._call(self.relay.hang)

    def cut(self) -> None:
        self._call(self.relay.cut)

    def cut_when(self, fault: Fault) -> None:
        self._call(self.relay.cut_when, fault)

    def restore(self) -> None:
        self._call(self.relay.restore)

    def __getattr__(self, name: str):  # its counters and port, read as they are
        return getattr(self.relay, name)
