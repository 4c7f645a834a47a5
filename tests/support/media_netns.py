"""Real audio through a real Janus and a real Chromium, inside a network namespace.

Why a namespace: Janus gathers no ICE candidates on loopback interfaces, and media in
tests must never reach an address outside this machine. So a media scenario runs in a
fresh namespace that the test creates (`unshare --net --pid --fork --kill-child
--mount-proc`, as root), where it brings up `lo` and a veth pair with a private address
(`VETH_ADDRESS` on `v0`). Janus, the page server and every Chromium live in it and talk
only over loopback or that address; nothing else is reachable from inside.

Two halves:

- **Outside** (the pytest test or the benchmark): `namespace_unavailable()` says why a
  scenario cannot run here (not root, `unshare` refused, no `janus`, no Chromium) so the
  caller can skip; `run_in_namespace(module, args, timeout)` runs `python -m module args`
  in a fresh namespace and returns the JSON object the scenario printed on its last
  stdout line. The scenario is PID 1 of its own PID namespace and `unshare --kill-child`
  kills it if `unshare` dies, so when it ends or is killed on timeout the kernel kills
  everything it started (Janus, the Playwright driver, Chromium): no orphans.
- **Inside** (the scenario, `async with MediaLab(tmp) as lab:`): sets up the network,
  starts a private Janus (`JanusProcess`: config written into a temporary folder, HTTP
  and WebSocket transports on 127.0.0.1, ICE only on `v0` via `ice_enforce_list`, no STUN/TURN, a
  private RTP port range, only the AudioBridge, Streaming and EchoTest plugins, a
  generated API secret and plugin admin key kept 0600 in that folder), its HTTP API
  (`JanusApi`: create rooms and mountpoints as the hub would), a small aiohttp server for
  the measurement page (`tests/support/media/harness.html`, with Debian's janus.js and
  adapter.js), and Chromium through Playwright (`lab.browser(wav)`).

One Chromium per fake microphone: `--use-file-for-fake-audio-capture` is a command-line
switch of the browser process, read by its audio capture code, so every context and page
of one browser hears the same file. Scenarios launch one browser per WAV (a silent WAV
for pure listeners) and as many pages or peer connections as they need in it.

The page (`window.media`, see tests/support/media/harness.js) measures what a person would hear:
received RMS over time through a WebAudio AnalyserNode (capture with echo cancellation,
AGC and noise suppression off), tone onsets for mouth-to-ear latency, and getStats
snapshots for bitrate; tests/support/media_measure.py turns these into figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]
PAGE_DIR = Path(__file__).resolve().parent / "media"
JANUS = shutil.which("janus") or "/usr/bin/janus"
JANUS_LIB = Path("/usr/lib/x86_64-linux-gnu/janus")
JANUS_JS = Path("/usr/share/javascript/janus-gateway/janus.js")
ADAPTER_JS = Path("/usr/share/javascript/webrtc-adapter/adapter.js")
CHROMIUM = os.environ.get("HUB_TEST_CHROMIUM", "/usr/bin/chromium")
VETH = "v0"
VETH_PEER = "v1"
VETH_ADDRESS = "10.213.0.1"  # private, and only inside the namespace
JANUS_HTTP_PORT = 8088  # free: the namespace has its own ports
JANUS_WS_PORT = 8188
RTP_PORTS = "20000-20999"
PLUGINS = ("audiobridge", "streaming", "echotest")
CHROMIUM_MEDIA_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    # Host candidates with their address, not an mDNS name nobody here resolves.
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
    # The meters poll on timers; a page that Chromium thinks is hidden must not be slowed.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
UNSHARE = ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc", "--"]


# ---------------------------------------------------------------- outside the namespace

def namespace_unavailable() -> str | None:
    """Why a media scenario cannot run on this machine, or None when it can."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "media tests need root (unshare of a network namespace with a veth pair)"
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "media tests need `unshare` (util-linux) and `ip` (iproute2)"
    if not Path(JANUS).exists():
        return "no janus on PATH: run scripts/test-deps.sh as root (Debian `janus`)"
    if not JANUS_JS.exists() or not ADAPTER_JS.exists():
        return "no janus.js: install Debian `libjs-janus-gateway` (scripts/test-deps.sh)"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (scripts/test-deps.sh, or set HUB_TEST_CHROMIUM)"
    if shutil.which("sox") is None or not (shutil.which("flite") or shutil.which("espeak-ng")):
        return "media tests need sox and flite or espeak-ng (scripts/test-deps.sh)"
    if shutil.which("janus-pp-rec") is None or shutil.which("opusdec") is None:
        return "media tests need janus-pp-rec and opusdec (janus-tools, opus-tools)"
    probe = subprocess.run(
        [*UNSHARE, "sh", "-c", f"ip link add {VETH} type veth peer name {VETH_PEER}"],
        capture_output=True, timeout=20, check=False)
    if probe.returncode != 0:
        reason = probe.stderr.decode(errors="replace").strip()
        return f"cannot create a network namespace with a veth pair here: {reason}"
    return None


