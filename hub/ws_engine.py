"""One websocket's engine, sans I/O: the client's bytes in; its messages, and the bytes
to write in answer, out.

Frames, control frames and the close handshake are the `websockets` library's maintained
sans-I/O `Protocol` (RFC 6455: masking, reserved bits, opcodes, control frame rules, the
message size limit, close codes and a close reason's UTF-8). On top of it, here: messages
put together from their fragments and their text checked as UTF-8 as it comes (1007); a
64-bit length with its top bit set refused as a protocol error (1002) rather than as too
big; the close the engine decides held back until the messages before it are handled;
a client's own close answered with 1000 (docs/protocol.md); our close reasons cut to
whole characters. The frames every reader gets (channel events) are built once and
written straight to the sockets: they do not come through here.

The library's protocol costs about 1.4 KiB; most readers only listen. So a connection
holds one only while it is needed: whenever it rests between frames with nothing
buffered and no message begun, it holds nothing of the connection (a fresh one would be
the same), and it goes back to the `Protocols` its engines share, for the next
connection with bytes to read.
"""

from __future__ import annotations

import codecs
import logging
import struct
import sys
import types

from websockets.exceptions import PayloadTooBig
from websockets.frames import Close, CloseCode, Frame, Opcode
from websockets.protocol import OPEN, SEND_EOF, Protocol, Side, State
from websockets.streams import StreamReader

__all__ = ["CLOSE_ANSWER", "MAX_REASON", "SEND_EOF", "Protocols", "WsEngine", "cut_reason",
           "text_frame"]

# The bytes of our own close reason at most (whole UTF-8 characters; a close frame's
# payload is at most 125 bytes, 2 of them the code).
MAX_REASON = 120
# What a client's own close is answered with: 1000, no reason (docs/protocol.md).
CLOSE_ANSWER = Frame(Opcode.CLOSE, Close(CloseCode.NORMAL_CLOSURE, "").serialize()).serialize(
    mask=False)
_CLOSE_BYTE = CLOSE_ANSWER[0]  # the first byte of any close frame the server writes
PING = Frame(Opcode.PING, b"").serialize(mask=False)

# The library logs each connection's end at INFO: not wanted in the hub's log, its
# errors are.
_log = logging.getLogger(__name__)
_log.setLevel(logging.WARNING)

# The message kinds a client sends: text is checked as UTF-8, binary is passed on.
_TEXT, _BINARY, _CONT = Opcode.TEXT, Opcode.BINARY, Opcode.CONT


