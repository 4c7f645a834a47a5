"""Server-Sent Events for read-only clients behind proxies that block websockets.

`GET /sse/{session_id}?token=...` streams the same frames as the websocket. Each
channel event's SSE `id` encodes the positions of all the connection's channels
(`public:EPOCH:OFFSET,private:EPOCH:OFFSET`), so a reconnect with `Last-Event-ID`
resumes them all.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from . import client, keys, protocol
from .connection import Connection, Entry
from .domain.roles import wire_name
from .errors import HubError
from .security import origin_allowed
from .session import Session

KEEPALIVE = 15.0


def encode_positions(epoch: str, positions: dict[str, int]) -> str:
    return ",".join(f"{wire_name(key)}:{epoch}:{off}" for key, off in positions.items())


def decode_positions(text: str) -> dict[str, protocol.Position]:
    """The positions in a Last-Event-ID; malformed parts are ignored (a fresh join follows)."""
    out: dict[str, protocol.Position] = {}
    for part in text.split(",")[:8]:
        bits = part.strip().split(":")
        if len(bits) == 3 and bits[2].isdigit() and len(bits[1]) <= 128:
            out[bits[0]] = protocol.Position(bits[1], int(bits[2]))
    return out


class SseSender:
    """Writes frames as SSE messages; channel events carry the positions as their id."""

    def __init__(self, response: web.StreamResponse, conn_positions: dict[str, int]) -> None:
        self.response = response
        self.positions = conn_positions
        self.epoch = ""
        self.closed = asyncio.Event()

    async def send(self, entry: Entry) -> None:
        channel, offset, frame = entry
        if channel is not None:
            self.positions[channel] = offset
            head = f"id: {encode_positions(self.epoch, self.positions)}\n".encode()
        elif frame.startswith(b'{"type":"welcome"'):
            head = f"id: {encode_positions(self.epoch, self.positions)}\n".encode()
        else:
            head = b""
        await self.response.write(head + b"data: " + frame + b"\n\n")

    def try_write(self, entry: Entry, wire: bytes | None) -> bool:
        return False  # SSE ids carry positions: every frame goes through the writer

    async def close(self, code: int, reason: str) -> None:
        self.closed.set()


async def sse(request: web.Request) -> web.StreamResponse:
    app = request.app
    if not origin_allowed(request, app[keys.CONFIG]):
        raise web.HTTPForbidden(text="origin not allowed")
    token = request.query.get("token") or _bearer(request)
    if not token:
        raise web.HTTPUnauthorized(text="a token is required (?token=...)")
    last = request.headers.get("Last-Event-ID") or request.query.get("last_event_id") or ""
    hello = protocol.Hello(token, request.query.get("name"), None, decode_positions(last), False)
    try:
        session: Session = await app[keys.SESSIONS].get(request.match_info["session_id"])
    except HubError as exc:
        raise web.HTTPNotFound(text=exc.message) from exc
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                 "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    positions: dict[str, int] = {}
    sender = SseSender(response, positions)
    config = app[keys.CONFIG]
    metrics = app[keys.METRICS]
    conn = Connection(sender, outbox_limit=config.outbox_frames,
                      on_slow=metrics.slow_disconnects.inc)
    sender.epoch = session.state.epoch
    try:
        await client.join(session, conn, hello, app[keys.SIGNER], metrics)
    except HubError as exc:
        await response.write(b"data: " + protocol.dump(exc.to_wire()) + b"\n\n")
        return response
    sender.positions = dict(conn.positions)
    sender.epoch = session.state.epoch
    app[keys.CONNECTIONS].add(conn)
    metrics.connections.labels(conn.role, "sse").inc()
    try:
        while not sender.closed.is_set():
            try:
                await asyncio.wait_for(sender.closed.wait(), KEEPALIVE)
            except TimeoutError:
                await response.write(b": keepalive\n\n")
    except (ConnectionError, RuntimeError):
        pass
    finally:
        metrics.connections.labels(conn.role, "sse").dec()
        app[keys.CONNECTIONS].discard(conn)
        session.detach(conn)
        await conn.finish()
    return response


def _bearer(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else None
