"""The Redis backend: streams for history, pub/sub as a doorbell, for many instances.

Every key of a session carries the hash tag `{<session id>}`, so that a Redis
Cluster keeps a whole session on one shard and the Lua scripts that touch all
of its keys stay legal:

    <prefix>:{sid}:head          hash: offset, epoch
    <prefix>:{sid}:log           stream of batches, entry id <offset>-0, field b
    <prefix>:{sid}:ch:<channel>  stream per channel, entry id <offset>-0, field f
    <prefix>:{sid}:bell          pub/sub channel carrying each encoded batch
    <prefix>:sessions            set of session ids
    <prefix>:meta                hash of set-once settings
    <prefix>:probe:<instance>    pub/sub channel an instance sends itself probes on

`create` and `append` are one Lua script each (hub/log/lua/, loaded at start):
check the head, store the batch and its frames, move the head and publish,
atomically. Pub/sub loses messages (on a dropped connection, a restart), so it
is only a doorbell (hub/log/feed.py): listeners see the batch offset and fill
holes from `batches` (design.md, "Pitfalls").

On a Redis Cluster (the URL's node says `cluster_enabled:1`, or the URL scheme is
`redis+cluster://` / `rediss+cluster://`) commands go through redis-py's cluster
client and the bell by SPUBLISH/SSUBSCRIBE, one pub/sub connection per primary:
see hub/log/cluster.py and hub/log/feed.py. The keys that are not a session's
(`sessions`, `meta`) are each used alone, so they live on one slot each; nothing
else changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
import redis.asyncio as aioredis
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from . import scripts
from .archive import Archive
from .base import (
    Batch,
    EventLog,
    Head,
    Listener,
    LogConflict,
    LogUnavailable,
    check_rewrite,
    new_epoch_id,
)
from .feed import PING_TIMEOUT, UNAVAILABLE, Address, Feed, SingleNode, Topology, describe

if TYPE_CHECKING:
    from redis.asyncio.cluster import RedisCluster

log = logging.getLogger(__name__)

COMMAND_POOL_SIZE = 50
#: How long a deleted session's tombstone is kept (instances holding it learn in seconds).
TOMBSTONE_SECONDS = 86_400
#: Presence counts an instance has not refreshed for this long no longer count.
PRESENCE_STALE = 10.0
#: Entries per staging call of a rewrite, and how long staged keys live if the swap
#: never comes.
STAGE_CHUNK = 500
STAGE_SECONDS = 600


def connection_options() -> dict[str, Any]:
    """Every client's: no retries inside redis-py (a retried append whose reply was lost
    would come back as a false LogConflict; callers retry with their idempotency key)."""
    return {
        "decode_responses": False,
        "retry": Retry(NoBackoff(), 0),
        "socket_connect_timeout": 2.0,
        "socket_keepalive": True,
        "socket_timeout": 5.0,
    }


#: URL schemes that say "this is a cluster" (plain `redis://` is asked: INFO cluster).
CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def _raw(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _where(url: str) -> str:
    """The server part of a Redis URL, without credentials, for messages."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"


def _address(url: str) -> Address:
    """(host, port) of the node a Redis URL names."""
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 6379


