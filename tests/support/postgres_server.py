"""Real PostgreSQL for tests: a private server on loopback, or HUB_TEST_POSTGRES_URL.

The private server is made with `initdb` and run with `pg_ctl` from PATH (or Debian's
/usr/lib/postgresql/*/bin), in a folder of its own, on a free port, TCP on 127.0.0.1 only.
PostgreSQL refuses to run as root: as root it runs as the unprivileged user `nobody`, its
folder given to that user. Tests never share tables: each gets a database of its own
(`postgres_url`), dropped afterwards, so a shared server can serve several runs at once.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support.redis_server import free_port

ENV_URL = "HUB_TEST_POSTGRES_URL"
USER = "hubtest"
RUN_AS = "nobody"


def postgres_binary(name: str) -> str:
    """`initdb` or `pg_ctl`: from PATH, else Debian's versioned folder."""
    found = shutil.which(name) or next(iter(sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        raise RuntimeError(f"no {name}: install PostgreSQL (apt-get install postgresql), or "
                           f"set {ENV_URL}=postgresql://user@host:port/db to use a running "
                           "server")
    return found


class PostgresProcess:
    """A private PostgreSQL on 127.0.0.1, its superuser `hubtest` trusted on loopback."""

    def __init__(self, settings: dict[str, str] | None = None) -> None:
        self.settings = dict(settings or {})  # more server settings (-c name=value)
        # Not under pytest's folders: their parents are the caller's only, and the server
        # may run as another user.
        self.folder = Path(tempfile.mkdtemp(prefix="hub-postgres-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam(RUN_AS)
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", RUN_AS, "--"]

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self._as, *args], capture_output=True, text=True,
                              cwd=self.folder, timeout=120)
        if done.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}{tail}")

    def start(self) -> None:
        self._run(postgres_binary("initdb"), "-D", str(self.data), "-U", USER,
                  "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 "
                   f"-c unix_socket_directories={self.folder} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off"
                   + "".join(f" -c {k}={v}" for k, v in self.settings.items()))
        self._run(postgres_binary("pg_ctl"), "start", "-D", str(self.data), "-w", "-t", "60",
                  "-l", str(self.folder / "server.log"), "-o", options)

    def stop(self) -> None:
        try:
            self._run(postgres_binary("pg_ctl"), "stop", "-D", str(self.data), "-m", "fast",
                      "-w")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL to test against: HUB_TEST_POSTGRES_URL, else a private one."""
    url = os.environ.get(ENV_URL)
    if url:
        yield url
        return
    server = PostgresProcess()
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A database of this test's own on that server; dropped afterwards."""
    name = f"t{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    parts = urllib.parse.urlsplit(postgres_server)
    yield urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
