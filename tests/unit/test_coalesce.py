"""Coalesced writes without a socket: the end-of-turn flush (`hub.coalesce.Coalescer`) and
the outbox's writer, which sends what waits in batches (`hub.connection.Connection`)."""

from __future__ import annotations

import asyncio
from typing import Any

from hub import protocol
from hub.coalesce import Coalescer
from hub.connection import WRITE_BATCH, Connection, ConnState, Delivery


class Socket:
    """A socket as the coalescer sees it: frames kept during the turn, written at flush."""

    def __init__(self, name: str, written: list[tuple[str, list[str]]],
                 coalescer: Coalescer) -> None:
        self.name = name
        self.written = written
        self.coalescer = coalescer
        self.pending: list[str] = []

    def write(self, frame: str) -> None:
        if not self.pending:
            self.coalescer.add(self)
        self.pending.append(frame)

    def flush(self) -> None:
        pending, self.pending = self.pending, []
        self.written.append((self.name, pending))


async def test_what_a_turn_writes_goes_out_at_its_end_one_write_per_socket() -> None:
    written: list[tuple[str, list[str]]] = []
    coalescer = Coalescer()
    a, b = Socket("a", written, coalescer), Socket("b", written, coalescer)
    for n in range(3):
        a.write(f"e{n}")
        b.write(f"e{n}")
    assert written == [] and len(coalescer) == 2  # not before the end of the turn
    await asyncio.sleep(0)
    assert written == [("a", ["e0", "e1", "e2"]), ("b", ["e0", "e1", "e2"])]
    assert len(coalescer) == 0
    a.write("e3")  # the next turn: a flush of its own
    await asyncio.sleep(0)
    assert written[2:] == [("a", ["e3"])]


async def test_a_long_flush_yields_and_what_comes_meanwhile_joins_the_writes_to_come() -> None:
    written: list[tuple[str, list[str]]] = []
    coalescer = Coalescer(slice_seconds=0.0)  # yields after every 64 sockets
    sockets = [Socket(f"s{n}", written, coalescer) for n in range(200)]
    for sock in sockets:
        sock.write("e1")
    await asyncio.sleep(0)
    assert [name for name, _ in written] == [f"s{n}" for n in range(64)]
    for sock in sockets:  # the next event reaches everyone before the flush is done
        sock.write("e2")
    for _ in range(10):  # 400 flushes at 64 a turn: 7 turns
        await asyncio.sleep(0)
    assert len(coalescer) == 0
    frames: dict[str, list[str]] = {}
    for name, pending in written:
        frames.setdefault(name, []).extend(pending)
    assert frames == {f"s{n}": ["e1", "e2"] for n in range(200)}  # nothing lost, in order
    # The sockets not flushed yet took e2 in the same write; those flushed came again,
    # behind them.
    assert written[64:200] == [(f"s{n}", ["e1", "e2"]) for n in range(64, 200)]
    assert written[200:] == [(f"s{n}", ["e2"]) for n in range(64)]


async def test_a_socket_whose_flush_fails_does_not_hold_up_the_others() -> None:
    errors: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _, ctx: errors.append(ctx))
    written: list[tuple[str, list[str]]] = []
    coalescer = Coalescer()

    class Broken(Socket):
        def flush(self) -> None:
            self.pending = []
            raise OSError("broken")

    first, broken, last = (Socket("first", written, coalescer), Broken("x", written, coalescer),
                           Socket("last", written, coalescer))
    for sock in (first, broken, last):
        sock.write("e")
    for _ in range(3):
        await asyncio.sleep(0)
    assert written == [("first", ["e"]), ("last", ["e"])]
    assert len(errors) == 1 and isinstance(errors[0]["exception"], OSError)
    first.write("again")  # the coalescer still flushes
    await asyncio.sleep(0)
    assert written[-1] == ("first", ["again"])


class Sender:
    """A sender whose socket has room or not; records what it is given and how."""

    def __init__(self) -> None:
        self.room = True
        self.taken: list[bytes] = []  # given to write at the end of the turn
        self.sends: list[list[bytes]] = []  # the writer's batches
        self.closed: tuple[int, str] | None = None

    async def send(self, entries: list[Delivery]) -> None:
        self.sends.append([entry.frame for entry in entries])

    def try_write(self, entry: Delivery) -> bool:
        return self.write_event(entry.frame)

    def write_event(self, frame: bytes) -> bool:
        if self.room:
            self.taken.append(frame)
        return self.room

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


def event(offset: int) -> bytes:
    return b'{"type":"event","offset":%d}' % offset


async def test_the_outbox_goes_out_in_order_several_frames_a_write() -> None:
    sender = Sender()
    conn = Connection(sender, outbox_limit=1000, on_slow=lambda: None)
    conn.positions = {"public": 0}
    history = [Delivery("public", n, event(n)) for n in range(1, 101)]
    conn.open(b'{"type":"welcome"}', history)
    conn.deliver("public", 101, event(101))  # live, behind the history
    conn.push(b'{"type":"ack"}')
    assert sender.sends == []  # the writer runs at the end of the turn
    for _ in range(5):
        await asyncio.sleep(0)
    frames = [frame for batch in sender.sends for frame in batch]
    assert frames == [b'{"type":"welcome"}', *(event(n) for n in range(1, 102)),
                      b'{"type":"ack"}']
    assert [len(batch) for batch in sender.sends] == [WRITE_BATCH, 103 - WRITE_BATCH]
    conn.deliver("public", 102, event(102))  # the outbox is empty again: straight to the socket
    assert sender.taken == [event(102)]
    await conn.finish()


async def test_a_slow_reader_is_still_cut_off_when_its_outbox_overflows() -> None:
    slow: list[bool] = []
    sender = Sender()
    sender.room = False
    conn = Connection(sender, outbox_limit=8, on_slow=lambda: slow.append(True))
    conn.positions = {"public": 0}
    conn.open(b'{"type":"welcome"}', [])
    for n in range(1, 20):
        conn.deliver("public", n, event(n))
    assert slow == [True] and conn.state is ConnState.CLOSED
    assert conn.close_code == protocol.CLOSE_SLOW
    await conn.finish()
    sent = [frame for batch in sender.sends for frame in batch]
    assert b'"type":"bye"' in sent[-1] and sender.closed is not None
    assert sender.closed[0] == protocol.CLOSE_SLOW
    assert not any(b'"type":"event"' in frame for frame in sent)  # dropped, not sent