def text_frame(payload: bytes) -> bytes:
    """`payload` as one whole unmasked text frame (RFC 6455 5.2), as the server sends it:
    a channel event's is built once and written as is to every reader's socket."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 65536:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


def cut_reason(reason: str) -> str:
    """`reason` cut to at most MAX_REASON bytes of UTF-8, on a character boundary."""
    encoded = reason.encode()
    if len(encoded) <= MAX_REASON:
        return reason
    return encoded[:MAX_REASON].decode("utf-8", "ignore")


class _Protocol(Protocol):
    """The library's protocol, with two differences. A 64-bit length must have its top
    bit clear (RFC 6455 5.2): such a frame is a protocol error, not merely one too big.
    A close may come between the fragments of a message (a control frame may, 5.4): the
    message unfinished is dropped and the close answered, as the hub always did, where
    the library fails the connection (1002)."""

    def recv_frame(self, frame: Frame) -> None:
        if frame.opcode is Opcode.CLOSE:
            self.current_size = None
        super().recv_frame(frame)

    def fail(self, code: CloseCode | int, reason: str = "") -> None:
        exc = sys.exc_info()[1]  # fail() runs in the parser's handler of what went wrong
        if isinstance(exc, PayloadTooBig) and exc.message is None and (exc.size or 0) >> 63:
            code, reason = CloseCode.PROTOCOL_ERROR, "frame length with its top bit set"
        super().fail(code, reason)


def _new_protocol(max_size: int) -> _Protocol:
    return _Protocol(Side.SERVER, state=OPEN, max_size=max_size, logger=_log)


# Where the library's parser waits between two frames: for the next byte.
_BETWEEN_FRAMES = StreamReader.at_eof.__code__


def _at_rest(proto: Protocol) -> bool:
    """Open, between two frames, nothing buffered, no message begun: the same as a fresh
    protocol."""
    if proto.state is not OPEN or proto.current_size is not None or proto.reader.buffer:
        return False
    parser = proto.parser
    if not isinstance(parser, types.GeneratorType):
        return False
    waiting = parser.gi_yieldfrom
    return isinstance(waiting, types.GeneratorType) and waiting.gi_code is _BETWEEN_FRAMES


def _check_websockets() -> None:
    """`_at_rest` looks at how the library's parser waits (websockets is pinned below its
    next major version in pyproject.toml). Checked at import, both ways: at rest when
    fresh and after a whole frame, not within a frame's header, so that another version
    fails at once rather than losing a frame."""
    from websockets.version import version

    probe = _new_protocol(125)
    ok = _at_rest(probe)
    probe.receive_data(b"\x81\x80")  # a header: the parser now waits for the mask
    ok = ok and not _at_rest(probe)
    probe.receive_data(b"\x00\x00\x00\x00")  # the mask of an empty text frame
    ok = ok and len(probe.events_received()) == 1 and _at_rest(probe)
    if not ok:
        raise ImportError(
            f"hub.ws_engine cannot tell when websockets {version}'s protocol "
            "rests between frames: install the websockets version pyproject.toml allows")


_check_websockets()

# The protocol of every connection that ended at rest: closed, it changes no more.
_ENDED = _new_protocol(125)
_ENDED.receive_eof()
assert _ENDED.state is State.CLOSED and _ENDED.data_to_send() == [SEND_EOF]


class Protocols:
    """The protocols at rest the engines of one endpoint share (one at most: the bytes of
    all connections are read one chunk at a time)."""

    __slots__ = ("_rest", "max_size")

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._rest: _Protocol | None = None

    def take(self) -> _Protocol:
        proto, self._rest = self._rest, None
        return proto or _new_protocol(self.max_size)

    def give(self, proto: _Protocol) -> None:
        """`proto`, at rest (`_at_rest`), for the next one."""
        self._rest = proto


class WsEngine:
    """A server-side websocket after its handshake.

    `receive` gives the client's messages in order and the control answers to write at
    once (pongs). When the engine decides to close (the client closed, or broke the
    protocol), `receive`'s messages end with None: the bytes of that close are in
    `closing`, to be written once the messages before it are handled; `code` is the
    client's close code, or ours on failing (`failed`). `SEND_EOF` among bytes to write
    means the engine is done with the socket."""

    __slots__ = ("_binary", "_decoder", "_proto", "_protocols", "_text", "closing", "code",
                 "failed")

    def __init__(self, protocols: Protocols) -> None:
        self._protocols = protocols
        self._proto: _Protocol | None = None  # None: at rest (see the module's docstring)
        self._text: list[str] | None = None  # a fragmented text message so far
        self._decoder: codecs.IncrementalDecoder | None = None
        self._binary: list[bytes] | None = None  # a fragmented binary message so far
        self.closing: list[bytes] | None = None
        self.code: int | None = None
        self.failed = False  # that close is the engine's: the client broke the protocol

    @property
    def state(self) -> State:
        return OPEN if self._proto is None else self._proto.state

    def _protocol(self) -> _Protocol:
        proto = self._proto
        if proto is None:
            proto = self._proto = self._protocols.take()
        return proto

    def receive(self, data: bytes) -> tuple[list[bytes], list[str | bytes | None]]:
        """Bytes from the client: (bytes to write now, the client's messages)."""
        proto = self._protocol()
        was_open = proto.state is OPEN
        proto.receive_data(data)
        messages: list[str | bytes | None] = []
        for frame in proto.events_received():
            if not isinstance(frame, Frame):
                continue  # (handshake events: not after it)
            opcode = frame.opcode
            if opcode is _TEXT or opcode is _BINARY or opcode is _CONT:
                if not self._data(frame, messages):
                    break  # failed: what came after it is not read
            elif opcode is Opcode.CLOSE:
                self._text = self._decoder = self._binary = None  # a message left unfinished
        writes = proto.data_to_send()
        if not was_open or proto.state is OPEN:
            if _at_rest(proto):
                self._proto = None
                self._protocols.give(proto)
            return writes, messages
        # The engine decided to close in this data: its close waits for the messages.
        now: list[bytes] = []
        held: list[bytes] = []
        for wire in writes:
            if held or wire is SEND_EOF or wire[0] == _CLOSE_BYTE:
                held.append(wire)
            else:
                now.append(wire)
        assert proto.close_sent is not None
        self.failed = proto.close_sent is not proto.close_rcvd  # not an answer to the client
        if self.failed:
            self.code = proto.close_sent.code
        else:  # the client's own close: answered with 1000
            assert proto.close_rcvd is not None
            self.code = proto.close_rcvd.code
            held = [CLOSE_ANSWER if wire and wire[0] == _CLOSE_BYTE else wire for wire in held]
        self.closing = held
        messages.append(None)
        return now, messages

    def _data(self, frame: Frame, out: list[str | bytes | None]) -> bool:
        """A data frame: a whole message goes to `out`. False once the engine failed."""
        payload = bytes(frame.data)
        opcode = frame.opcode
        try:
            if opcode is _TEXT:
                if frame.fin:
                    out.append(payload.decode())
                    return True
                self._decoder = codecs.getincrementaldecoder("utf-8")()
                self._text = [self._decoder.decode(payload)]
            elif opcode is _BINARY:
                if frame.fin:
                    out.append(payload)
                else:
                    self._binary = [payload]
            elif self._text is not None:  # a continuation (the library checks there is one)
                assert self._decoder is not None
                self._text.append(self._decoder.decode(payload, frame.fin))
                if frame.fin:
                    out.append("".join(self._text))
                    self._text = self._decoder = None
            elif self._binary is not None:
                self._binary.append(payload)
                if frame.fin:
                    out.append(b"".join(self._binary))
                    self._binary = None
        except UnicodeDecodeError:
            self._text = self._decoder = None
            self._protocol().fail(CloseCode.INVALID_DATA, "text frame is not UTF-8")
            return False
        return True

    def receive_eof(self) -> None:
        """The client closed its side: nothing more is read."""
        proto = self._proto
        if proto is None:  # at rest: nothing begun, nothing to answer
            self._proto = _ENDED
            return
        proto.receive_eof()
        proto.data_to_send()  # nothing to write to a socket that is going

    def close(self, code: int, reason: str) -> list[bytes]:
        """Our close frame (the reason cut to whole characters), if the close handshake
        has not begun; then the client's answer ends the connection."""
        proto = self._protocol()
        if proto.state is not OPEN:
            return []
        proto.send_close(code, cut_reason(reason))
        return proto.data_to_send()

    def ping(self) -> list[bytes]:
        """An empty ping, while open."""
        proto = self._proto
        if proto is None:
            return [PING]  # what a fresh protocol would write, without making one
        if proto.state is not OPEN:
            return []
        proto.send_ping(b"")
        return proto.data_to_send()