class RedisLog(EventLog):
    """Session histories in Redis streams, fanned out to every instance by pub/sub."""

    kind = "redis"

    def __init__(
        self, url: str, *, data_dir: str, prefix: str = "hub", history: int = 10_000
    ) -> None:
        self.url = url
        scheme, sep, rest = url.partition("://")
        #: The URL scheme insists on a cluster (`redis+cluster://`, `rediss+cluster://`).
        self.cluster_required = scheme.lower() in CLUSTER_SCHEMES
        self._plain_url = (
            f"{CLUSTER_SCHEMES[scheme.lower()]}{sep}{rest}" if self.cluster_required else url
        )
        self.data_dir = data_dir
        self.archive_files = Archive(data_dir)
        self.prefix = prefix
        #: Events kept per channel stream (about: Redis trims whole stream nodes).
        self.history = history
        #: Names this instance's connections (CLIENT LIST) and its probe channel.
        self.instance_id = secrets.token_hex(6)
        self._where = _where(url)
        #: The command client of one server, or on a Redis Cluster the cluster client
        #: (one of the two is set once started).
        self._client: aioredis.Redis | None = None
        self._cluster: RedisCluster | None = None
        self._scripts: dict[str, Any] = {}
        self._listeners: dict[str, list[Listener]] = {}
        self._feed: Feed | None = None
        #: PUBLISH on one server, SPUBLISH on a cluster (the feed's topology says).
        self._publish = "PUBLISH"

    @property
    def shared(self) -> bool:
        """True: every instance on the same Redis (and prefix) appends to the same logs."""
        return True

    # -- keys ---------------------------------------------------------------

    def _key(self, session: str, suffix: str) -> str:
        return f"{self.prefix}:{{{session}}}:{suffix}"

    def _bell(self, session: str) -> bytes:
        return self._key(session, "bell").encode()

    def _session_of_bell(self, channel: bytes) -> str:
        start = len(self.prefix) + 2  # "<prefix>:{"
        return channel[start : -len(b"}:bell")].decode()

    # -- lifetime -----------------------------------------------------------

    async def start(self) -> None:
        """Connect, detect a Redis Cluster, load the scripts and start the pub/sub feed."""
        if self._client is not None or self._cluster is not None:
            raise RuntimeError("RedisLog.start() called twice; call it once, then close()")
        texts = scripts.load()
        self._client = self._node_client(COMMAND_POOL_SIZE, f"hub-cmd-{self.instance_id}")
        self._scripts = {name: self._client.register_script(text) for name, text in texts.items()}
        info = await self._info_or_close("cluster")
        if info.get("cluster_enabled"):
            await self._start_cluster(texts)
            return
        if self.cluster_required:
            await self.close()
            raise LogUnavailable(
                f"redis at {self._where} is not a cluster (cluster_enabled:0); use a "
                "redis:// URL for a single server"
            )
        # The feed has its own pool, so that redis-py's retries never reconnect it behind
        # our back (we must know, to resync), and a command burst cannot starve it.
        await self._start_feed(SingleNode(
            _address(self._plain_url),
            feed_client=self._node_client(2, f"hub-feed-{self.instance_id}"),
            command_client=self._client,
            probe=f"{self.prefix}:probe:{self.instance_id}".encode(),
        ))

    async def _start_feed(self, topology: Topology) -> Feed:
        self._publish = topology.publish_command
        feed = self._feed = Feed(
            topology,
            wanted=self._listeners.keys,
            bell=self._bell,
            session_of_bell=self._session_of_bell,
            deliver=self._deliver,
            resync=self._call_resync_hook,
        )
        await feed.start()
        return feed

    async def _info_or_close(self, section: str) -> dict[str, Any]:
        """`INFO section` at start; a Redis that does not answer closes what was opened."""
        assert self._client is not None
        try:
            with self._reaching("start"):
                return dict(await self._client.info(section))
        except LogUnavailable:
            await self.close()
            raise

    def _node_client(self, size: int, name: str) -> aioredis.Redis:
        """A client of the URL's server owning a blocking pool of `size` connections."""
        # A plain pool raised "Too many connections" under bursts; a blocking one waits.
        return aioredis.Redis.from_pool(
            aioredis.BlockingConnectionPool.from_url(
                self._plain_url,
                max_connections=size,
                client_name=name,
                timeout=5.0,  # waiting for a free connection of the blocking pool
                **connection_options(),
            )
        )

    async def _start_cluster(self, texts: dict[str, str]) -> None:
        """The URL's node is part of a Redis Cluster: use the cluster client and feed."""
        from .cluster import ClusterScript, GatedCluster, ShardedCluster

        server = await self._info_or_close("server")
        version = str(server.get("redis_version", "0"))
        if tuple(int(part) for part in version.split(".")[:2] if part.isdigit()) < (7, 0):
            await self.close()
            raise LogUnavailable(
                f"redis at {self._where} is a cluster of Redis {version}: the hub needs "
                "Redis 7.0 or later on a cluster (sharded pub/sub)"
            )
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
        try:
            with self._reaching("start"):
                # As on one server: no retries inside redis-py (MOVED and ASK are still
                # followed: a redirected command did not run), bounded in-flight commands.
                self._cluster = GatedCluster.from_url(
                    self._plain_url,
                    gate=COMMAND_POOL_SIZE,
                    gate_timeout=5.0,
                    max_connections=COMMAND_POOL_SIZE,
                    client_name=f"hub-cmd-{self.instance_id}",
                    **connection_options(),
                )
                await self._cluster.initialize()
                node_options = {
                    key: value for key, value in parse_url(self._plain_url).items()
                    if key not in ("host", "port", "db", "path")
                }
                node_options.update(connection_options(), timeout=5.0,
                                    client_name=f"hub-feed-{self.instance_id}")
                feed = await self._start_feed(ShardedCluster(
                    seed=_address(self._plain_url),
                    node_options=node_options,
                    probe_prefix=f"{self.prefix}:probe:{self.instance_id}",
                ))
        except LogUnavailable:
            await self.close()
            raise
        except Exception as exc:  # a URL the cluster client refuses (a db other than 0)
            await self.close()
            raise LogUnavailable(
                f"redis at {self._where} is a cluster but cannot be used: {describe(exc)}"
            ) from exc
        self._scripts = {name: ClusterScript(self._cluster, text) for name, text in texts.items()}
        log.info(
            "redis at %s is a cluster of %d primaries: sharded pub/sub, one connection each",
            self._where,
            len(feed.layout.nodes),
        )

    async def close(self) -> None:
        """Stop the feed and close the connection pools."""
        feed, self._feed = self._feed, None
        if feed is not None:
            await feed.close()
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
        cluster, self._cluster = self._cluster, None
        if cluster is not None:
            await cluster.aclose()

    def _conn(self) -> aioredis.Redis | RedisCluster:
        if self._cluster is not None:
            return self._cluster
        if self._client is None:
            raise RuntimeError("RedisLog used before start(); call `await log.start()` first")
        return self._client

    @contextlib.contextmanager
    def _reaching(self, what: str) -> Iterator[None]:
        """Turn "Redis cannot be reached" into LogUnavailable, saying where and what."""
        try:
            yield
        except UNAVAILABLE as exc:
            raise LogUnavailable(
                f"redis at {self._where} did not answer ({what}): {describe(exc)}"
            ) from exc
        except Exception as exc:
            from .cluster import cluster_unavailable

            if self._cluster is None or not cluster_unavailable(exc):
                raise
            raise LogUnavailable(
                f"redis cluster at {self._where} could not serve ({what}): {describe(exc)}"
            ) from exc

    async def ping(self) -> bool:
        """True when a PING answers within a second and the pub/sub feed delivers probes."""
        client = self._cluster if self._cluster is not None else self._client
        if client is None:
            return False
        try:
            async with asyncio.timeout(PING_TIMEOUT):
                await client.ping()
        except (RedisError, OSError) as exc:
            log.info("redis at %s failed the readiness ping: %s", self._where, describe(exc))
            return False
        return self._feed is not None and await self._feed.alive()

    # -- writes -------------------------------------------------------------

    def _write_call(self, batch: Batch, *, index: bool) -> tuple[list[str], list[Any]]:
        sid = batch.session
        keys = [self._key(sid, "head"), self._key(sid, "log")]
        keys += [self._key(sid, f"ch:{ev.channel}") for ev in batch.events]
        # The index set is not in the session's slot: a cluster gets it after the script.
        if index and self._cluster is None:
            keys.append(f"{self.prefix}:sessions")
        body = batch.encode()
        args: list[Any] = [batch.offset, batch.epoch, body, self._publish, self._bell(sid), sid]
        args.append(len(batch.events))
        for ev in batch.events:
            args += [ev.offset, ev.frame]
        args.append(self.history)
        return keys, args

    async def create(self, batch: Batch) -> bool:
        """Start a new session's log with `batch` (offset 1); False when the id is taken."""
        keys, args = self._write_call(batch, index=True)
        with self._reaching(f"create {batch.session}"):
            await self._conn().delete(self._key(batch.session, "deleted"))
            result = await self._scripts["create"](keys=keys, args=args)
            if self._cluster is not None and result[0] == b"ok":
                await self._conn().sadd(f"{self.prefix}:sessions", batch.session)
        return bool(result[0] == b"ok")

    async def append(self, batch: Batch) -> None:
        """Store `batch` as the session's next entry and publish it (one Lua script)."""
        keys, args = self._write_call(batch, index=False)
        with self._reaching(f"append {batch.session}#{batch.offset}"):
            result = await self._scripts["append"](keys=keys, args=args)
            if result[0] == b"missing" and self.archive_files.exists(batch.session):
                await self._restore(batch.session)  # a closed session that goes on
                result = await self._scripts["append"](keys=keys, args=args)
        if result[0] == b"ok":
            return
        if result[0] == b"conflict":
            raise LogConflict(Head(int(result[1]), _text(result[2])))
        raise LogConflict(None)

    async def new_epoch(self, session: str, old: str) -> str:
        """Replace epoch `old` by a fresh one (history went backwards); returns the one in force."""
        with self._reaching(f"new_epoch {session}"):
            epoch = await self._scripts["new_epoch"](
                keys=[self._key(session, "head")], args=[old, new_epoch_id()]
            )
        return _text(epoch)

    async def meta(self, key: str, default: str) -> str:
        """The stored value of `key`, storing `default` first when there is none."""
        name = f"{self.prefix}:meta"
        if self._cluster is not None:
            with self._reaching(f"meta {key}"):
                return _text(await self._scripts["meta"](keys=[name], args=[key, default]))
        with self._reaching(f"meta {key}"):
            async with self._conn().pipeline(transaction=True) as pipe:
                pipe.hsetnx(name, key, default)
                pipe.hget(name, key)
                _, value = await pipe.execute()
        return _text(value)

    # -- reads --------------------------------------------------------------

    async def head(self, session: str) -> Head | None:
        """The session's head, or None when there is no such session."""
        head = await self._redis_head(session)
        if head is None:
            archived = self.archive_files.read(session)
            if archived:
                return Head(archived[-1].offset, archived[-1].epoch)
        return head

    async def _redis_head(self, session: str) -> Head | None:
        with self._reaching(f"head {session}"):
            offset, epoch = await self._conn().hmget(
                self._key(session, "head"), ["offset", "epoch"]
            )
        if offset is None or epoch is None:
            return None
        return Head(int(offset), _text(epoch))

    async def _from_archive(self, session: str) -> list[Batch] | None:
        """The archived log when the session lives only in its archive now."""
        if not self.archive_files.exists(session):
            return None
        if await self._redis_head(session) is not None:
            return None
        return self.archive_files.read(session)

    async def archive(self, session: str) -> bool:
        """Write the whole log to the archive, then drop the session's keys from Redis."""
        batches: list[Batch] = []
        while True:
            page = await self.batches(session, batches[-1].offset if batches else 0, 1000)
            batches.extend(page)
            if len(page) < 1000:
                break
        if not batches:
            return False
        self.archive_files.write(session, batches)
        channels = sorted({ev.channel for batch in batches for ev in batch.events})
        keys = [self._key(session, "head"), self._key(session, "log")]
        keys += [self._key(session, f"ch:{channel}") for channel in channels]
        with self._reaching(f"archive {session}"):
            dropped = await self._scripts["drop"](keys=keys, args=[batches[-1].offset])
        return bool(dropped)

    async def presence(self, session: str, local: dict[str, int]) -> dict[str, int]:
        """Each instance keeps its counts in one hash field; fresh fields are summed."""
        key = self._key(session, "presence")
        now = time.time()
        entry = orjson.dumps({"t": now, "c": local})
        with self._reaching(f"presence {session}"):
            if self._cluster is not None:
                flat = await self._scripts["presence"](
                    keys=[key], args=[self.instance_id, entry, int(PRESENCE_STALE * 4)]
                )
                fields = dict(zip(flat[::2], flat[1::2], strict=True))
            else:
                async with self._conn().pipeline(transaction=True) as pipe:
                    pipe.hset(key, self.instance_id, entry)
                    pipe.expire(key, int(PRESENCE_STALE * 4))
                    pipe.hgetall(key)
                    _, _, fields = await pipe.execute()
        total: dict[str, int] = {}
        stale = []
        for field, raw in fields.items():
            value = orjson.loads(raw)
            if value["t"] < now - PRESENCE_STALE:
                stale.append(field)  # an instance that stopped (killed): its counts expire
                continue
            for name, count in value["c"].items():
                total[name] = total.get(name, 0) + int(count)
        if stale:
            with self._reaching(f"presence {session}"):
                await self._conn().hdel(key, *stale)
        return total

    async def _restore(self, session: str) -> None:
        """Put an archived session's log back into Redis, so that it can go on."""
        for batch in self.archive_files.read(session):
            keys, args = self._write_call(batch, index=False)
            script = self._scripts["create" if batch.offset == 1 else "append"]
            await script(keys=keys, args=args)
        log.info("session %s restored from its archive", session)

    async def _range(
        self, key: str, after: int, limit: int, field: bytes
    ) -> list[tuple[int, bytes]]:
        """(offset, value of `field`) of the stream entries with offset > `after`, in order."""
        if limit <= 0:
            return []
        with self._reaching(f"read {key}"):
            entries = await self._conn().xrange(key, f"{max(after + 1, 0)}-0", "+", count=limit)
        return [
            (int(_raw(entry_id).split(b"-", 1)[0]), _raw(fields[field]))
            for entry_id, fields in entries or ()
            if entry_id is not None and fields is not None
        ]

    async def batches(self, session: str, after: int, limit: int = 1000) -> list[Batch]:
        """Up to `limit` batches with offset > `after`, in order."""
        entries = await self._range(self._key(session, "log"), after, limit, b"b")
        if not entries:
            archived = await self._from_archive(session)
            if archived is not None:
                return [b for b in archived if b.offset > after][:limit]
        return [Batch.decode(body) for _, body in entries]

    async def frames(
        self, session: str, channel: str, after: int, limit: int = 1000
    ) -> list[tuple[int, bytes]]:
        """Up to `limit` (offset, frame) of `channel` with offset > `after`, in order."""
        entries = await self._range(self._key(session, f"ch:{channel}"), after, limit, b"f")
        if not entries:
            archived = await self._from_archive(session)
            if archived is not None:
                found = [(ev.offset, ev.frame) for batch in archived for ev in batch.events
                         if ev.channel == channel and ev.offset > after]
                return found[:limit]
        return entries

    async def delete(self, session: str) -> bool:
        """Remove the session's keys (all share its hash tag), its index entry and archive."""
        with self._reaching(f"delete {session}"):
            client = self._conn()
            tombstone = self._key(session, "deleted").encode()
            keys = self._session_keys(session, "*")
            found = [key async for key in keys if key != tombstone]
            if found:
                await client.delete(*found)
            removed = await client.srem(f"{self.prefix}:sessions", session)
            # A tombstone tells other instances it was deleted, not lost with Redis's data.
            await client.set(self._key(session, "deleted"), b"1", ex=TOMBSTONE_SECONDS)
        archived = self.archive_files.path(session)
        had_archive = archived.exists()
        archived.unlink(missing_ok=True)
        return bool(found or removed or had_archive)

    def _session_keys(self, session: str, pattern: str) -> AsyncIterator[bytes]:
        """The session's keys matching `pattern` (after its prefix), scanned where they live."""
        match = f"{self.prefix}:{{{session}}}:{pattern}"  # session ids hold no glob characters
        if self._cluster is not None:
            # All of a session's keys share its slot: scan only the node that owns it.
            node = self._cluster.get_node_from_key(self._key(session, "head"))
            return self._cluster.scan_iter(match=match, count=500, target_nodes=node)
        return self._conn().scan_iter(match=match, count=500)

    async def rewrite(self, session: str, expect: Head, batches: list[Batch]) -> None:
        """Stage the new history next to the old one, swap it in with one script (head
        checked there), and rewrite the archive file when there is one."""
        check_rewrite(session, expect, batches)
        if await self._redis_head(session) is None:
            await self._rewrite_archive(session, expect, batches)
            return
        token = secrets.token_hex(4)
        staged_log = self._key(session, f"rw:{token}:log")
        streams: dict[str, list[tuple[int, bytes]]] = {}
        for batch in batches:
            for ev in batch.events:
                streams.setdefault(ev.channel, []).append((ev.offset, ev.frame))
        with self._reaching(f"rewrite {session}"):
            await self._stage(staged_log, b"b", 0, [(b.offset, b.encode()) for b in batches])
            for channel, entries in streams.items():
                await self._stage(self._key(session, f"rw:{token}:ch:{channel}"), b"f",
                                  self.history, entries)
            old = [key async for key in self._session_keys(session, "ch:*")]
            channels = sorted(streams)
            keys = [self._key(session, "head"), self._key(session, "log"), staged_log]
            keys += [_text(key) for key in old]
            keys += [self._key(session, f"rw:{token}:ch:{channel}") for channel in channels]
            keys += [self._key(session, f"ch:{channel}") for channel in channels]
            last = batches[-1]
            result = await self._scripts["swap"](keys=keys, args=[
                expect.offset, expect.epoch, last.offset, last.epoch, self._publish,
                self._bell(session), last.encode(), len(old), len(channels)])
        if result[0] != b"ok":
            raise LogConflict(Head(int(result[1]), _text(result[2])) if result[1] else None)
        if self.archive_files.exists(session):  # a restored session's old archive
            self.archive_files.write(session, batches)

    async def _stage(self, key: str, field: bytes, maxlen: int,
                     entries: list[tuple[int, bytes]]) -> None:
        for start in range(0, len(entries), STAGE_CHUNK):
            args: list[Any] = [field, maxlen, STAGE_SECONDS]
            for offset, value in entries[start:start + STAGE_CHUNK]:
                args += [offset, value]
            await self._scripts["stage"](keys=[key], args=args)

    async def _rewrite_archive(self, session: str, expect: Head, batches: list[Batch]) -> None:
        """A session that lives only in its archive file: write the file again."""
        archived = self.archive_files.read(session)
        head = Head(archived[-1].offset, archived[-1].epoch) if archived else None
        if head != expect:
            raise LogConflict(head)
        self.archive_files.write(session, batches)
        with self._reaching(f"rewrite {session}"):
            await self._conn().execute_command(
                self._publish, self._bell(session), batches[-1].encode()
            )

    async def was_deleted(self, session: str) -> bool:
        """True when a tombstone says the session was deleted (kept a day)."""
        with self._reaching(f"was_deleted {session}"):
            return bool(await self._conn().exists(self._key(session, "deleted")))

    async def sessions(self) -> list[str]:
        """Every session id the log holds."""
        with self._reaching("sessions"):
            members = await self._conn().smembers(f"{self.prefix}:sessions")
        return sorted(_text(member) for member in members)

    # -- listening ----------------------------------------------------------

    def listen(self, session: str, listener: Listener) -> None:
        """Call `listener` with batches appended to `session` from now on, by any instance."""
        listeners = self._listeners.setdefault(session, [])
        listeners.append(listener)
        if len(listeners) == 1 and self._feed is not None:  # the first local one subscribes
            self._feed.wanted_changed()

    def unlisten(self, session: str, listener: Listener) -> None:
        """Stop calling `listener`; the last one of a session unsubscribes."""
        listeners = self._listeners.get(session)
        if listeners and listener in listeners:
            listeners.remove(listener)
            if not listeners:
                del self._listeners[session]
                if self._feed is not None:
                    self._feed.wanted_changed()

    async def wait_subscribed(self) -> None:
        """Wait until Redis confirmed the subscription of every listened session."""
        if self._feed is None:
            raise RuntimeError("RedisLog used before start(); call `await log.start()` first")
        await self._feed.synced.wait()

    def _deliver(self, channel: bytes, data: bytes) -> None:
        try:
            batch = Batch.decode(data)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring an undecodable message on %r: %r", channel, exc)
            return
        for listener in list(self._listeners.get(batch.session, ())):
            try:
                listener(batch)
            except Exception:
                # One faulty listener must not stop the feed for every session.
                log.exception("listener %r failed on %s#%d", listener, batch.session, batch.offset)

    def _call_resync_hook(self) -> None:
        hook = self.resync_hook
        if hook is not None:
            hook()  # the feed logs what it raises
