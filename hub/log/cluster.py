"""Redis Cluster support for the Redis backend (hub/log/redis.py).

On a cluster, RedisLog uses:

- `GatedCluster`, redis-py's cluster client, for commands. It follows MOVED and ASK
  by itself (a redirected command was not run, so that is safe), keeps redis-py's
  retries off like the single-node client (a retried append whose reply was lost
  would come back as a false conflict) and waits for one of a bounded number of
  in-flight commands, as the single-node client's blocking pool does (the cluster
  client's own pools raise "Too many connections" instead of waiting).
- `ClusterScript` for the Lua scripts: EVALSHA on the node that owns the keys' slot,
  and on NOSCRIPT (a node that never ran it: new, restarted, or a replica promoted
  by a failover) EVAL of the text on that same node, which also caches it there.
  Every script's keys share one session's hash tag, so one slot.
- `ClusterFeed` for the doorbell: sharded pub/sub (SSUBSCRIBE) needs the node that
  owns the channel's slot, so the feed holds one plain pub/sub connection per
  primary, each subscribing to the bells of the listened sessions whose slot that
  primary owns, with the single-node feed's back-off, probes and resyncs per
  connection. It reads the slot map (CLUSTER SLOTS) at start, every few seconds, and
  at once when a connection fails, a subscription is answered with MOVED, or Redis
  drops a subscription because its slot moved away (a failover or a resharding).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot
from redis.exceptions import (
    AskError,
    ClusterDownError,
    ClusterError,
    NoScriptError,
    RedisClusterException,
    RedisError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError

from .redis import (
    BACKOFF_MAX,
    BACKOFF_MIN,
    PING_TIMEOUT,
    PROBE_FRESH,
    UNAVAILABLE,
    _describe,
    _FeedState,
    _text,
    keep_subscribed,
    until_one_fails,
)

log = logging.getLogger(__name__)

#: How often the slot map is read again when nothing said it changed.
TOPOLOGY_INTERVAL = 5.0
#: Connections per node for the feed: its pub/sub, its probes, slot map reads.
FEED_POOL_SIZE = 3

#: Answers that mean "the cluster cannot serve this now" (a failover, a slot being
#: moved, a node that is down): nothing was run, retry later. AskError covers MOVED.
TOPOLOGY_ERRORS = (AskError, ClusterDownError, TryAgainError)

#: (host, port) of a cluster node, as the cluster announces it.
Address = tuple[str, int]


def cluster_unavailable(exc: BaseException) -> bool:
    """Whether a cluster client's error means "cannot be reached now" (LogUnavailable)."""
    if isinstance(exc, (*UNAVAILABLE, ClusterError, TryAgainError, SlotNotCoveredError)):
        return True
    # "Redis Cluster cannot be connected" (no startup node answered), "All slots are
    # not covered": raised by redis-py around the error of the last node it tried.
    if isinstance(exc, RedisClusterException):
        return isinstance(exc.__cause__, UNAVAILABLE) or "not covered" in str(exc)
    return False


def _name(address: Address) -> str:
    return f"{address[0]}:{address[1]}"


@dataclass(frozen=True, slots=True)
class SlotMap:
    """Which primary owns each of the 16384 slots, and the replicas (CLUSTER SLOTS)."""

    owners: tuple[Address | None, ...]
    #: Every primary that owns at least one slot.
    primaries: frozenset[Address]
    replicas: frozenset[Address]

    @classmethod
    def parse(cls, reply: list[Any], asked: Address) -> SlotMap:
        """The map from a raw CLUSTER SLOTS reply given by node `asked`."""
        owners: list[Address | None] = [None] * REDIS_CLUSTER_HASH_SLOTS
        replicas: set[Address] = set()

        def address(node: list[Any]) -> Address:
            host = _text(node[0]) or asked[0]  # "" when a lone node does not know its address
            return host, int(node[1])

        for entry in reply:
            start, end, primary = int(entry[0]), int(entry[1]), address(entry[2])
            owners[start : end + 1] = [primary] * (end - start + 1)
            replicas.update(address(node) for node in entry[3:])
        primaries = frozenset(owner for owner in owners if owner is not None)
        return cls(tuple(owners), primaries, frozenset(replicas))

    def owner(self, key: bytes) -> Address | None:
        """The primary that owns the slot of `key` (None: the slot is not served)."""
        return self.owners[key_slot(key)]


