"""The Redis backend on a real multi-shard Redis Cluster (3 primaries on loopback).

The EventLog contract runs against the cluster in tests/server/test_log_contract.py; here
sessions spread over every shard, the feed's recovery and a session whose slot moves
to another primary; then two real `hub serve` processes on the cluster.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

from hub.log.redis import RedisLog
from tests.support.harness import Client, HubProcess, create_session
from tests.support.log_backends import DELIVERY_TIMEOUT, Inbox, batch, event, fill
from tests.support.redis_server import RedisClusterProcesses, skip_without_cluster_server

pytestmark = pytest.mark.redis


def new_prefix() -> str:
    return f"c{uuid.uuid4().hex[:8]}"


# -- sessions on every shard --------------------------------------------------------


def sessions_on_every_shard(
    cluster: RedisClusterProcesses, ids: Iterator[str], per_shard: int = 1
) -> dict[int, list[str]]:
    """Session ids from `ids` until each primary (by port) owns `per_shard` of them, asked
    of Redis: CLUSTER KEYSLOT of the session's hash tag, and the slot map."""
    owners = cluster.owners()
    found: dict[int, list[str]] = {port: [] for port in set(owners.values())}
    for _ in range(1000):
        if all(len(each) >= per_shard for each in found.values()):
            return found
        session = next(ids)
        port = owners[cluster.keyslot(f"{{{session}}}")]
        if len(found[port]) < per_shard:
            found[port].append(session)
    raise AssertionError(f"no session ids for every shard: {found}")


def counter(prefix: str) -> Iterator[str]:
    n = 0
    while True:
        yield f"{prefix}-{n:02d}"  # a session id: 3 characters at least
        n += 1


@pytest.fixture
async def cluster_logs(
    redis_cluster: RedisClusterProcesses, tmp_path: Path
) -> AsyncIterator[Callable[[], Awaitable[RedisLog]]]:
    """Opens started RedisLogs on the cluster, on one prefix, closed afterwards."""
    prefix = new_prefix()
    opened: list[RedisLog] = []

    async def open_log() -> RedisLog:
        log = RedisLog(redis_cluster.url, data_dir=str(tmp_path), prefix=prefix)
        await log.start()
        opened.append(log)
        return log

    yield open_log
    for log in opened:
        await log.close()


async def shard_subscribers(cluster: RedisClusterProcesses, port: int, channel: bytes) -> int:
    """PUBSUB SHARDNUMSUB of `channel` on the node at `port`."""
    async with aioredis.Redis(port=port) as client:
        reply = await client.execute_command("PUBSUB", "SHARDNUMSUB", channel)
    return int(reply[1])



async def listening(writer: RedisLog, reader: RedisLog, sessions: list[str],
                    ) -> tuple[dict[str, Inbox], asyncio.Event]:
    """`reader` follows `sessions`, each of which `writer` gives two batches that arrive;
    returns their inboxes and an event set when the reader's feed resyncs."""
    resynced = asyncio.Event()
    reader.resync_hook = resynced.set
    inboxes = {session: Inbox() for session in sessions}
    for session, inbox in inboxes.items():
        reader.listen(session, inbox)
    await reader.wait_subscribed()
    for session in sessions:
        await fill(writer, session, 2)
    for inbox in inboxes.values():
        await inbox.wait_count(2)
    return inboxes, resynced

