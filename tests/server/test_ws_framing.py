"""The websocket the hub takes over after the upgrade (hub.ws, its engine hub.ws_engine):
raw RFC 6455 frames over a raw socket, for what client libraries never send. The engine
alone, frame by frame, is tests/test_ws_engine.py."""

from __future__ import annotations

import asyncio
import base64
import json
import os

import websockets

from tests.support.inprocess import HubFactory, RunningHub


def frame(opcode: int, payload: bytes, fin: bool = True, mask: bytes = b"abcd") -> bytes:
    """One client frame (masked, as a client must, unless `mask` is empty)."""
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        head = bytes((b0, bit | n))
    elif n < 65536:
        head = bytes((b0, bit | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((b0, bit | 127)) + n.to_bytes(8, "big")
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if mask else payload
    return head + mask + body


async def read_frames(reader: asyncio.StreamReader, timeout: float = 5,
                      ) -> list[tuple[int, bytes]]:
    """Server frames until a close frame, or (-1, b"") once the socket ends or is quiet."""
    out = []
    try:
        while True:
            async with asyncio.timeout(timeout):
                b0, b1 = await reader.readexactly(2)
                n = b1 & 0x7F
                if n == 126:
                    n = int.from_bytes(await reader.readexactly(2), "big")
                elif n == 127:
                    n = int.from_bytes(await reader.readexactly(8), "big")
                out.append((b0 & 0x0F, await reader.readexactly(n)))
            if b0 & 0x0F == 8:
                return out
    except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
        out.append((-1, b""))
    return out


async def raw(hub: RunningHub, sid: str, extra: bytes = b"",
              ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A websocket opened by hand; `extra` goes in the same packet as the handshake."""
    port = int(hub.base.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /ws/{sid} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  f"Sec-WebSocket-Version: 13\r\n\r\n").encode() + extra)
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


def close_code(frames: list[tuple[int, bytes]]) -> int:
    assert frames[-1][0] == 8, frames
    return int.from_bytes(frames[-1][1][:2], "big")


async def edge_hub(hub_factory: HubFactory) -> tuple[RunningHub, str, bytes]:
    hub = await hub_factory(heartbeat=1.0, hello_timeout=0.6, max_frame=1000)
    created = await hub.session(title="Edges")
    hello = json.dumps({"type": "hello", "token": created["tokens"]["participant"],
                        "ref": "h"}).encode()
    return hub, created["id"], hello


async def test_pipelined_hello_fragments_with_a_ping_inside_and_a_close_echoed(
    hub_factory: HubFactory,
) -> None:
    hub, sid, hello = await edge_hub(hub_factory)
    reader, writer = await raw(hub, sid, frame(1, hello))  # hello in the handshake's packet
    writer.write(frame(1, b'{"type":"pi', fin=False) + frame(9, b"xy")
                 + frame(0, b'ng","ref":"p1"}'))  # a ping between a text's fragments
    writer.write(frame(8, (1000).to_bytes(2, "big") + b"bye"))
    got = await read_frames(reader)
    kinds = [(op, json.loads(p)["type"] if op == 1 else p) for op, p in got]
    assert (1, "welcome") in kinds and (10, b"xy") in kinds and (1, "pong") in kinds
    assert kinds.index((1, "welcome")) < kinds.index((1, "pong"))  # in order, before close
    assert close_code(got) == 1000
    writer.close()


async def test_no_hello_in_time_is_closed_with_4001(hub_factory: HubFactory) -> None:
    hub, sid, _ = await edge_hub(hub_factory)
    reader, writer = await raw(hub, sid)
    assert close_code(await read_frames(reader)) == 4001
    writer.close()


async def test_broken_frames_close_with_their_codes(hub_factory: HubFactory) -> None:
    hub, sid, hello = await edge_hub(hub_factory)
    cases = ((frame(1, b"x" * 1500), 1009),  # over max_frame
             (frame(1, b"hi", mask=b""), 1002),  # a client frame must be masked
             (frame(1, b"\xff"), 1007))  # text that is not UTF-8
    for payload, code in cases:
        reader, writer = await raw(hub, sid, frame(1, hello))
        writer.write(payload)
        got = await read_frames(reader)
        assert (1, b"") not in got
        assert close_code(got) == code, (code, got)
        writer.close()


async def test_heartbeat_keeps_who_answers_and_drops_who_does_not(
    hub_factory: HubFactory,
) -> None:
    hub, sid, hello = await edge_hub(hub_factory)
    async with websockets.connect(f"{hub.ws_base}/ws/{sid}", ping_interval=None) as ws:
        await ws.send(hello.decode())
        assert json.loads(await ws.recv())["type"] == "welcome"
        await asyncio.sleep(3.5)  # several heartbeats; the library answers the pings
        await ws.send(json.dumps({"type": "ping", "ref": "alive"}))
        answers = []
        while not answers or answers[-1]["type"] == "presence":
            answers.append(json.loads(await ws.recv()))
        assert (answers[-1]["type"], answers[-1]["ref"]) == ("pong", "alive")
    reader, writer = await raw(hub, sid, frame(1, hello))  # never answers a ping
    got = await read_frames(reader, timeout=6)
    assert (9, b"") in got and got[-1] == (-1, b"")  # pinged, then dropped
    writer.close()


async def test_a_clients_close_is_answered_with_1000_and_a_broken_one_ends_the_socket(
    hub_factory: HubFactory,
) -> None:
    hub, sid, hello = await edge_hub(hub_factory)
    reader, writer = await raw(hub, sid, frame(1, hello))
    writer.write(frame(8, (4000).to_bytes(2, "big") + "retry ✓".encode()))
    got = await read_frames(reader)
    assert [op for op, _ in got] == [1, 8]  # welcome, then the answer
    assert got[-1][1] == (1000).to_bytes(2, "big")  # docs/protocol.md: 1000, no reason
    assert await reader.read() == b""  # and the hub closes the socket
    writer.close()
    reader, writer = await raw(hub, sid, frame(1, hello))
    writer.write(frame(8, (1000).to_bytes(2, "big") + b"\xff"))  # a reason not UTF-8
    got = await read_frames(reader)
    assert close_code(got) == 1007
    assert await reader.read() == b""  # the hub ends its side at once
    writer.close()
