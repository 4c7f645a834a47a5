"""Writes coalesced per socket: what fan-out hands a reader within one event-loop turn
goes out in one write at the end of the turn.

A transport's sender keeps the frames written to its socket during the turn (its
*pending* bytes) and registers with the `Coalescer` on the first one. The coalescer
flushes the registered sockets at the end of the turn, one `loop.call_soon` for all of
them, in the order they registered, each with one write of everything pending on it.
One event in a turn therefore costs what it did (one write per socket); several events
in a turn (a batch with several events, a page of the log caught up, a burst of the
feed) cost one write per socket instead of one per event.

A flush to thousands of sockets yields to the event loop every `FLUSH_SLICE` seconds
and goes on at the next turn with the sockets not flushed yet. What comes in meanwhile
(the next caption, when the hub is busy) is appended to those sockets' pending writes
and goes out with them; sockets already flushed register again, behind the others. So
the busier the hub, the more frames each write carries, and an idle hub writes each
event at the end of the turn that produced it, as before. Nothing waits for a timer.

Bounded: a socket registers when it gets its first frame since it was last flushed, so
the queue holds one entry per socket with frames pending (and, for a socket flushed
early, as a command's ack is, an entry its flush finds empty); what a sender keeps
pending is bounded by the sender (past its bound it refuses, and the frame goes through
the connection's bounded outbox: see `hub.connection`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

# How long one flush writes before it lets the event loop run (and new events join the
# writes still to come).
FLUSH_SLICE = 0.001
# Sockets flushed between two looks at the clock.
_CLOCK_EVERY = 64


class Pending(Protocol):
    """A socket with frames pending: `flush` writes them (or drops them when the socket
    has closed meanwhile) and leaves nothing pending."""

    def flush(self) -> None: ...


class Coalescer:
    """The end-of-turn flush of every socket of one endpoint (shared by its connections)."""

    __slots__ = ("_queue", "_scheduled", "_slice")

    def __init__(self, slice_seconds: float | None = None) -> None:
        self._queue: list[Pending] = []
        self._scheduled = False
        self._slice = FLUSH_SLICE if slice_seconds is None else slice_seconds

    def add(self, pending: Pending) -> None:
        """Flush `pending` at the end of this turn (after those added before it). Call it
        once when a socket's first frame of the turn is kept, not for every frame."""
        self._queue.append(pending)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def __len__(self) -> int:
        """Sockets waiting for their flush."""
        return len(self._queue)

    def flush(self) -> None:
        """Flush the sockets in the order they came, for one slice of time at most; the
        rest, then those added meanwhile, at the next turn."""
        queue, self._queue = self._queue, []
        done = 0
        try:
            deadline = time.monotonic() + self._slice
            for pending in queue:
                done += 1  # before the call: a socket whose flush raised is not retried
                pending.flush()
                if not done % _CLOCK_EVERY and time.monotonic() > deadline:
                    break
        finally:
            if done < len(queue):
                self._queue = queue[done:] + self._queue
            if self._queue:
                asyncio.get_running_loop().call_soon(self.flush)
            else:
                self._scheduled = False
