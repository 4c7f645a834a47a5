"""A TCP proxy on loopback that cuts, holds back, delays and counts a link.

It stands for the weak internet link between a hub's room and the meeting: `cut()`
aborts every connection through it (no close frame, as when a mobile link drops),
`down()` refuses new connections until `up()`, `delay` holds every chunk back for
that many seconds (in order), and `sent`/`received` count the bytes each way.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, field


@dataclass
class Proxy:
    target_port: int
    delay: float = 0.0  # seconds each chunk is held back, each way
    port: int = 0
    sent: int = 0  # bytes from clients to the target
    received: int = 0  # bytes from the target to clients
    connections: int = 0
    _server: asyncio.Server | None = None
    _links: set[asyncio.Task[None]] = field(default_factory=set)
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _refusing: bool = False
    _flapping: asyncio.Task[None] | None = None

    async def start(self) -> Proxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._flapping is not None:
            self._flapping.cancel()
            await asyncio.gather(self._flapping, return_exceptions=True)
        if self._server is not None:
            self._server.close()
        self.cut()
        for task in list(self._links):
            task.cancel()
        await asyncio.gather(*self._links, return_exceptions=True)

    def cut(self) -> None:
        """Every connection through the proxy dies at once, without a goodbye."""
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def down(self) -> None:
        """The link is gone: open connections are cut and new ones refused."""
        self._refusing = True
        self.cut()

    def up(self) -> None:
        self._refusing = False

    def flap(self, every: tuple[float, float], seed: int = 7) -> None:
        """Cut the link again and again, at random intervals in `every` (seconds)."""
        rng = random.Random(seed)

        async def flapping() -> None:
            while True:
                await asyncio.sleep(rng.uniform(*every))
                self.cut()

        self._flapping = asyncio.create_task(flapping())

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._refusing:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self.connections += 1
        self._writers.update((writer, up_writer))
        task = asyncio.current_task()
        assert task is not None
        self._links.add(task)
        try:
            await asyncio.gather(self._pump(reader, up_writer, "sent"),
                                 self._pump(up_reader, writer, "received"))
        except asyncio.CancelledError:
            pass  # the proxy closes: nothing left to carry
        finally:
            self._links.discard(task)
            for end in (writer, up_writer):
                self._writers.discard(end)
                end.transport.abort()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    counter: str) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def later() -> None:
            while True:
                due, chunk = await queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not chunk:
                    return
                writer.write(chunk)
                await writer.drain()

        sender = asyncio.create_task(later())
        try:
            while True:
                chunk = await reader.read(65536)
                setattr(self, counter, getattr(self, counter) + len(chunk))
                queue.put_nowait((time.monotonic() + self.delay, chunk))
                if not chunk:
                    break
            await sender
        except (ConnectionError, OSError):
            pass
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
                await sender
            writer.transport.abort()