class ScenarioFailed(RuntimeError):
    """A scenario exited badly or printed no result; carries its output."""


def run_in_namespace(module: str, args: list[str], timeout: float) -> dict[str, Any]:
    """Run `python -m module args` in a fresh namespace; return its last stdout line as JSON.

    `timeout` bounds the whole run: past it, `unshare` is killed, which kills the
    scenario and (through the PID namespace) everything it started."""
    command = [*UNSHARE, sys.executable, "-m", module, *args]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=30)
        raise ScenarioFailed(f"{module} ran past {timeout:.0f} s\n{_tail(err)}") from None
    finally:
        if proc.poll() is None:  # interrupted (pytest-timeout, Ctrl-C): take it all down
            proc.kill()
            proc.wait(30)
    lines = [line for line in out.decode(errors="replace").splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        raise ScenarioFailed(
            f"{module} exited with {proc.returncode}\n{_tail(out)}\n{_tail(err)}")
    try:
        result = json.loads(lines[-1])
    except ValueError:
        raise ScenarioFailed(f"{module} printed no JSON result\n{_tail(out)}") from None
    if not isinstance(result, dict):
        raise ScenarioFailed(f"{module} printed {lines[-1]!r}, not a JSON object")
    return result


def _tail(data: bytes, n: int = 60) -> str:
    return "\n".join(data.decode(errors="replace").splitlines()[-n:])


# ----------------------------------------------------------------- inside the namespace

def setup_network() -> str:
    """Bring up lo and the veth pair in this (fresh) namespace; return the media address."""
    if Path(f"/sys/class/net/{VETH}").exists():
        raise RuntimeError(f"{VETH} exists already: not a fresh namespace")
    for command in (
        ["ip", "link", "set", "lo", "up"],
        ["ip", "link", "add", VETH, "type", "veth", "peer", "name", VETH_PEER],
        ["ip", "addr", "add", f"{VETH_ADDRESS}/24", "dev", VETH],
        ["ip", "link", "set", VETH, "up"],
        ["ip", "link", "set", VETH_PEER, "up"],
    ):
        subprocess.run(command, check=True, capture_output=True, timeout=10)
    return VETH_ADDRESS


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) from /proc, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _secret_file(folder: Path, name: str) -> str:
    """A generated secret (43 characters) kept in `folder/name`, mode 0600."""
    value = secrets.token_urlsafe(32)
    path = folder / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value)
    return value


