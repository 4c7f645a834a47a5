"""deploy/ for real: Debian's nginx, configured from deploy/nginx/hub.conf, in front of
two `hub serve --redis` processes; a meeting runs through it while one instance is
killed. Also: the Redis config, the systemd unit and the files' consistency.

nginx's config has one source, deploy/nginx/hub.conf. deploy/nginx/render-conf
swaps its `upstream hub` server lines, its `listen` lines and its access log path
for this test's loopback ports and tmp_path (compose.yaml renders it with the same
script); the test wraps the result in a minimal main config (pid, error log and
temp paths under tmp_path).

nginx comes from PATH or /usr/sbin/nginx; when it is missing and the tests run as
root (CI), the `nginx_bin` fixture installs Debian's package with apt-get.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis
import websockets

from tests.support.deployment import HUB_CONF, RENDER, Deployment, Nginx
from tests.support.harness import ADMIN_KEY, Client, HubProcess, ahttp
from tests.support.redis_server import free_port, redis_server_binary

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

# The function body must finish in 60 s; fixture set-up is not counted, because the
# first test may include installing nginx with apt-get (bounded by its own timeout).
pytestmark = pytest.mark.timeout(60, func_only=True)


# --- nginx ------------------------------------------------------------------------





















# --- clients --------------------------------------------------------------------

class SseReader:
    """An EventSource through nginx: follows channel offsets, resumes with Last-Event-ID."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http = http
        self.url = url
        self.last_id: str | None = None
        self.welcomes: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.offsets: dict[str, int] = {}
        self.headers: dict[str, str] = {}
        self.closed = asyncio.Event()
        self.changed = asyncio.Condition()
        self.task: asyncio.Task[None] | None = None
        self.error: BaseException | None = None

    async def connect(self) -> dict[str, Any]:
        headers = {"Accept": "text/event-stream", "Accept-Encoding": "gzip"}
        if self.last_id:
            headers["Last-Event-ID"] = self.last_id
        response = await self.http.get(self.url, headers=headers,
                                       timeout=aiohttp.ClientTimeout(total=None, connect=10))
        assert response.status == 200, await response.text()
        self.headers = dict(response.headers)
        self.closed.clear()
        seen = len(self.welcomes)
        self.task = asyncio.create_task(self._read(response))
        await self.wait_for(lambda r: len(r.welcomes) > seen)
        return self.welcomes[-1]

    async def _read(self, response: aiohttp.ClientResponse) -> None:
        event_id: str | None = None
        data: list[str] = []
        try:
            async for raw in response.content:
                line = raw.decode().rstrip("\r\n")
                if line.startswith("id: "):
                    event_id = line[4:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif line == "" and data:
                    self._dispatch(json.loads("\n".join(data)), event_id)
                    event_id, data = None, []
                    async with self.changed:
                        self.changed.notify_all()
        except (aiohttp.ClientError, ConnectionError):
            pass  # the instance went away mid-stream
        except AssertionError as exc:
            self.error = exc
        finally:
            response.release()
            self.closed.set()
            async with self.changed:
                self.changed.notify_all()

    def _dispatch(self, frame: dict[str, Any], event_id: str | None) -> None:
        if event_id:
            self.last_id = event_id
        if frame["type"] == "welcome":
            self.welcomes.append(frame)
            for name, pos in frame["channels"].items():
                self.offsets[name] = pos["offset"]
        elif frame["type"] == "event":
            expected = self.offsets[frame["channel"]] + 1
            assert frame["offset"] == expected, (frame, expected)
            self.offsets[frame["channel"]] = frame["offset"]
            self.events.append(frame)

    async def wait_for(self, predicate: Callable[[SseReader], Any], timeout: float = 10) -> Any:
        async def check() -> Any:
            async with self.changed:
                while True:
                    if self.error is not None:
                        raise self.error
                    value = predicate(self)
                    if value:
                        return value
                    if self.closed.is_set() and self.task is not None and self.task.done():
                        raise ConnectionError("SSE stream closed before the condition held")
                    await self.changed.wait()
        return await asyncio.wait_for(check(), timeout)

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        yield session


@pytest.fixture
async def to_close(http: aiohttp.ClientSession) -> AsyncIterator[list[Client | SseReader]]:
    """Clients a test opened, closed at the end even when it fails."""
    opened: list[Client | SseReader] = []
    yield opened
    for each in opened:
        await each.close()


def captions(events: list[dict[str, Any]]) -> list[str]:
    return [e["data"]["text"] for e in events if e["kind"] == "caption"]


def public(events: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
    """A reader's public channel as (offset, kind, data): equal lists, equal histories."""
    return [(e["offset"], e["kind"], json.dumps(e["data"], sort_keys=True))
            for e in events if e["channel"] == "public"]


async def connections(hub: HubProcess) -> dict[str, float]:
    """`hub_connections` of one instance, summed by transport."""
    status, body, _ = await ahttp("GET", f"{hub.url}/metrics")
    assert status == 200
    out = {"ws": 0.0, "sse": 0.0}
    for match in re.finditer(r'^hub_connections\{([^}]*)\} (\S+)$', body, re.M):
        transport = re.search(r'transport="(\w+)"', match.group(1))
        assert transport is not None
        out[transport.group(1)] = out.get(transport.group(1), 0.0) + float(match.group(2))
    return out


async def metric(hub: HubProcess, name: str, labels: str = "") -> float:
    status, body, _ = await ahttp("GET", f"{hub.url}/metrics")
    assert status == 200
    found = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", body, re.M)
    return float(found.group(1)) if found else 0.0


async def until(check: Callable[[], Awaitable[bool] | bool], timeout: float = 10,
                what: str = "") -> None:
    """Poll a condition that no event tells us about (another process's state)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if not isinstance(value, bool):
            value = await value
        if value:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def connected(hubs: list[HubProcess], expected: int) -> bool:
    """Whether these instances count `expected` open client connections in all."""
    counts = [await connections(hub) for hub in hubs]
    return sum(sum(c.values()) for c in counts) == expected


async def post_caption(url: str, token: str, seq: int, text: str) -> None:
    joiner = "&" if "?" in url else "?"
    status, body, _ = await ahttp("POST", f"{url}{joiner}seq={seq}&lang=en", text, token=token,
                                  content_type="text/plain; charset=utf-8")
    assert status == 200, (status, body)


# --- the meeting through nginx ----------------------------------------------------

async def test_meeting_through_nginx_survives_kill_9_of_an_instance(
    deployment: Deployment, http: aiohttp.ClientSession, to_close: list[Client | SseReader]
) -> None:
    nginx, hubs = deployment.nginx, deployment.hubs
    for path in ("/healthz", "/readyz"):
        status, _, _ = await ahttp("GET", nginx.url + path)
        assert status == 200, path

    # The organizer creates the session through nginx; links name nginx's address,
    # so Host reached the hub as the client sent it.
    status, created, _ = await ahttp("POST", f"{nginx.url}/api/sessions",
                                     {"title": "Main session", "state": "live"}, token=ADMIN_KEY)
    assert status == 201, created
    sid, tokens = created["id"], created["tokens"]
    assert created["captions_url"].startswith(f"{nginx.url}/api/sessions/{sid}/captions")
    assert all(link.startswith(nginx.url + "/") for link in created["links"].values())

    # A browser page on nginx's origin may open a websocket (X-Forwarded-Host/Proto
    # reach the Origin check); a foreign page may not.
    url = f"{nginx.ws_url}/ws/{sid}"
    async with websockets.connect(url, origin=websockets.Origin(nginx.url)) as ws:
        await ws.send(json.dumps({"type": "hello", "token": tokens["screen"]}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "welcome"
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(url, origin=websockets.Origin("https://evil.example"))
    assert refused.value.response.status_code == 403

    def client(role: str, name: str) -> Client:
        return Client(nginx.ws_url, sid, tokens[role], name=name)

    cap = client("captioner", "Captioner")
    mod = client("moderator", "Moderator")
    alice = client("participant", "Alice")
    nairobi = client("hub", "Nairobi hub")
    screen = client("screen", "Screen")
    others = [client("participant", f"P{n}") for n in range(7)]
    everyone = [cap, mod, alice, nairobi, screen, *others]
    to_close.extend(everyone)
    for each in everyone:
        await each.connect()
    sse = SseReader(http, f"{nginx.url}/sse/{sid}?token={tokens['screen']}")
    to_close.append(sse)
    welcome = await sse.connect()
    assert sse.headers["Content-Type"].startswith("text/event-stream")
    assert "Content-Encoding" not in sse.headers  # gzip is off for the event stream
    assert welcome["channels"]["public"]["offset"] >= 0

    # nginx spread the connections over both instances (least_conn).
    total = len(everyone) + 1
    await until(lambda: connected(hubs, total), what="all connections counted")
    spread = [await connections(hub) for hub in hubs]
    assert all(s["ws"] >= 1 for s in spread), spread

    # The meeting: captions reach every reader in order; a question is asked and approved.
    # The SSE reader gets each caption as it is said, not when a buffer fills.
    for n in range(1, 31):
        await cap.ok({"type": "caption", "text": f"caption {n}", "seq": n})
        if n <= 5:
            await sse.wait_for(lambda r, n=n: len(captions(r.events)) == n, timeout=2)
    asked = await alice.ok({"type": "ask", "kind": "question", "text": "What about access?",
                            "key": "q1"})
    item = asked["item"]
    await mod.wait_for(lambda m: any(e["data"]["id"] == item
                                     for e in m.kinds("item", "moderation")))
    await mod.ok({"type": "moderate", "item": item, "action": "approve"})
    expected = [f"caption {n}" for n in range(1, 31)]
    for each in everyone:
        got = await each.wait_for(lambda c: any(e["data"]["id"] == item
                                                and e["data"]["status"] == "approved"
                                                for e in c.kinds("item", "public")) and c)
        assert captions(got.events) == expected
    await sse.wait_for(lambda r: any(e["kind"] == "item" for e in r.events))
    assert captions(sse.events) == expected

    # kill -9 the instance that holds the SSE reader (and some websockets).
    victim = next(h for h, s in zip(hubs, spread, strict=True) if s["sse"] == 1)
    survivor = next(h for h in hubs if h is not victim)
    on_victim = int(spread[hubs.index(victim)]["ws"])
    assert on_victim >= 1
    victim.kill()
    await until(lambda: sum(c.closed.is_set() for c in everyone) >= on_victim
                and sse.closed.is_set(), what="the victim's clients to notice")
    await asyncio.sleep(0.2)
    dropped = [c for c in everyone if c.closed.is_set()]
    assert len(dropped) == on_victim  # the other instance's clients were not touched

    # While they are away the meeting goes on: the moderator (reconnected first if it
    # was on the victim) puts the question live, captioning software posts through
    # nginx (the dead instance refuses; nginx passes the POST to the other one).
    if mod in dropped:
        await _resume(mod)
    await mod.ok({"type": "moderate", "item": item, "action": "live"})
    for n in range(31, 41):
        await post_caption(created["captions_url"], tokens["captioner"], n, f"caption {n}")

    # Everyone on the dead instance comes back through nginx, exactly where they were.
    for each in dropped:
        if each is not mod:
            await _resume(each)
    welcome = await sse.connect()  # Last-Event-ID
    assert welcome["channels"]["public"]["recovered"] is True, welcome["channels"]
    for n in range(41, 51):
        await cap.ok({"type": "caption", "text": f"caption {n}", "seq": n})
    await mod.ok({"type": "moderate", "item": item, "action": "done"})
    await cap.ok({"type": "caption", "text": "the end", "seq": 51})  # the last public event

    expected = [*(f"caption {n}" for n in range(1, 51)), "the end"]

    def finished(events: list[dict[str, Any]]) -> bool:
        mine = [e for e in events if e["channel"] == "public"]
        return bool(mine) and captions(mine[-1:]) == ["the end"]

    for each in everyone:
        await each.wait_for(lambda c: finished(c.events))
    await sse.wait_for(lambda r: finished(r.events))
    reference = public(screen.events)
    assert captions(screen.events) == expected
    for each in everyone:
        assert public(each.events) == reference, each.hello_extra
    assert public(sse.events) == reference

    def own(c: Client) -> list[str]:
        return [e["data"]["status"] for e in c.kinds("item") if e["channel"] == "private"]

    await alice.wait_for(lambda c: len(own(c)) >= 4)
    assert own(alice) == ["pending", "approved", "live", "done"]
    await mod.wait_for(lambda c: len(c.kinds("item", "moderation")) >= 4)
    moderation = [e["data"]["action"] for e in mod.kinds("item", "moderation")]
    assert moderation == ["ask", "approve", "live", "done"]

    await until(lambda: connected([survivor], total), what="everyone on the survivor")
    recovered = await metric(survivor, "hub_resumes_total", '{outcome="recovered"}')
    assert recovered >= len(dropped) + 1  # + the SSE reader
    assert await metric(survivor, "hub_resumes_total", '{outcome="not_recovered"}') == 0

    # gzip for text from the API, through nginx.
    async with http.get(f"{nginx.url}/api/sessions/{sid}/transcript?format=vtt",
                        headers={"Accept-Encoding": "gzip",
                                 "Authorization": f"Bearer {tokens['participant']}"}) as resp:
        assert resp.status == 200
        assert resp.headers.get("Content-Encoding") == "gzip"
        vtt = gzip.decompress(await resp.read()).decode()
    assert vtt.startswith("WEBVTT") and "caption 50" in vtt

    for each in everyone:
        await each.close()
    await sse.close()
    deployment.nginx.stop()  # flushes the access log

    # nginx tried the dead instance, was refused, and passed every request on:
    # no client ever saw a 5xx. Both instances served websockets. No token was logged.
    errors = (nginx.prefix / "error.log").read_text()
    assert "Connection refused" in errors and "while connecting to upstream" in errors
    lines = nginx.access_log()
    assert not [ln.raw for ln in lines if ln.status >= 500]
    upgraded = {ln.upstreams[-1] for ln in lines if ln.status == 101}
    assert upgraded == {f"127.0.0.1:{hub.port}" for hub in hubs}, upgraded
    retried = [ln for ln in lines
               if ln.upstreams == [f"127.0.0.1:{victim.port}", f"127.0.0.1:{survivor.port}"]]
    assert retried, [ln.raw for ln in lines]
    assert all("token" not in ln.raw for ln in lines)
    print(f"\nthrough nginx: {len(everyone)} websocket clients + 1 SSE reader, "
          f"spread {[s['ws'] for s in spread]} ws over 2 instances; "
          f"{len(reference)} public events each ({len(expected)} captions); "
          f"instance on {victim.port} killed with {on_victim} ws + 1 SSE; "
          f"{len(dropped) + 1} resumed, 0 lost, {len(retried)} requests retried by nginx")


async def _resume(each: Client) -> None:
    welcome = await each.connect(resume=True)
    assert all(ch["recovered"] for ch in welcome["channels"].values()), welcome["channels"]


async def test_sigterm_through_nginx_clients_get_1012_and_resume_elsewhere(
    deployment: Deployment, to_close: list[Client | SseReader]
) -> None:
    """An upgrade step: SIGTERM one instance; its clients are told to reconnect and
    resume through nginx on the other, with nothing missed."""
    nginx, hubs = deployment.nginx, deployment.hubs
    status, created, _ = await ahttp("POST", f"{nginx.url}/api/sessions",
                                     {"title": "Upgrade", "state": "live"}, token=ADMIN_KEY)
    assert status == 201
    sid, tokens = created["id"], created["tokens"]
    readers = [Client(nginx.ws_url, sid, tokens["participant"], name=f"R{n}") for n in range(6)]
    to_close.extend(readers)
    for each in readers:
        await each.connect()
    await until(lambda: connected(hubs, len(readers)), what="all connections counted")
    spread = [await connections(hub) for hub in hubs]
    assert all(s["ws"] >= 1 for s in spread), spread
    for n in range(1, 11):
        await post_caption(created["captions_url"], tokens["captioner"], n, f"line {n}")
    for each in readers:
        await each.wait_for(lambda c: len(c.kinds("caption")) == 10)

    stopping = hubs[0]
    assert stopping.terminate() == 0
    await until(lambda: len([c for c in readers if c.closed.is_set()]) == spread[0]["ws"],
                what="the stopped instance's clients to be told")
    told = [c for c in readers if c.closed.is_set()]
    assert {c.close_code for c in told} == {1012}
    assert all(any(f["type"] == "bye" and f["reconnect"] for f in c.frames) for c in told)
    for n in range(11, 16):
        await post_caption(created["captions_url"], tokens["captioner"], n, f"line {n}")
    for each in told:
        await _resume(each)
    for n in range(16, 21):
        await post_caption(created["captions_url"], tokens["captioner"], n, f"line {n}")
    for each in readers:
        got = await each.wait_for(lambda c: len(c.kinds("caption")) == 20 and c.kinds("caption"))
        assert [e["data"]["text"] for e in got] == [f"line {n}" for n in range(1, 21)]
    for each in readers:
        await each.close()


# --- the config files on their own -------------------------------------------------

def test_nginx_config_passes_nginx_t(nginx_bin: str, tmp_path: Path) -> None:
    """hub.conf as shipped (upstreams 127.0.0.1:8081/8082), on a free port, is valid
    for Debian's nginx, with no warnings."""
    nginx = Nginx(nginx_bin, tmp_path / "nginx", [])
    done = nginx.test_config()
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "syntax is ok" in output and "test is successful" in output
    assert "[warn]" not in output and "[emerg]" not in output, output
    site = (tmp_path / "nginx" / "hub.conf").read_text()
    assert re.findall(r"^\s*server (\S+) ", site, re.M) == ["127.0.0.1:8081", "127.0.0.1:8082"]
    # What no loopback test can tell apart (nginx passes small events on at once even
    # when buffering or compressing): the event stream is neither buffered nor gzipped.
    sse = re.search(r"location /sse/ \{([^}]*)\}", site)
    assert sse is not None
    assert "proxy_buffering off;" in sse.group(1) and "gzip off;" in sse.group(1)
    assert "text/event-stream" not in site.split("gzip_types", 1)[1].split(";", 1)[0]


def test_render_conf_for_compose_matches_compose_yaml() -> None:
    """compose.yaml renders hub.conf for hub1/hub2 with the same script; only the
    marked lines change."""
    compose = (DEPLOY / "compose.yaml").read_text()
    command = re.search(r"render-conf((?:\s+--\S+\s+\S+)+)", compose)
    assert command is not None
    args = command.group(1).split()
    assert args == ["--listen", "8080", "--upstream", "hub1:8080", "--upstream", "hub2:8080"]
    assert re.search(r"^  hub1: \*hub$", compose, re.M) and re.search(r"^  hub2: \*hub$", compose,
                                                                       re.M)
    assert '"8080:8080"' in compose and "HUB_REDIS_URL: redis://redis:6379/0" in compose
    done = subprocess.run(["sh", str(RENDER), *args, str(HUB_CONF)], capture_output=True,
                          text=True, check=True)
    rendered, shipped = done.stdout.splitlines(), HUB_CONF.read_text().splitlines()
    changed = [ln.strip() for ln in rendered if ln not in shipped]
    assert changed == ["server hub1:8080 max_fails=3 fail_timeout=10s;",
                       "server hub2:8080 max_fails=3 fail_timeout=10s;", "listen 8080;"]
    removed = [ln.strip() for ln in shipped if ln not in rendered]
    assert removed == ["server 127.0.0.1:8081 max_fails=3 fail_timeout=10s;",
                       "server 127.0.0.1:8082 max_fails=3 fail_timeout=10s;",
                       "listen 80;", "listen [::]:80;"]


def test_containerfile_copies_what_exists() -> None:
    """Containers cannot run here: check the image's sources and ignore file agree."""
    containerfile = (DEPLOY / "Containerfile").read_text()
    sources = re.findall(r"^COPY (.+) \S+$", containerfile, re.M)
    copied = [name for line in sources for name in line.split()]
    assert copied == ["pyproject.toml", "README.md", "hub", "web"]
    ignore = (DEPLOY / "Containerfile.dockerignore").read_text().split()
    for name in copied:
        assert (ROOT / name).exists(), name
        assert f"!{name}" in ignore, name
    assert re.search(r"^FROM \S*python:3\.11-slim$", containerfile, re.M)
    assert re.search(r"^USER hub$", containerfile, re.M) and "EXPOSE 8080" in containerfile
    assert "/healthz" in containerfile
    assert 'CMD ["hub", "serve", "--host", "0.0.0.0"]' in containerfile


def test_redis_conf_keeps_data_through_kill_9(tmp_path: Path) -> None:
    """deploy/redis/redis.conf starts, has the settings the hub relies on, and an
    acknowledged write survives kill -9 (append-only file, fsync every second)."""
    port = free_port()
    args = [redis_server_binary(), str(DEPLOY / "redis" / "redis.conf"), "--port", str(port),
            "--dir", str(tmp_path), "--logfile", str(tmp_path / "redis.log")]

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with redis.Redis(port=port, socket_connect_timeout=0.5) as client:
                    if client.ping():
                        return proc
            except (redis.ConnectionError, redis.BusyLoadingError):
                time.sleep(0.05)
        proc.kill()
        raise RuntimeError((tmp_path / "redis.log").read_text())

    proc = start()
    try:
        with redis.Redis(port=port, decode_responses=True) as client:
            settings = {key: client.config_get(key)[key] for key in (
                "appendonly", "appendfsync", "maxmemory-policy", "notify-keyspace-events",
                "protected-mode", "bind")}
            assert settings == {"appendonly": "yes", "appendfsync": "everysec",
                                "maxmemory-policy": "noeviction", "notify-keyspace-events": "",
                                "protected-mode": "yes", "bind": "127.0.0.1"}
            client.xadd("hub:{s1}:log", {"b": "batch 1"}, id="1-0")
            time.sleep(1.5)  # everysec: on disk within a second
        proc.kill()
        proc.wait(10)
        proc = start()
        with redis.Redis(port=port, decode_responses=True) as client:
            assert client.xrange("hub:{s1}:log") == [("1-0", {"b": "batch 1"})]
    finally:
        proc.kill()
        proc.wait(10)


def test_systemd_unit_and_env_example(tmp_path: Path) -> None:
    """The unit passes `systemd-analyze verify` (when there is one); the env example
    only names settings the hub reads."""
    sources = [(ROOT / "hub" / name).read_text() for name in ("config.py", "cli.py")]
    known = {name for text in sources for name in re.findall(r'"(HUB_[A-Z_]+)"', text)}
    example = (DEPLOY / "systemd" / "hub.env.example").read_text()
    named = set(re.findall(r"^#?(HUB_[A-Z_]+)=", example, re.M))
    assert named and named <= known, named - known
    assert "HUB_PORT=" not in example  # the port is the instance name
    unit = (DEPLOY / "systemd" / "hub@.service").read_text()
    for line in ("ExecStart=/opt/hub/venv/bin/hub serve --port %i",
                 "EnvironmentFile=/etc/hub/hub.env", "Restart=on-failure", "KillSignal=SIGTERM",
                 "NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/hub",
                 "PrivateTmp=yes", "User=hub"):
        assert re.search(rf"^{re.escape(line)}$", unit, re.M), line
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return
    hub_bin = Path(sys.executable).parent / "hub"
    if not hub_bin.exists():
        return
    # verify wants the ExecStart program to exist: point it at this venv's `hub`.
    path = tmp_path / "hub@.service"
    path.write_text(unit.replace("/opt/hub/venv/bin/hub", str(hub_bin)))
    done = subprocess.run([analyze, "verify", str(path)], capture_output=True, text=True,
                          timeout=30, check=False)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
