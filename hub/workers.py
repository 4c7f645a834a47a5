"""`hub serve --workers N`: a master process and N workers serving one port on one Redis.

Each worker is `hub serve` itself (the same command line, run again with `HUB_WORKER` in
its environment) and binds its own listening socket on the same host and port with
SO_REUSEPORT: the kernel spreads new connections over them. The master holds the port
(a bound socket, never listening: `--port 0` is chosen once, and a restarted worker gets
the same port back), starts the private Redis when no `--redis` was given
(hub/private_redis.py), and logs the one `hub ready on ...` line once every worker said it
is listening (over a pipe of its own). A worker that dies is started again after a delay
that doubles, up to `MAX_BACKOFF`; one that keeps dying soon after starting makes the
master give up. SIGTERM or SIGINT is forwarded to every worker as SIGTERM (each says goodbye
to its clients, as one `hub serve` does), then the private Redis is stopped. Workers and
the private Redis get SIGTERM from Linux when the master dies (PR_SET_PDEATHSIG).

Readers of a worker that dies reconnect through the same port, land on another worker and
resume exactly: the protocol's resume across instances on one Redis.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import time

from .children import die_with_parent
from .config import Config
from .datadir import secure_data_dir
from .logs import redact
from .media.process import find_janus
from .private_redis import PrivateRedis, PrivateRedisError

log = logging.getLogger("hub")

WORKER_ENV = "HUB_WORKER"  # a worker's number, set by its master
READY_FD_ENV = "HUB_WORKER_READY_FD"  # where the worker writes once it listens
START_TIMEOUT = 60.0  # every worker listening
STOP_TIMEOUT = 30.0  # every worker gone after SIGTERM (each drains in about 5 s)
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 15.0
STEADY_AFTER = 30.0  # a worker up this long has its failure count reset
MAX_FAILURES = 6  # in a row, each within STEADY_AFTER of its start: the master gives up


class WorkersError(Exception):
    """The master cannot go on: the message says why."""


def parse_workers(value: str) -> int:
    """`--workers` / HUB_WORKERS: a whole number, 1 or more, or `auto` (one per core this
    process may run on). ValueError with the message to show otherwise."""
    text = value.strip().lower()
    if text == "auto":
        return len(os.sched_getaffinity(0))
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise ValueError(f"--workers (HUB_WORKERS) takes a whole number of processes, 1 or more, "
                     f"or 'auto' (one per available core), not {value!r}")


@dataclasses.dataclass
class Worker:
    """One worker slot: its process (when running), ready pipe and restart bookkeeping."""

    number: int
    proc: subprocess.Popen[bytes] | None = None
    ready_fd: int | None = None
    started: float = 0.0
    ready: bool = False
    failures: int = 0
    restart_at: float | None = None


class Master:
    """Runs the workers of one `hub serve --workers N` until SIGTERM or SIGINT."""

    def __init__(self, config: Config, count: int, argv: list[str]) -> None:
        self.config = config
        self.count = count
        self.argv = argv
        self.workers = [Worker(n) for n in range(1, count + 1)]
        self.redis: PrivateRedis | None = None
        self.port = config.port
        self._holder: socket.socket | None = None
        self._stopping = False
        self._wake_r, self._wake_w = os.pipe()

    def run(self) -> int:
        """Serve until stopped: 0 after SIGTERM/SIGINT, 1 when the workers cannot run."""
        for fd in (self._wake_r, self._wake_w):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(self._wake_w)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        try:
            self._start()
            if self._stopping:
                return 0
            self._watch()
            return 0
        except (WorkersError, PrivateRedisError) as exc:
            log.error("hub cannot run its workers: %s", exc)
            return 1
        finally:
            self._stop()

    def _on_signal(self, signum: int, frame: object) -> None:
        self._stopping = True

    # -- start ----------------------------------------------------------------------------

    def _start(self) -> None:
        for change in secure_data_dir(self.config.data):
            log.warning("data folder was readable by others, now owner only: %s", change)
        self._hold_port()
        if self.config.redis_url:
            backend = f"redis {redact(self.config.redis_url)}"
        else:
            self.redis = PrivateRedis(self.config.data)
            self.redis.start()
            backend = f"private redis {redact(self.redis.url)}"
        if self.config.media == "auto":
            if find_janus() is not None:
                log.warning("voice off: the workers need one Janus shared by all (a private "
                            "one each would split rooms): run one (`hub media-config`, "
                            "deploy/README.md \"Voice\") and set HUB_MEDIA_URL")
        log.info("hub master (pid %d) starting %d workers on http://%s:%s",
                 os.getpid(), self.count, self.config.host, self.port)
        # The first worker alone, then the others: files the workers share in the data
        # folder (the SQLite search index) are made once, not by several at the same moment.
        deadline = time.monotonic() + START_TIMEOUT
        first, *others = self.workers
        for group in ([first], others):
            for worker in group:
                self._spawn(worker)
            while not all(w.ready for w in group):
                if self._stopping:
                    return
                for worker in group:
                    if worker.proc is not None and worker.proc.poll() is not None:
                        raise WorkersError(
                            f"worker {worker.number} exited at start (status "
                            f"{worker.proc.returncode}); its messages are above")
                if time.monotonic() > deadline:
                    raise WorkersError(
                        f"the workers were not all listening after {START_TIMEOUT} s")
                self._wait(1.0)
        log.info("hub ready on http://%s:%s (%s, %d workers)", self.config.host, self.port,
                 backend, self.count)

    def _hold_port(self) -> None:
        """Bind (never listen) the port with SO_REUSEPORT: `--port 0` becomes one port for
        every worker, and nothing else takes it while a worker restarts."""
        infos = socket.getaddrinfo(self.config.host, self.port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        holder = socket.socket(family, kind, proto)
        try:
            if self.port:
                # SO_REUSEPORT would share the port with another master's workers: first
                # make sure nobody holds it (a plain bind fails then).
                with socket.socket(family, kind, proto) as probe:
                    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    probe.bind(address)
            holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            holder.bind(address)
        except OSError as exc:
            holder.close()
            raise WorkersError(f"cannot use {self.config.host} port {self.port}: "
                               f"{exc.strerror}") from exc
        self._holder = holder
        self.port = holder.getsockname()[1]

    def _spawn(self, worker: Worker) -> None:
        extra = ["--port", str(self.port)]
        if self.config.media == "auto":
            # A private Janus per worker would split a session's room over several Janus.
            extra += ["--media", "off"]
        read_fd, write_fd = os.pipe()
        env = {**os.environ, WORKER_ENV: str(worker.number), READY_FD_ENV: str(write_fd)}
        if self.redis is not None:  # with its password: in the environment, not in `ps`
            env["HUB_REDIS_URL"] = self.redis.url
        master = os.getpid()

        def in_child() -> None:
            die_with_parent(signal.SIGTERM)
            if os.getppid() != master:
                os._exit(1)

        try:
            worker.proc = subprocess.Popen(
                [sys.executable, "-m", "hub.cli", *self.argv, *extra], env=env,
                stdin=subprocess.DEVNULL, pass_fds=(write_fd,),
                # Its own process group: a terminal's Ctrl-C reaches the master only,
                # which forwards SIGTERM.
                process_group=0, preexec_fn=in_child)
        except OSError:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        os.set_blocking(read_fd, False)
        worker.ready_fd, worker.ready, worker.started = read_fd, False, time.monotonic()
        worker.restart_at = None

    # -- watch ----------------------------------------------------------------------------

    def _watch(self) -> None:
        while not self._stopping:
            now = time.monotonic()
            for worker in self.workers:
                proc = worker.proc
                if proc is not None and proc.poll() is not None:
                    self._died(worker, proc.returncode, now)
                elif proc is None and worker.restart_at is not None and now >= worker.restart_at:
                    log.info("hub worker %d: starting again", worker.number)
                    self._spawn(worker)
            self._wait(0.5)

    def _died(self, worker: Worker, status: int, now: float) -> None:
        self._close_ready(worker)
        worker.proc = None
        if now - worker.started >= STEADY_AFTER:
            worker.failures = 0
        worker.failures += 1
        if worker.failures > MAX_FAILURES:
            raise WorkersError(f"worker {worker.number} died {worker.failures} times in a row "
                               "soon after starting; its messages are above")
        delay = min(FIRST_BACKOFF * 2 ** (worker.failures - 1), MAX_BACKOFF)
        how = (f"killed by {signal.Signals(-status).name}" if status < 0
               else f"exited with status {status}")
        log.warning("hub worker %d %s; starting it again in %.1f s", worker.number, how, delay)
        worker.restart_at = now + delay

    def _wait(self, timeout: float) -> None:
        """Sleep until a signal, a worker's ready line, or `timeout`."""
        fds = [self._wake_r, *(w.ready_fd for w in self.workers if w.ready_fd is not None)]
        try:
            readable, _, _ = select.select(fds, [], [], timeout)
        except InterruptedError:
            return
        for fd in readable:
            if fd == self._wake_r:
                while True:
                    try:
                        if not os.read(fd, 512):
                            break
                    except BlockingIOError:
                        break
                continue
            worker = next(w for w in self.workers if w.ready_fd == fd)
            if os.read(fd, 64):
                worker.ready = True
            self._close_ready(worker)  # said once; at EOF the worker died first

    def _close_ready(self, worker: Worker) -> None:
        if worker.ready_fd is not None:
            os.close(worker.ready_fd)
            worker.ready_fd = None

    # -- stop -----------------------------------------------------------------------------

    def _stop(self) -> None:
        """SIGTERM to every worker, wait (SIGKILL after STOP_TIMEOUT), then Redis."""
        running = [w.proc for w in self.workers if w.proc is not None and w.proc.poll() is None]
        if running:
            log.info("hub stopping: %d workers tell their clients to reconnect", len(running))
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for proc in running:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("hub worker (pid %d) did not stop within %d s: killed", proc.pid,
                          STOP_TIMEOUT)
                proc.kill()
                proc.wait()
        for worker in self.workers:
            self._close_ready(worker)
            worker.proc = None
        if self.redis is not None:
            self.redis.stop()
        if self._holder is not None:
            self._holder.close()
        signal.set_wakeup_fd(-1)
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
        log.info("hub stopped")