async def test_sessions_on_every_shard_reach_listeners_in_order(
    redis_cluster: RedisClusterProcesses, cluster_logs: Callable[[], Awaitable[RedisLog]]
) -> None:
    writer, reader = await cluster_logs(), await cluster_logs()
    by_shard = sessions_on_every_shard(redis_cluster, counter("s"), per_shard=2)
    assert len(by_shard) == 3  # three primaries, each with sessions of its own
    sessions = [s for each in by_shard.values() for s in each]
    inboxes = {session: Inbox() for session in sessions}
    for session, inbox in inboxes.items():
        reader.listen(session, inbox)
    await asyncio.wait_for(reader.wait_subscribed(), DELIVERY_TIMEOUT)
    # Each bell is subscribed on the primary that owns its slot, by the reader only.
    for port, owned in by_shard.items():
        for session in owned:
            assert await shard_subscribers(redis_cluster, port, reader._bell(session)) == 1
    made: dict[str, list[Any]] = {}
    for session in sessions:
        made[session] = [batch(session, 1, event("public", 1))]
        assert await writer.create(made[session][0])
    for offset in range(2, 9):  # interleaved across the shards
        for session in sessions:
            each = batch(session, offset, event("public", offset))
            await writer.append(each)
            made[session].append(each)
    for session, inbox in inboxes.items():
        await inbox.wait_count(8)
        assert inbox.batches == made[session]
    assert sorted(await reader.sessions()) == sorted(sessions)
    assert await reader.ping() and await writer.ping()
    # Keys that are not a session's: the shared meta hash, set once, on any instance.
    assert await writer.meta("secret", "first") == "first"
    assert await reader.meta("secret", "second") == "first"
    totals = await writer.presence(sessions[0], {"participants": 2})
    assert totals == {"participants": 2}
    assert await reader.presence(sessions[0], {"participants": 3}) == {"participants": 5}
    assert await writer.delete(sessions[-1])
    assert await reader.was_deleted(sessions[-1])
    assert await reader.head(sessions[-1]) is None
    # Nodes that do not have the scripts (restarted, promoted): EVALSHA, NOSCRIPT, EVAL.
    for node in redis_cluster.nodes:
        async with aioredis.Redis(port=node.port) as client:
            await client.script_flush()
    await writer.append(batch(sessions[1], 9, event("public", 9)))
    await inboxes[sessions[1]].wait_count(9)
    # A closed session is archived (its keys dropped by one script), then goes on.
    assert await writer.archive(sessions[0])
    assert await reader.batches(sessions[0], 0) == made[sessions[0]]
    more = batch(sessions[0], 9, event("public", 9))
    await reader.append(more)  # restored into the cluster first
    await inboxes[sessions[0]].wait_count(9)
    assert await writer.batches(sessions[0], 7) == [made[sessions[0]][-1], more]


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    """Wait until `check()` is true (polled), at most `timeout` seconds."""
    async def poll() -> None:
        while True:
            if await check():
                return
            await asyncio.sleep(0.1)

    await asyncio.wait_for(poll(), timeout)


async def kill_feed_connections(cluster: RedisClusterProcesses, log: RedisLog) -> int:
    """CLIENT KILL every pub/sub connection of `log`'s feed, on every node."""
    killed = 0
    for node in cluster.nodes:
        async with aioredis.Redis(port=node.port) as admin:
            clients = await admin.client_list(_type="pubsub")
            for each in clients:
                if each.get("name") == f"hub-feed-{log.instance_id}":
                    await admin.client_kill_filter(_id=each["id"], _type="pubsub")
                    killed += 1
    return killed


async def test_feed_recovers_when_every_shard_connection_is_killed(
    redis_cluster: RedisClusterProcesses, cluster_logs: Callable[[], Awaitable[RedisLog]]
) -> None:
    writer, reader = await cluster_logs(), await cluster_logs()
    sessions = [s for each in sessions_on_every_shard(redis_cluster, counter("k")).values()
                for s in each]
    inboxes, resynced = await listening(writer, reader, sessions)

    assert await kill_feed_connections(redis_cluster, reader) == 3  # one per primary
    owners = redis_cluster.owners()

    async def all_back() -> bool:  # each bell subscribed again on its primary
        for session in sessions:
            port = owners[redis_cluster.keyslot(f"{{{session}}}")]
            if await shard_subscribers(redis_cluster, port, reader._bell(session)) != 1:
                return False
        return True

    await until(all_back)
    await asyncio.wait_for(reader.wait_subscribed(), DELIVERY_TIMEOUT)
    assert resynced.is_set()  # what was published meanwhile is read back by the sessions
    for session in sessions:
        await writer.append(batch(session, 3, event("public", 3)))
    for inbox in inboxes.values():
        await inbox.wait_count(3)
        assert inbox.offsets[-1] == 3
    assert await reader.ping()


