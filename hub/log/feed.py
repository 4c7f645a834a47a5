"""The Redis backend's live feed: each listened session's bell, on pub/sub, as a doorbell.

One `Feed` for both Redis topologies; where the bells live is its strategy, a `Topology`:

- one server (`SingleNode`): one pub/sub connection owns every session's bell
  (SUBSCRIBE, PUBLISH);
- a Redis Cluster (`hub.log.cluster.ShardedCluster`): sharded pub/sub, one connection
  per primary owning the bells whose slot that primary owns (SSUBSCRIBE, SPUBLISH),
  following the slot map as it changes.

Each connection (a `Link`) reconnects with back-off, subscribes again the bells it owns
(listen/unlisten wake it), and sends itself a probe every second: a connection can stay
open and deliver nothing, so one whose probe has not come back for PROBE_FRESH fails.
`synced` is set when every listened session's bell is confirmed on the node that owns it;
the resync callback runs once that holds again after anything may have been missed (a
connection lost, a session that moved to another node): readers then fill the hole from
the streams.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection, Coroutine
from typing import Any, NamedTuple, Protocol

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.crc import key_slot
from redis.exceptions import AskError, ClusterDownError, RedisError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

#: Errors that mean "Redis cannot be reached now" (OSError covers the builtin
#: ConnectionError and TimeoutError, and so asyncio's timeouts).
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)

#: Answers that mean "the cluster cannot serve this now" (a failover, a slot being
#: moved, a node that is down): nothing was run, retry later. AskError covers MOVED.
TOPOLOGY_ERRORS = (AskError, ClusterDownError, TryAgainError)

BACKOFF_MIN = 0.1
BACKOFF_MAX = 2.0
PING_TIMEOUT = 1.0
PROBE_INTERVAL = 1.0
#: A feed whose probe has not come back for this long counts as dead.
PROBE_FRESH = 5.0

#: (host, port) of a Redis node, as the server or the cluster announces it.
Address = tuple[str, int]


def describe(exc: BaseException) -> str:
    """Type and message: redis-py's repr of its errors leaves out the message."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def node_name(address: Address) -> str:
    return f"{address[0]}:{address[1]}"


class SlotMoved(RedisConnectionError):
    """The probe's channel no longer lives on the link's node: reconnect with another."""


class Layout(Protocol):
    """Which nodes the feed holds a connection to, and which one owns a channel."""

    @property
    def nodes(self) -> frozenset[Address]: ...

    def owner(self, channel: bytes) -> Address | None:
        """The node that owns `channel` (None: no node serves it now)."""
        ...


class Kinds(NamedTuple):
    """What Redis calls, on a topology's pub/sub, a message, a confirmed subscription and
    an ended one."""

    message: str
    subscribe: str
    unsubscribe: str


class Topology(abc.ABC):
    """Where the bells live: the feed's strategy (see the module docstring)."""

    #: The command that rings a bell (the write scripts and the probes use it).
    publish_command: str
    kinds: Kinds
    #: How often the layout is read again when nothing said it changed (None: never).
    interval: float | None

    @abc.abstractmethod
    async def read(self) -> Layout:
        """The layout now (raises when it cannot be read)."""

    @abc.abstractmethod
    def pubsub(self, node: Address) -> PubSub:
        """A fresh pub/sub connection to `node`."""

    @abc.abstractmethod
    async def subscribe(self, pubsub: PubSub, channel: bytes) -> None: ...

    @abc.abstractmethod
    async def unsubscribe(self, pubsub: PubSub, channel: bytes) -> None: ...

    @abc.abstractmethod
    async def publish(self, node: Address, channel: bytes, data: bytes) -> None:
        """Publish on `node` (the probes)."""

    @abc.abstractmethod
    def probe_channel(self, node: Address, layout: Layout) -> bytes:
        """A channel of this instance that `node` owns in `layout` (its probes go there)."""

    async def forget(self, layout: Layout) -> None:
        """Close the connections of nodes that `layout` no longer has."""
        return None

    async def close(self) -> None:
        """Release every connection."""
        return None


