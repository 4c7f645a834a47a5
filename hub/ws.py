"""The websocket endpoint: `GET /ws/{session_id}`.

aiohttp routes the request and answers refusals (origin, per-address cap, a malformed
handshake) as HTTP. Once the upgrade is accepted the socket is taken over by
`WsConnection`, a lean asyncio protocol that speaks websocket framing itself, and
aiohttp's request, handler and parser objects are let go. A reader that only listens
then costs its socket, one `WsConnection` and one `Connection`: no task, no timer, no
buffer (the event loop's timer for everyone's heartbeats is shared, per app). A task
runs only while frames from the client are being handled, and the `Connection`'s
writer only while frames wait for a slow socket.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import time
import weakref
from collections import deque
from typing import Any

from aiohttp import web

from . import access, client, keys, protocol
from .config import Config
from .connection import Connection, ConnState, Delivery
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

log = logging.getLogger(__name__)

ABUSE_CODES = frozenset({BAD_REQUEST, FORBIDDEN, UNAUTHORIZED})

# Above this many bytes waiting in a socket's buffer, frames go through the outbox.
WRITE_BUFFER_HIGH = 64 * 1024
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
_PING = b"\x89\x00"
# Close codes a client may send (RFC 6455 7.4; 1004-1006 and 1015 never go on the wire).
_CLIENT_CLOSE_CODES = frozenset({1000, 1001, 1002, 1003, *range(1007, 1015)})


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


class _Endpoint:
    """What every websocket of one app shares: settings, and one heartbeat timer."""

    def __init__(self, app: web.Application) -> None:
        self.config: Config = app[keys.CONFIG]
        self.metrics: Metrics = app[keys.METRICS]
        self.limits: RateLimits = app[keys.LIMITS]
        self.connections: set[Connection] = app[keys.CONNECTIONS]
        self.signer: Signer = app[keys.SIGNER]
        self.forums: Forums = app[keys.FORUMS]
        self.on_slow = self.metrics.slow_disconnects.inc  # one bound method for all
        self.open: set[WsConnection] = set()
        self.tick = 0  # heartbeat periods so far
        self._beat: asyncio.TimerHandle | None = None

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


_ENDPOINTS: weakref.WeakKeyDictionary[web.Application, _Endpoint] = weakref.WeakKeyDictionary()


def _endpoint(app: web.Application) -> _Endpoint:
    ep = _ENDPOINTS.get(app)
    if ep is None:
        ep = _ENDPOINTS[app] = _Endpoint(app)
    return ep


async def websocket(request: web.Request) -> web.StreamResponse:
    app = request.app
    ep = _endpoint(app)
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
    tail = bytes(getattr(handler, "_message_tail", b""))
    transport.set_protocol(proto)
    handler.transport = None  # it must not close what is no longer its socket
    handler.connection_lost(None)  # out of the server's list; its timers stop
    if not transport.is_reading():
        transport.resume_reading()
    return tail


def _close_frame(code: int, reason: str) -> bytes:
    payload = code.to_bytes(2, "big") + reason.encode()[:120]
    return bytes((0x88, len(payload))) + payload


def _unmask(payload: bytes, mask: bytes) -> bytes:
    size = len(payload)
    if not size:
        return b""
    key = (mask * (size // 4 + 1))[:size]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(
        size, "little")


class WsConnection(asyncio.Protocol):
    """One websocket after the handshake: framing, the client's frames in order, and the
    `Sender` its `Connection` writes through."""

    __slots__ = (
        "_abuse", "_close_sent", "_dead", "_drain", "_ending", "_ep", "_frag_op", "_frag_size",
        "_frags", "_hello_due", "_inbox", "_joined", "_lost", "_need", "_paused", "_ping",
        "_rbuf", "_rx", "_skip", "_task", "_timer", "address", "close_code", "conn", "session",
        "transport",
    )

    def __init__(self, ep: _Endpoint, address: str) -> None:
        self._ep = ep
        self.address = address
        self.transport: asyncio.Transport | None = None
        self.session: Session | None = None
        self.conn = Connection(self, outbox_limit=ep.config.outbox_frames, on_slow=ep.on_slow)
        self.close_code: int | None = None
        self._joined = False
        self._lost = False
        self._close_sent = False
        self._dead = False  # framing lost: nothing more is read
        self._ending = False  # a close is decided: the client's data frames are ignored
        self._rx = ep.tick  # the heartbeat period of the last bytes from the client
        self._ping: int | None = None  # the period a ping went unanswered since
        self._rbuf: bytearray | None = None  # an incomplete frame
        self._need = 0  # bytes `_rbuf` must reach before it is worth parsing again
        self._skip = 0  # bytes of a refused (too large) frame still to come
        self._frags: list[bytes] | None = None  # a fragmented message so far
        self._frag_op = 0
        self._frag_size = 0
        # The client's messages not handled yet; (code, reason) closes with code, after
        # them, (code, None) answers the client's own close frame.
        self._inbox: deque[str | bytes | tuple[int, str | None]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None  # hello deadline, then close deadline
        self._hello_due = False
        self._abuse: Abuse | None = None
        self._paused = False
        self._drain: asyncio.Future[None] | None = None

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
        return None  # the transport closes itself

    # -- writing: the Sender of `self.conn` --------------------------------------------

    def write_now(self, wire: bytes) -> bool:
        """Write a whole prebuilt frame if the socket takes it without queueing."""
        transport = self.transport
        if transport is None or transport.get_write_buffer_size() > WRITE_BUFFER_HIGH:
            return False
        if transport.is_closing() or self._close_sent:
            return False
        transport.write(wire)
        return True

    def try_write(self, entry: Delivery) -> bool:
        return self.write_now(protocol.ws_text_frame(entry.frame))

    async def send(self, entry: Delivery) -> None:
        transport = self.transport
        if transport is None or transport.is_closing() or self._close_sent:
            raise ConnectionResetError("the websocket is closed")
        transport.write(protocol.ws_text_frame(entry.frame))
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
        transport = self.transport
        if transport is not None and not transport.is_closing() and not self._close_sent:
            if transport.get_write_buffer_size() > UNREAD_LIMIT:
                self.close_code = 1006
                transport.abort()
                return
            transport.write(protocol.ws_text_frame(frame))

    def _send_close(self, code: int, reason: str) -> None:
        """Our close frame; the socket closes when the client answers (or after a while).
        Nothing is written after it."""
        if self._close_sent:
            return
        self._close_sent = True
        if self.close_code is None:
            self.close_code = code
        self.conn.abandon()
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        transport.write(_close_frame(code, reason))
        if not self._dead and not transport.is_reading():
            transport.resume_reading()  # to see the client's answer
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(CLOSE_TIMEOUT, self._close_late)

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
            transport.write(_PING)

    # -- reading: websocket framing (RFC 6455 5) -------------------------------------

    def data_received(self, data: bytes) -> None:
        self._rx = self._ep.tick
        self._ping = None
        if self._dead:
            return
        if self._skip:
            if len(data) <= self._skip:
                self._skip -= len(data)
                return
            data = data[self._skip:]
            self._skip = 0
        buf = self._rbuf
        if buf is not None:
            buf += data
            if len(buf) < self._need:
                return
            data = bytes(buf)
            self._rbuf = None
        used = self._frames(data)
        if used < len(data) and not self._dead and not self._skip:
            self._rbuf = bytearray(data[used:])

    def _frames(self, data: bytes) -> int:
        """Handle every whole frame in `data`; returns how many bytes they took."""
        size = len(data)
        pos = 0
        max_size = self._ep.config.max_frame
        while not self._dead:
            left = size - pos
            if left < 2:
                self._need = 2
                return pos
            b0, b1 = data[pos], data[pos + 1]
            opcode = b0 & 0x0F
            length = b1 & 0x7F
            head = 6
            if length == 126:
                if left < 4:
                    self._need = 4
                    return pos
                length = int.from_bytes(data[pos + 2:pos + 4], "big")
                head = 8
            elif length == 127:
                if left < 10:
                    self._need = 10
                    return pos
                length = int.from_bytes(data[pos + 2:pos + 10], "big")
                head = 14
            if b0 & 0x70 or not b1 & 0x80:
                self._protocol_error("reserved bits set, or an unmasked frame")
                return size
            if opcode >= 8:
                if not b0 & 0x80 or length > 125 or opcode > 10:
                    self._protocol_error("bad control frame")
                    return size
            elif opcode > 2:
                self._protocol_error(f"unknown opcode {opcode}")
                return size
            elif (self._frag_size if opcode == 0 else 0) + length > max_size:
                # Refused on its header: its payload is skipped, the close follows.
                self._frags = None
                self._frag_size = 0
                self._fail(protocol.CLOSE_TOO_BIG, "message too big")
                total = head + length
                if left < total:
                    self._skip = total - left
                    return size
                pos += total
                continue
            total = head + length
            if left < total:
                self._need = total
                return pos
            start = pos + head
            payload = _unmask(data[start:start + length], data[start - 4:start])
            pos += total
            self._frame(b0 & 0x80, opcode, payload)
        return size

    def _frame(self, fin: int, opcode: int, payload: bytes) -> None:
        if opcode == 8:
            self._on_close(payload)
            return
        if opcode == 9:  # ping: pong with the same payload
            transport = self.transport
            if transport is not None and not self._close_sent and not transport.is_closing() \
                    and transport.get_write_buffer_size() <= WRITE_BUFFER_HIGH:
                # (a client that does not read gets no more pongs: RFC 6455 5.5.3 allows
                # answering only the latest ping)
                transport.write(bytes((0x8A, len(payload))) + payload)
            return
        if opcode == 10 or self._ending or self._close_sent:
            return
        if self.conn.state is ConnState.CLOSED:
            return  # kicked: its goodbye is on the way, its frames no longer matter
        if opcode == 0:
            frags = self._frags
            if frags is None:
                self._protocol_error("continuation frame for no message")
                return
            frags.append(payload)
            self._frag_size += len(payload)
            if not fin:
                return
            opcode, payload = self._frag_op, b"".join(frags)
            self._frags = None
            self._frag_size = 0
        elif self._frags is not None:
            self._protocol_error("a new message inside a fragmented one")
            return
        elif not fin:
            self._frags = [payload]
            self._frag_op = opcode
            self._frag_size = len(payload)
            return
        if opcode == 1:
            try:
                text = payload.decode("utf-8")
            except UnicodeDecodeError:
                self._fail(1007, "text frame is not UTF-8")
                return
            self._message(text)
        else:
            self._message(payload)

    def _on_close(self, payload: bytes) -> None:
        code = 1005
        if len(payload) >= 2:
            code = int.from_bytes(payload[:2], "big")
            if code not in _CLIENT_CLOSE_CODES and not 3000 <= code < 5000:
                self._protocol_error(f"invalid close code {code}")
                return
        elif payload:
            self._protocol_error("invalid close frame")
            return
        self._dead = True  # nothing comes after a close frame
        if self._close_sent:  # the answer to ours
            if self.transport is not None:
                self.transport.close()
        elif not self._ending:
            # Answered once the frames sent before it are handled (a command sent just
            # before a close still runs).
            self._ending = True
            self._message((code, None))

    def _closed_by_client(self, code: int) -> None:
        self.close_code = code
        self._send_close(protocol.CLOSE_NORMAL, "")
        if self.transport is not None:
            self.transport.close()

    def _protocol_error(self, reason: str) -> None:
        """Framing cannot be trusted any more: close 1002 and read nothing else."""
        self._dead = True
        self._rbuf = None
        self._fail(1002, reason)

    def _fail(self, code: int, reason: str) -> None:
        """Close with `code` once the frames before this one are handled (1007, 1009 the
        way aiohttp closed them before)."""
        if self._close_sent or self._ending:
            return
        self._ending = True
        self._message((code, reason))

    def _message(self, message: str | bytes | tuple[int, str | None]) -> None:
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
                if self.conn.state is ConnState.CLOSED and not isinstance(inbox[0], tuple):
                    break  # kicked (slow, banned, abuse, restart): the rest goes unread
                message = inbox.popleft()
                transport = self.transport
                if len(inbox) <= INBOX_LOW and transport is not None and (
                        not transport.is_reading()):
                    transport.resume_reading()
                if isinstance(message, tuple):
                    code, reason = message
                    if reason is None:
                        self._closed_by_client(code)
                    else:
                        self._send_close(code, reason)
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
