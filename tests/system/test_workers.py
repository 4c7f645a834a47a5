"""`hub serve --workers N`: a master, N worker processes on one port, one Redis.

Processes are found through /proc (each worker and the private Redis is a child of the
master), and which worker holds a client's connection through the socket's inode (the
worker's /proc/PID/fd and /proc/net/tcp): no timing, no guesses.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from hub.private_redis import redis_server_binary
from tests.support.harness import ADMIN_KEY, HubProcess, ahttp, create_session
from tests.support.invariants import CheckedClient, request_until_answered
from tests.support.redis_server import RedisProcess

# Writers faster than the per-identity limits allow; several readers from one address.
PROCESS_ENV = {"HUB_CAPTION_PER_10S": "100000", "HUB_HELLO_PER_MINUTE": "100000"}


# -- processes --------------------------------------------------------------------------


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def children(pid: int) -> dict[int, str]:
    """The live children of `pid`: pid -> command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (FileNotFoundError, ProcessLookupError):
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z":
            found[int(entry.name)] = cmdline
    return found


def workers_of(hub: HubProcess) -> list[int]:
    assert hub.proc is not None
    return sorted(pid for pid, cmd in children(hub.proc.pid).items() if "hub.cli" in cmd)


def redis_of(hub: HubProcess) -> list[int]:
    assert hub.proc is not None
    return [pid for pid, cmd in children(hub.proc.pid).items() if "redis-server" in cmd]


def owner(client: CheckedClient, port: int, workers: list[int]) -> int:
    """The worker whose socket is the server end of `client`'s connection."""
    mine = client.ws.transport.get_extra_info("sockname")[1]
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = (int(f.rsplit(":", 1)[1], 16) for f in fields[1:3])
        if local == port and remote == mine:
            inodes.add(f"socket:[{fields[9]}]")
    for pid in workers:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) in inodes:
                    return pid
            except FileNotFoundError:
                continue
    raise AssertionError(f"no worker of {workers} holds the connection from port {mine}")


