"""A private Janus: its configuration written into the data folder, and the process.

`hub serve` runs one when `janus` is on PATH and no `HUB_MEDIA_URL` is given: its HTTP
API and admin API listen on loopback ports of their own, its WebSocket API too (for the
pages, through a proxy), only the AudioBridge and Streaming plugins load, token auth is on
(only tokens the hub adds through the admin API pass), and the admin secret is generated
once and kept 0600 in `<data>/janus/admin-secret`, never logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..children import die_with_parent
from ..datadir import FILE_MODE

log = logging.getLogger(__name__)

PLUGINS = ("libjanus_audiobridge.so", "libjanus_streaming.so")
TRANSPORTS = ("libjanus_http.so", "libjanus_websockets.so")
LIB_DIRS = ("/usr/lib/x86_64-linux-gnu/janus", "/usr/lib/aarch64-linux-gnu/janus",
            "/usr/lib/janus", "/usr/local/lib/janus", "/opt/janus/lib/janus")


def find_janus() -> str | None:
    """The `janus` binary on PATH, or None."""
    return shutil.which("janus")


def janus_lib_dir(binary: str) -> Path | None:
    """The folder holding Janus's `plugins/` and `transports/` for this binary."""
    prefix = Path(binary).resolve().parent.parent
    candidates = [prefix / "lib" / "janus", *(Path(d) for d in LIB_DIRS)]
    for folder in candidates:
        if (folder / "plugins" / PLUGINS[0]).is_file():
            return folder
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_or_make_secret(path: Path) -> str:
    """A secret kept in `path` (0600): made once, 43 characters."""
    if path.is_file():
        value = path.read_text().strip()
        if len(value) >= 32:
            return value
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")
    return value


@dataclass(frozen=True)
class JanusConfig:
    """Where a private Janus listens and what it is configured with."""

    folder: Path
    http_port: int
    admin_port: int
    ws_port: int
    admin_secret: str
    rtp_ports: str
    ice_enforce: str = ""

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/janus"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}/admin"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}"

    @property
    def recordings(self) -> Path:
        return self.folder / "recordings"


def write_config(folder: Path, lib_dir: Path, *, rtp_ports: str = "20000-20999",
                 ice_enforce: str = "", ports: tuple[int, int, int] | None = None,
                 ip: str = "127.0.0.1", admin_ip: str = "127.0.0.1") -> JanusConfig:
    """Write a private Janus's configuration into `folder` (owner-only)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    (folder / "recordings").mkdir(mode=0o700, exist_ok=True)
    secret = read_or_make_secret(folder / "admin-secret")
    http_port, admin_port, ws_port = ports or (free_port(), free_port(), free_port())
    disabled = [p.name for p in sorted((lib_dir / "plugins").glob("*.so"))
                if p.name not in PLUGINS]
    disabled_t = [p.name for p in sorted((lib_dir / "transports").glob("*.so"))
                  if p.name not in TRANSPORTS]
    enforce = f'\tice_enforce_list = "{ice_enforce}"\n' if ice_enforce else ""
    files = {
        "janus.jcfg": f"""general: {{
\tconfigs_folder = "{folder}"
\tplugins_folder = "{lib_dir / 'plugins'}"
\ttransports_folder = "{lib_dir / 'transports'}"
\tevents_folder = "{lib_dir / 'events'}"
\tloggers_folder = "{lib_dir / 'loggers'}"
\tdebug_level = 3
\ttoken_auth = true
\tadmin_secret = "{secret}"
\tsession_timeout = 60
\tserver_name = "hub-private-janus"
\tprotected_folders = ["/bin", "/boot", "/dev", "/etc", "/lib", "/proc", "/sbin", "/sys",
\t\t"/usr"]
}}
certificates: {{
}}
media: {{
\trtp_port_range = "{rtp_ports}"
}}
nat: {{
\tnice_debug = false
\tignore_mdns = true
{enforce}}}
plugins: {{
\tdisable = "{','.join(disabled)}"
}}
transports: {{
\tdisable = "{','.join(disabled_t)}"
}}
loggers: {{
\tdisable = "libjanus_jsonlog.so"
}}
events: {{
\tbroadcast = false
}}
""",
        "janus.transport.http.jcfg": f"""general: {{
\tjson = "compact"
\tbase_path = "/janus"
\thttp = true
\tport = {http_port}
\tip = "{ip}"
\thttps = false
}}
admin: {{
\tadmin_base_path = "/admin"
\tadmin_http = true
\tadmin_port = {admin_port}
\tadmin_ip = "{admin_ip}"
\tadmin_https = false
}}
cors: {{
}}
""",
        "janus.transport.websockets.jcfg": f"""general: {{
\tjson = "compact"
\tws = true
\tws_port = {ws_port}
\tws_ip = "{ip}"
\twss = false
}}
admin: {{
\tadmin_ws = false
\tadmin_wss = false
}}
""",
        "janus.plugin.audiobridge.jcfg": """general: {
\tevents = false
}
""",
        "janus.plugin.streaming.jcfg": """general: {
\tevents = false
}
""",
    }
    for name, text in files.items():
        path = folder / name
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, FILE_MODE)
        with os.fdopen(fd, "w") as out:
            out.write(text)
    return JanusConfig(folder, http_port, admin_port, ws_port, secret, rtp_ports, ice_enforce)


class JanusProcess:
    """A private Janus the hub starts, watches and stops: restarted when it dies."""

    def __init__(self, binary: str, config: JanusConfig) -> None:
        self.binary = binary
        self.config = config
        self.proc: subprocess.Popen[bytes] | None = None
        self._watch: asyncio.Task[None] | None = None
        self._closing = False

    def _spawn(self) -> None:
        logfile = open(self.config.folder / "janus.log", "ab")
        try:
            self.proc = subprocess.Popen(
                [self.binary, "-F", str(self.config.folder),
                 "-C", str(self.config.folder / "janus.jcfg"), "-o"],
                stdin=subprocess.DEVNULL, stdout=logfile, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=die_with_parent)
        finally:
            logfile.close()
        log.info("private janus started (pid %s), api on 127.0.0.1:%s", self.proc.pid,
                 self.config.http_port)

    async def start(self) -> None:
        self._spawn()
        self._watch = asyncio.create_task(self._keep_running())

    async def _keep_running(self) -> None:
        """Start it again when it exits (a crash, a kill): the media manager notices the new
        run and makes the rooms again."""
        while not self._closing:
            await asyncio.sleep(0.2)
            proc = self.proc
            if proc is not None and proc.poll() is not None and not self._closing:
                log.warning("private janus exited with %s; starting it again", proc.returncode)
                await asyncio.sleep(0.3)
                self._spawn()

    async def stop(self) -> None:
        self._closing = True
        if self._watch is not None:
            self._watch.cancel()
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        for _ in range(50):
            if proc.poll() is not None:
                return
            await asyncio.sleep(0.1)
        proc.kill()
        proc.wait()
