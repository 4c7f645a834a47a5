"""The websocket engine without a socket: client bytes in, messages and server bytes out.
What the server writes is read back with the `websockets` library's client-side parser."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode
from websockets.protocol import CLOSING, OPEN, Protocol, Side

from hub.ws_engine import (
    CLOSE_ANSWER,
    MAX_REASON,
    SEND_EOF,
    Protocols,
    WsEngine,
    cut_reason,
    text_frame,
)

MAX = 1000


def frame(opcode: int, payload: bytes, fin: bool = True, mask: bytes = b"\x12\x34\x56\x78",
          rsv: int = 0, length: int | None = None) -> bytes:
    """One client frame, masked unless `mask` is empty; `length` overrides the header's."""
    n = len(payload) if length is None else length
    bit = 0x80 if mask else 0
    head = bytes(((0x80 if fin else 0) | rsv << 4 | opcode,))
    if n < 126:
        head += bytes((bit | n,))
    elif n < 65536:
        head += bytes((bit | 126,)) + n.to_bytes(2, "big")
    else:
        head += bytes((bit | 127,)) + n.to_bytes(8, "big")
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if mask else payload
    return head + mask + body


def close(code: int, reason: bytes = b"") -> bytes:
    return frame(8, code.to_bytes(2, "big") + reason)


def server_frames(writes: list[bytes]) -> list[Frame]:
    """The frames in what the server wrote (without the end-of-stream marker)."""
    reader = Protocol(Side.CLIENT)
    reader.receive_data(b"".join(w for w in writes if w is not SEND_EOF))
    assert reader.parser_exc is None, reader.parser_exc
    return [event for event in reader.events_received() if isinstance(event, Frame)]


def close_of(writes: list[bytes]) -> tuple[int, str]:
    frames = server_frames(writes)
    assert frames and frames[-1].opcode is Opcode.CLOSE, frames
    data = bytes(frames[-1].data)
    return int.from_bytes(data[:2], "big"), data[2:].decode()


def failed_with(engine: WsEngine, data: bytes) -> int:
    """Feed `data`; the engine must fail the connection: the close's code."""
    _, messages = engine.receive(data)
    assert messages and messages[-1] is None, messages
    assert engine.failed and engine.closing is not None
    assert engine.closing[-1] is SEND_EOF  # the server ends its side after a failure
    code, _ = close_of(engine.closing)
    assert code == engine.code
    assert engine.receive(frame(1, b"after"))[1] == []  # nothing more is read
    return code


def test_whole_text_and_binary_messages_in_order() -> None:
    engine = WsEngine(Protocols(MAX))
    now, messages = engine.receive(frame(1, "héllo".encode()) + frame(2, b"\x00\xff"))
    assert (now, messages) == ([], ["héllo", b"\x00\xff"])
    assert engine.state is OPEN and engine.closing is None


def test_one_byte_at_a_time() -> None:
    engine = WsEngine(Protocols(MAX))
    data = frame(1, b'{"type":"ping"}') + frame(9, b"p")
    got: list[str | bytes | None] = []
    writes: list[bytes] = []
    for i in range(len(data)):
        now, messages = engine.receive(data[i:i + 1])
        got += messages
        writes += now
    assert got == ['{"type":"ping"}']
    assert [(f.opcode, f.data) for f in server_frames(writes)] == [(Opcode.PONG, b"p")]


def test_fragments_make_one_message_with_control_frames_between_them() -> None:
    engine = WsEngine(Protocols(MAX))
    data = (frame(1, b"a", fin=False) + frame(9, b"1") + frame(0, b"b", fin=False)
            + frame(10, b"unasked") + frame(9, b"2") + frame(0, b"c")
            + frame(2, b"x", fin=False) + frame(0, b"y"))
    now, messages = engine.receive(data)
    assert messages == ["abc", b"xy"]
    assert [(f.opcode, f.data, f.fin) for f in server_frames(now)] == [
        (Opcode.PONG, b"1", True), (Opcode.PONG, b"2", True)]  # the client's pong: no answer


