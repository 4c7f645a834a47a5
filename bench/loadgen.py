"""A lean websocket reader for load tests: raw asyncio protocol, minimal frame parsing.

Each reader does the hub's real handshake and `hello`, then only scans incoming
text frames for the send time a benchmark caption embeds (`"text":"t=<unix time>"`),
so that the load generator, not the server, stays cheap.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time

import orjson

MARK = b'"text":"t='


def masked_text_frame(payload: bytes) -> bytes:
    """A client text frame (clients must mask, RFC 6455 5.3)."""
    mask = os.urandom(4)
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, 0x80 | size)
    elif size < 65536:
        header = struct.pack("!BBH", 0x81, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 0x80 | 127, size)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + body


class Reader(asyncio.Protocol):
    """One websocket reader; records the latency of every benchmark caption it gets."""

    def __init__(self, host: str, path: str, hello: dict[str, object]) -> None:
        self.host, self.path, self.hello = host, path, hello
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.welcomed = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.latencies: list[float] = []
        self.frames = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )

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
            assert self.transport is not None
            self.transport.write(masked_text_frame(orjson.dumps(self.hello)))
        now = time.time()
        pos = 0
        size = len(buf)
        while size - pos >= 2:
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
            if size < start + length:
                break
            self.frames += 1
            at = buf.find(MARK, start, start + length)
            if at >= 0:
                at += len(MARK)
                end = buf.index(b'"', at)
                self.latencies.append(now - float(buf[at:end]))
            elif not self.welcomed.done() and buf.startswith(b'{"type":"welcome"', start):
                self.welcomed.set_result(None)
            pos = start + length
        del buf[:pos]

    def fail(self, exc: Exception) -> None:
        if not self.welcomed.done():
            self.welcomed.set_exception(exc)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.welcomed.done():
            self.welcomed.set_exception(exc or ConnectionError("closed before welcome"))
        if not self.closed.done():
            self.closed.set_result(None)


async def open_reader(host: str, port: int, path: str, hello: dict[str, object]) -> Reader:
    loop = asyncio.get_running_loop()
    _, reader = await loop.create_connection(lambda: Reader(f"{host}:{port}", path, hello),
                                             host, port)
    return reader
