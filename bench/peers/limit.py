"""The "limit" peer for bench/run.py: the least a Python server can do for the same job.

A raw asyncio protocol (on uvloop when installed) that accepts websocket upgrades,
answers a `hello` with a `welcome` in the hub's wire format (channel `public`, an
epoch and offsets; a `hello.resume` gets the missed events replayed), and relays
each `caption` as an `event` frame that it builds **once** and writes, as the same
bytes, to every reader's socket; then it acks the publisher. No storage, no Redis, no
per-reader state beyond the socket: the ceiling for Python on this machine. Answers
pings; no compression; loopback only.

    .venv/bin/python bench/peers/limit.py --port 9002
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import signal
import struct
import time
from collections import deque

import orjson

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC11B65"
EPOCH = "limit000"
HISTORY = 10_000


def frame(payload: bytes, opcode: int = 0x1) -> bytes:
    size = len(payload)
    if size < 126:
        return struct.pack("!BB", 0x80 | opcode, size) + payload
    if size < 65536:
        return struct.pack("!BBH", 0x80 | opcode, 126, size) + payload
    return struct.pack("!BBQ", 0x80 | opcode, 127, size) + payload


def unmask(data: bytes, mask: bytes) -> bytes:
    n = len(data)
    if not n:
        return b""
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


class Hub:
    """The one session: its readers and the last events (for resume)."""

    def __init__(self) -> None:
        self.readers: set[Conn] = set()
        self.offset = 0
        self.history: deque[tuple[int, bytes]] = deque(maxlen=HISTORY)

    def publish(self, text: str, seq: object) -> int:
        self.offset += 1
        event = orjson.dumps({"type": "event", "channel": "public", "epoch": EPOCH,
                              "offset": self.offset, "kind": "caption",
                              "data": {"text": text, "lang": "en", "final": True, "seq": seq},
                              "ts": int(time.time() * 1000)})
        wire = frame(event)  # built once
        self.history.append((self.offset, wire))
        for conn in self.readers:
            conn.transport.write(wire)
        return self.offset


class Conn(asyncio.Protocol):
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.buf = bytearray()
        self.upgraded = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.hub.readers.discard(self)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            key = b""
            for line in bytes(buf[:end]).split(b"\r\n"):
                if line.lower().startswith(b"sec-websocket-key:"):
                    key = line.split(b":", 1)[1].strip()
            accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
            self.transport.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                 b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept
                                 + b"\r\n\r\n")
            del buf[: end + 4]
            self.upgraded = True
        pos = 0
        size = len(buf)
        while size - pos >= 2:
            opcode = buf[pos] & 0x0F
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
            if size < start + 4 + length:
                break
            payload = unmask(bytes(buf[start + 4:start + 4 + length]), bytes(buf[start:start + 4]))
            pos = start + 4 + length
            if opcode == 0x1:
                self.on_text(payload)
            elif opcode == 0x9:
                self.transport.write(frame(payload, 0xA))
            elif opcode == 0x8:
                self.transport.write(frame(payload[:2], 0x8))
                self.transport.close()
                break
        del buf[:pos]

    def on_text(self, payload: bytes) -> None:
        msg = orjson.loads(payload)
        kind = msg.get("type")
        ref = msg.get("ref")
        if kind == "caption":
            offset = self.hub.publish(msg.get("text", ""), msg.get("seq"))
            ack = {"type": "ack", "ok": True, "seq": msg.get("seq"), "offset": offset}
            if ref is not None:
                ack["ref"] = ref
            self.transport.write(frame(orjson.dumps(ack)))
        elif kind == "hello":
            hub = self.hub
            resume = (msg.get("resume") or {}).get("public")
            history: list[bytes] = []
            recovered = False
            offset = hub.offset
            if resume and resume.get("epoch") == EPOCH and resume.get("offset", -1) <= hub.offset:
                first = hub.history[0][0] if hub.history else hub.offset + 1
                if resume["offset"] >= first - 1:
                    recovered, offset = True, resume["offset"]
                    history = [wire for off, wire in hub.history if off > offset]
            welcome = {"type": "welcome", "you": {"token": msg.get("token"), "role": "screen"},
                       "channels": {"public": {"epoch": EPOCH, "offset": offset,
                                               "recovered": recovered}},
                       "snapshot": {}, "ts": int(time.time() * 1000)}
            if ref is not None:
                welcome["ref"] = ref
            self.transport.write(frame(orjson.dumps(welcome)))
            for wire in history:
                self.transport.write(wire)
            hub.readers.add(self)
        elif kind == "ping":
            pong = {"type": "pong", "ts": int(time.time() * 1000)}
            if ref is not None:
                pong["ref"] = ref
            self.transport.write(frame(orjson.dumps(pong)))


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    hub = Hub()
    server = await loop.create_server(lambda: Conn(hub), "127.0.0.1", port, backlog=4096)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"limit peer ready on {port} ({type(loop).__module__})", flush=True)
    await stop.wait()
    server.close()
    for conn in list(hub.readers):
        conn.transport.abort()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--no-uvloop", action="store_true")
    args = parser.parse_args()
    if not args.no_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            uvloop.run(serve(args.port))
            return
    asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