class SingleNode(Topology):
    """One Redis server: one pub/sub connection owns every bell."""

    publish_command = "PUBLISH"
    kinds = Kinds("message", "subscribe", "unsubscribe")
    interval = None

    def __init__(
        self, address: Address, *, feed_client: aioredis.Redis, command_client: aioredis.Redis,
        probe: bytes,
    ) -> None:
        self.layout = OneNode(address)
        #: The pub/sub connection's own client (owned here), and the command client the
        #: probes are published through (owned by the log).
        self.feed_client = feed_client
        self.command_client = command_client
        self.probe = probe

    async def read(self) -> Layout:
        return self.layout

    def pubsub(self, node: Address) -> PubSub:
        return self.feed_client.pubsub()

    async def subscribe(self, pubsub: PubSub, channel: bytes) -> None:
        await pubsub.subscribe(channel)

    async def unsubscribe(self, pubsub: PubSub, channel: bytes) -> None:
        await pubsub.unsubscribe(channel)

    async def publish(self, node: Address, channel: bytes, data: bytes) -> None:
        await self.command_client.publish(channel, data)

    def probe_channel(self, node: Address, layout: Layout) -> bytes:
        return self.probe

    async def close(self) -> None:
        await self.feed_client.aclose()


class OneNode:
    """The layout of one server: it owns everything."""

    def __init__(self, address: Address) -> None:
        self.address = address
        self.nodes = frozenset({address})

    def owner(self, channel: bytes) -> Address | None:
        return self.address


async def until_one_fails(work: dict[str, Coroutine[Any, Any, None]]) -> None:
    """Run a link's tasks (named by the keys) until one of them ends; the others are
    cancelled and what ended it is raised (a link's tasks never end on their own)."""
    tasks = [asyncio.create_task(coro, name=name) for name, coro in work.items()]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        task.result()  # raises what ended it
    raise RedisConnectionError("the pub/sub feed stopped")


class LinkState:
    """What a link knows about its current pub/sub connection."""

    def __init__(self) -> None:
        #: Set when the probe channel subscription is confirmed.
        self.connected = asyncio.Event()
        #: Set by listen/unlisten (and slot map changes) to wake the subscription manager.
        self.wake = asyncio.Event()
        self.probe_seen = asyncio.Event()
        self.probe_seen_at = float("-inf")
        self.probe_pending_since: float | None = None
        self.subscribed: set[str] = set()
        self.confirmed: set[str] = set()

    def probe_came_back(self) -> None:
        self.probe_seen_at = asyncio.get_running_loop().time()
        self.probe_pending_since = None
        self.probe_seen.set()

    def down(self) -> None:
        self.connected.clear()
        self.subscribed.clear()
        self.confirmed.clear()
        self.probe_pending_since = None


