"""Issue #12, the gate: session ids on every route, failed checks throttled per address,
budgets charged only after verification, caption ingest bodies and lines, SSE resume
positions. Each attack is replayed over real HTTP and websockets against a real server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from hub.domain.session import valid_session_id
from hub.log.archive import Archive
from tests.conftest import HubFactory, RunningHub
from tests.harness import ADMIN_KEY

WS_HEADERS = ("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")


async def raw(base: str, method: str, target: str, headers: str = "", body: bytes = b"",
              chunked: bool = False) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 request with `target` sent exactly as written (no client normalises
    `..` or `%2F` away). Returns the status, the headers (lower-case names) and the body
    read until the server closes or, for a stream or a 101, what came first."""
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
        else:
            writer.write(body)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 20)
        status = int(status_line.split()[1])
        got: dict[str, str] = {}
        while (line := await asyncio.wait_for(reader.readline(), 20)) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            got[name.strip().lower()] = value.strip()
        if status == 101 or got.get("content-type", "").startswith("text/event-stream"):
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


# -- item 2: session ids ---------------------------------------------------------------------

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
