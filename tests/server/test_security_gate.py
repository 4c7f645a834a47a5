"""The gate: session ids on every route, failed checks throttled per address,
budgets charged only after verification, caption ingest bodies and lines, SSE resume
positions. Each attack is replayed over real HTTP and websockets against a real server."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import websockets

from hub.domain.limits import Window
from hub.domain.session import valid_session_id
from hub.keys import LOG
from hub.log.archive import Archive
from hub.protocol import Position
from hub.sse import decode_positions
from tests.support.harness import ADMIN_KEY, Client, ahttp
from tests.support.inprocess import HubFactory, RunningHub

METRICS_TOKEN = "metrics-token-0123456789-abcdefghijklmnop"

WS_HEADERS = ("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")


async def raw(base: str, method: str, target: str, headers: str = "", body: bytes = b"",
              chunked: bool = False, split: int = 0) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 request with `target` sent exactly as written (no client normalises
    `..` or `%2F` away). Returns the status, the headers (lower-case names) and the body
    read until the server closes, for a stream what came first, for a 101 nothing (the
    websocket waits for the client to speak first). `split`:
    the body's first `split` bytes go first, the rest a moment later (as over a slow
    network: the server has only part of it at first)."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        head = f"{method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        if "Connection:" not in headers:
            head += "Connection: close\r\n"
        if chunked:
            head += "Transfer-Encoding: chunked\r\n"
        elif body or method in ("POST", "PATCH"):
            head += f"Content-Length: {len(body)}\r\n"
        writer.write((head + headers + "\r\n").encode())
        if chunked:
            for start in range(0, len(body), 65536):
                part = body[start:start + 65536]
                writer.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            writer.write(b"0\r\n\r\n")
        elif split:
            writer.write(body[:split])
            await writer.drain()
            await asyncio.sleep(0.2)
            writer.write(body[split:])
        else:
            writer.write(body)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 20)
        status = int(status_line.split()[1])
        got: dict[str, str] = {}
        while (line := await asyncio.wait_for(reader.readline(), 20)) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            got[name.strip().lower()] = value.strip()
        if status == 101:
            return status, got, b""
        if got.get("content-type", "").startswith("text/event-stream"):
            return status, got, await asyncio.wait_for(reader.read(4096), 20)
        if "content-length" in got:
            data = await asyncio.wait_for(reader.readexactly(int(got["content-length"])), 20)
        else:
            data = await asyncio.wait_for(reader.read(), 20)
        return status, got, data
    finally:
        writer.close()


def error_of(body: bytes) -> dict[str, Any]:
    error: dict[str, Any] = json.loads(body)["error"]
    return error


# -- session ids -----------------------------------------------------------------------------

TRAVERSALS = ["..%2F..%2Fplanted", "..%2f..%2fplanted", "%2E%2E%2F%2E%2E%2Fplanted",
              "..%5C..%5Cplanted", "ab%00c", "abc%0A", "a", "x" * 65, "a.b", "%C3%A9t%C3%A9"]


def routes_for(sid: str) -> list[tuple[str, str, str]]:
    """(method, target, extra headers) of every route kind that takes a session id."""
    auth = f"Authorization: Bearer {ADMIN_KEY}\r\n"
    return [
        ("GET", f"/ws/{sid}", WS_HEADERS),
        ("GET", f"/sse/{sid}?token=garbage", ""),
        ("GET", f"/api/sessions/{sid}", auth),
        ("DELETE", f"/api/sessions/{sid}", auth),
        ("PATCH", f"/api/sessions/{sid}", auth),
        ("GET", f"/api/sessions/{sid}/transcript", auth),
        ("GET", f"/api/sessions/{sid}/report", auth),
        ("POST", f"/api/sessions/{sid}/captions", auth),
        ("POST", f"/api/sessions/{sid}/tokens", auth),
        ("GET", f"/s/{sid}/participant", ""),
    ]


async def test_a_session_id_that_is_a_path_is_refused_on_every_route_and_touches_no_file(
    hub_factory: HubFactory, redis_url: str, redis_prefix: str, tmp_path: Path,
) -> None:
    """The archive (Redis backend) names files after session ids: `..%2F..%2Fplanted` was
    `<data>/archive/../../planted.jsonl`, a 500 when that file existed (an oracle) and,
    with the admin key, its deletion. Now every route answers the same 404 first."""
    hub = await hub_factory(redis_url=redis_url, redis_prefix=redis_prefix,
                            data=str(tmp_path / "data"))
    (tmp_path / "data" / "archive").mkdir(parents=True, exist_ok=True)
    planted = tmp_path / "planted.jsonl"
    answers: dict[bool, list[tuple[str, int, dict[str, Any]]]] = {}
    for exists in (False, True):
        if exists:
            planted.write_text("not an archive\n")
        got = answers[exists] = []
        for sid in TRAVERSALS:
            for method, target, headers in routes_for(sid):
                status, _, body = await raw(hub.base, method, target, headers)
                got.append((f"{method} {target}", status, error_of(body)))
    assert answers[True] == answers[False], "the answer depends on the file's existence"
    for what, status, error in answers[True]:
        assert status == 404 and error["code"] == "not_found", (what, status, error)
        assert "session id is 3 to 64" in error["message"], (what, error)
    assert planted.read_text() == "not an archive\n", "a file outside the data folder changed"


async def test_the_websocket_takeover_refuses_a_traversal_before_the_upgrade(
    hub: RunningHub,
) -> None:
    status, _, body = await raw(hub.base, "GET", "/ws/..%2F..%2Fetc%2Fpasswd", WS_HEADERS)
    assert status == 404 and error_of(body)["code"] == "not_found"
    # A well-formed id still upgrades (and an unknown one is refused in the websocket).
    created = await hub.session()
    status, _, _ = await raw(hub.base, "GET", f"/ws/{created['id']}", WS_HEADERS)
    assert status == 101


def test_archive_path_refuses_what_is_not_a_session_id(tmp_path: Path) -> None:
    archive = Archive(str(tmp_path))
    assert archive.path("abc-_9").name == "abc-_9.jsonl"
    for bad in ("../../x", "..", "a/b", "abc\n", "ab", "x" * 65, "é" * 4, "a\x00bc", ""):
        with pytest.raises(ValueError, match="not a session id"):
            archive.path(bad)
        assert not valid_session_id(bad)
    assert not valid_session_id(None)


# -- SSE resume positions --------------------------------------------------------------------


def sse_first_frame(body: bytes) -> dict[str, Any]:
    for line in body.decode().splitlines():
        if line.startswith("data: "):
            frame: dict[str, Any] = json.loads(line[6:])
            return frame
    raise AssertionError(f"no data line in {body[:300]!r}")


@pytest.mark.parametrize("last", [
    "public:x:\u00b2",  # a superscript two: str.isdigit() said yes, int() said no (500)
    "public:x:" + "9" * 5000,  # over Python's 4,300-digit int() limit (500)
    "public:x:" + "9" * 17,  # over 2^53 - 1
    "public:x:-1", "public:x:1e3", "public::5", "::", ",,,,", "public:x:\u0661",
    "public:" + "e" * 129 + ":1", "x" * 5000,
])
async def test_a_malformed_last_event_id_gets_a_fresh_join_not_a_500(
    hub: RunningHub, last: str,
) -> None:
    created = await hub.session()
    sid, token = created["id"], created["tokens"]["screen"]
    for how in ("header", "query"):
        if how == "header":
            target, headers = f"/sse/{sid}?token={token}", f"Last-Event-ID: {last}\r\n"
        else:
            quoted = "".join(c if c.isascii() and c.isalnum() else
                             "".join(f"%{b:02X}" for b in c.encode()) for c in last)
            target, headers = f"/sse/{sid}?token={token}&last_event_id={quoted}", ""
        status, got, body = await raw(hub.base, "GET", target, headers)
        assert status == 200, (how, status, body[:300])
        assert got["content-type"].startswith("text/event-stream")
        welcome = sse_first_frame(body)
        assert welcome["type"] == "welcome", welcome
        assert all(not c["recovered"] for c in welcome["channels"].values()), welcome


async def test_a_well_formed_last_event_id_still_resumes(hub: RunningHub) -> None:
    created = await hub.session()
    sid, token = created["id"], created["tokens"]["screen"]
    status, _, body = await raw(hub.base, "GET", f"/sse/{sid}?token={token}")
    assert status == 200
    channels = sse_first_frame(body)["channels"]
    last = ",".join(f"{name}:{c['epoch']}:{c['offset']}" for name, c in channels.items())
    status, _, body = await raw(hub.base, "GET", f"/sse/{sid}?token={token}",
                                f"Last-Event-ID: {last}\r\n")
    welcome = sse_first_frame(body)
    assert status == 200 and all(c["recovered"] for c in welcome["channels"].values()), welcome


def test_decode_positions_takes_ascii_digits_up_to_two_to_the_53_only() -> None:
    assert decode_positions("public:E:12,private:E:0") == {
        "public": Position("E", 12), "private": Position("E", 0)}
    assert decode_positions(f"public:E:{2**53 - 1}") == {"public": Position("E", 2**53 - 1)}
    for bad in (f"public:E:{2**53}", "public:E:\u00b2", "public:E:" + "1" * 5000,
                "public:E:\uff11", "public:E:+1", "public:E: 1", ":E:1", "public::1",
                "a:b:c:d", "public:E:1," * 200):
        assert decode_positions(bad) == {}, bad


# -- budgets are charged only after verification ----------------------------------------------


async def ws_hello(hub: RunningHub, sid: str, token: str,
                   headers: dict[str, str] | None = None) -> tuple[dict[str, Any], int | None]:
    """A hello on a fresh websocket: the first frame back, and the close code if the
    server closed right after it."""
    async with websockets.connect(f"{hub.ws_base}/ws/{sid}",
                                  additional_headers=headers or {}) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        first: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if first["type"] == "welcome":
            return first, None
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        return first, ws.close_code


async def test_bogus_requests_do_not_use_up_a_real_participants_joins(
    hub_factory: HubFactory,
) -> None:
    """Five bogus `/sse/no-such-session?token=garbage` used to spend the address's hello
    budget (and a connection slot) before the token was checked: the real join that
    followed from the same address was refused for a minute."""
    hub = await hub_factory(hello_per_minute=5, max_connections_per_address=5)
    created = await hub.session()
    sid, token = created["id"], created["tokens"]["participant"]
    for _ in range(5):
        status, _, body = await raw(hub.base, "GET", "/sse/no-such-session?token=garbage")
        assert status == 401 and error_of(body)["code"] == "unauthorized"
        status, _, body = await raw(hub.base, "GET", f"/sse/{sid}?token=garbage")
        assert status == 401
        status, _, body = await raw(hub.base, "GET", f"/sse/{sid}")  # no token at all
        assert status == 401
    for _ in range(5):  # the admin key is valid: an unknown session is a 404, uncharged
        status, _, body = await raw(hub.base, "GET", f"/sse/no-such-session?token={ADMIN_KEY}")
        assert status == 404 and error_of(body)["code"] == "not_found"
    for _ in range(5):  # over the websocket: a garbage token in `hello`
        frame, code = await ws_hello(hub, sid, "garbage")
        assert frame["code"] == "unauthorized" and code == 4501, (frame, code)
    status, _, body = await raw(hub.base, "GET", f"/sse/{sid}?token={token}")
    assert status == 200 and sse_first_frame(body)["type"] == "welcome", body[:300]
    frame, _ = await ws_hello(hub, sid, token)
    assert frame["type"] == "welcome", frame
    # The budget itself still holds for verified joins (three more here: five in all).
    answers = [(await ws_hello(hub, sid, token))[0]["type"] for _ in range(4)]
    assert answers == ["welcome"] * 3 + ["error"], answers


# -- failed credential checks are throttled per address ---------------------------------------


async def test_two_hundred_wrong_admin_keys_from_one_address_are_throttled(
    hub: RunningHub,
) -> None:
    """Default HUB_AUTH_FAILURES_PER_MINUTE (20): the 21st wrong key within a minute, and
    every one after it, is a 429 that never reaches the key comparison."""
    statuses = []
    async with aiohttp.ClientSession() as http:
        for n in range(200):
            async with http.get(f"{hub.base}/api/sessions",
                                headers={"Authorization": f"Bearer wrong-key-{n}"}) as resp:
                statuses.append(resp.status)
                body = await resp.json()
                if resp.status == 429:
                    assert body["error"]["code"] == "rate_limited", body
                    assert 0 < body["error"]["retry_after"] <= 60, body
                    assert 1 <= int(resp.headers["Retry-After"]) <= 60, resp.headers
        # Even the right key waits now: a guess that hit would not be told apart.
        async with http.get(f"{hub.base}/api/sessions",
                            headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as resp:
            assert resp.status == 429
    assert statuses == [401] * 20 + [429] * 180, statuses


async def test_an_address_over_its_failed_checks_is_refused_on_every_transport(
    hub_factory: HubFactory,
) -> None:
    hub = await hub_factory(trust_proxy=True, auth_failures_per_minute=5,
                            metrics_token=METRICS_TOKEN)
    created = await hub.session()
    sid, tokens = created["id"], created["tokens"]
    mallory = {"X-Forwarded-For": "203.0.113.9"}  # documentation addresses (header text)
    alice = {"X-Forwarded-For": "198.51.100.20"}
    forged = tokens["moderator"][:-4] + "AAAA"
    mixed = [  # five refused credentials, over several transports
        ("GET", f"/api/sessions/{sid}/report", {"Authorization": f"Bearer {forged}"}),
        ("GET", "/api/sessions", {"Authorization": "Bearer not-the-admin-key"}),
        ("GET", f"/sse/{sid}?token={forged}", {}),
        ("GET", "/metrics", {"Authorization": "Bearer not-the-metrics-token"}),
    ]
    for method, target, headers in mixed:
        status, _, _ = await raw(hub.base, method, target, header_text({**mallory, **headers}))
        assert status == 401, (target, status)
    frame, code = await ws_hello(hub, sid, forged, mallory)
    assert frame["code"] == "unauthorized", frame
    # From now on Mallory's address is refused, valid credentials included, everywhere.
    def refused(status: int, got: dict[str, str], body: bytes) -> bool:
        return (status == 429 and error_of(body)["code"] == "rate_limited"
                and int(got["retry-after"]) >= 1)
    valid = [
        ("GET", f"/api/sessions/{sid}", {"Authorization": f"Bearer {ADMIN_KEY}"}, b""),
        ("GET", f"/sse/{sid}?token={tokens['participant']}", {}, b""),
        ("POST", f"/api/sessions/{sid}/captions?token={tokens['captioner']}",
         {"Content-Type": "text/plain"}, b"Hello\n"),
        ("GET", "/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"}, b""),
    ]
    for method, target, headers, body in valid:
        answer = await raw(hub.base, method, target, header_text({**mallory, **headers}), body)
        assert refused(*answer), (target, answer)
    frame, code = await ws_hello(hub, sid, tokens["participant"], mallory)
    assert frame["code"] == "rate_limited" and frame["retry_after"] > 0, frame
    assert code == 4029
    # Another address is not affected.
    for method, target, headers, body in valid:
        status, _, got = await raw(hub.base, method, target, header_text({**alice, **headers}),
                                   body)
        assert status == 200, (target, status, got[:200])
    frame, _ = await ws_hello(hub, sid, tokens["participant"], alice)
    assert frame["type"] == "welcome", frame


def header_text(headers: dict[str, str]) -> str:
    return "".join(f"{name}: {value}\r\n" for name, value in headers.items())


# -- bodies read whole, caption ingest bounded ----------------------------------------------


def admin_json(**extra: str) -> str:
    return header_text({"Authorization": f"Bearer {ADMIN_KEY}",
                        "Content-Type": "application/json", **extra})


async def test_a_300_kb_json_body_is_read_whole(hub: RunningHub) -> None:
    """`content.read(n)` returned what was buffered: 300 KB of valid JSON was 'invalid JSON'."""
    body = json.dumps({"title": "Big body", "state": "live", "notes": "x" * 300_000}).encode()
    for chunked, split in ((False, 100_000), (False, 0), (True, 0)):
        status, _, got = await raw(hub.base, "POST", "/api/sessions", admin_json(), body,
                                   chunked=chunked, split=split)
        assert status == 201, (chunked, split, status, got[:300])
        assert json.loads(got)["session"]["title"] == "Big body"


async def test_a_body_over_one_mib_is_413_too_large_with_or_without_content_length(
    hub: RunningHub,
) -> None:
    created = await hub.session()
    sid, captioner = created["id"], created["tokens"]["captioner"]
    big_json = json.dumps({"title": "t", "pad": "x" * 2_000_000}).encode()
    big_text = b"A caption line\n" * 140_000  # 2 MB of valid captions
    cases = [
        ("/api/sessions", admin_json(), big_json),
        (f"/api/sessions/{sid}/captions?token={captioner}",
         header_text({"Content-Type": "text/plain"}), big_text),
    ]
    for target, headers, body in cases:
        for chunked in (False, True):
            status, _, got = await raw(hub.base, "POST", target, headers, body, chunked=chunked)
            assert status == 413, (target, chunked, status, got[:300])
            assert error_of(got)["code"] == "too_large", got
    assert await transcript(hub, sid) == []


async def transcript(hub: RunningHub, sid: str) -> list[str]:
    status, body, _ = await ahttp("GET", f"{hub.base}/api/sessions/{sid}/transcript?format=json",
                                  token=ADMIN_KEY)
    assert status == 200, body
    return [cue["text"] for cue in body["cues"]]


async def post_captions(hub: RunningHub, sid: str, token: str, lines: list[str],
                        ) -> tuple[int, dict[str, str], bytes]:
    body = ("2026-11-27T08:00:00.123 region:reg1#cue1\n" + "\n".join(lines) + "\n").encode()
    return await raw(hub.base, "POST", f"/api/sessions/{sid}/captions?token={token}",
                     header_text({"Content-Type": "text/plain; charset=utf-8"}), body)


async def test_a_post_over_the_line_cap_is_refused_whole_and_stores_nothing(
    hub: RunningHub,
) -> None:
    """One 253 KiB post made 15,086 events, and 20,000 posted lines stored 15,086 without
    an error. Now at most HUB_INGEST_LINES_PER_POST (100) lines, or a 413 naming the cap."""
    created = await hub.session()
    sid, captioner = created["id"], created["tokens"]["captioner"]
    screen = Client(hub.ws_base, sid, created["tokens"]["screen"])
    await screen.connect()
    try:
        for count in (101, 20_000):
            status, _, got = await post_captions(hub, sid, captioner,
                                                 [f"line {n}" for n in range(count)])
            error = error_of(got)
            assert status == 413 and error["code"] == "too_large", (count, status, error)
            assert "at most 100 per post" in error["message"], error
            assert "HUB_INGEST_LINES_PER_POST" in error["message"], error
        assert await transcript(hub, sid) == []
        lines = [f"line {n}" for n in range(100)]
        status, _, got = await post_captions(hub, sid, captioner, lines)
        assert status == 200, got
        assert await transcript(hub, sid) == lines
        # The readers get one caption event per line, in order, gap-free.
        events = await screen.wait_for(lambda c: len(c.kinds("caption")) >= 100 and
                                       c.kinds("caption"))
        assert [e["data"]["text"] for e in events] == lines
        assert len(screen.kinds("caption")) == 100
    finally:
        await screen.close()
    # ... appended as one batch (one append, one state-log entry) for the whole post.
    batches = await hub.app[LOG].batches(sid, 0)
    captions = [b for b in batches if b.fact.get("kind") == "caption"]
    assert len(captions) == 1 and len(captions[0].events) == 100, captions


async def test_posted_lines_count_against_the_captioners_caption_limit(
    hub_factory: HubFactory,
) -> None:
    hub = await hub_factory(caption_per_10s=50, ingest_lines_per_post=20)
    created = await hub.session()
    sid, captioner = created["id"], created["tokens"]["captioner"]
    first = [f"first {n}" for n in range(20)]
    second = [f"second {n}" for n in range(20)]
    for lines in (first, second):
        status, _, got = await post_captions(hub, sid, captioner, lines)
        assert status == 200, got
    status, headers, got = await post_captions(hub, sid, captioner,
                                               [f"third {n}" for n in range(20)])
    error = error_of(got)
    assert status == 429 and error["code"] == "rate_limited", (status, error)
    assert 0 < error["retry_after"] <= 10 and 1 <= int(headers["retry-after"]) <= 10, error
    assert await transcript(hub, sid) == first + second  # nothing of the refused post
    # Ten lines still fit (50 per 10 s).
    status, _, got = await post_captions(hub, sid, captioner, ["last"] * 10)
    assert status == 200, got


def test_a_window_takes_several_places_at_once_or_none() -> None:
    window = Window(5, 10.0)
    assert window.take(0.0, 3) == 0.0
    assert window.wait(1.0, 3) == 9.0  # the first place frees at 10 s: 2 + 3 fit then
    assert window.take(1.0, 3) == 9.0  # refused: nothing recorded
    assert window.take(2.0, 2) == 0.0  # exactly full
    assert window.wait(3.0) == 7.0
    window.refund(2)
    assert window.take(3.0, 2) == 0.0
    assert window.take(11.0, 3) == 0.0  # the first three expired at 10 s
    assert window.take(12.0, 6) == 10.0  # more than the limit never fits