class JanusProcess:
    """A private Janus with a config written into `folder` (nothing read from /etc/janus)."""

    def __init__(self, folder: Path, address: str) -> None:
        self.folder = folder
        self.address = address
        self.api_secret = ""
        self.admin_key = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = folder / "janus.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{JANUS_HTTP_PORT}/janus"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{JANUS_WS_PORT}"

    @property
    def pid(self) -> int:
        assert self.proc is not None, "JanusProcess.start() first"
        return self.proc.pid

    def write_config(self) -> Path:
        conf = self.folder / "conf"
        conf.mkdir(parents=True, mode=0o700)
        self.api_secret = _secret_file(self.folder, "janus-api-secret")
        self.admin_key = _secret_file(self.folder, "janus-admin-key")
        # Only the plugins and the transport we use: a folder of links, not the system's.
        plugins, transports, empty = conf / "plugins", conf / "transports", conf / "none"
        for folder in (plugins, transports, empty):
            folder.mkdir()
        for name in PLUGINS:
            (plugins / f"libjanus_{name}.so").symlink_to(
                JANUS_LIB / "plugins" / f"libjanus_{name}.so")
        for name in ("http", "websockets"):
            (transports / f"libjanus_{name}.so").symlink_to(
                JANUS_LIB / "transports" / f"libjanus_{name}.so")
        files = {
            "janus.jcfg": f"""
general: {{
  configs_folder = "{conf}"
  plugins_folder = "{plugins}"
  transports_folder = "{transports}"
  events_folder = "{empty}"
  loggers_folder = "{empty}"
  debug_level = 3
  api_secret = "{self.api_secret}"
  session_timeout = 60
  server_name = "hub-test-janus"
}}
media: {{
  ipv6 = false
  rtp_port_range = "{RTP_PORTS}"
}}
nat: {{
  ice_enforce_list = "{VETH}"
  nice_debug = false
}}
plugins: {{}}
transports: {{}}
events: {{ broadcast = false }}
loggers: {{}}
""",
            "janus.transport.http.jcfg": f"""
general: {{ json = "plain" base_path = "/janus" http = true port = {JANUS_HTTP_PORT}
           ip = "127.0.0.1" https = false }}
admin: {{ admin_http = false admin_https = false }}
cors: {{}}
""",
            "janus.transport.websockets.jcfg": f"""
general: {{ json = "plain" ws = true ws_port = {JANUS_WS_PORT} ws_ip = "127.0.0.1"
           wss = false }}
admin: {{ admin_ws = false admin_wss = false }}
""",
            "janus.plugin.audiobridge.jcfg":
                f'general: {{ admin_key = "{self.admin_key}" lock_rtp_forward = true }}\n',
            "janus.plugin.streaming.jcfg": f'general: {{ admin_key = "{self.admin_key}" }}\n',
            "janus.plugin.echotest.jcfg": "general: {}\n",
        }
        for name, text in files.items():
            path = conf / name
            path.write_text(text)
            path.chmod(0o600)  # the secrets are in there
        return conf

    def spawn(self) -> subprocess.Popen[bytes]:
        """Write the config and start the process (`start` also waits until it answers)."""
        conf = self.write_config()
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [JANUS, "-C", str(conf / "janus.jcfg"), "-F", str(conf), "-o"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self.proc

    async def start(self, timeout: float = 15.0) -> JanusProcess:
        """Start Janus and wait (bounded) until its HTTP API answers."""
        proc = self.spawn()
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"janus exited with {proc.returncode}:\n"
                                       + self.log_tail())
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(self.url + "/info") as resp:
                        if resp.status == 200:
                            return self
                if time.monotonic() > deadline:
                    raise RuntimeError(f"janus did not answer in {timeout} s:\n"
                                       + self.log_tail())
                await asyncio.sleep(0.05)

    def log_tail(self, n: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        for secret in (self.api_secret, self.admin_key):
            if secret:
                text = text.replace(secret, "<secret>")
        return "\n".join(text.splitlines()[-n:])

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout)


class JanusError(RuntimeError):
    """Janus or one of its plugins refused a request."""


class JanusApi:
    """Janus's HTTP API as the hub would use it: one session, one handle per plugin."""

    def __init__(self, janus: JanusProcess) -> None:
        self.janus = janus
        self.http: aiohttp.ClientSession | None = None
        self.session = 0
        self.handles: dict[str, int] = {}

    async def __aenter__(self) -> JanusApi:
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self.session = (await self._post(self.janus.url, {"janus": "create"}))["data"]["id"]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.http is not None
        with contextlib.suppress(aiohttp.ClientError, JanusError, asyncio.TimeoutError):
            await self._post(f"{self.janus.url}/{self.session}", {"janus": "destroy"})
        await self.http.close()

    async def _post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        assert self.http is not None
        body = {**body, "transaction": secrets.token_hex(6), "apisecret": self.janus.api_secret}
        async with self.http.post(url, json=body) as resp:
            answer: dict[str, Any] = await resp.json(content_type=None)
        if answer.get("janus") == "error":
            raise JanusError(f"{body['janus']}: {answer['error']}")
        return answer

    async def request(self, plugin: str, message: dict[str, Any]) -> dict[str, Any]:
        """A synchronous plugin request (create, rtp_forward, list...); the plugin's answer."""
        if plugin not in self.handles:
            attached = await self._post(f"{self.janus.url}/{self.session}",
                                        {"janus": "attach", "plugin": f"janus.plugin.{plugin}"})
            self.handles[plugin] = attached["data"]["id"]
        answer = await self._post(
            f"{self.janus.url}/{self.session}/{self.handles[plugin]}",
            {"janus": "message", "body": {**message, "admin_key": self.janus.admin_key}})
        data: dict[str, Any] = answer["plugindata"]["data"]
        if "error" in data or "error_code" in data:
            raise JanusError(f"{plugin} {message.get('request')}: {data.get('error')}")
        return data

    async def create_bridge(self, room: int, **options: Any) -> dict[str, Any]:
        """An AudioBridge room (48 kHz, no recording unless asked)."""
        return await self.request("audiobridge", {
            "request": "create", "room": room, "sampling_rate": 48000,
            "description": f"room {room}", **options})

    async def create_mountpoint(self, mountpoint: int, port: int) -> dict[str, Any]:
        """A Streaming mountpoint fed by Opus RTP on 127.0.0.1:`port`."""
        return await self.request("streaming", {
            "request": "create", "type": "rtp", "id": mountpoint,
            "description": f"mountpoint {mountpoint}",
            "media": [{"type": "audio", "mid": "a", "label": "room", "port": port,
                       "pt": 111, "codec": "opus"}]})

    async def forward_bridge(self, room: int, port: int) -> dict[str, Any]:
        """AudioBridge's mix of `room`, as Opus RTP, to 127.0.0.1:`port`."""
        return await self.request("audiobridge", {
            "request": "rtp_forward", "room": room, "host": "127.0.0.1", "port": port,
            "codec": "opus", "ptype": 111})


