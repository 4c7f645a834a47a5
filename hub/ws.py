"""The websocket endpoint: `GET /ws/{session_id}`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

from aiohttp import WSMsgType, web

from . import client, keys, protocol
from .connection import Connection, Entry
from .errors import (
    BAD_REQUEST,
    FORBIDDEN,
    NOT_FOUND,
    RATE_LIMITED,
    UNAUTHORIZED,
    UNAVAILABLE,
    HubError,
    forbidden,
)
from .security import client_address, origin_allowed
from .session import Session

log = logging.getLogger(__name__)

ABUSE_CODES = frozenset({BAD_REQUEST, FORBIDDEN, UNAUTHORIZED})

# Above this many bytes waiting in a socket's buffer, frames go through the outbox.
WRITE_BUFFER_HIGH = 64 * 1024


class WebSocketSender:
    """Writes prebuilt text frames to an aiohttp websocket."""

    def __init__(self, ws: web.WebSocketResponse, transport: asyncio.Transport | None) -> None:
        self.ws = ws
        self.transport = transport

    async def send(self, entry: Entry) -> None:
        await self.ws.send_frame(entry[2], WSMsgType.TEXT)

    def try_write(self, entry: Entry) -> bool:
        return self.write_now(protocol.ws_text_frame(entry[2]))

    def write_now(self, wire: bytes) -> bool:
        """Write a whole prebuilt frame if the socket takes it without queueing."""
        transport = self.transport
        if transport is None or transport.get_write_buffer_size() > WRITE_BUFFER_HIGH:
            return False
        if transport.is_closing():
            return False
        transport.write(wire)
        return True

    async def close(self, code: int, reason: str) -> None:
        await self.ws.close(code=code, message=reason.encode()[:120])


class Abuse:
    """Counts a connection's errors; too many in a minute and it is closed (1008)."""

    def __init__(self, per_minute: int) -> None:
        self.limit = per_minute
        self.times: deque[float] = deque()

    def strike(self) -> bool:
        now = time.monotonic()
        self.times.append(now)
        while self.times and self.times[0] < now - 60:
            self.times.popleft()
        return len(self.times) > self.limit


async def websocket(request: web.Request) -> web.StreamResponse:
    app = request.app
    config = app[keys.CONFIG]
    if not origin_allowed(request, config):
        raise forbidden("this page's origin may not open websockets on this hub")
    address = client_address(request, config)
    limits = app[keys.LIMITS]
    limits.connect(address)  # refused with 429 past the per-address cap
    try:
        return await _websocket(request, address)
    finally:
        limits.disconnect(address)


async def _websocket(request: web.Request, address: str) -> web.StreamResponse:
    app = request.app
    config = app[keys.CONFIG]
    ws = web.WebSocketResponse(
        heartbeat=config.heartbeat, max_msg_size=config.max_frame, compress=False
    )
    await ws.prepare(request)
    metrics = app[keys.METRICS]
    # Any transport with write buffer accounting will do (uvloop's are not asyncio.Transport).
    transport = request.transport
    writable = transport if hasattr(transport, "get_write_buffer_size") else None
    sender = WebSocketSender(ws, writable)
    conn = Connection(sender, outbox_limit=config.outbox_frames,
                      on_slow=metrics.slow_disconnects.inc)
    app[keys.CONNECTIONS].add(conn)
    session: Session | None = None
    try:
        try:
            session = await app[keys.SESSIONS].get(request.match_info["session_id"])
        except HubError as exc:  # not_found (terminal) or unavailable (come back later)
            await _send_error(ws, exc, None)
            await _goodbye(ws, *_CLOSE_FOR.get(exc.code, _CLOSE_FOR[NOT_FOUND]), exc.message)
            return ws
        if await _await_hello(request, ws, session, conn, address):
            fields = {"session": session.id, "identity": conn.identity, "role": conn.role,
                      "transport": "ws"}
            log.info("joined", extra=fields)
            metrics.connections.labels(conn.role, "ws").inc()
            try:
                await _serve(request, ws, session, conn)
            finally:
                metrics.connections.labels(conn.role, "ws").dec()
                code = conn.close_code or ws.close_code
                log.info("left", extra={**fields, "code": code})
    finally:
        app[keys.CONNECTIONS].discard(conn)
        if session is not None:
            session.detach(conn)
        await conn.finish()
        if not ws.closed:
            await ws.close()
    return ws


async def _send_error(ws: web.WebSocketResponse, exc: HubError, ref: str | None) -> None:
    await ws.send_frame(protocol.dump(exc.to_wire(ref)), WSMsgType.TEXT)


# Refusals before `welcome`: (close code, reconnect?)
_CLOSE_FOR = {
    NOT_FOUND: (protocol.CLOSE_NOT_FOUND, False),
    UNAVAILABLE: (protocol.CLOSE_UNAVAILABLE, True),
    UNAUTHORIZED: (protocol.CLOSE_UNAUTHORIZED, False),
    FORBIDDEN: (protocol.CLOSE_FORBIDDEN, False),
    RATE_LIMITED: (protocol.CLOSE_RATE_LIMITED, True),
    "abuse": (protocol.CLOSE_POLICY, False),
}