class GatedCluster(RedisCluster):
    """A cluster client whose commands wait (up to `gate_timeout`) for one of `gate`
    slots, so that a burst waits like on a blocking pool instead of failing."""

    def __init__(self, *args: Any, gate: int, gate_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._gate = asyncio.Semaphore(gate)
        self._gate_timeout = gate_timeout

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        try:
            async with asyncio.timeout(self._gate_timeout):
                await self._gate.acquire()
        except TimeoutError:
            raise RedisConnectionError(
                f"no free cluster connection for {self._gate_timeout:.0f} s"
            ) from None
        try:
            return await super().execute_command(*args, **kwargs)
        finally:
            self._gate.release()

    async def aclose(self) -> None:
        await super().aclose()
        # RedisCluster.aclose() does nothing while a re-initialization is due (after a
        # node could not be reached), which would leave the nodes' connections open.
        await self.nodes_manager.aclose()
        await self.nodes_manager.aclose("startup_nodes")


class ClusterScript:
    """A Lua script run on the node that owns its keys' slot: EVALSHA, else EVAL."""

    def __init__(self, client: RedisCluster, text: str) -> None:
        self.client = client
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()

    async def __call__(self, keys: list[str], args: list[Any]) -> Any:
        try:
            return await self.client.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)
        except NoScriptError:
            # That node has not cached it: EVAL runs it there and caches it.
            return await self.client.execute_command("EVAL", self.text, len(keys), *keys, *args)