async def _serve_page(request: web.Request) -> web.StreamResponse:
    files = {"janus.js": JANUS_JS, "adapter.js": ADAPTER_JS,
             "harness.html": PAGE_DIR / "harness.html", "harness.js": PAGE_DIR / "harness.js"}
    path = files.get(request.match_info["name"])
    if path is None:
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Cache-Control": "no-store"})


class MediaBrowsers:
    """Chromiums whose fake microphones each play one WAV (the file is a launch switch of
    the browser process, so one browser per sound); all closed together, bounded."""

    def __init__(self) -> None:
        self._manager: Any = None
        self._playwright: Any = None
        self._browsers: list[Any] = []

    async def __aenter__(self) -> MediaBrowsers:
        from playwright.async_api import async_playwright

        self._manager = async_playwright()
        self._playwright = await self._manager.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def launch(self, wav: Path) -> Any:
        """A Chromium whose fake microphone plays `wav` (in a loop)."""
        browser = await self._playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_MEDIA_ARGS, f"--use-file-for-fake-audio-capture={wav}"])
        self._browsers.append(browser)
        return browser

    async def close(self) -> None:
        for browser in self._browsers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(browser.close(), 15)
        self._browsers.clear()
        if self._manager is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._manager.__aexit__(None, None, None), 15)
            self._manager = None


class MediaLab:
    """Everything a scenario needs inside the namespace; closes it all on exit."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.address = ""
        self.janus: JanusProcess | None = None
        self.api: JanusApi | None = None
        self.page_url = ""
        self._runner: web.AppRunner | None = None
        self.browsers = MediaBrowsers()

    async def __aenter__(self) -> MediaLab:
        try:
            self.address = setup_network()
            self.janus = await JanusProcess(self.folder / "janus", self.address).start()
            self.api = await JanusApi(self.janus).__aenter__()
            app = web.Application()
            app.router.add_get("/{name}", _serve_page)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            port = self._runner.addresses[0][1]
            self.page_url = f"http://127.0.0.1:{port}/harness.html"
            await self.browsers.__aenter__()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def browser(self, wav: Path) -> Any:
        """A Chromium whose fake microphone plays `wav` (in a loop)."""
        return await self.browsers.launch(wav)

    async def page(self, browser: Any, name: str, transport: str = "http") -> Any:
        """A measurement page connected to this lab's Janus (`window.media` ready), over
        its HTTP API (long polls) or its WebSocket API (`transport="ws"`)."""
        assert self.janus is not None
        context = await browser.new_context()
        page = await context.new_page()
        page.set_default_timeout(20_000)
        page.on("pageerror", lambda exc: print(f"{name}: page error: {exc}", file=sys.stderr))
        page.on("console", lambda msg: msg.type in ("error", "warning") and print(
            f"{name}: console {msg.type}: {msg.text}", file=sys.stderr))
        await page.goto(self.page_url)
        await page.evaluate("([url, secret]) => media.connect(url, secret)",
                            [self.janus.ws_url if transport == "ws" else self.janus.url,
                             self.janus.api_secret])
        return page

    async def close(self) -> None:
        await self.browsers.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.api is not None:
            with contextlib.suppress(Exception):
                await self.api.__aexit__(None, None, None)
            self.api = None
        if self.janus is not None:
            self.janus.stop()


async def wait_until(check: Any, timeout: float, what: str, every: float = 0.1) -> Any:
    """Poll the coroutine function `check` until it returns a truthy value; bounded."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        await asyncio.sleep(every)