async def _goodbye(ws: web.WebSocketResponse, code: int, reconnect: bool, reason: str) -> None:
    """`bye`, then close: the client knows whether to come back."""
    bye = {"type": "bye", "code": code, "reason": reason, "reconnect": reconnect}
    try:
        await ws.send_frame(protocol.dump(bye), WSMsgType.TEXT)
    except ConnectionError:
        return
    await ws.close(code=code, message=reason.encode()[:120])


async def _await_hello(
    request: web.Request, ws: web.WebSocketResponse, session: Session, conn: Connection,
    address: str,
) -> bool:
    """Read frames until a valid `hello`; True once the client is welcomed."""
    app = request.app
    config = app[keys.CONFIG]
    abuse = Abuse(min(config.max_errors_per_minute, 10))
    deadline = time.monotonic() + config.hello_timeout
    while True:
        try:
            msg = await ws.receive(timeout=max(0.01, deadline - time.monotonic()))
        except TimeoutError:
            await _goodbye(ws, protocol.CLOSE_HELLO_TIMEOUT, True, "no hello in time")
            return False
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            return False
        ref = None
        frame: dict[str, object] = {}
        try:
            frame = _decode(msg)
            ref = protocol.ref_of(frame)
            parsed = protocol.parse(frame)
            if isinstance(parsed.command, protocol.Ping):
                await ws.send_frame(_pong(parsed.ref), WSMsgType.TEXT)
                continue
            if not isinstance(parsed.command, protocol.Hello):
                raise HubError(UNAUTHORIZED, "send `hello` with your token first")
            app[keys.LIMITS].check("*", address, "hello")
            await client.join(session, conn, parsed.command, app[keys.SIGNER],
                              app[keys.METRICS], ref=parsed.ref)
            return True
        except HubError as exc:
            app[keys.METRICS].errors.labels(exc.code).inc()
            await _send_error(ws, exc, ref)
            bad_token = exc.code == UNAUTHORIZED and isinstance(frame.get("token"), str)
            if bad_token or exc.code in (UNAVAILABLE, RATE_LIMITED, FORBIDDEN):
                await _goodbye(ws, *_CLOSE_FOR[exc.code], exc.message)
                return False
            if abuse.strike():
                await _goodbye(ws, *_CLOSE_FOR["abuse"], "too many bad frames")
                return False
        except ConnectionError:
            return False


def _pong(ref: str | None) -> bytes:
    pong: dict[str, object] = {"type": "pong", "ts": int(time.time() * 1000)}
    if ref is not None:
        pong["ref"] = ref
    return protocol.dump(pong)


def _decode(msg: object) -> dict[str, object]:
    msg_type = getattr(msg, "type", None)
    if msg_type == WSMsgType.BINARY:
        raise HubError(BAD_REQUEST, "binary frames are not accepted: send JSON in text frames")
    if msg_type != WSMsgType.TEXT:
        raise HubError(BAD_REQUEST, "unexpected frame")
    return protocol.loads(getattr(msg, "data", ""))


async def _serve(
    request: web.Request, ws: web.WebSocketResponse, session: Session, conn: Connection
) -> None:
    app = request.app
    config = app[keys.CONFIG]
    metrics = app[keys.METRICS]
    limits = app[keys.LIMITS]
    abuse = Abuse(config.max_errors_per_minute)
    async for msg in ws:
        if msg.type == WSMsgType.ERROR:
            if isinstance(ws.exception(), ValueError):  # pragma: no cover - aiohttp closes 1009
                continue
            break
        ref = None
        kind = "unknown"
        try:
            frame = _decode(msg)
            ref = protocol.ref_of(frame)
            parsed = protocol.parse(frame)
            kind = parsed.type
            metrics.frames_received.labels(parsed.type).inc()
            if isinstance(parsed.command, protocol.Ping):
                conn.push(_pong(parsed.ref))
                continue
            start = time.perf_counter()
            result = await client.handle(session, conn, parsed, limits)
            metrics.command_seconds.labels(parsed.type).observe(client.elapsed(start))
            if parsed.ref is not None:
                conn.push(protocol.dump({"type": "ack", "ref": parsed.ref, "ok": True, **result}))
        except HubError as exc:
            metrics.errors.labels(exc.code).inc()
            if exc.code == "rate_limited":
                metrics.rate_limited.labels(kind).inc()
            conn.push(protocol.dump(exc.to_wire(ref)))
            # Malformed or forbidden frames are abuse; a lost race (conflict), a rate limit,
            # a long text or a backend away are not.
            if exc.code in ABUSE_CODES and abuse.strike():
                conn.kick(protocol.CLOSE_POLICY, "too many bad frames", reconnect=False)
                break