def move_slot(cluster: RedisClusterProcesses, slot: int, source: int, target: int) -> None:
    """Move one slot and its keys between primaries, as `redis-cli --cluster reshard` does."""
    with redis.Redis(port=source) as src, redis.Redis(port=target) as dst:
        source_id = src.execute_command("CLUSTER", "MYID").decode()
        target_id = dst.execute_command("CLUSTER", "MYID").decode()
        dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
        src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
        while keys := src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100):
            src.execute_command("MIGRATE", "127.0.0.1", target, "", 0, 5000, "KEYS", *keys)
        for node in cluster.nodes:  # every primary learns at once (else: by gossip)
            with redis.Redis(port=node.port) as client:
                client.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)


async def test_a_session_follows_its_slot_to_another_primary(
    redis_cluster: RedisClusterProcesses, cluster_logs: Callable[[], Awaitable[RedisLog]]
) -> None:
    writer, reader = await cluster_logs(), await cluster_logs()
    by_shard = sessions_on_every_shard(redis_cluster, counter("m"))
    source = redis_cluster.nodes[0].port
    target = redis_cluster.nodes[1].port
    session = by_shard[source][0]
    slot = redis_cluster.keyslot(f"{{{session}}}")
    resynced = asyncio.Event()
    reader.resync_hook = resynced.set
    inbox = Inbox()
    reader.listen(session, inbox)
    await reader.wait_subscribed()
    made = await fill(writer, session, 3)
    await inbox.wait_count(3)

    await asyncio.to_thread(move_slot, redis_cluster, slot, source, target)
    try:
        # Redis drops the subscription on the old primary; the feed reads the slot map,
        # subscribes on the new one and asks the sessions to read what they missed.
        await asyncio.wait_for(resynced.wait(), DELIVERY_TIMEOUT)
        await asyncio.wait_for(reader.wait_subscribed(), DELIVERY_TIMEOUT)
        assert await shard_subscribers(redis_cluster, target, reader._bell(session)) == 1
        more = batch(session, 4, event("public", 4))
        await writer.append(more)  # the writer's client follows MOVED
        await inbox.wait_count(4)
        assert inbox.batches == [*made, more]
        assert await reader.batches(session, 0) == [*made, more]
        await until(reader.ping)  # ready (a probe may be moving with the slot map just now)
    finally:
        await asyncio.to_thread(move_slot, redis_cluster, slot, target, source)


async def test_a_listen_on_a_stale_slot_map_ends_up_where_the_session_lives(
    redis_cluster: RedisClusterProcesses, cluster_logs: Callable[[], Awaitable[RedisLog]]
) -> None:
    """The slot moves before the reader knows: its SSUBSCRIBE is answered with MOVED, and
    the feed subscribes on the new primary once it has read the slot map again."""
    writer, reader = await cluster_logs(), await cluster_logs()
    source = redis_cluster.nodes[0].port
    target = redis_cluster.nodes[2].port
    session = sessions_on_every_shard(redis_cluster, counter("n"))[source][0]
    slot = redis_cluster.keyslot(f"{{{session}}}")
    made = await fill(writer, session, 2)
    await asyncio.to_thread(move_slot, redis_cluster, slot, source, target)
    try:
        inbox = Inbox()
        reader.listen(session, inbox)
        await asyncio.wait_for(reader.wait_subscribed(), DELIVERY_TIMEOUT)
        assert await shard_subscribers(redis_cluster, target, reader._bell(session)) == 1
        more = batch(session, 3, event("public", 3))
        await writer.append(more)
        await inbox.wait_count(1)
        assert inbox.batches == [more]
        assert await reader.batches(session, 0) == [*made, more]
    finally:
        await asyncio.to_thread(move_slot, redis_cluster, slot, target, source)