def test_a_character_split_across_fragments_is_whole_again() -> None:
    engine = WsEngine(Protocols(MAX))
    encoded = "é€😀".encode()
    parts = [encoded[:1], encoded[1:4], encoded[4:8], encoded[8:]]
    data = frame(1, parts[0], fin=False) + b"".join(
        frame(0, part, fin=i == len(parts) - 2) for i, part in enumerate(parts[1:]))
    assert engine.receive(data)[1] == ["é€😀"]


def test_a_ping_answered_with_its_payload_and_our_ping() -> None:
    engine = WsEngine(Protocols(MAX))
    now, messages = engine.receive(frame(9, b"x" * 125))
    assert messages == []
    assert [(f.opcode, f.data) for f in server_frames(now)] == [(Opcode.PONG, b"x" * 125)]
    assert engine.ping() == [b"\x89\x00"]
    assert engine.receive(frame(10, b""))[0] == []


@pytest.mark.parametrize("data", [
    frame(1, b"\xff"),  # not UTF-8 at all
    frame(1, "é".encode()[:1]),  # a character cut short
    frame(1, b"\xed\xa0\x80"),  # a surrogate
    frame(1, b"\xc0\xaf"),  # an overlong form
    frame(1, b"ok", fin=False) + frame(0, b"\xce", fin=False) + frame(0, b"\xff"),
    frame(1, b"ok", fin=False) + frame(0, "é".encode()[:1]),  # ends mid-character
])
def test_text_that_is_not_utf8_closes_1007(data: bytes) -> None:
    assert failed_with(WsEngine(Protocols(MAX)), data) == 1007


def test_bad_utf8_in_a_first_fragment_fails_before_the_message_ends() -> None:
    engine = WsEngine(Protocols(MAX))
    assert failed_with(engine, frame(1, b"\xff", fin=False)) == 1007


def test_messages_before_a_failure_are_kept_and_the_close_comes_after_them() -> None:
    engine = WsEngine(Protocols(MAX))
    now, messages = engine.receive(frame(1, b"first") + frame(1, b"\xff") + frame(1, b"late"))
    assert messages == ["first", None]
    assert now == []  # the close is held back, in `closing`, until "first" is handled
    assert engine.code == 1007


def test_an_unmasked_frame_closes_1002() -> None:
    assert failed_with(WsEngine(Protocols(MAX)), frame(1, b"hi", mask=b"")) == 1002


def test_a_masked_frame_with_a_zero_mask_is_still_masked() -> None:
    assert WsEngine(Protocols(MAX)).receive(frame(1, b"hi", mask=b"\x00\x00\x00\x00"))[1] == ["hi"]


@pytest.mark.parametrize("rsv", [1, 2, 4, 7])
def test_reserved_bits_close_1002(rsv: int) -> None:
    assert failed_with(WsEngine(Protocols(MAX)), frame(1, b"hi", rsv=rsv)) == 1002


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 11, 12, 13, 14, 15])
def test_unknown_opcodes_close_1002(opcode: int) -> None:
    assert failed_with(WsEngine(Protocols(MAX)), frame(opcode, b"")) == 1002


@pytest.mark.parametrize("data", [
    frame(9, b"", fin=False),  # a fragmented control frame
    frame(9, b"x" * 126),  # a control frame over 125 bytes
    frame(8, b"x" * 126),
    frame(0, b"lost"),  # a continuation of nothing
    frame(1, b"a", fin=False) + frame(1, b"b"),  # a new message inside a fragmented one
])
def test_broken_sequences_close_1002(data: bytes) -> None:
    assert failed_with(WsEngine(Protocols(MAX)), data) == 1002


def test_a_too_big_frame_is_refused_on_its_header() -> None:
    engine = WsEngine(Protocols(MAX))
    header = frame(1, b"x" * (MAX + 1))[:8]  # 2 + 2 (length) + 4 (mask): no payload yet
    assert failed_with(engine, header) == 1009