class ClusterFeed:
    """Sharded pub/sub over a cluster: one pub/sub connection per primary (see the module
    docstring). `synced` is set when every listened session's bell is subscribed on the
    primary that owns its slot; `resync` is called once synced again after anything may
    have been missed (a connection lost, a session that moved to another primary)."""

    def __init__(
        self,
        *,
        seed: Address,
        node_options: dict[str, Any],
        probe_prefix: str,
        wanted: Callable[[], Collection[str]],
        bell: Callable[[str], bytes],
        session_of_bell: Callable[[bytes], str],
        deliver: Callable[[bytes, bytes], None],
        resync: Callable[[], None],
    ) -> None:
        self.seed = seed
        self._node_options = node_options
        self._probe_prefix = probe_prefix
        self.wanted = wanted
        self.bell = bell
        self.session_of_bell = session_of_bell
        self.deliver = deliver
        self._resync = resync
        self.map: SlotMap | None = None
        self.shards: dict[Address, _Shard] = {}
        self._clients: dict[Address, aioredis.Redis] = {}
        self._probes: dict[Address, bytes] = {}
        self._refresh = asyncio.Event()
        self._progress = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        #: Set when every listened session's bell is confirmed on its slot's primary.
        self.synced = asyncio.Event()
        #: Something may have been missed since the last resync.
        self.resync_due = False

    # -- lifetime -----------------------------------------------------------

    async def start(self) -> None:
        """Read the slot map, connect to every primary and wait (a while) for them."""
        await self._apply(await self._read_map())
        self._task = asyncio.create_task(self._supervise(), name="hub-redis-cluster-feed")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PROBE_FRESH
        while not self.all_connected():
            self._progress.clear()
            try:
                async with asyncio.timeout(max(0.0, deadline - loop.time())):
                    await self._progress.wait()
            except TimeoutError:
                log.warning("redis cluster feed not connected to every primary yet; it keeps "
                            "trying")
                return

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        shards, self.shards = list(self.shards.values()), {}
        for shard in shards:
            await shard.stop()
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    def all_connected(self) -> bool:
        slot_map = self.map
        if slot_map is None:
            return False
        for address in slot_map.primaries:
            shard = self.shards.get(address)
            if shard is None or not shard.state.connected.is_set():
                return False
        return True

    # -- what RedisLog asks -------------------------------------------------

    def wanted_changed(self) -> None:
        """A session was listened to or left: subscriptions change on its primary."""
        self.synced.clear()
        for shard in self.shards.values():
            shard.state.wake.set()

    async def alive(self) -> bool:
        """True when every primary's connection delivered a probe recently, or does now."""
        task = self._task
        if task is None or task.done() or not self.all_connected():
            return False
        now = asyncio.get_running_loop().time()
        stale = [shard for shard in self.shards.values()
                 if now - shard.state.probe_seen_at >= PROBE_FRESH]
        results = await asyncio.gather(*(shard.probe_now() for shard in stale))
        return all(results)

    def probe_channel(self, node: Address) -> bytes:
        """A shard channel of this instance in a slot `node` owns (its probes go there)."""
        slot_map = self.map
        if slot_map is None or node not in slot_map.primaries:
            raise RedisConnectionError(f"{_name(node)} owns no slot")
        known = self._probes.get(node)
        if known is not None and slot_map.owner(known) == node:
            return known
        # About as many tries as the cluster has primaries; ends since `node` owns a slot.
        n = 0
        while slot_map.owner(channel := f"{self._probe_prefix}:{{{n}}}".encode()) != node:
            n += 1
        self._probes[node] = channel
        return channel

    # -- following the slot map --------------------------------------------

    def request_refresh(self) -> None:
        self._refresh.set()

    def shard_connected(self) -> None:
        self._progress.set()
        self.check_synced()

    def shard_down(self) -> None:
        """A primary's connection was lost: what it carried must be read back, and its
        node may have failed over (read the slot map again)."""
        self.resync_due = True
        self.synced.clear()
        self.request_refresh()

    def slot_moved(self) -> None:
        """Redis dropped a subscription because its slot moved to another primary."""
        self.resync_due = True
        self.synced.clear()
        self.request_refresh()

    async def _supervise(self) -> None:
        while True:
            self._refresh.clear()
            wait = TOPOLOGY_INTERVAL
            try:
                await self._apply(await self._read_map())
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("redis cluster: cannot read the slot map: %s", _describe(exc))
                wait = BACKOFF_MAX
            await asyncio.sleep(BACKOFF_MIN)  # several reasons at once make one read
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._refresh.wait()

    async def _read_map(self) -> SlotMap:
        """CLUSTER SLOTS from the first node that answers: primaries, replicas, the seed."""
        candidates: list[Address] = []
        if self.map is not None:
            primaries = list(self.map.primaries)
            random.shuffle(primaries)  # instances do not all ask the same node
            candidates += primaries + sorted(self.map.replicas)
        candidates.append(self.seed)
        failure: BaseException | None = None
        for address in dict.fromkeys(candidates):
            try:
                async with asyncio.timeout(PING_TIMEOUT * 2):
                    client = self._client(address)
                    reply = await client.execute_command(  # type: ignore[no-untyped-call]
                        "CLUSTER", "SLOTS"
                    )
            except (RedisError, OSError) as exc:
                failure = exc
                continue
            if reply:
                return SlotMap.parse(reply, address)
        last = _describe(failure) if failure is not None else "no slots assigned"
        raise RedisConnectionError(f"no cluster node answered CLUSTER SLOTS ({last})")

    def _client(self, address: Address) -> aioredis.Redis:
        """The plain client of one node (its own small blocking pool)."""
        client = self._clients.get(address)
        if client is None:
            client = aioredis.Redis.from_pool(
                aioredis.BlockingConnectionPool(
                    host=address[0],
                    port=address[1],
                    max_connections=FEED_POOL_SIZE,
                    **self._node_options,
                )
            )
            self._clients[address] = client
        return client

    async def _apply(self, new: SlotMap) -> None:
        """Make the shards follow a slot map: one per primary, sessions where they live."""
        old = self.map
        if new == old:
            # Sessions Redis dropped may be back where they were (a slot that moved away
            # and back between two reads): try them again; MOVED says if not.
            for shard in self.shards.values():
                if shard.moved_away:
                    shard.moved_away.clear()
                    shard.state.wake.set()
            return
        self.map = new
        if old is not None:
            log.log(
                logging.INFO if old.owners != new.owners else logging.DEBUG,
                "redis cluster slot map changed: primaries %s",
                ", ".join(sorted(_name(a) for a in new.primaries)),
            )
            # A session whose bell moved may have lost batches in between.
            bells = [self.bell(session) for session in self.wanted()]
            if any(old.owner(bell) != new.owner(bell) for bell in bells):
                self.resync_due = True
                self.synced.clear()
        gone = [self.shards.pop(address) for address in list(self.shards)
                if address not in new.primaries]
        for shard in gone:
            shard.stopping = True
        for address in new.primaries - self.shards.keys():
            shard = _Shard(self, address, self._client(address))
            self.shards[address] = shard
            shard.start()
        for shard in self.shards.values():
            shard.moved_away.clear()
            shard.state.wake.set()
        self.check_synced()
        # Then what the map no longer has (awaited: the state above is consistent).
        for shard in gone:
            await shard.stop()
        keep = new.primaries | new.replicas | {self.seed}
        for address in [a for a in self._clients if a not in keep]:
            await self._clients.pop(address).aclose()

    def check_synced(self) -> None:
        """Mark the feed in sync when every listened session is confirmed on its primary;
        then resync if something may have been missed."""
        slot_map = self.map
        if slot_map is None:
            return
        for session in self.wanted():
            owner = slot_map.owner(self.bell(session))
            shard = self.shards.get(owner) if owner is not None else None
            if shard is None or not shard.state.connected.is_set():
                return
            if session not in shard.state.confirmed:
                return
        self.synced.set()
        if self.resync_due:
            self.resync_due = False
            try:
                self._resync()
            except Exception:
                log.exception("resync hook %r failed", self._resync)