async def test_a_primary_dies_its_replica_takes_over_and_the_feed_follows(
    tmp_path: Path,
) -> None:
    """kill -9 of a primary: the instance is not ready while its shard is gone; after the
    replica's failover it is again, listeners of that shard's sessions get what was
    appended since, and writes there go on."""
    skip_without_cluster_server()
    cluster = RedisClusterProcesses(tmp_path / "cluster", node_timeout_ms=1000)
    logs: list[RedisLog] = []
    try:
        await asyncio.to_thread(cluster.start)
        primary = cluster.nodes[0]
        replica = await asyncio.to_thread(cluster.add_replica, primary)
        for _ in range(2):
            logs.append(RedisLog(cluster.url, data_dir=str(tmp_path), prefix="failover"))
            await logs[-1].start()
        writer, reader = logs
        by_shard = sessions_on_every_shard(cluster, counter("f"))
        sessions = [s for each in by_shard.values() for s in each]
        inboxes, resynced = await listening(writer, reader, sessions)
        async with aioredis.Redis(port=primary.port) as client:  # replicated before the kill
            assert await client.execute_command("WAIT", 1, 5000) == 1

        await asyncio.to_thread(primary.kill)
        await until(lambda: negate(reader.ping()))
        await asyncio.wait_for(resynced.wait(), 30)  # after the failover, in sync again
        await until(reader.ping)
        assert cluster.owners()[cluster.keyslot(f"{{{by_shard[primary.port][0]}}}")] == (
            replica.port)
        for session in sessions:
            await append_retrying(writer, batch(session, 3, event("public", 3)))
        for session, inbox in inboxes.items():
            await inbox.wait_count(3)
            assert inbox.offsets[-1] == 3
            assert [b.offset for b in await reader.batches(session, 0)] == [1, 2, 3]
    finally:
        for log in logs:
            await log.close()
        cluster.stop()


async def negate(check: Awaitable[bool]) -> bool:
    return not await check


async def append_retrying(log: RedisLog, each: Any, timeout: float = 30.0) -> None:
    """Append as a client does: `unavailable` is retried (the same batch: idempotent here,
    since nothing can have landed when the node was unreachable)."""
    from hub.log import LogUnavailable

    async def attempt() -> None:
        while True:
            try:
                await log.append(each)
                return
            except LogUnavailable:
                await asyncio.sleep(0.1)

    await asyncio.wait_for(attempt(), timeout)


async def test_a_redis_url_that_insists_on_a_cluster_refuses_a_single_server(
    redis_url: str, tmp_path: Path
) -> None:
    from hub.log import LogUnavailable

    url = redis_url.replace("redis://", "redis+cluster://", 1)
    log = RedisLog(url, data_dir=str(tmp_path), prefix=new_prefix())
    with pytest.raises(LogUnavailable, match="not a cluster"):
        await log.start()
    await log.close()


# -- two `hub serve` processes on the cluster ---------------------------------------


@pytest.fixture(scope="module")
def cluster_hubs(
    redis_cluster: RedisClusterProcesses, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[HubProcess, HubProcess]]:
    """Two instances on the cluster: A names any node (`redis://`, found to be a cluster),
    B says so in its URL (`redis+cluster://`)."""
    base = tmp_path_factory.mktemp("cluster-hubs")
    prefix = new_prefix()
    cluster_url = redis_cluster.nodes[1].url.replace("redis://", "redis+cluster://", 1)
    hubs = (HubProcess(base / "a", redis_url=redis_cluster.url, redis_prefix=prefix),
            HubProcess(base / "b", redis_url=cluster_url, redis_prefix=prefix))
    try:
        with ThreadPoolExecutor(len(hubs)) as pool:  # both start at once
            list(pool.map(HubProcess.start, hubs))
        yield hubs
    finally:
        for hub in hubs:
            hub.kill()


