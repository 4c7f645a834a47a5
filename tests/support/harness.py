"""Test harness: hub servers (in-process and as real processes) and a protocol client."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets

ADMIN_KEY = "test-admin-key-0123456789-abcdefghijklmnop"  # >= 32: the hub refuses less


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A loopback port free now, never one this process handed out before: the kernel may
    give a port just closed again, and two servers started one after the other then both
    get it (the second one fails to bind)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def http(method: str, url: str, body: Any = None, token: str | None = None,
         content_type: str = "application/json", headers: dict[str, str] | None = None,
         ) -> tuple[int, Any, dict[str, str]]:
    """A blocking HTTP call (run it in a thread from async code): status, decoded body, headers."""
    data = None
    if body is not None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", content_type)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw, status, hdrs = resp.read(), resp.status, dict(resp.headers)
    except urllib.error.HTTPError as exc:
        raw, status, hdrs = exc.read(), exc.code, dict(exc.headers)
    ctype = hdrs.get("Content-Type", "")
    decoded: Any = json.loads(raw) if "json" in ctype and raw else raw.decode()
    return status, decoded, hdrs


async def ahttp(method: str, url: str, body: Any = None, token: str | None = None,
                **kw: Any) -> tuple[int, Any, dict[str, str]]:
    return await asyncio.to_thread(http, method, url, body, token, **kw)


@dataclass
class HubProcess:
    """`hub serve` as a real process on loopback."""

    data: Path
    port: int = 0
    redis_url: str | None = None
    redis_prefix: str | None = None
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)  # more command-line options
    command: str = "serve"  # or "relay" (with --upstream in `args`)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> HubProcess:
        if not self.port:
            self.port = free_port()
        args = [sys.executable, "-m", "hub.cli", self.command, "--host", "127.0.0.1",
                "--port", str(self.port), "--data", str(self.data), *self.args]
        if self.redis_url:
            args += ["--redis", self.redis_url]
        if self.redis_prefix:
            args += ["--redis-prefix", self.redis_prefix]
        # Voice off unless a test asks for it: a private Janus per hub process is not free.
        env = {**os.environ, "HUB_ADMIN_KEY": ADMIN_KEY, "HUB_MEDIA_URL": "off", **self.env}
        self.log_path = self.data.parent / f"hub-{self.port}.log"
        self.data.mkdir(parents=True, exist_ok=True)
        seen = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub exited: {self.log_path.read_text()}")
            if b"hub ready on" in self.log_path.read_bytes()[seen:]:
                return self
            time.sleep(0.05)
        raise RuntimeError(f"hub did not start: {self.log_path.read_text()}")

    def kill(self) -> None:
        """`kill -9`: nothing flushed, nothing said."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def terminate(self, timeout: float = 15.0) -> int:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            return self.proc.wait(timeout)
        return self.proc.returncode if self.proc else 0

    def output(self) -> str:
        return self.log_path.read_text() if self.log_path else ""


async def create_session(base: str, title: str = "Workshop", **extra: Any) -> dict[str, Any]:
    status, body, _ = await ahttp("POST", f"{base}/api/sessions", {"title": title, **extra},
                                  token=ADMIN_KEY)
    assert status == 201, body
    return dict(body)