class Feed:
    """The live feed over a topology: one `Link` per node of its layout."""

    def __init__(
        self,
        topology: Topology,
        *,
        wanted: Callable[[], Collection[str]],
        bell: Callable[[str], bytes],
        session_of_bell: Callable[[bytes], str],
        deliver: Callable[[bytes, bytes], None],
        resync: Callable[[], None],
    ) -> None:
        self.topology = topology
        self.wanted = wanted
        self.bell = bell
        self.session_of_bell = session_of_bell
        self.deliver = deliver
        self.resync = resync
        self._layout: Layout | None = None
        self.links: dict[Address, Link] = {}
        self._refresh = asyncio.Event()
        self._progress = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        #: Set when every listened session's bell is confirmed on the node that owns it.
        self.synced = asyncio.Event()
        #: Something may have been missed since the last resync.
        self.resync_due = False

    # -- lifetime -----------------------------------------------------------

    async def start(self) -> None:
        """Read the layout, connect to every node and wait (a while) for them."""
        await self._apply(await self.topology.read())
        self._task = asyncio.create_task(self._supervise(), name="hub-redis-feed")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PROBE_FRESH
        while not self.all_connected():
            self._progress.clear()
            try:
                async with asyncio.timeout(max(0.0, deadline - loop.time())):
                    await self._progress.wait()
            except TimeoutError:
                log.warning("redis feed not connected to every node yet; it keeps trying")
                return

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        links, self.links = list(self.links.values()), {}
        for link in links:
            await link.stop()
        await self.topology.close()

    @property
    def layout(self) -> Layout:
        """Where the bells live, as last read (the feed has links only once it is read)."""
        if self._layout is None:
            raise RuntimeError("the feed is not started")
        return self._layout

    def all_connected(self) -> bool:
        for address in self.layout.nodes:
            link = self.links.get(address)
            if link is None or not link.state.connected.is_set():
                return False
        return True

    # -- what RedisLog asks -------------------------------------------------

    def wanted_changed(self) -> None:
        """A session was listened to or left: subscriptions change on its node."""
        self.synced.clear()
        for link in self.links.values():
            link.state.wake.set()

    async def alive(self) -> bool:
        """True when every node's connection delivered a probe recently, or does now."""
        task = self._task
        if task is None or task.done() or not self.all_connected():
            return False
        now = asyncio.get_running_loop().time()
        stale = [link for link in self.links.values()
                 if now - link.state.probe_seen_at >= PROBE_FRESH]
        results = await asyncio.gather(*(link.probe_now() for link in stale))
        return all(results)

    # -- what the links tell ------------------------------------------------

    def link_connected(self) -> None:
        self._progress.set()
        self.check_synced()

    def link_down(self) -> None:
        """A node's connection was lost: what it carried must be read back, and the
        node may have failed over (read the layout again)."""
        self.missed()

    def missed(self) -> None:
        """Batches may have been missed (a lost connection, a bell that moved): resync
        once in sync again, and read the layout again."""
        self.resync_due = True
        self.synced.clear()
        self._refresh.set()

    def check_synced(self) -> None:
        """Mark the feed in sync when every listened session is confirmed on its node;
        then resync if something may have been missed."""
        layout = self.layout
        for session in self.wanted():
            owner = layout.owner(self.bell(session))
            link = self.links.get(owner) if owner is not None else None
            if link is None or not link.state.connected.is_set():
                return
            if session not in link.state.confirmed:
                return
        self.synced.set()
        if self.resync_due:
            self.resync_due = False
            try:
                self.resync()
            except Exception:
                log.exception("resync hook %r failed", self.resync)

    # -- following the layout -----------------------------------------------

    async def _supervise(self) -> None:
        while True:
            self._refresh.clear()
            wait = self.topology.interval
            try:
                await self._apply(await self.topology.read())
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("redis feed: cannot read where the bells live: %s", describe(exc))
                wait = BACKOFF_MAX
            await asyncio.sleep(BACKOFF_MIN)  # several reasons at once make one read
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._refresh.wait()

    async def _apply(self, new: Layout) -> None:
        """Make the links follow a layout: one per node, sessions where they live."""
        old = self._layout
        if new == old:
            # Sessions Redis dropped may be back where they were (a slot that moved away
            # and back between two reads): try them again; MOVED says if not.
            for link in self.links.values():
                if link.moved_away:
                    link.moved_away.clear()
                    link.state.wake.set()
            return
        self._layout = new
        if old is not None:
            # A session whose bell moved may have lost batches in between.
            bells = [self.bell(session) for session in self.wanted()]
            if any(old.owner(bell) != new.owner(bell) for bell in bells):
                self.resync_due = True
                self.synced.clear()
        gone = [self.links.pop(address) for address in list(self.links)
                if address not in new.nodes]
        for link in gone:
            link.stopping = True
        for address in new.nodes - self.links.keys():
            link = Link(self, address)
            self.links[address] = link
            link.start()
        for link in self.links.values():
            link.moved_away.clear()
            link.state.wake.set()
        self.check_synced()
        # Then what the layout no longer has (awaited: the state above is consistent).
        for link in gone:
            await link.stop()
        await self.topology.forget(new)


async def keep_subscribed(wake: asyncio.Event, reconcile: Callable[[], Awaitable[None]],
                          probe: Callable[[], Awaitable[None]]) -> None:
    """A link's manager: bring its subscriptions in line with what is listened to
    whenever `wake` is set, and probe the link every PROBE_INTERVAL."""
    loop = asyncio.get_running_loop()
    next_probe = loop.time()
    while True:
        wake.clear()
        await reconcile()
        if loop.time() >= next_probe:
            await probe()
            next_probe = loop.time() + PROBE_INTERVAL
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, next_probe - loop.time())):
                await wake.wait()