async def hub_sessions_on_every_shard(
    cluster: RedisClusterProcesses, hub: HubProcess, title: str
) -> list[dict[str, Any]]:
    """Sessions made through the hub's API until one lives on each primary."""
    owners = cluster.owners()
    by_port: dict[int, dict[str, Any]] = {}
    for _ in range(100):
        if len(by_port) == len(set(owners.values())):
            return list(by_port.values())
        created = await create_session(hub.url, title, state="live")
        by_port.setdefault(owners[cluster.keyslot(f"{{{created['id']}}}")], created)
    raise AssertionError(f"sessions did not land on every shard: {sorted(by_port)}")


def client(hub: HubProcess, created: dict[str, Any], role: str, **hello: Any) -> Client:
    return Client(hub.ws_url, created["id"], created["tokens"][role], **hello)


async def test_captions_cross_instances_in_order_on_every_shard(
    redis_cluster: RedisClusterProcesses, cluster_hubs: tuple[HubProcess, HubProcess]
) -> None:
    a, b = cluster_hubs
    for hub in (a, b):  # one found it by asking, the other was told by its URL
        assert "is a cluster of 3 primaries" in hub.output()
    sessions = await hub_sessions_on_every_shard(redis_cluster, a, "Captions")
    captioners = [client(a, created, "captioner") for created in sessions]
    readers = [client(b, created, "participant", name="Reader") for created in sessions]
    for each in (*captioners, *readers):
        await each.connect()
    lines = [f"line {n}" for n in range(1, 31)]

    async def caption(cap: Client) -> None:
        for n, text in enumerate(lines, 1):
            await cap.ok({"type": "caption", "text": text, "seq": n})

    await asyncio.gather(*(caption(cap) for cap in captioners))
    for reader in readers:  # the client checks every event's offset: no gap, no repeat
        got = await reader.wait_for(lambda r: len(r.kinds("caption")) == 30 and r.kinds("caption"))
        assert [e["data"]["text"] for e in got] == lines
    for each in (*captioners, *readers):
        await each.close()


async def test_moderators_on_two_instances_race_one_wins_on_every_shard(
    redis_cluster: RedisClusterProcesses, cluster_hubs: tuple[HubProcess, HubProcess]
) -> None:
    a, b = cluster_hubs
    for created in await hub_sessions_on_every_shard(redis_cluster, b, "Race"):
        alice = client(b, created, "participant", name="Alice")
        mod_a = client(a, created, "moderator", name="Room moderator")
        mod_b = client(b, created, "moderator", name="Remote moderator")
        for each in (alice, mod_a, mod_b):
            await each.connect()
        for n in range(3):
            item = (await alice.ok({"type": "ask", "kind": "question", "text": f"q{n}",
                                    "key": f"k{n}"}))["item"]
            for mod in (mod_a, mod_b):
                await mod.wait_for(lambda m, i=item: any(
                    e["data"]["id"] == i for e in m.kinds("item", "moderation")))
            replies = await asyncio.gather(
                mod_a.request({"type": "moderate", "item": item, "action": "approve"}),
                mod_b.request({"type": "moderate", "item": item, "action": "reject",
                               "text": "dup"}),
            )
            assert sorted(r["type"] for r in replies) == ["ack", "error"], replies
            assert [r["code"] for r in replies if r["type"] == "error"] == ["conflict"]
        final = [await mod.wait_for(lambda m: len(m.kinds("item", "moderation")) >= 6
                                    and m.kinds("item", "moderation")) for mod in (mod_a, mod_b)]
        assert [e["data"]["status"] for e in final[0]] == [e["data"]["status"] for e in final[1]]
        for each in (alice, mod_a, mod_b):
            await each.close()
