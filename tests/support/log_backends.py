"""Event logs opened on a backend for the contract suite: batches, an inbox of
deliveries, and the backend that opens logs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from hub.log import Batch, ChannelEvent, EventLog
from hub.log.redis import RedisLog

DELIVERY_TIMEOUT = 10.0
EPOCH = "e1"


def batch(
    session: str, offset: int, *events: ChannelEvent, epoch: str = EPOCH, note: str = ""
) -> Batch:
    """A batch whose fact names its offset (and `note`, to tell rival batches apart)."""
    return Batch(
        session=session,
        offset=offset,
        epoch=epoch,
        ts=1_700_000_000_000 + offset,
        fact={"kind": "x", "n": offset, "note": note},
        events=events,
    )


def event(channel: str, offset: int, text: str = "") -> ChannelEvent:
    return ChannelEvent(
        channel, offset, b'{"type":"event","n":%d,"t":"%s"}' % (offset, text.encode())
    )


async def fill(log: EventLog, session: str, upto: int) -> list[Batch]:
    """Create `session` and append batches up to offset `upto`, one public event each."""
    made = [batch(session, n, event("public", n)) for n in range(1, upto + 1)]
    assert await log.create(made[0])
    for each in made[1:]:
        await log.append(each)
    return made


class Inbox:
    """A listener that records batches and lets a test wait for a count."""

    def __init__(self) -> None:
        self.batches: list[Batch] = []
        self._changed = asyncio.Event()

    def __call__(self, got: Batch) -> None:
        self.batches.append(got)
        self._changed.set()

    @property
    def offsets(self) -> list[int]:
        return [b.offset for b in self.batches]

    async def wait_count(self, count: int) -> None:
        async def until() -> None:
            while True:
                self._changed.clear()
                if len(self.batches) >= count:
                    return
                await self._changed.wait()

        await asyncio.wait_for(until(), DELIVERY_TIMEOUT)


@dataclass
class Backend:
    """Opens logs on one shared store: for Redis a new instance each time, embedded one."""

    name: str
    make: Callable[[], EventLog]
    opened: list[EventLog] = field(default_factory=list)

    async def open(self) -> EventLog:
        """A started log on the store (the embedded backend is one per process)."""
        if self.name == "embedded" and self.opened:
            return self.opened[0]
        log = self.make()
        await log.start()
        self.opened.append(log)
        return log

    async def settle(self, log: EventLog) -> None:
        """Wait until listeners registered on `log` are attached to the live feed."""
        if isinstance(log, RedisLog):
            await asyncio.wait_for(log.wait_subscribed(), DELIVERY_TIMEOUT)
