"""Server-Sent Events for read-only clients behind proxies that block websockets.

`GET /sse/{session_id}?token=...` streams the same frames as the websocket. Each
channel event's SSE `id` encodes the positions of all the connection's channels
(`public:EPOCH:OFFSET,private:EPOCH:OFFSET`), so a reconnect with `Last-Event-ID`
resumes them all.
"""

from __future__ import annotations

import asyncio

import orjson
from aiohttp import web

from . import access, client, keys, protocol
from .connection import Connection, Delivery, EncodedOnce
from .domain.roles import wire_name
from .errors import HubError, forbidden
from .security import client_address, origin_allowed
from .session import Session
from .standing import check_standing
from .tokens import Grant

KEEPALIVE = 15.0
# A frame every reader gets, as the `data:` of an SSE message: built once for all.
_DATA = EncodedOnce(lambda frame: b"data: " + frame + b"\n\n")


# An offset is a JavaScript-safe integer (at most 2^53 - 1): 16 ASCII digits at most.
MAX_OFFSET = 2**53 - 1
MAX_LAST_EVENT_ID = 1024  # characters; ours are a few dozen (one part per channel)


def decode_positions(text: str) -> dict[str, protocol.Position]:
    """The positions in a Last-Event-ID (`channel:epoch:offset`, comma-separated). A
    malformed part is left out, and a header over 1,024 characters is ignored whole: the
    client then gets a fresh join (`recovered: false`), never an error (docs/protocol.md)."""
    out: dict[str, protocol.Position] = {}
    if len(text) > MAX_LAST_EVENT_ID:
        return out
    for part in text.split(",")[:8]:
        bits = part.strip().split(":")
        if len(bits) != 3 or not bits[0] or not bits[1] or len(bits[1]) > 128:
            continue
        offset = bits[2]
        # str.isdigit() takes superscripts and other scripts' digits, which int() refuses.
        if not (offset.isascii() and offset.isdigit()) or len(offset) > 16:
            continue
        value = int(offset)
        if value <= MAX_OFFSET:
            out[bits[0]] = protocol.Position(bits[1], value)
    return out


class SseSender:
    """Writes frames as SSE messages; `welcome` and channel events carry, as their id, the
    positions of what this stream has actually sent (so Last-Event-ID never skips)."""

    def __init__(self, response: web.StreamResponse) -> None:
        self.response = response
        self.positions: dict[str, int] = {}  # wire channel name -> last offset sent
        self.epoch = ""
        self.closed = asyncio.Event()

    async def send(self, entries: list[Delivery]) -> None:
        """The entries as SSE messages, in one write (they are the outbox's frames ready
        at once: what a turn queued, or what came while the stream had no room)."""
        messages = [self._message(entry) for entry in entries]
        await self.response.write(messages[0] if len(messages) == 1 else b"".join(messages))

    def _message(self, entry: Delivery) -> bytes:
        frame = entry.frame
        head = b""
        if entry.channel is not None:
            self.positions[wire_name(entry.channel)] = entry.offset
            head = f"id: {self._id()}\n".encode()
        elif entry.kind == "welcome":
            welcome = orjson.loads(frame)
            for name, pos in welcome["channels"].items():
                self.positions[name] = pos["offset"]
                self.epoch = pos["epoch"]
            head = f"id: {self._id()}\n".encode()
        return head + _DATA(frame)

    def _id(self) -> str:
        return ",".join(f"{name}:{self.epoch}:{off}" for name, off in self.positions.items())

    def try_write(self, entry: Delivery) -> bool:
        return False  # SSE ids carry positions: every frame goes through the writer

    def write_event(self, frame: bytes) -> bool:
        return False

    async def close(self, code: int, reason: str) -> None:
        self.closed.set()


async def sse(request: web.Request) -> web.StreamResponse:
    """Refusals come before the stream starts, with an HTTP status (EventSource retries only
    a 200). The token, the session and the person's standing are checked first: only a
    verified request is charged the address's hello budget and a connection slot, so
    bogus requests cannot use up a real participant's (a refused token counts towards
    the address's failed checks instead: RateLimits.verify)."""
    app = request.app
    config = app[keys.CONFIG]
    if not origin_allowed(request, config):
        raise forbidden("this page's origin may not open streams on this hub")
    token = request.query.get("token") or _bearer(request)
    session_id = request.match_info["session_id"]
    address = client_address(request, config)
    limits = app[keys.LIMITS]
    grant = await access.verify(app[keys.SIGNER], limits, app[keys.FORUMS], token, session_id,
                                address)
    session: Session = await app[keys.SESSIONS].get(session_id)
    check_standing(session.state, grant)
    limits.check("*", address, "hello")
    limits.connect(address)
    try:
        return await _stream(request, token, grant, session)
    finally:
        limits.disconnect(address)


async def _stream(request: web.Request, token: str | None, grant: Grant, session: Session
                  ) -> web.StreamResponse:
    app = request.app
    last = request.headers.get("Last-Event-ID") or request.query.get("last_event_id") or ""
    hello = protocol.Hello(token or "", request.query.get("name"), None,
                           decode_positions(last), None)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                 "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    sender = SseSender(response)
    config = app[keys.CONFIG]
    metrics = app[keys.METRICS]
    conn = Connection(sender, outbox_limit=config.outbox_frames,
                      on_slow=metrics.slow_disconnects.inc)
    try:
        await client.join(session, conn, hello, grant, app[keys.SIGNER], metrics,
                          address=client_address(request, config), limits=app[keys.LIMITS])
    except HubError as exc:
        await response.write(b"data: " + protocol.dump(exc.to_wire()) + b"\n\n")
        return response
    app[keys.CONNECTIONS].add(conn)
    metrics.connections.labels(conn.role, "sse").inc()
    try:
        while not sender.closed.is_set():
            try:  # asyncio.timeout: wait_for can lose a cancellation on Python 3.11
                async with asyncio.timeout(KEEPALIVE):
                    await sender.closed.wait()
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