class _SlotMoved(RedisConnectionError):
    """The probe's slot moved to another node: reconnect with a probe in one it owns."""


class _Shard:
    """The pub/sub connection to one primary, for the sessions whose slot it owns."""

    def __init__(self, feed: ClusterFeed, address: Address, client: aioredis.Redis) -> None:
        self.feed = feed
        self.address = address
        self.name = _name(address)
        self.client = client
        self.state = _FeedState()
        self.probe = b""
        #: Sessions Redis unsubscribed since the slot map was last read (their slot moved):
        #: not subscribed here again until the new map says where they live.
        self.moved_away: set[str] = set()
        self.stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"hub-redis-feed-{self.name}")

    async def stop(self) -> None:
        self.stopping = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        """Keep this primary's pub/sub connection up, with back-off."""
        state = self.state
        delay = BACKOFF_MIN
        while True:
            pubsub = self.client.pubsub()
            try:
                await self._once(pubsub)
            except (*TOPOLOGY_ERRORS, _SlotMoved) as exc:
                log.info("redis feed at %s: slots moved (%s); reading the slot map again",
                         self.name, _describe(exc))
            except UNAVAILABLE as exc:
                log.warning("redis feed at %s lost: %s; reconnecting in %.1f s",
                            self.name, _describe(exc), delay)
            except Exception:
                log.exception("redis feed at %s failed; reconnecting in %.1f s", self.name, delay)
            finally:
                if state.connected.is_set():
                    delay = BACKOFF_MIN
                state.down()
                if not self.stopping:
                    self.feed.shard_down()
                await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)

    async def _once(self, pubsub: PubSub) -> None:
        self.probe = self.feed.probe_channel(self.address)
        await pubsub.ssubscribe(self.probe)
        await until_one_fails({f"hub-redis-feed-read-{self.name}": self._read(pubsub),
                               f"hub-redis-feed-manage-{self.name}": self._manage(pubsub)})

    async def _read(self, pubsub: PubSub) -> None:
        while True:
            try:
                message = await pubsub.get_message(timeout=None)
            except AskError as exc:
                # MOVED (or ASK) answering an SSUBSCRIBE sent on a stale slot map: that
                # slot is not this node's now. The connection itself is fine.
                self._slot_left(exc.slot_id)
                continue
            if message is not None:
                self._on_message(message)

    def _slot_left(self, slot: int) -> None:
        """Redis says `slot` is not served here: its sessions wait for the next slot map."""
        if key_slot(self.probe) == slot:
            raise _SlotMoved(f"the probe's slot left {self.name}")
        log.info("redis feed at %s: slot %d moved away; reading the slot map again",
                 self.name, slot)
        state = self.state
        for session in [s for s in state.subscribed if key_slot(self.feed.bell(s)) == slot]:
            state.subscribed.discard(session)
            state.confirmed.discard(session)
            self.moved_away.add(session)
        self.feed.slot_moved()
        self.feed.check_synced()

    async def _manage(self, pubsub: PubSub) -> None:
        """Subscribe the bells of the listened sessions this primary owns; probe each second."""
        await keep_subscribed(self.state.wake, lambda: self._reconcile(pubsub), self._probe_tick)

    async def _reconcile(self, pubsub: PubSub) -> None:
        feed, state = self.feed, self.state
        slot_map = feed.map
        if slot_map is None:
            return
        if slot_map.owner(self.probe) != self.address:
            raise _SlotMoved(f"the probe's slot left {self.name}")
        listened = set(feed.wanted())
        here = {s for s in listened - self.moved_away
                if slot_map.owner(feed.bell(s)) == self.address}
        for session in here - state.subscribed:
            # One command per session: SSUBSCRIBE takes only channels of one slot.
            await pubsub.ssubscribe(feed.bell(session))
            state.subscribed.add(session)
        for session in state.subscribed - here:
            state.subscribed.discard(session)
            if session in listened:
                # It lives on another primary now, which answers SUNSUBSCRIBE here with
                # MOVED; Redis drops the subscription itself when a slot leaves a node.
                state.confirmed.discard(session)
            else:
                await pubsub.sunsubscribe(feed.bell(session))
        feed.check_synced()

    async def _probe_tick(self) -> None:
        state = self.state
        now = asyncio.get_running_loop().time()
        if state.probe_pending_since is not None and now - state.probe_pending_since > PROBE_FRESH:
            # A connection can stay open and deliver nothing (centrifugo #1189).
            raise RedisConnectionError(f"no pub/sub probe came back for {PROBE_FRESH:.0f} s")
        try:
            await self.client.spublish(self.probe, b"probe")
        except UNAVAILABLE as exc:
            log.debug("probe publish to %s failed: %s", self.name, _describe(exc))
            return
        if state.probe_pending_since is None:
            state.probe_pending_since = now

    async def probe_now(self) -> bool:
        """Send a probe and wait (a second at most) for it to come back."""
        state = self.state
        state.probe_seen.clear()
        try:
            async with asyncio.timeout(PING_TIMEOUT):
                await self.client.spublish(self.probe, b"probe")
                await state.probe_seen.wait()
        except (RedisError, OSError):
            return False
        return True

    def _on_message(self, message: dict[str, Any]) -> None:
        feed, state = self.feed, self.state
        kind = message["type"]
        channel = bytes(message["channel"] or b"")
        if kind in ("smessage", "message"):
            if channel == self.probe:
                state.probe_came_back()
            else:
                feed.deliver(channel, message["data"])
        elif kind == "ssubscribe":
            if channel == self.probe:
                state.connected.set()
                feed.shard_connected()
            else:
                state.confirmed.add(feed.session_of_bell(channel))
                feed.check_synced()
        elif kind == "sunsubscribe":
            if channel == self.probe:
                raise _SlotMoved(f"{self.name} dropped the probe's subscription")
            session = feed.session_of_bell(channel)
            state.confirmed.discard(session)
            if session in state.subscribed:
                # Not asked for: its slot left this node (failover, resharding).
                self._slot_left(key_slot(channel))
            else:
                feed.check_synced()
