"""One reader's connection: its channel positions and a bounded outbox.

Fan-out calls `deliver`/`push`, which never wait: a frame goes to the sender at once
when the socket has room and nothing waits before it (the sender writes it at the end
of the event-loop turn, with the socket's other frames of the turn: hub/coalesce.py);
otherwise it is appended to the outbox, which the writer drains in order, several
frames to a write. A reader whose outbox overflows is closed with CLOSE_SLOW and
recovers by resume; it never slows anyone else down.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import deque
from collections.abc import Callable
from typing import NamedTuple, Protocol

from . import protocol
from .domain.roles import PUBLIC

log = logging.getLogger(__name__)


# Frames from the outbox written at once (in one write) at most.
WRITE_BATCH = 64


class Delivery(NamedTuple):
    """One frame on its way to a reader."""

    #: The channel key; None for a frame outside any channel (welcome, ack, error, bye).
    channel: str | None
    #: The frame's offset on its channel (0 outside any channel).
    offset: int
    frame: bytes
    #: The frame's type where a transport must know it without reading the frame
    #: ("welcome": SSE takes the positions for its event ids from it); "" otherwise.
    kind: str = ""


class Sender(Protocol):
    """How frames reach one client: a websocket or an SSE stream."""

    async def send(self, entries: list[Delivery]) -> None:
        """Write `entries` in order (after anything written before), then wait while the
        socket has no room."""
        ...

    def try_write(self, entry: Delivery) -> bool:
        """Take `entry` when the socket takes it without waiting (it is written by the end
        of the turn, after what was taken before); False: queue it."""
        ...

    def write_event(self, frame: bytes) -> bool:
        """The same for a channel event's frame, which every reader of the event gets: the
        transport encodes it once per event for all of them (`EncodedOnce`)."""
        ...

    async def close(self, code: int, reason: str) -> None: ...


class _Gone:
    """The sender of a connection whose transport is gone: nothing is written."""

    async def send(self, entries: list[Delivery]) -> None:
        raise ConnectionResetError("the connection is gone")

    def try_write(self, entry: Delivery) -> bool:
        return False

    def write_event(self, frame: bytes) -> bool:
        return False

    async def close(self, code: int, reason: str) -> None:
        return None


_GONE = _Gone()


class EncodedOnce:
    """A transport's encoding of the frames fan-out gives every reader, built once per
    frame: the readers of one event are handed the same frame object one after the other,
    so the last one is kept (by identity: it is held, so its id is not reused).

    On the hot path (once per reader per event) a transport reads `frame` and `encoded`
    itself and calls `renew` only for a new frame: a call per delivery would cost more
    than the encoding it saves."""

    __slots__ = ("_encode", "encoded", "frame")

    def __init__(self, encode: Callable[[bytes], bytes]) -> None:
        self._encode = encode
        self.frame = b""
        self.encoded = encode(b"")

    def renew(self, frame: bytes) -> None:
        self.encoded = self._encode(frame)
        self.frame = frame

    def __call__(self, frame: bytes) -> bytes:
        if frame is not self.frame:
            self.renew(frame)
        return self.encoded


class ConnState(enum.Enum):
    JOINING = "joining"  # registered for live events, held until `welcome` is out
    OPEN = "open"
    CLOSED = "closed"


def _skipped(kind: str | None, frame: bytes) -> bool:
    if kind is not None:
        return kind in protocol.LITE_SKIPS
    return protocol.lite_skips(frame)  # a replayed frame from the log carries no kind


class Connection:
    """A client connection as fan-out sees it.

    Kept small: one of these lives per reader for the whole meeting (thousands per
    process). Slots, no per-connection event or idle task: the outbox deque exists only
    while frames wait in it, and the writer task only while it drains them.
    """

    __slots__ = (
        "_allowance", "_closing", "_held", "_on_slow", "_outbox", "_write_event", "_writer",
        "close_code", "identity", "lite", "name", "outbox_limit", "positions", "role",
        "sender", "state",
    )

    def __init__(self, sender: Sender, *, outbox_limit: int, on_slow: Callable[[], None]) -> None:
        self.sender = sender
        self.outbox_limit = outbox_limit
        self.state = ConnState.JOINING
        self.identity = ""
        self.role = ""
        self.name = ""
        self.lite = False  # low bandwidth: public item and order events are skipped
        # channel key -> offset of the last event queued for this client
        self.positions: dict[str, int] = {}
        self._outbox: deque[Delivery] | None = None  # made when a frame must wait
        self._held: list[Delivery] | None = None  # live events while joining
        self._writer: asyncio.Task[None] | None = None  # runs while the outbox is not empty
        self._on_slow = on_slow
        self._write_event = sender.write_event  # bound once: it runs per reader per event
        self._closing: asyncio.Task[None] | None = None
        # A resuming reader may be far behind: its replayed history does not count against
        # the outbox limit (it is in memory already); only what comes on top of it does.
        self._allowance = 0
        self.close_code: int | None = None

    def deliver(self, channel: str, offset: int, frame: bytes, kind: str | None = None) -> None:
        """Queue one channel event, dropping repeats; a hole means this reader must resync.
        This runs once per reader per event: it is kept lean (measured by bench/)."""
        positions = self.positions
        if self.state is not ConnState.OPEN:
            if self.state is ConnState.JOINING:
                held = self._held
                if held is None:
                    held = self._held = []
                held.append(Delivery(channel, offset, frame))
                if len(held) > self.outbox_limit:
                    self._slow()
            return
        last = positions.get(channel)
        if last is None or offset <= last:
            return
        if offset != last + 1:
            log.warning("gap on %s: at %s, got %s; asking the client to resume", channel, last,
                        offset)
            self.kick(protocol.CLOSE_SLOW, "resync", reconnect=True)
            return
        positions[channel] = offset
        if self.lite and channel == PUBLIC and _skipped(kind, frame):
            return  # seen, not sent: the position moves on, nothing goes on the wire
        # The fast path: nothing waiting and the socket has room, so write the event now
        # (encoded once for all its readers), with no task switch. Otherwise the writer
        # task sends in order.
        if not self._outbox and self._write_event(frame):
            return
        self._queue(Delivery(channel, offset, frame))

    def push(self, frame: bytes) -> None:
        """Queue a frame that is not part of any channel (ack, error, presence)."""
        if self.state is not ConnState.CLOSED:
            self._queue(Delivery(None, 0, frame))

    def _queue(self, entry: Delivery) -> None:
        outbox = self._outbox
        if not outbox:
            if self.state is ConnState.OPEN and self.sender.try_write(entry):
                return
            if outbox is None:
                outbox = self._outbox = deque()
        if len(outbox) >= self.outbox_limit + self._allowance:
            self._slow()
            return
        outbox.append(entry)
        if self._writer is None and self.state is ConnState.OPEN:
            self._writer = asyncio.create_task(self._write_loop(), name="hub-conn-writer")

    def _slow(self) -> None:
        log.warning("slow reader cut off", extra={"identity": self.identity, "role": self.role,
                                                  "code": protocol.CLOSE_SLOW})
        self._on_slow()
        self.kick(protocol.CLOSE_SLOW, "slow reader: too far behind; resume to catch up",
                  reconnect=True)

    def open(self, welcome: bytes, history: list[Delivery]) -> None:
        """Send `welcome`, then `history`, then what arrived while joining, then live events."""
        if self.state is not ConnState.JOINING:
            return
        self.state = ConnState.OPEN
        held, self._held = self._held, None
        if not history and not held and not self._outbox and self.sender.try_write(
            Delivery(None, 0, welcome, "welcome")
        ):
            return  # a fresh join on a socket with room: no task at all
        self._allowance = len(history) + 1
        outbox = self._outbox
        if outbox is None:
            outbox = self._outbox = deque()
        # Not empty now: what follows queues behind it.
        outbox.append(Delivery(None, 0, welcome, "welcome"))
        for each in [*history, *(held or ())]:
            assert each.channel is not None
            self.deliver(each.channel, each.offset, each.frame)
        if self._writer is None and self._outbox:
            self._writer = asyncio.create_task(self._write_loop(), name="hub-conn-writer")

    def kick(self, code: int, reason: str, *, reconnect: bool) -> None:
        """Say `bye`, then close: queued frames are dropped, the client resumes elsewhere."""
        if self.state is ConnState.CLOSED:
            return
        self.state = ConnState.CLOSED
        self.close_code = code
        if self._outbox:
            self._outbox.clear()  # the writer, if running, stops at its next frame
        self._outbox = None
        self._held = None
        bye = protocol.dump({"type": "bye", "code": code, "reason": reason, "reconnect": reconnect})
        self._closing = asyncio.create_task(self._close(bye, code, reason), name="hub-conn-close")

    async def _close(self, bye: bytes, code: int, reason: str) -> None:
        if self._writer is not None and self._writer is not asyncio.current_task():
            self._writer.cancel()
        try:
            await asyncio.wait_for(self.sender.send([Delivery(None, 0, bye)]), 2.0)
        except (ConnectionError, RuntimeError, TimeoutError, asyncio.CancelledError):
            pass
        try:
            await self.sender.close(code, reason)
        except (ConnectionError, RuntimeError):
            pass

    async def _write_loop(self) -> None:
        """Drain the outbox in order. It first runs at the end of the turn that queued
        its first frame, so what that turn queued goes out in one write; then whatever
        came while the socket had no room, up to WRITE_BATCH frames a write."""
        outbox = self._outbox
        try:
            while outbox and self.state is not ConnState.CLOSED:
                batch = [outbox.popleft()]
                while outbox and len(batch) < WRITE_BATCH:
                    batch.append(outbox.popleft())
                await self.sender.send(batch)
                if self._allowance:
                    self._allowance = max(0, self._allowance - len(batch))
        except (ConnectionError, RuntimeError) as exc:
            log.debug("writer stopped: %s", exc)
            self.state = ConnState.CLOSED
        finally:
            if self._writer is asyncio.current_task():
                self._writer = None
            if self._outbox is outbox and not outbox:
                self._outbox = None  # an idle reader keeps no deque

    def abandon(self) -> None:
        """The client is gone: stop the writer now (a goodbye in progress ends by itself)."""
        self.state = ConnState.CLOSED
        self._outbox = None
        self._held = None
        writer = self._writer
        if writer is not None and writer is not asyncio.current_task():
            writer.cancel()

    def release(self) -> None:
        """The transport is gone for good: let go of the sender too. It refers back to this
        connection; without this the pair would wait for the cycle collector's rare full
        passes (long-lived objects), and a meeting with many reconnects would pile them up."""
        self.abandon()
        self.sender = _GONE
        self._write_event = _GONE.write_event

    async def finish(self) -> None:
        """Let a goodbye in progress finish, then stop the writer (the client is gone)."""
        self.state = ConnState.CLOSED
        if self._closing is not None:
            await asyncio.wait([self._closing], timeout=3.0)
        writer = self._writer
        if writer is not None and not writer.done():
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