class Client:
    """A protocol client: joins, tracks channel positions, matches acks to refs."""

    _refs = itertools.count(1)

    def __init__(self, ws_base: str, session: str, token: str, **hello: Any) -> None:
        self.url = f"{ws_base}/ws/{session}"
        self.token = token
        self.hello_extra = hello
        self.ws: Any = None
        self.welcome: dict[str, Any] = {}
        self.events: list[dict[str, Any]] = []
        self.arrivals: list[float] = []  # time.monotonic() of each event's arrival
        self.frames: list[dict[str, Any]] = []
        self.positions: dict[str, dict[str, Any]] = {}
        self.pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.reader: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()
        self.changed = asyncio.Condition()
        self.close_code: int | None = None
        self.small_buffers = False  # a reader on a thin link: tiny socket buffers

    async def connect(self, resume: bool = False, **extra: Any) -> dict[str, Any]:
        if self.reader is not None and not self.reader.done():
            # One connection at a time: a reader of an earlier socket must not go on
            # moving the positions this one resumes from.
            self.reader.cancel()
            await asyncio.gather(self.reader, return_exceptions=True)
        self.closed.clear()
        if self.small_buffers:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            host, port = self.url.split("/")[2].split(":")
            sock.connect((host, int(port)))
            sock.setblocking(False)
            self.ws = await websockets.connect(self.url, sock=sock, max_size=2**22, max_queue=1)
        else:
            self.ws = await websockets.connect(self.url, max_size=2**22)
        hello: dict[str, Any] = {"type": "hello", "token": self.token, **self.hello_extra, **extra}
        if resume and self.positions:
            hello["resume"] = self.positions
        await self.ws.send(json.dumps(hello))
        first = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
        if first["type"] != "welcome":
            await self.ws.close()
            raise RuntimeError(f"no welcome: {first}")
        self.welcome = first
        self.token = first["you"]["token"]
        for name, pos in first["channels"].items():
            self.positions[name] = {"epoch": pos["epoch"], "offset": pos["offset"],
                                    "sig": pos["sig"]}
        self.reader = asyncio.create_task(self._read())
        return first

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                self.frames.append(frame)
                if frame["type"] == "event":
                    pos = self.positions[frame["channel"]]
                    assert frame["epoch"] == pos["epoch"], (frame, pos)
                    if self.hello_extra.get("lite") and frame["channel"] == "public":
                        # A low-bandwidth reader skips others' items: ordered, not gap-free.
                        assert frame["offset"] > pos["offset"], (frame, pos)
                    else:
                        assert frame["offset"] == pos["offset"] + 1, (frame, pos)
                    pos["offset"], pos["sig"] = frame["offset"], frame["sig"]
                    self.events.append(frame)
                    self.arrivals.append(time.monotonic())
                elif frame["type"] in ("ack", "error", "pong") and frame.get("ref") in self.pending:
                    self.pending.pop(frame["ref"]).set_result(frame)
                async with self.changed:
                    self.changed.notify_all()
        except websockets.ConnectionClosed as exc:
            self.close_code = exc.rcvd.code if exc.rcvd else None
        finally:
            self.closed.set()
            for fut in self.pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("closed"))
            self.pending.clear()
            async with self.changed:
                self.changed.notify_all()

    async def request(self, frame: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
        ref = f"r{next(self._refs)}"
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[ref] = fut
        await self.ws.send(json.dumps({**frame, "ref": ref}))
        return await asyncio.wait_for(fut, timeout)

    async def ok(self, frame: dict[str, Any]) -> dict[str, Any]:
        reply = await self.request(frame)
        assert reply["type"] == "ack", reply
        return reply

    async def wait_for(self, predicate: Any, timeout: float = 10) -> Any:
        """Wait until `predicate(self)` is truthy; returns its value."""
        async def check() -> Any:
            async with self.changed:
                while True:
                    value = predicate(self)
                    if value:
                        return value
                    if self.closed.is_set():
                        raise ConnectionError(f"closed before condition held ({self.close_code})")
                    await self.changed.wait()
        return await asyncio.wait_for(check(), timeout)

    def kinds(self, kind: str, channel: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.events
                if e["kind"] == kind and (channel is None or e["channel"] == channel)]

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            await asyncio.gather(self.reader, return_exceptions=True)

    async def drop(self) -> None:
        """The network goes away: the TCP socket closes without a close frame."""
        transport = self.ws.transport
        transport.abort()
        if self.reader is not None:
            await asyncio.gather(self.reader, return_exceptions=True)
