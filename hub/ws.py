"""The websocket endpoint: `GET /ws/{session_id}`.

aiohttp routes the request and answers refusals (origin, per-address cap, a malformed
handshake) as HTTP. Once the upgrade is accepted the socket is taken over by
`WsConnection`, a lean asyncio protocol, and aiohttp's request, handler and parser
objects are let go. What the client sends (frames, control frames, the close handshake)
goes through the connection's `WsEngine` (hub/ws_engine.py, on the `websockets`
library's sans-I/O protocol); the frames the hub sends are written straight to the
socket, a channel event's frame built once for all its readers, and what one socket
is given within an event-loop turn is written at the end of the turn in one write (the
endpoint's `Coalescer`, hub/coalesce.py). A reader that only listens then costs its
socket, one `WsConnection`, its engine and one `Connection`: no task, no timer (the
event loop's timer for everyone's heartbeats is shared, per app). A task runs only while
frames from the client are being handled, and the `Connection`'s writer only while
frames wait for a slow socket.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import time
from collections import deque
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from . import access, client, keys, protocol
from .coalesce import Coalescer
from .config import Config
from .connection import Connection, ConnState, Delivery, EncodedOnce
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
from .forums import Forums
from .metrics import Metrics
from .ratelimit import RateLimits
from .security import client_address, origin_allowed
from .session import Session
from .tokens import Signer
from .ws_engine import SEND_EOF, Protocols, WsEngine, text_frame

log = logging.getLogger(__name__)

ABUSE_CODES = frozenset({BAD_REQUEST, FORBIDDEN, UNAUTHORIZED})

# Above this many bytes waiting in a socket's buffer, frames go through the outbox.
WRITE_BUFFER_HIGH = 64 * 1024
# Frames kept for one socket until the end of the turn; more go through the outbox.
PENDING_FRAMES = 64
# After our close frame, how long the client has to answer with its own before the
# socket is closed anyway (aiohttp's default, which the hub used before).
CLOSE_TIMEOUT = 10.0
# Bytes written before `welcome` (errors, pongs) that a client leaves unread before it is
# cut off.
UNREAD_LIMIT = 1024 * 1024
# The heartbeat timer runs this many times per `Config.heartbeat`: a socket quiet for a
# heartbeat is pinged within a sixth of one, and closed half a heartbeat after the ping.
BEATS = 6
# Frames from one client waiting to be handled: above this the socket stops being read.
INBOX_HIGH = 64
INBOX_LOW = 16

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_PONG_BYTE = 0x8A  # the first byte of a pong frame the server writes


def _check_aiohttp() -> None:
    """The socket is taken from aiohttp through parts of its request handler that are not
    its public API (aiohttp is pinned to the minor version tested, in pyproject.toml).
    Checked at import, so that another aiohttp fails at once instead of, say, silently
    dropping what a client sent along with its handshake."""
    slots = {name for cls in RequestHandler.__mro__ for name in getattr(cls, "__slots__", ())}
    missing = [f"RequestHandler.{name}" for name in ("_message_tail", "transport")
               if name not in slots]
    if not callable(getattr(RequestHandler, "connection_lost", None)):
        missing.append("RequestHandler.connection_lost()")
    if not isinstance(getattr(web.BaseRequest, "protocol", None), property):
        missing.append("BaseRequest.protocol")
    if missing:
        import aiohttp

        raise ImportError(
            f"hub.ws takes websockets over from aiohttp through {', '.join(missing)}, "
            f"which aiohttp {aiohttp.__version__} does not have: install the aiohttp "
            "version pyproject.toml pins")


_check_aiohttp()


class Abuse:
    """Counts a connection's errors; too many in a minute and it is closed (1008).
    Made on a connection's first error only."""

    __slots__ = ("limit", "times")

    def __init__(self, per_minute: int) -> None:
        self.limit = per_minute
        self.times: deque[float] = deque()

    def strike(self) -> bool:
        now = time.monotonic()
        self.times.append(now)
        while self.times and self.times[0] < now - 60:
            self.times.popleft()
        return len(self.times) > self.limit