async def until(condition: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll `condition` until it is truthy (bounded: a test that never gets there fails)."""
    async def poll() -> Any:
        while True:
            if value := condition():
                return value
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(poll(), timeout)


@pytest.fixture
def hubs() -> Iterator[list[HubProcess]]:
    """Every master a test starts is killed afterwards (its workers and Redis follow it)."""
    started: list[HubProcess] = []
    yield started
    for hub in started:
        pids = workers_of(hub) + redis_of(hub) if hub.proc and hub.proc.poll() is None else []
        hub.kill()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def master(hubs: list[HubProcess], data: Path, workers: str = "2",
           **kw: Any) -> HubProcess:
    hub = HubProcess(data, args=["--workers", workers], env=dict(PROCESS_ENV), **kw)
    hubs.append(hub)
    return hub.start()


async def spread(hub: HubProcess, make: Callable[[], CheckedClient],
                 clients: list[CheckedClient], at_least: int = 2) -> dict[int, list[CheckedClient]]:
    """Connect more clients until every worker holds `at_least` of them (the kernel
    spreads connections by a hash of their addresses: a few tries are enough)."""
    workers = workers_of(hub)
    by_worker: dict[int, list[CheckedClient]] = {pid: [] for pid in workers}
    for client in clients:
        by_worker[owner(client, hub.port, workers)].append(client)
    while min(len(held) for held in by_worker.values()) < at_least:
        assert len(clients) < 60, f"the port's connections all went to one worker: {by_worker}"
        client = make()
        await client.connect()
        clients.append(client)
        by_worker[owner(client, hub.port, workers)].append(client)
    return by_worker


# -- a worker killed under load -----------------------------------------------------------


@pytest.mark.redis
@pytest.mark.timeout(180)
async def test_worker_killed_under_load_readers_resume_exactly_and_it_is_restarted(
    tmp_path: Path, redis_url: str, redis_prefix: str, hubs: list[HubProcess],
) -> None:
    """Two workers on the test Redis; readers through the one port on both; a captioner
    publishes 200 lines; one worker is killed (-9) at line 60: its readers reconnect
    through the same port (landing on the other worker), resume exactly, and every reader
    has every line once, in order; the master starts the worker again."""
    hub = master(hubs, tmp_path / "data", redis_url=redis_url, redis_prefix=redis_prefix)
    before = workers_of(hub)
    assert len(before) == 2
    created = await create_session(hub.url, "Workers", state="live")
    sid, tokens = created["id"], created["tokens"]
    cap = CheckedClient(hub.ws_url, sid, tokens["captioner"], name="Captioner")
    await cap.connect()
    count = iter(range(1000))

    def reader() -> CheckedClient:
        n = next(count)
        role = "participant" if n % 3 == 0 else "screen"
        return CheckedClient(hub.ws_url, sid, tokens[role], name=f"Reader {n}")

    readers: list[CheckedClient] = []
    for _ in range(6):
        readers.append(reader())
        await readers[-1].connect()
    by_worker = await spread(hub, reader, readers)
    victim = max(by_worker, key=lambda pid: len(by_worker[pid]))
    moved = by_worker[victim]
    stop = asyncio.Event()

    async def keep(client: CheckedClient) -> None:
        while True:
            await client.closed.wait()
            if stop.is_set():
                return
            welcome = await client.reconnect(lambda: [hub.ws_url])
            assert all(p["recovered"] for p in welcome["channels"].values()), welcome

    keepers = [asyncio.create_task(keep(c)) for c in (cap, *readers)]
    lines = 200
    stats: dict[str, int] = {}
    for seq in range(1, lines + 1):
        reply = await request_until_answered(
            cap, {"type": "caption", "text": f"line {seq}", "seq": seq}, stats=stats)
        assert reply["type"] == "ack", reply
        if seq == 60:
            os.kill(victim, signal.SIGKILL)
        if seq % 10 == 0:
            await asyncio.sleep(0.01)

    for client in readers:
        got = await client.wait_for(
            lambda c: len(c.kinds("caption")) >= lines and c.kinds("caption"), 60)
        assert [e["data"]["seq"] for e in got] == list(range(1, lines + 1)), client.hello_extra
        assert [e["data"]["text"] for e in got] == [f"line {n}" for n in range(1, lines + 1)]
        client.assert_healthy()
        assert client.all_recovered(), client.hello_extra
    for client in moved:  # each reader of the killed worker came back once, elsewhere
        assert client.connects == 2, client.hello_extra
    stop.set()
    for task in keepers:
        task.cancel()
    await asyncio.gather(*keepers, return_exceptions=True)

    # The master started a worker in the killed one's place, on the same port.
    def replaced() -> list[int] | None:
        now = workers_of(hub)
        return now if len(now) == 2 and victim not in now else None

    after = await until(replaced)
    assert victim not in after and set(before) - {victim} <= set(after)
    assert "killed by SIGKILL; starting it again" in hub.output()
    restarted = (set(after) - set(before)).pop()
    await until(lambda: f"(pid {restarted}) listening" in hub.output())
    late = CheckedClient(hub.ws_url, sid, tokens["screen"], name="Late")
    welcome = await late.connect()
    assert welcome["snapshot"]["captions"], "a client after the restart gets the meeting"
    status, body, _ = await ahttp(
        "GET", f"{hub.url}/api/sessions/{sid}/transcript?format=json", token=ADMIN_KEY)
    assert status == 200 and [c["seq"] for c in body["cues"]] == list(range(1, lines + 1))
    for client in (cap, *readers, late):
        await client.close()


# -- SIGTERM of the master ----------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_sigterm_of_the_master_says_goodbye_and_leaves_no_process(
    tmp_path: Path, hubs: list[HubProcess], sig: signal.Signals,
) -> None:
    """SIGTERM (or SIGINT: Ctrl-C) to the master: clients on both workers get bye and 1012;
    every worker and the private Redis exit; the master exits 0."""
    hub = master(hubs, tmp_path / "data")
    assert hub.proc is not None
    workers, private = workers_of(hub), redis_of(hub)
    assert len(workers) == 2 and len(private) == 1
    created = await create_session(hub.url, "Goodbye", state="live")
    count = iter(range(1000))

    def reader() -> CheckedClient:
        return CheckedClient(hub.ws_url, created["id"], created["tokens"]["screen"],
                             name=f"Screen {next(count)}")

    clients: list[CheckedClient] = []
    await spread(hub, reader, clients, at_least=1)
    hub.proc.send_signal(sig)
    assert await asyncio.to_thread(hub.proc.wait, 60) == 0
    for client in clients:
        await asyncio.wait_for(client.closed.wait(), 10)
        assert client.close_code == 1012
        byes = [f for f in client.frames if f["type"] == "bye"]
        assert byes and byes[0]["reconnect"] is True, client.frames[-3:]
    for pid in (*workers, *private):
        assert not alive(pid), f"process {pid} outlived its master"
    out = hub.output()
    assert "hub worker 1 stopped" in out and "hub worker 2 stopped" in out
    assert "private redis stopped" in out and out.rstrip().endswith("hub stopped")


@pytest.mark.redis
@pytest.mark.timeout(120)
async def test_a_worker_that_cannot_start_is_tried_again_with_backoff(
    tmp_path: Path, hubs: list[HubProcess],
) -> None:
    """A worker killed while Redis is away fails to start again (no Redis at start) and is
    tried again after longer and longer delays, until Redis is back; the master and the
    other worker stay up meanwhile."""
    server = RedisProcess(tmp_path / "redis", appendonly=True)  # the secret stays
    server.start()
    try:
        hub = master(hubs, tmp_path / "data", redis_url=server.url)
        first, second = workers_of(hub)
        server.stop()
        os.kill(first, signal.SIGKILL)
        await until(lambda: "exited with status 1; starting it again in 2.0 s" in hub.output())
        out = hub.output()
        assert "killed by SIGKILL; starting it again in 0.5 s" in out
        assert "exited with status 1; starting it again in 1.0 s" in out
        assert alive(second) and hub.proc is not None and hub.proc.poll() is None
        server.start()
        again = await until(lambda: [p for p in workers_of(hub) if p != second]
                            if len(workers_of(hub)) == 2 else None, 60)
        await until(lambda: f"(pid {again[0]}) listening" in hub.output(), 60)
        created = await create_session(hub.url, "Back", state="live")
        screen = CheckedClient(hub.ws_url, created["id"], created["tokens"]["screen"])
        await screen.connect()
        await screen.close()
    finally:
        server.kill()


async def test_master_killed_takes_its_workers_and_redis_along(
    tmp_path: Path, hubs: list[HubProcess],
) -> None:
    hub = master(hubs, tmp_path / "data")
    pids = workers_of(hub) + redis_of(hub)
    assert hub.proc is not None
    assert len(pids) == 3, children(hub.proc.pid)
    hub.kill()
    # Linux sends each SIGTERM when the master dies (PR_SET_PDEATHSIG).
    await until(lambda: not any(alive(pid) for pid in pids))


async def test_a_worker_failing_at_start_stops_the_master_and_everything_it_started(
    tmp_path: Path,
) -> None:
    """A worker that cannot start (its search index unreachable): the master stops the
    other workers and the private Redis, says which worker failed, and exits 1."""
    data = tmp_path / "data"
    done = await asyncio.to_thread(serve_once, data, "--workers", "2",
                                   "--archive", "postgresql://hub@127.0.0.1:1/none")
    assert done.returncode == 1, done.stderr
    assert "hub cannot run its workers: worker 1 exited at start (status 1)" in done.stderr
    assert "private redis stopped" in done.stderr
    started = re.search(r"private redis \(pid (\d+)\)", done.stderr)
    assert started is not None, done.stderr
    assert not alive(int(started.group(1)))


async def test_a_port_in_use_is_refused_even_by_another_master(
    tmp_path: Path, hubs: list[HubProcess],
) -> None:
    """Workers share their port with each other only: a second master on the same port
    (another data folder) is refused, not let in beside the first one's workers."""
    first = master(hubs, tmp_path / "one")
    done = await asyncio.to_thread(serve_once, tmp_path / "two", "--workers", "2",
                                   "--port", str(first.port))
    assert done.returncode == 1, done.stderr
    assert f"cannot use 127.0.0.1 port {first.port}: Address already in use" in done.stderr
    assert len(workers_of(first)) == 2


# -- the private Redis --------------------------------------------------------------------


def private_settings(data: Path) -> dict[str, str]:
    text = (data / "redis" / "redis.conf").read_text()
    return dict(line.split(" ", 1) for line in text.splitlines()
                if line and not line.startswith("#"))


async def test_private_redis_is_persistent_in_the_data_folder_and_stops_with_the_master(
    tmp_path: Path, hubs: list[HubProcess],
) -> None:
    """Started with the master, persistent (append-only, fsync every second), in
    <data>/redis (0700), on loopback with a password; what the hub wrote is there after the
    master stopped and started again."""
    data = tmp_path / "data"
    hub = master(hubs, data)
    folder = data / "redis"
    assert (folder.stat().st_mode & 0o777) == 0o700
    settings = private_settings(data)
    assert (settings["bind"], settings["protected-mode"]) == ("127.0.0.1", "yes")
    assert ((folder / "redis.conf").stat().st_mode & 0o777) == 0o600
    with redis.Redis(port=int(settings["port"]), password=settings["requirepass"]) as client:
        config = client.config_get("*")
        pid = client.info("server")["process_id"]
    assert redis_of(hub) == [pid]
    assert (config["appendonly"], config["appendfsync"]) == ("yes", "everysec")
    assert config["dir"] == str(folder.resolve())
    assert config["maxmemory-policy"] == "noeviction"
    with pytest.raises(redis.AuthenticationError):  # nobody gets in without the password
        with redis.Redis(port=int(settings["port"])) as stranger:
            stranger.ping()
    created = await create_session(hub.url, "Kept", state="live")
    assert hub.terminate(timeout=60) == 0
    assert not alive(pid)
    assert "User requested shutdown" in (folder / "redis.log").read_text()

    hub.start()  # the same folder: the new private Redis loads what the first one saved
    status, body, _ = await ahttp("GET", f"{hub.url}/api/sessions/{created['id']}",
                                  token=ADMIN_KEY)
    assert status == 200 and body["title"] == "Kept", body


async def test_leftover_private_redis_is_shut_down_and_its_data_kept(
    tmp_path: Path, hubs: list[HubProcess],
) -> None:
    """A private Redis that outlived its master (its master gone, the lock free) is shut
    down, saving, and the new master's Redis loads its data; a second master on a folder
    whose master runs is refused."""
    data = tmp_path / "data"
    hub = master(hubs, data)
    created = await create_session(hub.url, "Left over", state="live")
    assert hub.terminate(timeout=60) == 0
    leftover = start_leftover(data)
    try:
        settings = private_settings(data)
        with redis.Redis(port=int(settings["port"]), password=settings["requirepass"]) as c:
            await until(lambda: _pings(c))
            c.set("leftover-mark", "written after the master died")
        hub.start()
        assert leftover.wait(30) == 0
        assert "left by an earlier master still runs" in hub.output()
        settings = private_settings(data)
        with redis.Redis(port=int(settings["port"]), password=settings["requirepass"]) as c:
            assert c.get("leftover-mark") == b"written after the master died"
        status, _, _ = await ahttp("GET", f"{hub.url}/api/sessions/{created['id']}",
                                   token=ADMIN_KEY)
        assert status == 200

        second = await asyncio.to_thread(serve_once, data, "--workers", "2")
        assert second.returncode == 1
        assert "another `hub serve --workers` runs on this data folder" in second.stderr
        assert workers_of(hub) and redis_of(hub)  # the first one is untouched
    finally:
        if leftover.poll() is None:
            leftover.kill()
            leftover.wait()


def start_leftover(data: Path) -> subprocess.Popen[bytes]:
    """A Redis left running on the folder: started as the master would, then orphaned."""
    return subprocess.Popen([redis_server_binary(), str(data / "redis" / "redis.conf")],
                            stdout=subprocess.DEVNULL)


def serve_once(data: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`hub serve` run to its end (a refusal), with its output."""
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", "serve", "--port", "0", "--data", str(data), *args],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "HUB_ADMIN_KEY": ADMIN_KEY, "HUB_MEDIA_URL": "off", **env})


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


# -- one worker, auto, bad values ----------------------------------------------------------


async def test_one_worker_without_redis_is_the_embedded_default(
    tmp_path: Path, hubs: list[HubProcess],
) -> None:
    hub = master(hubs, tmp_path / "data", workers="1")
    assert hub.proc is not None
    assert children(hub.proc.pid) == {}  # no master: the hub itself serves; no Redis
    assert "(embedded, data " in hub.output()
    assert not (tmp_path / "data" / "redis").exists()
    created = await create_session(hub.url, "Embedded", state="live")
    assert created["id"]


async def test_auto_runs_one_worker_per_available_core(
    tmp_path: Path, hubs: list[HubProcess],
) -> None:
    cores = len(os.sched_getaffinity(0))
    hub = HubProcess(tmp_path / "data", env={**PROCESS_ENV, "HUB_WORKERS": "auto"})
    hubs.append(hub)
    hub.start()
    if cores == 1:  # one worker: the single process, as without the option
        assert "(embedded, data " in hub.output()
        return
    assert len(workers_of(hub)) == cores
    assert f"{cores} workers)" in hub.output()


@pytest.mark.parametrize(("given", "where"), [
    ("0", "option"), ("-1", "option"), ("x", "option"), ("0", "env"), ("2.5", "env")])
def test_bad_worker_counts_are_refused_with_a_clear_message(
    tmp_path: Path, given: str, where: str,
) -> None:
    if where == "option":
        done = serve_once(tmp_path / "data", f"--workers={given}")
    else:
        done = serve_once(tmp_path / "data", HUB_WORKERS=given)
    assert done.returncode == 2
    assert (f"--workers (HUB_WORKERS) takes a whole number of processes, 1 or more, or "
            f"'auto' (one per available core), not '{given}'") in done.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was made