def test_a_frame_of_exactly_the_limit_is_taken() -> None:
    assert WsEngine(Protocols(MAX)).receive(frame(2, b"x" * MAX))[1] == [b"x" * MAX]


def test_fragments_too_big_together_close_1009() -> None:
    engine = WsEngine(Protocols(MAX))
    data = frame(1, b"x" * 600, fin=False) + frame(0, b"x" * 600)
    assert failed_with(engine, data) == 1009


def test_a_64_bit_length_with_its_top_bit_set_is_a_protocol_error() -> None:
    engine = WsEngine(Protocols(MAX))
    header = bytes((0x81, 0x80 | 127)) + (1 << 63 | 5).to_bytes(8, "big")
    assert failed_with(engine, header) == 1002


def test_a_64_bit_length_without_its_top_bit_is_too_big() -> None:
    header = bytes((0x81, 0x80 | 127)) + (1 << 62).to_bytes(8, "big")
    assert failed_with(WsEngine(Protocols(MAX)), header) == 1009


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                                  3000, 4000, 4999])
def test_a_client_close_is_answered_with_1000_after_the_messages_before_it(code: int) -> None:
    engine = WsEngine(Protocols(MAX))
    now, messages = engine.receive(frame(1, b"last") + close(code, "fin ✓".encode())
                                   + frame(1, b"ignored"))
    assert (now, messages) == ([], ["last", None])
    assert engine.code == code and not engine.failed
    assert engine.closing == [CLOSE_ANSWER, SEND_EOF]
    assert close_of(engine.closing) == (1000, "")
    assert engine.receive(frame(9, b""))[0] == []  # discarded: no pong after a close


def test_a_close_between_fragments_drops_the_message_and_is_answered_with_1000() -> None:
    engine = WsEngine(Protocols(MAX))
    now, messages = engine.receive(frame(1, b"fragm", fin=False) + close(1001)
                                   + frame(0, b"ent"))
    assert (now, messages) == ([], [None])
    assert engine.code == 1001 and not engine.failed
    assert engine.closing == [CLOSE_ANSWER, SEND_EOF]


def test_an_empty_client_close_is_1005_and_answered_with_1000() -> None:
    engine = WsEngine(Protocols(MAX))
    assert engine.receive(frame(8, b""))[1] == [None]
    assert engine.code == 1005 and engine.closing == [CLOSE_ANSWER, SEND_EOF]


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000,
                                  65535])
def test_invalid_close_codes_close_1002(code: int) -> None:
    assert failed_with(WsEngine(Protocols(MAX)), close(code)) == 1002


def test_a_one_byte_close_closes_1002() -> None:
    assert failed_with(WsEngine(Protocols(MAX)), frame(8, b"\x03")) == 1002


@pytest.mark.parametrize("reason", [b"\xff", "é".encode()[:1], b"ok\xed\xa0\x80"])
def test_a_close_reason_that_is_not_utf8_closes_1007(reason: bytes) -> None:
    assert failed_with(WsEngine(Protocols(MAX)), close(1000, reason)) == 1007


def test_our_close_then_the_clients_answer_ends_the_connection() -> None:
    engine = WsEngine(Protocols(MAX))
    assert close_of(engine.close(4000, "slow reader")) == (4000, "slow reader")
    assert engine.state is CLOSING
    assert engine.close(4001, "again") == [] and engine.ping() == []  # one close only
    now, messages = engine.receive(frame(1, b"in flight") + close(1000))
    assert messages == ["in flight"]  # the caller drops what comes after its close
    assert now == [SEND_EOF]


@pytest.mark.parametrize("reason", ["é" * 100, "a" + "é" * 70, "€" * 50, "😀" * 40, "x" * 300])
def test_our_close_reason_is_cut_on_a_character_boundary(reason: str) -> None:
    code, sent = close_of(WsEngine(Protocols(MAX)).close(4503, reason))
    assert code == 4503
    assert reason.startswith(sent)
    assert MAX_REASON - 3 <= len(sent.encode()) <= MAX_REASON
    assert cut_reason(reason) == sent


