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
- `ShardedCluster`, the feed's topology (hub/log/feed.py) for the doorbell: sharded
  pub/sub (SSUBSCRIBE) needs the node that owns the channel's slot, so the feed holds
  one plain pub/sub connection per primary, each subscribing to the bells of the
  listened sessions whose slot that primary owns. The feed reads the slot map (CLUSTER
  SLOTS) at start, every few seconds, and at once when a connection fails, a
  subscription is answered with MOVED, or Redis drops a subscription because its slot
  moved away (a failover or a resharding).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot
from redis.exceptions import (
    ClusterError,
    NoScriptError,
    RedisClusterException,
    RedisError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError

from .feed import (
    PING_TIMEOUT,
    UNAVAILABLE,
    Address,
    Kinds,
    Layout,
    Topology,
    describe,
    node_name,
)

log = logging.getLogger(__name__)

#: How often the slot map is read again when nothing said it changed.
TOPOLOGY_INTERVAL = 5.0
#: Connections per node for the feed: its pub/sub, its probes, slot map reads.
FEED_POOL_SIZE = 3


def cluster_unavailable(exc: BaseException) -> bool:
    """Whether a cluster client's error means "cannot be reached now" (LogUnavailable)."""
    if isinstance(exc, (*UNAVAILABLE, ClusterError, TryAgainError, SlotNotCoveredError)):
        return True
    # "Redis Cluster cannot be connected" (no startup node answered), "All slots are
    # not covered": raised by redis-py around the error of the last node it tried.
    if isinstance(exc, RedisClusterException):
        return isinstance(exc.__cause__, UNAVAILABLE) or "not covered" in str(exc)
    return False


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
            host = node[0].decode() if isinstance(node[0], bytes) else node[0]
            return host or asked[0], int(node[1])  # "" when a lone node does not know its address

        for entry in reply:
            start, end, primary = int(entry[0]), int(entry[1]), address(entry[2])
            owners[start : end + 1] = [primary] * (end - start + 1)
            replicas.update(address(node) for node in entry[3:])
        primaries = frozenset(owner for owner in owners if owner is not None)
        return cls(tuple(owners), primaries, frozenset(replicas))

    @property
    def nodes(self) -> frozenset[Address]:
        """The nodes the feed holds a connection to: the primaries."""
        return self.primaries

    def owner(self, channel: bytes) -> Address | None:
        """The primary that owns the slot of `channel` (None: the slot is not served)."""
        return self.owners[key_slot(channel)]


class ShardedCluster(Topology):
    """A Redis Cluster: sharded pub/sub, one connection per primary (the module docstring)."""

    publish_command = "SPUBLISH"
    kinds = Kinds("smessage", "ssubscribe", "sunsubscribe")
    interval = TOPOLOGY_INTERVAL

    def __init__(self, *, seed: Address, node_options: dict[str, Any], probe_prefix: str) -> None:
        self.seed = seed
        self.node_options = node_options
        self.probe_prefix = probe_prefix
        #: The slot map last read.
        self.map: SlotMap | None = None
        self.clients: dict[Address, aioredis.Redis] = {}
        self.probes: dict[Address, bytes] = {}

    async def read(self) -> Layout:
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
                    client = self.client(address)
                    reply = await client.execute_command(  # type: ignore[no-untyped-call]
                        "CLUSTER", "SLOTS"
                    )
            except (RedisError, OSError) as exc:
                failure = exc
                continue
            if reply:
                self._remember(SlotMap.parse(reply, address))
                assert self.map is not None
                return self.map
        last = describe(failure) if failure is not None else "no slots assigned"
        raise RedisConnectionError(f"no cluster node answered CLUSTER SLOTS ({last})")

    def _remember(self, new: SlotMap) -> None:
        old, self.map = self.map, new
        if old is not None and old != new:
            log.log(
                logging.INFO if old.owners != new.owners else logging.DEBUG,
                "redis cluster slot map changed: primaries %s",
                ", ".join(sorted(node_name(a) for a in new.primaries)),
            )

    def client(self, address: Address) -> aioredis.Redis:
        """The plain client of one node (its own small blocking pool)."""
        client = self.clients.get(address)
        if client is None:
            client = aioredis.Redis.from_pool(
                aioredis.BlockingConnectionPool(
                    host=address[0],
                    port=address[1],
                    max_connections=FEED_POOL_SIZE,
                    **self.node_options,
                )
            )
            self.clients[address] = client
        return client

    def pubsub(self, node: Address) -> PubSub:
        return self.client(node).pubsub()

    async def subscribe(self, pubsub: PubSub, channel: bytes) -> None:
        await pubsub.ssubscribe(channel)

    async def unsubscribe(self, pubsub: PubSub, channel: bytes) -> None:
        await pubsub.sunsubscribe(channel)

    async def publish(self, node: Address, channel: bytes, data: bytes) -> None:
        await self.client(node).spublish(channel, data)

    def probe_channel(self, node: Address, layout: Layout) -> bytes:
        """A shard channel of this instance in a slot `node` owns."""
        if node not in layout.nodes:
            raise RedisConnectionError(f"{node_name(node)} owns no slot")
        known = self.probes.get(node)
        if known is not None and layout.owner(known) == node:
            return known
        # About as many tries as the cluster has primaries; ends since `node` owns a slot.
        n = 0
        while layout.owner(channel := f"{self.probe_prefix}:{{{n}}}".encode()) != node:
            n += 1
        self.probes[node] = channel
        return channel

    async def forget(self, layout: Layout) -> None:
        """Close the clients of nodes that are neither in the slot map nor the seed."""
        keep = {self.seed} | layout.nodes
        if isinstance(layout, SlotMap):
            keep |= layout.replicas
        for address in [a for a in self.clients if a not in keep]:
            await self.clients.pop(address).aclose()

    async def close(self) -> None:
        clients, self.clients = list(self.clients.values()), {}
        for client in clients:
            await client.aclose()


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