class WsEndpoint:
    """What every websocket of one app shares: settings, and one heartbeat timer. Made
    with the app (`install`); the backends it reaches are set when the app starts."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self.config: Config = app[keys.CONFIG]
        self.metrics: Metrics = app[keys.METRICS]
        self.limits: RateLimits = app[keys.LIMITS]
        self.connections: set[Connection] = app[keys.CONNECTIONS]
        self.on_slow = self.metrics.slow_disconnects.inc  # one bound method for all
        self.wire = EncodedOnce(text_frame)  # a frame every reader gets, framed
        self.coalescer = Coalescer()  # writes each socket's frames of a turn at its end
        self.flush_later = self.coalescer.add  # one bound method for all
        self.protocols = Protocols(self.config.max_frame)  # for the connections' engines
        self.open: set[WsConnection] = set()
        self.tick = 0  # heartbeat periods so far
        self._beat: asyncio.TimerHandle | None = None

    @property
    def signer(self) -> Signer:
        return self._app[keys.SIGNER]

    @property
    def forums(self) -> Forums:
        return self._app[keys.FORUMS]

    def add(self, conn: WsConnection) -> None:
        self.open.add(conn)
        if self._beat is None and self.config.heartbeat:
            self._beat = asyncio.get_running_loop().call_later(
                self.config.heartbeat / BEATS, self._heartbeat)

    def _heartbeat(self) -> None:
        """Ping the sockets quiet for a whole heartbeat; close those that did not answer a
        ping within half of one. One timer for all, and none when nobody is here."""
        self.tick += 1
        for conn in list(self.open):
            conn.heartbeat(self.tick)
        self._beat = None
        if self.open:
            self._beat = asyncio.get_running_loop().call_later(
                self.config.heartbeat / BEATS, self._heartbeat)


def install(app: web.Application) -> None:
    """The websocket endpoint of `app`: its shared state, and its route."""
    app[keys.WS] = WsEndpoint(app)
    app.router.add_get("/ws/{session_id}", websocket)


async def websocket(request: web.Request) -> web.StreamResponse:
    app = request.app
    ep = app[keys.WS]
    if not origin_allowed(request, ep.config):
        raise forbidden("this page's origin may not open websockets on this hub")
    accept = _accept(request)
    address = client_address(request, ep.config)
    ep.limits.connect(address)  # refused with 429 past the per-address cap
    owned = False
    try:
        session: Session | None = None
        refusal: HubError | None = None
        try:
            session = await app[keys.SESSIONS].get(request.match_info["session_id"])
        except HubError as exc:  # not_found (terminal) or unavailable (come back later)
            refusal = exc
        transport = request.transport
        if transport is None or transport.is_closing():
            return _gone()
        conn = WsConnection(ep, address)
        tail = _take_over(request, transport, conn)
        owned = True
    finally:
        if not owned:
            ep.limits.disconnect(address)
    transport.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    b"Connection: upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    conn.start(transport, session, refusal, tail)
    return _gone()


def _gone() -> web.StreamResponse:
    """What the handler returns once the socket is no longer aiohttp's: never written
    (aiohttp finds no transport and drops it as a client gone away)."""
    return web.Response(status=101)


def _accept(request: web.Request) -> bytes:
    """The Sec-WebSocket-Accept for a valid opening handshake; 400 (405) otherwise, as
    aiohttp's own WebSocketResponse answers."""
    if request.method != "GET":
        raise web.HTTPMethodNotAllowed(request.method, ["GET"])
    headers = request.headers
    if headers.get("Upgrade", "").lower().strip() != "websocket":
        raise web.HTTPBadRequest(text="Can \"Upgrade\" only to \"WebSocket\".")
    tokens = {t.strip().lower() for t in headers.get("Connection", "").split(",")}
    if "upgrade" not in tokens:
        raise web.HTTPBadRequest(text="No CONNECTION upgrade hdr")
    version = headers.get("Sec-WebSocket-Version", "")
    if version not in ("13", "8", "7"):
        raise web.HTTPBadRequest(text=f"Unsupported version: {version}")
    key = headers.get("Sec-WebSocket-Key", "")
    try:
        valid = len(base64.b64decode(key, validate=True)) == 16
    except (binascii.Error, ValueError):
        valid = False
    if not valid:
        raise web.HTTPBadRequest(text=f"Handshake error: {key!r}")
    return base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest())