def test_a_short_reason_is_not_cut() -> None:
    assert cut_reason("removed by the organizer") == "removed by the organizer"
    assert close_of(WsEngine(Protocols(MAX)).close(1000, ""))[1] == ""


def test_the_end_of_the_stream_closes_the_engine() -> None:
    engine = WsEngine(Protocols(MAX))
    engine.receive(frame(1, b"half", fin=False))
    engine.receive_eof()
    assert engine.close(1000, "") == [] and engine.ping() == []


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 70000])
def test_text_frames_we_send_read_back_whole(size: int) -> None:
    payload = b"y" * size
    frames = server_frames([text_frame(payload)])
    assert [(f.opcode, f.data, f.fin) for f in frames] == [(Opcode.TEXT, payload, True)]


@pytest.mark.parametrize("size", [5, 300, 70000])
def test_a_frame_split_anywhere_in_two_is_whole(size: int) -> None:
    """Between two frames the engine lets its protocol go (most readers only listen);
    within a frame, wherever the bytes stop, it must keep it."""
    data = frame(2, b"z" * size) + frame(1, b"next")
    cuts = range(len(data)) if size < 1000 else [*range(20), *range(len(data) - 20, len(data))]
    for cut in cuts:
        engine = WsEngine(Protocols(100_000))
        assert engine.receive(data[:cut])[1] + engine.receive(data[cut:])[1] == [
            b"z" * size, "next"], cut


def test_fragments_in_separate_reads_with_rests_between_messages() -> None:
    engine = WsEngine(Protocols(MAX))
    got: list[str | bytes | None] = []
    for data in (frame(1, b"one"),  # a whole message: at rest after it
                 frame(1, "é".encode()[:1], fin=False),  # a message begun: not at rest
                 frame(9, b"p"),
                 frame(0, "é".encode()[1:], fin=False),
                 frame(0, b"!"),
                 frame(1, b"two")):
        got += engine.receive(data)[1]
    assert got == ["one", "é!", "two"]
    assert engine.ping() == [b"\x89\x00"]
    assert close_of(engine.close(1000, "done")) == (1000, "done")


def test_engines_sharing_their_resting_protocols_keep_their_own_frames_apart() -> None:
    protocols = Protocols(MAX)
    a, b, c = WsEngine(protocols), WsEngine(protocols), WsEngine(protocols)
    one, two = frame(1, b"for a"), frame(1, b"for b", fin=False) + frame(0, b"!")
    got: dict[str, list[str | bytes | None]] = {"a": [], "b": [], "c": []}
    got["a"] += a.receive(one[:3])[1]  # a is within a frame: it keeps its protocol
    got["c"] += c.receive(frame(1, b"c1"))[1]  # c rests after its frame: its goes back
    got["b"] += b.receive(two[:9])[1]  # b takes it; a message begun: b keeps it
    got["c"] += c.receive(frame(1, b"c2"))[1]
    got["a"] += a.receive(one[3:])[1]
    got["b"] += b.receive(two[9:])[1]
    assert failed_with(c, frame(1, b"\xff")) == 1007  # c's failure is c's alone
    got["a"] += a.receive(frame(1, b"still open"))[1]
    assert got == {"a": ["for a", "still open"], "b": ["for b!"], "c": ["c1", "c2"]}


def test_the_end_of_the_stream_at_rest_closes_the_engine_too() -> None:
    engine = WsEngine(Protocols(MAX))
    assert engine.receive(frame(1, b"whole"))[1] == ["whole"]
    engine.receive_eof()
    assert engine.close(1000, "") == [] and engine.ping() == []
    assert WsEngine(Protocols(MAX)).state is OPEN  # the next connection is not affected