class Link:
    """The pub/sub connection to one node, for the sessions whose bell that node owns."""

    def __init__(self, feed: Feed, address: Address) -> None:
        self.feed = feed
        self.topology = feed.topology
        self.address = address
        self.name = node_name(address)
        self.state = LinkState()
        self.probe = b""
        #: Sessions Redis unsubscribed since the layout was last read (their slot moved):
        #: not subscribed here again until the new layout says where they live.
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
        """Keep this node's pub/sub connection up, with back-off."""
        state = self.state
        delay = BACKOFF_MIN
        while True:
            pubsub = self.topology.pubsub(self.address)
            try:
                await self._once(pubsub)
            except (*TOPOLOGY_ERRORS, SlotMoved) as exc:
                log.info("redis feed at %s: slots moved (%s); reading the slot map again",
                         self.name, describe(exc))
            except UNAVAILABLE as exc:
                log.warning("redis feed at %s lost: %s; reconnecting in %.1f s",
                            self.name, describe(exc), delay)
            except Exception:
                log.exception("redis feed at %s failed; reconnecting in %.1f s", self.name, delay)
            finally:
                if state.connected.is_set():
                    delay = BACKOFF_MIN
                state.down()
                if not self.stopping:
                    self.feed.link_down()
                await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)

    async def _once(self, pubsub: PubSub) -> None:
        """Subscribe the probe, then read and manage subscriptions until the connection fails."""
        self.probe = self.topology.probe_channel(self.address, self.feed.layout)
        await self.topology.subscribe(pubsub, self.probe)
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
        """Redis says `slot` is not served here: its sessions wait for the next layout."""
        if key_slot(self.probe) == slot:
            raise SlotMoved(f"the probe's slot left {self.name}")
        log.info("redis feed at %s: slot %d moved away; reading the slot map again",
                 self.name, slot)
        state = self.state
        for session in [s for s in state.subscribed if key_slot(self.feed.bell(s)) == slot]:
            state.subscribed.discard(session)
            state.confirmed.discard(session)
            self.moved_away.add(session)
        self.feed.missed()
        self.feed.check_synced()

    async def _manage(self, pubsub: PubSub) -> None:
        """Subscribe the bells of the listened sessions this node owns; probe each second."""
        await keep_subscribed(self.state.wake, lambda: self._reconcile(pubsub), self._probe_tick)

    async def _reconcile(self, pubsub: PubSub) -> None:
        feed, state = self.feed, self.state
        layout = feed.layout
        if layout.owner(self.probe) != self.address:
            raise SlotMoved(f"the probe's slot left {self.name}")
        listened = set(feed.wanted())
        here = {s for s in listened - self.moved_away
                if layout.owner(feed.bell(s)) == self.address}
        for session in here - state.subscribed:
            # One command per session: SSUBSCRIBE takes only channels of one slot.
            await self.topology.subscribe(pubsub, feed.bell(session))
            state.subscribed.add(session)
        for session in state.subscribed - here:
            state.subscribed.discard(session)
            if session in listened:
                # It lives on another node now, which answers SUNSUBSCRIBE here with
                # MOVED; Redis drops the subscription itself when a slot leaves a node.
                state.confirmed.discard(session)
            else:
                await self.topology.unsubscribe(pubsub, feed.bell(session))
        feed.check_synced()

    async def _probe_tick(self) -> None:
        state = self.state
        now = asyncio.get_running_loop().time()
        if state.probe_pending_since is not None and now - state.probe_pending_since > PROBE_FRESH:
            # A connection can stay open and deliver nothing (centrifugo #1189).
            raise RedisConnectionError(f"no pub/sub probe came back for {PROBE_FRESH:.0f} s")
        try:
            await self.topology.publish(self.address, self.probe, b"probe")
        except UNAVAILABLE as exc:
            # The command path has its own errors.
            log.debug("probe publish to %s failed: %s", self.name, describe(exc))
            return
        if state.probe_pending_since is None:
            state.probe_pending_since = now

    async def probe_now(self) -> bool:
        """Send a probe and wait (a second at most) for it to come back."""
        state = self.state
        state.probe_seen.clear()
        try:
            async with asyncio.timeout(PING_TIMEOUT):
                await self.topology.publish(self.address, self.probe, b"probe")
                await state.probe_seen.wait()
        except (RedisError, OSError):
            return False
        return True

    def _on_message(self, message: dict[str, Any]) -> None:
        feed, state, kinds = self.feed, self.state, self.topology.kinds
        kind = message["type"]
        channel = bytes(message["channel"] or b"")
        if kind == kinds.message:
            if channel == self.probe:
                state.probe_came_back()
            else:
                feed.deliver(channel, message["data"])
        elif kind == kinds.subscribe:
            if channel == self.probe:
                state.connected.set()
                feed.link_connected()
            else:
                state.confirmed.add(feed.session_of_bell(channel))
                feed.check_synced()
        elif kind == kinds.unsubscribe:
            if channel == self.probe:
                raise SlotMoved(f"{self.name} dropped the probe's subscription")
            session = feed.session_of_bell(channel)
            state.confirmed.discard(session)
            if session in state.subscribed:
                # Not asked for: its slot left this node (failover, resharding).
                self._slot_left(key_slot(channel))
            else:
                feed.check_synced()