def _take_over(request: web.Request, transport: asyncio.Transport, proto: WsConnection) -> bytes:
    """Make `proto` the socket's protocol and have aiohttp forget the connection without
    closing it (its handler then finds no transport and ends quietly). Returns the bytes
    that came after the handshake, if the client did not wait for the answer."""
    handler = request.protocol
    tail = bytes(handler._message_tail)  # checked at import: _check_aiohttp
    transport.set_protocol(proto)
    handler.transport = None  # it must not close what is no longer its socket
    handler.connection_lost(None)  # out of the server's list; its timers stop
    if not transport.is_reading():
        transport.resume_reading()
    return tail


class WsConnection(asyncio.Protocol):
    """One websocket after the handshake: its engine, the client's messages in order, and
    the `Sender` its `Connection` writes through."""

    __slots__ = (
        "_abuse", "_close_sent", "_drain", "_engine", "_ep", "_hello_due", "_inbox",
        "_joined", "_lost", "_paused", "_pending", "_ping", "_rx", "_task", "_timer",
        "address", "close_code", "conn", "session", "transport",
    )

    def __init__(self, ep: WsEndpoint, address: str) -> None:
        self._ep = ep
        self.address = address
        self.transport: asyncio.Transport | None = None
        self.session: Session | None = None
        self.conn = Connection(self, outbox_limit=ep.config.outbox_frames, on_slow=ep.on_slow)
        self.close_code: int | None = None
        self._engine = WsEngine(ep.protocols)
        self._joined = False
        self._lost = False
        self._close_sent = False  # our close frame is out (or the engine's): nothing after it
        self._rx = ep.tick  # the heartbeat period of the last bytes from the client
        self._ping: int | None = None  # the period a ping went unanswered since
        # The client's messages not handled yet; None: the engine's close goes out there.
        self._inbox: deque[str | bytes | None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None  # hello deadline, then close deadline
        self._hello_due = False
        self._abuse: Abuse | None = None
        self._paused = False
        self._drain: asyncio.Future[None] | None = None
        # What this turn wrote, framed, until the endpoint's coalescer flushes it: one
        # frame, or a list of them when several came.
        self._pending: bytes | list[bytes] | None = None

    # -- lifetime --------------------------------------------------------------------

    def start(self, transport: asyncio.Transport, session: Session | None,
              refusal: HubError | None, tail: bytes) -> None:
        self.transport = transport
        ep = self._ep
        ep.add(self)
        ep.connections.add(self.conn)
        if session is None:
            exc = refusal or HubError(NOT_FOUND, "no such session")
            self._write_frame(protocol.dump(exc.to_wire(None)))
            self._goodbye(*_CLOSE_FOR.get(exc.code, _CLOSE_FOR[NOT_FOUND]), exc.message)
            return
        self.session = session
        self._timer = asyncio.get_running_loop().call_later(
            ep.config.hello_timeout, self._hello_timeout)
        if tail:
            self.data_received(tail)

    def _hello_timeout(self) -> None:
        self._timer = None
        if self._joined or self._close_sent:
            return
        if self._task is not None:
            self._hello_due = True  # a hello is being handled: decided once it is
            return
        self._goodbye(protocol.CLOSE_HELLO_TIMEOUT, True, "no hello in time")

    def connection_lost(self, exc: BaseException | None) -> None:
        self._lost = True
        transport, self.transport = self.transport, None
        # asyncio's selector transport (CPython 3.11) refers to itself through its read
        # callback: unless that goes, every closed socket waits for the cycle collector's
        # rare full passes (a meeting with many reconnects piles them up).
        state = getattr(transport, "__dict__", None)
        if state is not None and state.get("_read_ready_cb") is not None:
            state["_read_ready_cb"] = None
        if self.close_code is None:
            self.close_code = 1006  # no close frame: the network went away
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._pending = None
        self.resume_writing()  # a writer waiting for room finds the socket gone
        self._ep.open.discard(self)
        self.conn.abandon()
        if self._task is None:
            self._finish()

    def _finish(self) -> None:
        """The socket is gone and no frame is being handled: forget the connection."""
        ep = self._ep
        conn = self.conn
        ep.connections.discard(conn)
        session = self.session
        if session is not None:
            session.detach(conn)
        if self._joined:
            self._joined = False
            ep.metrics.connections.labels(conn.role, "ws").dec()
            assert session is not None
            log.info("left", extra={"session": session.id, "identity": conn.identity,
                                    "role": conn.role, "transport": "ws",
                                    "code": conn.close_code or self.close_code})
        ep.limits.disconnect(self.address)
        self._inbox = None
        conn.release()  # no reference cycle outlives the socket

    def eof_received(self) -> bool | None:
        self._engine.receive_eof()
        return None  # the transport closes itself

    # -- writing: the Sender of `self.conn` --------------------------------------------

    def write_event(self, frame: bytes) -> bool:
        """Write a frame every reader gets (framed once for all) at the end of this turn,
        with whatever else this socket gets in the turn, if the socket takes it without
        queueing (False: it goes through the outbox)."""
        pending = self._pending
        if pending is not None:  # checked at the turn's first frame; flushed at its end
            if isinstance(pending, bytes):
                self._pending = [pending, self._ep.wire(frame)]
            elif len(pending) < PENDING_FRAMES:
                pending.append(self._ep.wire(frame))
            else:
                return False
            return True
        transport = self.transport
        if transport is None or transport.get_write_buffer_size() > WRITE_BUFFER_HIGH:
            return False
        if transport.is_closing() or self._close_sent:
            return False
        wire = self._ep.wire  # the event's frame, framed once for every reader (inlined)
        if frame is not wire.frame:
            wire.renew(frame)
        self._pending = wire.encoded
        self._ep.flush_later(self)
        return True

    def try_write(self, entry: Delivery) -> bool:
        return self.write_event(entry.frame)

    def flush(self) -> None:
        """Write what this turn left pending, in one write (the coalescer calls it at the
        end of the turn; every other write to the socket calls it first, to keep the
        order). Dropped if the socket closed meanwhile: nothing goes after a close."""
        pending = self._pending
        if pending is None:
            return
        self._pending = None
        transport = self.transport
        if transport is None or self._close_sent or transport.is_closing():
            return
        transport.write(pending if isinstance(pending, bytes) else b"".join(pending))

    async def send(self, entries: list[Delivery]) -> None:
        transport = self.transport
        if transport is None or transport.is_closing() or self._close_sent:
            raise ConnectionResetError("the websocket is closed")
        if self._pending is not None:
            self.flush()
        wire = self._ep.wire
        if len(entries) == 1:
            transport.write(wire(entries[0].frame))
        else:
            transport.write(b"".join([wire(entry.frame) for entry in entries]))
        if self._paused:  # wait for room (the transport said its buffer is full)
            drain = self._drain
            if drain is None or drain.done():
                drain = self._drain = asyncio.get_running_loop().create_future()
            await asyncio.shield(drain)
            if self.transport is None:
                raise ConnectionResetError("the websocket is closed")

    async def close(self, code: int, reason: str) -> None:
        self._send_close(code, reason)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        drain, self._drain = self._drain, None
        if drain is not None and not drain.done():
            drain.set_result(None)

    def _write_frame(self, frame: bytes) -> None:
        """A frame outside the outbox (before `welcome`): written now. A client that keeps
        sending while it reads nothing is cut off rather than buffered for."""
        if self._pending is not None:
            self.flush()
        transport = self.transport
        if transport is not None and not transport.is_closing() and not self._close_sent:
            if transport.get_write_buffer_size() > UNREAD_LIMIT:
                self.close_code = 1006
                transport.abort()
                return
            transport.write(text_frame(frame))

    def _send_close(self, code: int, reason: str) -> None:
        """Our close frame; the socket closes when the client answers (or after a while).
        Nothing is written after it. When the engine has decided a close already (the
        client's, or a broken frame), that close goes out instead."""
        if self._close_sent:
            return
        if self._engine.closing is not None:
            self._engine_close()
            return
        if self._pending is not None:
            self.flush()  # the data first, then the close
        self._close_sent = True
        if self.close_code is None:
            self.close_code = code
        self.conn.abandon()
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        for wire in self._engine.close(code, reason):
            transport.write(wire)
        if not transport.is_reading():
            transport.resume_reading()  # to see the client's answer
        self._close_after(CLOSE_TIMEOUT)

    def _engine_close(self) -> None:
        """The close the engine decided, once the client's messages before it are handled:
        the answer to the client's own close (then the socket closes), or the close for a
        broken frame (then our side of the socket ends, and the client's is waited for)."""
        engine = self._engine
        writes, engine.closing = engine.closing or [], []
        if self._close_sent:
            return
        if self._pending is not None:
            self.flush()  # the data first, then the close
        self._close_sent = True
        if self.close_code is None:
            self.close_code = engine.code
        self.conn.abandon()
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        for wire in writes:
            if wire is not SEND_EOF:
                transport.write(wire)
        if not engine.failed:
            transport.close()
            return
        if transport.can_write_eof():
            transport.write_eof()
        if not transport.is_reading():
            transport.resume_reading()  # read (and drop) until the client closes its side
        self._close_after(CLOSE_TIMEOUT)

    def _close_after(self, delay: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(delay, self._close_late)

    def _close_late(self) -> None:
        self._timer = None
        transport = self.transport
        if transport is not None:
            if transport.get_write_buffer_size():
                transport.abort()  # the client reads nothing any more
            else:
                transport.close()

    def _goodbye(self, code: int, reconnect: bool, reason: str) -> None:
        """`bye`, then close: the client knows whether to come back."""
        self._write_frame(protocol.dump(
            {"type": "bye", "code": code, "reason": reason, "reconnect": reconnect}))
        self._send_close(code, reason)

    def heartbeat(self, tick: int) -> None:
        """Ping a socket quiet for a whole heartbeat; close one that did not answer."""
        transport = self.transport
        if transport is None or self._close_sent:
            return
        if self._ping is not None:
            if tick - self._ping >= BEATS // 2:
                self.close_code = 1006
                transport.abort()
        elif tick - self._rx >= BEATS:
            self._ping = tick
            for wire in self._engine.ping():
                transport.write(wire)

    # -- reading: through the engine -------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self._rx = self._ep.tick
        self._ping = None
        writes, messages = self._engine.receive(data)
        transport = self.transport
        for wire in writes:
            if transport is None or transport.is_closing():
                break
            if wire is SEND_EOF:  # the client answered our close: the handshake is done
                transport.close()
            elif wire[0] != _PONG_BYTE or (
                    not self._close_sent
                    and transport.get_write_buffer_size() <= WRITE_BUFFER_HIGH):
                # (a client that does not read gets no more pongs: RFC 6455 5.5.3 allows
                # answering only the latest ping)
                transport.write(wire)
        for message in messages:
            if message is None:
                self._message(None)
            elif not self._close_sent and self.conn.state is not ConnState.CLOSED:
                # (kicked: its goodbye is on the way, its frames no longer matter)
                self._message(message)

    def _message(self, message: str | bytes | None) -> None:
        inbox = self._inbox
        if inbox is None:
            inbox = self._inbox = deque()
        inbox.append(message)
        transport = self.transport
        if len(inbox) > INBOX_HIGH and transport is not None and transport.is_reading():
            transport.pause_reading()  # resumed as the frames are handled
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="hub-ws-frames")

    # -- the client's frames, in order -----------------------------------------------

    async def _run(self) -> None:
        inbox = self._inbox
        try:
            while inbox and not self._close_sent:
                if self.conn.state is ConnState.CLOSED and inbox[0] is not None:
                    break  # kicked (slow, banned, abuse, restart): the rest goes unread
                message = inbox.popleft()
                transport = self.transport
                if len(inbox) <= INBOX_LOW and transport is not None and (
                        not transport.is_reading()):
                    transport.resume_reading()
                if message is None:
                    self._engine_close()
                elif self._joined:
                    await self._command(message)
                else:
                    await self._hello(message)
                    if self._hello_due and not self._joined and not self._close_sent:
                        self._goodbye(protocol.CLOSE_HELLO_TIMEOUT, True, "no hello in time")
        except Exception:
            log.exception("websocket frame handling failed")
            self._send_close(protocol.CLOSE_NORMAL, "internal error")  # docs/protocol.md 11
        finally:
            self._task = None
            if self._lost:
                self._finish()
            elif not self._inbox:
                self._inbox = None

    async def _hello(self, message: str | bytes) -> None:
        """Before `welcome`: `ping`, or a valid `hello`; anything else is an error."""
        ep = self._ep
        session = self.session
        assert session is not None
        ref = None
        frame: dict[str, Any] = {}
        try:
            frame = _decode(message)
            ref = protocol.ref_of(frame)
            parsed = protocol.parse(frame)
            if isinstance(parsed.command, protocol.Ping):
                self._write_frame(_pong(parsed.ref))
                return
            if not isinstance(parsed.command, protocol.Hello):
                raise HubError(UNAUTHORIZED, "send `hello` with your token first")
            # The token first: only a verified hello is charged the address's hello budget
            # (a refused one counts towards its failed checks instead: RateLimits.verify).
            grant = await access.verify(ep.signer, ep.limits, ep.forums,
                                        parsed.command.token, session.id, self.address)
            ep.limits.check("*", self.address, "hello")
            conn = self.conn
            await client.join(session, conn, parsed.command, grant, ep.signer, ep.metrics,
                              ref=parsed.ref, address=self.address, limits=ep.limits)
        except HubError as exc:
            ep.metrics.errors.labels(exc.code).inc()
            self._write_frame(protocol.dump(exc.to_wire(ref)))
            bad_token = exc.code == UNAUTHORIZED and isinstance(frame.get("token"), str)
            if bad_token or exc.code in (UNAVAILABLE, RATE_LIMITED, FORBIDDEN):
                self._goodbye(*_CLOSE_FOR[exc.code], exc.message)
                return
            if self._abuse is None:
                self._abuse = Abuse(min(ep.config.max_errors_per_minute, 10))
            if self._abuse.strike():
                self._goodbye(*_CLOSE_FOR["abuse"], "too many bad frames")
            return
        self._joined = True
        self._abuse = None  # a fresh count for commands
        if self._timer is not None and not self._close_sent:
            self._timer.cancel()  # the hello deadline
            self._timer = None
        log.info("joined", extra={"session": session.id, "identity": conn.identity,
                                  "role": conn.role, "transport": "ws"})
        ep.metrics.connections.labels(conn.role, "ws").inc()

    async def _command(self, message: str | bytes) -> None:
        ep = self._ep
        conn = self.conn
        session = self.session
        assert session is not None
        metrics = ep.metrics
        ref = None
        kind = "unknown"
        try:
            frame = _decode(message)
            ref = protocol.ref_of(frame)
            parsed = protocol.parse(frame)
            kind = parsed.type
            metrics.frames_received.labels(parsed.type).inc()
            if isinstance(parsed.command, protocol.Ping):
                conn.push(_pong(parsed.ref))
                return
            start = time.perf_counter()
            result = await client.handle(session, conn, parsed, ep.limits)
            metrics.command_seconds.labels(parsed.type).observe(client.elapsed(start))
            if parsed.ref is not None:
                conn.push(protocol.dump({"type": "ack", "ref": parsed.ref, "ok": True, **result}))
                # The ack goes out now, behind what this socket was given before it (the
                # command's events among them), not after every reader's flush: a client
                # that waits for it sends its next command while the readers are written,
                # and the events of both then share their writes.
                if self._pending is not None:
                    self.flush()
        except HubError as exc:
            metrics.errors.labels(exc.code).inc()
            if exc.code == "rate_limited":
                metrics.rate_limited.labels(kind).inc()
            conn.push(protocol.dump(exc.to_wire(ref)))
            # Malformed or forbidden frames are abuse; a lost race (conflict), a rate limit,
            # a long text or a backend away are not.
            if exc.code in ABUSE_CODES:
                if self._abuse is None:
                    self._abuse = Abuse(ep.config.max_errors_per_minute)
                if self._abuse.strike() and conn.state is not ConnState.CLOSED:
                    conn.kick(protocol.CLOSE_POLICY, "too many bad frames", reconnect=False)


# Refusals before `welcome`: (close code, reconnect?)
_CLOSE_FOR = {
    NOT_FOUND: (protocol.CLOSE_NOT_FOUND, False),
    UNAVAILABLE: (protocol.CLOSE_UNAVAILABLE, True),
    UNAUTHORIZED: (protocol.CLOSE_UNAUTHORIZED, False),
    FORBIDDEN: (protocol.CLOSE_FORBIDDEN, False),
    RATE_LIMITED: (protocol.CLOSE_RATE_LIMITED, True),
    "abuse": (protocol.CLOSE_POLICY, False),
}


def _pong(ref: str | None) -> bytes:
    pong: dict[str, object] = {"type": "pong", "ts": int(time.time() * 1000)}
    if ref is not None:
        pong["ref"] = ref
    return protocol.dump(pong)


def _decode(message: str | bytes) -> dict[str, object]:
    if isinstance(message, bytes):
        raise HubError(BAD_REQUEST, "binary frames are not accepted: send JSON in text frames")
    return protocol.loads(message)
