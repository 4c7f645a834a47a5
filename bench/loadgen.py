"""A lean websocket load generator: raw asyncio protocols, minimal frame parsing.

Two wire dialects, so that the client side costs the same whatever the server:

- ``hub``: the hub's own protocol (docs/protocol.md). A reader sends ``hello`` with a
  join link, keeps ``welcome.you.token`` and each channel's epoch and offset, drops
  repeats by offset, and when the server closes it with ``reconnect`` (a ``bye``
  4000 for a slow reader, 1012 on restart) or it sees a hole, it reconnects with
  ``hello.resume``, as a real client does. The ``limit`` peer speaks this dialect too.
- ``sio``: Engine.IO v4 / Socket.IO v5 over a raw websocket
  (``/socket.io/?EIO=4&transport=websocket``): ``0{...}`` open, ``40`` connect,
  ``42["hello",{room}]`` / ``42["welcome",...]``, events ``42["caption",{...}]``,
  acks ``43<id>[...]``, pings ``2`` answered by ``3``.

A reader scans incoming text frames for the send time that a benchmark caption embeds
(``"text":"t=<unix time>"``) and records one latency per delivery in a process-wide
``Stats``. Nothing else is decoded per delivery.

The module is also the client **worker process** that bench/run.py starts (several,
pinned to the client core): ``python -m bench.loadgen worker`` reads one JSON command
per line on stdin and answers one JSON line on stdout (``join``, ``stats``, ``reset``,
``drop``, ``close``). It exits when stdin closes, so it never outlives its parent.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import math
import os
import random
import struct
import sys
import time
from array import array
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson

MARK = b'"text":"t='
EVENT_HEAD = b'{"type":"event","channel":"'
OFFSET_KEY = b'"offset":'
MAX_RESUMES = 20  # per reader and run: bounded, whatever the server does


def masked_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """A client frame (clients must mask, RFC 6455 5.3)."""
    mask = os.urandom(4)
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    if not size:
        return header + mask
    key = (mask * (size // 4 + 1))[:size]
    body = (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(
        size, "little")
    return header + mask + body


def masked_text_frame(payload: bytes) -> bytes:
    return masked_frame(payload, 0x1)


def upgrade_request(host: str, path: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n").encode()


class Stats:
    """What every reader of this process saw, since the last reset."""

    def __init__(self) -> None:
        self.reset()
        self.resumes = 0
        self.recovered = 0
        self.not_recovered = 0
        self.resume_failed = 0
        self.closes: Counter[int] = Counter()
        self.byes = 0

    def reset(self) -> None:
        self.latencies = array("d")
        self.sent = array("d")  # the send times, only when tracing (`trace` in a stats op)
        self.trace = getattr(self, "trace", False)
        self.captions = 0  # caption deliveries, repeats dropped
        self.events = 0  # every channel event, repeats dropped
        self.repeats = 0
        self.holes = 0
        self.first_rx = 0.0
        self.last_rx = 0.0

    def counters(self) -> dict[str, Any]:
        return {"captions": self.captions, "events": self.events, "repeats": self.repeats,
                "holes": self.holes, "resumes": self.resumes, "recovered": self.recovered,
                "not_recovered": self.not_recovered, "resume_failed": self.resume_failed,
                "byes": self.byes, "closes": {str(k): v for k, v in self.closes.items()},
                "first_rx": self.first_rx, "last_rx": self.last_rx}


STATS = Stats()

# Latency histogram: 2 % wide buckets from 10 us up; percentiles are good to ~2 %.
_LOG_STEP = math.log(1.02)
_FLOOR = 1e-5


def bucket(seconds: float) -> int:
    return int(math.log(max(seconds, _FLOOR) / _FLOOR) / _LOG_STEP)


def bucket_value(index: int) -> float:
    return _FLOOR * math.exp((index + 0.5) * _LOG_STEP)


def histogram(latencies: array[float]) -> dict[int, int]:
    return dict(Counter(bucket(x) for x in latencies))


def percentiles(hist: dict[int, int], qs: tuple[float, ...]) -> list[float | None]:
    total = sum(hist.values())
    if not total:
        return [None for _ in qs]
    out: list[float | None] = []
    items = sorted(hist.items())
    for q in qs:
        rank = q * total
        seen = 0
        for index, count in items:
            seen += count
            if seen >= rank:
                out.append(bucket_value(index))
                break
        else:
            out.append(bucket_value(items[-1][0]))
    return out


class Reader(asyncio.Protocol):
    """One websocket reader, speaking the ``hub`` or the ``sio`` dialect."""

    def __init__(self, host: str, port: int, path: str, hello: dict[str, Any],
                 dialect: str = "hub", stats: Stats = STATS, resume: bool = True) -> None:
        self.host, self.port, self.path, self.hello = host, port, path, dict(hello)
        self.dialect = dialect
        self.stats = stats
        self.resume_enabled = resume and dialect == "hub"
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        loop = asyncio.get_running_loop()
        self.loop = loop
        self.welcomed: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.positions: dict[bytes, list[Any]] = {}  # channel -> [epoch, offset]
        self.token = hello.get("token")
        self.stopping = False
        self.resumes = 0
        self.joined_at = 0.0
        self.close_code: int | None = None
        self.reconnect = False
        self.latencies: list[float] = []  # kept for bench/fanout.py compatibility (unused)

    # -- connecting --------------------------------------------------------------------

    async def connect(self) -> None:
        self.buffer = bytearray()
        self.upgraded = False
        self.close_code = None
        self.reconnect = False
        await self.loop.create_connection(lambda: self, self.host, self.port)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        transport.write(upgrade_request(f"{self.host}:{self.port}", self.path))

    def send_text(self, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(masked_frame(payload))

    def _hello_frame(self) -> bytes:
        hello = dict(self.hello)
        if self.dialect == "hub" and self.positions:
            hello["token"] = self.token
            hello["resume"] = {ch.decode(): {"epoch": pos[0], "offset": pos[1]}
                               for ch, pos in self.positions.items()}
        return orjson.dumps(hello)

    # -- receiving ---------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.fail(RuntimeError(bytes(buf[:end]).decode(errors="replace")))
                return
            del buf[: end + 4]
            self.upgraded = True
            if self.dialect == "hub":
                self.send_text(self._hello_frame())
        now = time.time()
        pos = 0
        size = len(buf)
        while size - pos >= 2:
            head = buf[pos]
            length = buf[pos + 1] & 0x7F
            start = pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length = struct.unpack_from("!H", buf, pos + 2)[0]
                start = pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = struct.unpack_from("!Q", buf, pos + 2)[0]
                start = pos + 10
            end = start + length
            if size < end:
                break
            pos = end
            opcode = head & 0x0F
            if opcode == 0x1:
                if self.dialect == "hub":
                    self._hub_text(buf, start, end, now)
                else:
                    self._sio_text(buf, start, end, now)
            elif opcode == 0x9:
                assert self.transport is not None
                self.transport.write(masked_frame(bytes(buf[start:end]), 0xA))
            elif opcode == 0x8:
                self.close_code = struct.unpack_from("!H", buf, start)[0] if length >= 2 else 1005
                self.stats.closes[self.close_code] += 1
                if self.transport is not None and not self.transport.is_closing():
                    self.transport.write(masked_frame(bytes(buf[start:start + 2]), 0x8))
                    self.transport.close()
                break
        del buf[:pos]

    def _hub_text(self, buf: bytearray, start: int, end: int, now: float) -> None:
        if buf.startswith(EVENT_HEAD, start):
            cs = start + len(EVENT_HEAD)
            ce = buf.index(b'"', cs)
            channel = bytes(buf[cs:ce])
            at = buf.index(OFFSET_KEY, ce) + len(OFFSET_KEY)
            offset = int(buf[at:buf.index(b",", at)])
            pos = self.positions.get(channel)
            if pos is not None:
                last = pos[1]
                if offset <= last:
                    self.stats.repeats += 1
                    return
                if offset != last + 1:  # a hole: resume, as the protocol says
                    self.stats.holes += 1
                    self.reconnect = True
                    if self.transport is not None:
                        self.transport.close()
                    return
                pos[1] = offset
            stats = self.stats
            stats.events += 1
            mark = buf.find(MARK, ce, end)
            if mark >= 0:
                mark += len(MARK)
                sent = float(buf[mark:buf.index(b'"', mark)])
                stats.latencies.append(now - sent)
                if stats.trace:
                    stats.sent.append(sent)
                stats.captions += 1
                if not stats.first_rx:
                    stats.first_rx = now
                stats.last_rx = now
            return
        if buf.startswith(b'{"type":"welcome"', start):
            self._welcome(orjson.loads(bytes(buf[start:end])))
        elif buf.startswith(b'{"type":"bye"', start):
            bye = orjson.loads(bytes(buf[start:end]))
            self.stats.byes += 1
            self.reconnect = bool(bye.get("reconnect"))
        elif buf.startswith(b'{"type":"error"', start) and not self.welcomed.done():
            self.fail(RuntimeError(bytes(buf[start:end]).decode(errors="replace")))

    def _welcome(self, welcome: dict[str, Any]) -> None:
        you = welcome.get("you") or {}
        if you.get("token"):
            self.token = you["token"]
        channels = welcome.get("channels") or {}
        recovered = all(c.get("recovered") for c in channels.values()) and bool(channels)
        if self.resumes:
            if recovered:
                self.stats.recovered += 1
            else:
                self.stats.not_recovered += 1
        self.positions = {name.encode(): [c["epoch"], c["offset"]]
                          for name, c in channels.items()}
        if not self.welcomed.done():
            self.joined_at = time.perf_counter()
            self.welcomed.set_result(None)

    def _sio_text(self, buf: bytearray, start: int, end: int, now: float) -> None:
        kind = buf[start]
        if kind == 0x34 and end - start > 1:  # '4': a socket.io packet
            sub = buf[start + 1]
            if sub == 0x32:  # '42': an event
                mark = buf.find(MARK, start, end)
                if mark >= 0:
                    mark += len(MARK)
                    stats = self.stats
                    stats.latencies.append(now - float(buf[mark:buf.index(b'"', mark)]))
                    stats.captions += 1
                    stats.events += 1
                    if not stats.first_rx:
                        stats.first_rx = now
                    stats.last_rx = now
                elif buf.startswith(b'42["welcome"', start):
                    if not self.welcomed.done():
                        self.joined_at = time.perf_counter()
                        self.welcomed.set_result(None)
                else:
                    self.stats.events += 1
            elif sub == 0x30:  # '40': connected to the namespace
                self.send_text(b'42["hello",' + orjson.dumps(self.hello) + b"]")
            elif sub == 0x31:  # '41': disconnected
                if self.transport is not None:
                    self.transport.close()
        elif kind == 0x32:  # '2': engine.io ping
            self.send_text(b"3")
        elif kind == 0x30:  # '0': engine.io open
            self.send_text(b"40")

    # -- closing and resuming ------------------------------------------------------------

    def fail(self, exc: Exception) -> None:
        if not self.welcomed.done():
            self.welcomed.set_exception(exc)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.welcomed.done():
            self.welcomed.set_exception(exc or ConnectionError(
                f"closed before welcome ({self.close_code})"))
            self.welcomed.exception()  # retrieved: the join reports it
        elif (self.resume_enabled and not self.stopping and self.resumes < MAX_RESUMES
              and (self.reconnect or self.close_code in (None, 1006, 1011, 1012, 4000))):
            self.resumes += 1
            self.stats.resumes += 1
            self.loop.create_task(self._resume())
            return
        if not self.closed.done():
            self.closed.set_result(None)

    async def _resume(self) -> None:
        await asyncio.sleep(random.uniform(0.05, 0.5))  # back off, spread out
        if self.stopping:
            return
        try:
            await asyncio.wait_for(self.connect(), 10)
        except (OSError, TimeoutError):
            self.stats.resume_failed += 1
            if not self.closed.done():
                self.closed.set_result(None)

    def drop(self) -> None:
        """The network goes away (no close frame): the reader comes back with resume."""
        if self.transport is not None:
            self.transport.abort()

    def stop(self) -> None:
        self.stopping = True
        if self.transport is not None:
            self.transport.abort()


async def open_reader(host: str, port: int, path: str, hello: dict[str, Any],
                      dialect: str = "hub", stats: Stats = STATS) -> Reader:
    reader = Reader(host, port, path, hello, dialect, stats)
    await reader.connect()
    return reader


# -- a full JSON client: the captioner, askers and moderators ---------------------------

class JsonClient(asyncio.Protocol):
    """A client that decodes every frame (for the few clients that talk, not the readers).

    ``hub`` dialect: ``request(frame)`` adds a ``ref`` and resolves with the ``ack``
    (or ``error``). ``sio`` dialect: ``request`` emits ``42<id>["caption",...]`` style
    packets and resolves with the ``43<id>[...]`` ack."""

    def __init__(self, host: str, port: int, path: str, hello: dict[str, Any],
                 dialect: str = "hub", on_frame: Callable[[dict[str, Any]], None] | None = None,
                 ) -> None:
        self.host, self.port, self.path, self.hello = host, port, path, hello
        self.dialect = dialect
        self.on_frame = on_frame
        self.buffer = bytearray()
        self.upgraded = False
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_running_loop()
        self.welcomed: asyncio.Future[dict[str, Any]] = self.loop.create_future()
        self.pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.next_ref = 0
        self.errors: Counter[str] = Counter()

    async def connect(self) -> dict[str, Any]:
        await self.loop.create_connection(lambda: self, self.host, self.port)
        return await asyncio.wait_for(self.welcomed, 30)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        transport.write(upgrade_request(f"{self.host}:{self.port}", self.path))

    def send_text(self, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(masked_frame(payload))

    def request(self, frame: dict[str, Any], event: str = "caption") -> asyncio.Future[Any]:
        self.next_ref += 1
        ref = str(self.next_ref)
        fut: asyncio.Future[dict[str, Any]] = self.loop.create_future()
        self.pending[ref] = fut
        if self.dialect == "hub":
            self.send_text(orjson.dumps({**frame, "ref": ref}))
        else:
            self.send_text(b"42" + ref.encode() + orjson.dumps([event, frame]))
        return fut

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                if not self.welcomed.done():
                    self.welcomed.set_exception(RuntimeError(bytes(buf[:end]).decode()))
                return
            del buf[: end + 4]
            self.upgraded = True
            if self.dialect == "hub":
                self.send_text(orjson.dumps(self.hello))
        while len(buf) >= 2:
            opcode = buf[0] & 0x0F
            length = buf[1] & 0x7F
            start = 2
            if length == 126:
                if len(buf) < 4:
                    return
                length, start = struct.unpack_from("!H", buf, 2)[0], 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length, start = struct.unpack_from("!Q", buf, 2)[0], 10
            if len(buf) < start + length:
                return
            payload = bytes(buf[start:start + length])
            del buf[:start + length]
            if opcode == 0x9:
                assert self.transport is not None
                self.transport.write(masked_frame(payload, 0xA))
            elif opcode == 0x8:
                if self.transport is not None:
                    self.transport.close()
                return
            elif opcode == 0x1:
                self._text(payload)

    def _text(self, payload: bytes) -> None:
        if self.dialect == "sio":
            if payload == b"2":
                self.send_text(b"3")
            elif payload.startswith(b"0"):
                self.send_text(b"40")
            elif payload.startswith(b"40"):
                self.send_text(b'42["hello",' + orjson.dumps(self.hello) + b"]")
            elif payload.startswith(b'42["welcome"') and not self.welcomed.done():
                self.welcomed.set_result(orjson.loads(payload[2:])[1])
            elif payload.startswith(b"43"):
                at = payload.index(b"[")
                fut = self.pending.pop(payload[2:at].decode(), None)
                if fut is not None and not fut.done():
                    fut.set_result(orjson.loads(payload[at:])[0])
            return
        frame = orjson.loads(payload)
        kind = frame.get("type")
        if kind == "welcome" and not self.welcomed.done():
            self.welcomed.set_result(frame)
        elif kind in ("ack", "error", "pong"):
            if kind == "error":
                self.errors[frame.get("code", "?")] += 1
                if not self.welcomed.done():
                    self.welcomed.set_exception(RuntimeError(str(frame)))
            fut = self.pending.pop(str(frame.get("ref")), None)
            if fut is not None and not fut.done():
                fut.set_result(frame)
        if self.on_frame is not None:
            self.on_frame(frame)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.welcomed.done():
            self.welcomed.set_exception(exc or ConnectionError("closed before welcome"))
        for fut in self.pending.values():
            if not fut.done():
                fut.set_exception(ConnectionError("closed"))
                fut.exception()  # retrieved: the caller counts it as not acked
        self.pending.clear()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


# -- the worker process ------------------------------------------------------------------

def cpu_seconds_self() -> float:
    t = os.times()
    return t.user + t.system


class Worker:
    """The readers of one client process, driven by JSON commands on stdin."""

    def __init__(self) -> None:
        self.readers: list[Reader] = []
        self.failures: Counter[str] = Counter()

    async def join(self, cmd: dict[str, Any]) -> dict[str, Any]:
        targets = cmd["targets"]
        count = int(cmd["count"])
        dialect = cmd.get("dialect", "hub")
        concurrency = int(cmd.get("concurrency", 500))
        timeout = float(cmd.get("timeout", 60))
        gate = asyncio.Semaphore(concurrency)
        t0 = time.perf_counter()
        cpu0 = cpu_seconds_self()
        times: list[float] = []
        new: list[Reader] = []

        async def one(i: int) -> None:
            t = targets[i % len(targets)]
            reader = Reader(t["host"], t["port"], t["path"], t["hello"], dialect)
            async with gate:
                start = time.perf_counter()
                try:
                    await asyncio.wait_for(reader.connect(), timeout)
                    await asyncio.wait_for(asyncio.shield(reader.welcomed), timeout)
                except Exception as exc:
                    self.failures[f"{type(exc).__name__}: {str(exc)[:120]}"] += 1
                    reader.stop()
                    return
                times.append(reader.joined_at - start)
                new.append(reader)

        await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(count))), timeout + 30)
        self.readers += new
        gc.collect()
        times.sort()
        return {"joined": len(new), "failed": count - len(new), "seconds":
                time.perf_counter() - t0, "cpu": cpu_seconds_self() - cpu0,
                "p50": times[len(times) // 2] if times else None,
                "p99": times[int(len(times) * 0.99)] if times else None,
                "max": times[-1] if times else None,
                "errors": dict(self.failures.most_common(5))}

    def stats(self, cmd: dict[str, Any]) -> dict[str, Any]:
        out = STATS.counters()
        out["cpu"] = cpu_seconds_self()
        out["now"] = time.time()
        out["open"] = sum(1 for r in self.readers if r.transport is not None)
        if cmd.get("trace") is not None:
            STATS.trace = bool(cmd["trace"])
        if cmd.get("dump"):  # (send time, latency) of every delivery, for a closer look
            with open(cmd["dump"], "w") as f:
                pairs = zip(STATS.sent, STATS.latencies, strict=False)
                f.writelines(f"{s:.6f} {x:.6f}\n" for s, x in pairs)
        if cmd.get("histogram"):
            out["hist"] = {str(k): v for k, v in histogram(STATS.latencies).items()}
        if cmd.get("reset"):
            STATS.reset()
        return out

    def drop(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """Cut a share of the readers off (no close frame); they come back with resume."""
        share = float(cmd.get("share", 0.1))
        chosen = random.sample(self.readers, int(len(self.readers) * share))
        for reader in chosen:
            reader.drop()
        return {"dropped": len(chosen)}

    async def close(self) -> dict[str, Any]:
        for reader in self.readers:
            reader.stop()
        await asyncio.sleep(0.2)
        return {"closed": len(self.readers)}


async def nap_loop(nap: float) -> None:
    """Coalesce wakeups: sleep `nap` seconds *blocking*, then let the loop read everything
    that arrived meanwhile. Without it, a reader process that keeps up goes back to
    epoll_wait after nearly every frame, and each of the server's writes pays a cross-core
    wakeup (an IPI: costly in a VM). Real readers are on other machines, where the server
    pays no such thing; so the naps keep a loopback artefact out of the server's CPU
    figures, and make the client several times cheaper. Costs up to `nap` of latency."""
    while True:
        time.sleep(nap)  # noqa: ASYNC251 - blocking on purpose: see above
        await asyncio.sleep(0)


async def worker_main() -> None:
    loop = asyncio.get_running_loop()
    nap = float(os.environ.get("HUB_BENCH_NAP", "0.001"))
    napper = loop.create_task(nap_loop(nap)) if nap > 0 else None
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    worker = Worker()
    out = sys.stdout

    def answer(obj: dict[str, Any]) -> None:
        out.write(orjson.dumps(obj).decode() + "\n")
        out.flush()

    answer({"ready": os.getpid()})
    while True:
        line = await stdin.readline()
        if not line:  # the parent went away
            await worker.close()
            if napper is not None:
                napper.cancel()
            return
        cmd = orjson.loads(line)
        op = cmd.get("op")
        try:
            if op == "join":
                answer(await worker.join(cmd))
            elif op == "stats":
                answer(worker.stats(cmd))
            elif op == "drop":
                answer(worker.drop(cmd))
            elif op == "close":
                answer(await worker.close())
                if napper is not None:
                    napper.cancel()
                return
            else:
                answer({"error": f"unknown op {op!r}"})
        except Exception as exc:
            answer({"error": f"{type(exc).__name__}: {exc}"})


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] != "worker":
        print("usage: python -m bench.loadgen worker  (started by bench/run.py)", file=sys.stderr)
        raise SystemExit(2)
    gc.disable()  # few long-lived objects; a collection pause would show up as latency
    try:
        import uvloop
    except ImportError:
        asyncio.run(worker_main())
    else:
        uvloop.run(worker_main())


if __name__ == "__main__":
    main()
