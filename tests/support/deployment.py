"""The deployment way of running a hub: nginx in front of two hub processes on one
Redis (the `nginx_bin` and `deployment` fixtures)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.harness import HubProcess
from tests.support.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ACCESS_LINE = re.compile(r'^\S+ \[[^]]+\] "(?P<method>\S+) (?P<path>\S+) [^"]*" (?P<status>\d+) '
                         r'\d+ \S+ upstream="(?P<upstreams>[^"]*)" ')
HUB_CONF = DEPLOY / "nginx" / "hub.conf"
RENDER = DEPLOY / "nginx" / "render-conf"


@pytest.fixture(scope="session")
def nginx_bin() -> str:
    """The nginx binary; installed with apt-get when missing and running as root."""
    found = _installed_nginx()
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        _apt_install_nginx()
        found = _installed_nginx()
    if found is None:
        message = "nginx is missing: apt-get install nginx (Debian's package), or run as root"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@dataclass
class Deployment:
    hubs: list[HubProcess]
    nginx: Nginx


@pytest.fixture
def deployment(nginx_bin: str, tmp_path: Path, redis_url: str,
               redis_prefix: str) -> Iterator[Deployment]:
    """Two `hub serve --redis` processes (on this test's own key prefix) behind nginx,
    trusting its forwarded headers as hub.env.example and compose.yaml set them to."""
    hubs = [HubProcess(tmp_path / f"hub{n}", redis_url=redis_url, redis_prefix=redis_prefix,
                       env={"HUB_TRUST_PROXY": "1"})
            for n in range(2)]
    nginx = Nginx(nginx_bin, tmp_path / "nginx", [])
    try:
        for hub in hubs:
            hub.start()
        nginx.upstreams = [f"127.0.0.1:{hub.port}" for hub in hubs]
        nginx.start()
        yield Deployment(hubs, nginx)
    finally:
        nginx.stop()
        for hub in hubs:
            hub.kill()
    # Shown when a test fails: what nginx and the hubs said.
    print(nginx.logs())
    for hub in hubs:
        print(f"--- hub on {hub.port}\n{hub.output()[-3000:]}")


def _installed_nginx() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


def _apt_install_nginx() -> None:
    """Debian's nginx, without letting its postinst start a daemon on port 80."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    policy = Path("/usr/sbin/policy-rc.d")
    added_policy = not policy.exists()
    if added_policy:  # the Debian way to tell maintainer scripts not to start services
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        for args in (["apt-get", "update", "-qq"],
                     ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "nginx"]):
            done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
            if done.returncode != 0:
                pytest.fail(f"{' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    finally:
        if added_policy:
            policy.unlink(missing_ok=True)


@dataclass
class Nginx:
    """nginx in the foreground (`daemon off`), on a free loopback port."""

    binary: str
    prefix: Path
    upstreams: list[str]
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def write_config(self) -> Path:
        self.port = self.port or free_port()
        (self.prefix / "tmp").mkdir(parents=True, exist_ok=True)
        site = self.prefix / "hub.conf"
        site.write_text(render_site(f"127.0.0.1:{self.port}", self.upstreams,
                                    self.prefix / "access.log"))
        conf = self.prefix / "nginx.conf"
        conf.write_text(main_conf(self.prefix, site))
        return conf

    def args(self, *extra: str) -> list[str]:
        return [self.binary, "-p", f"{self.prefix}/", "-c", str(self.prefix / "nginx.conf"),
                "-e", str(self.prefix / "error.log"), *extra]

    def test_config(self) -> subprocess.CompletedProcess[str]:
        self.write_config()
        return subprocess.run(self.args("-t"), capture_output=True, text=True, timeout=30)

    def start(self, timeout: float = 10.0) -> Nginx:
        self.write_config()
        out = open(self.prefix / "nginx.out", "ab")
        self.proc = subprocess.Popen(self.args("-g", "daemon off;"), stdout=out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited:\n{self.logs()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not listen on {self.port}:\n{self.logs()}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)  # fast shutdown: websockets are not waited for
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def logs(self) -> str:
        parts = []
        for name in ("nginx.out", "error.log"):
            path = self.prefix / name
            if path.exists():
                parts.append(f"--- {name}\n{path.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)

    def access_log(self) -> list[AccessLine]:
        """The access log in hub.conf's `hub_access` format."""
        path = self.prefix / "access.log"
        lines = path.read_text().splitlines() if path.exists() else []
        out = []
        for line in lines:
            found = ACCESS_LINE.match(line)
            assert found is not None, line
            out.append(AccessLine(found["method"], found["path"], int(found["status"]),
                                  found["upstreams"].split(", "), line))
        return out


def render_site(listen: str, upstreams: list[str], access_log: Path) -> str:
    """deploy/nginx/hub.conf with this listen address, these instances, this log."""
    args = ["sh", str(RENDER), "--listen", listen, "--access-log", str(access_log)]
    for upstream in upstreams:
        args += ["--upstream", upstream]
    done = subprocess.run([*args, str(HUB_CONF)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def main_conf(prefix: Path, site: Path) -> str:
    """The test's nginx.conf around the rendered site: everything under `prefix`.
    Two workers, so least_conn must share its counts through the upstream zone."""
    # Run as root, nginx would switch its workers to `nobody`, which cannot reach
    # pytest's private tmp_path; production keeps Debian's `user www-data`.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    tmp = prefix / "tmp"
    return f"""{user}worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 1024; }}
http {{
    default_type application/octet-stream;
    # The hub's own `X-Accel-Buffering: no` would switch buffering off whatever
    # hub.conf says: ignore it, so the SSE checks exercise hub.conf alone.
    proxy_ignore_headers X-Accel-Buffering;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {site};
}}
"""


@dataclass
class AccessLine:
    method: str
    path: str
    status: int
    upstreams: list[str]  # every instance nginx tried, in order
    raw: str
