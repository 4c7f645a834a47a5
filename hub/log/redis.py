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

`create` and `append` are one Lua script each: check the head, store the batch
and its frames, move the head and publish, atomically. Pub/sub loses messages
(on a dropped connection, a restart), so it is only a doorbell: listeners see
the batch offset and fill holes from `batches` (design.md, "Pitfalls").

On a Redis Cluster (the URL's node says `cluster_enabled:1`, or the URL scheme is
`redis+cluster://` / `rediss+cluster://`) commands go through redis-py's cluster
client and the bell by SPUBLISH/SSUBSCRIBE, one pub/sub connection per primary:
see hub/log/cluster.py. The keys that are not a session's (`sessions`, `meta`) are
each used alone, so they live on one slot each; nothing else changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .archive import Archive
from .base import Batch, EventLog, Head, Listener, LogConflict, LogUnavailable, check_rewrite

if TYPE_CHECKING:
    from redis.asyncio.cluster import RedisCluster

    from .cluster import ClusterFeed

log = logging.getLogger(__name__)

#: Errors that mean "Redis cannot be reached now" (OSError covers the builtin
#: ConnectionError and TimeoutError, and so asyncio's timeouts).
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)

BACKOFF_MIN = 0.1
BACKOFF_MAX = 2.0
PING_TIMEOUT = 1.0
PROBE_INTERVAL = 1.0
#: A feed whose probe has not come back for this long counts as dead.
PROBE_FRESH = 5.0
COMMAND_POOL_SIZE = 50
#: How long a deleted session's tombstone is kept (instances holding it learn in seconds).
TOMBSTONE_SECONDS = 86_400
#: Presence counts an instance has not refreshed for this long no longer count.
PRESENCE_STALE = 10.0

# Shared by both write scripts. KEYS: head, log, one channel stream per event
# (in event order, repeated when a channel has several events), then for
# `create` on a plain server the session index. ARGV: offset, epoch, encoded
# batch, publish command, bell channel, session id, event count n, then n
# pairs (event offset, frame).
_WRITE_LUA = """
local function top_offset(key)
  local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
  if #last == 0 then return 0 end
  return tonumber(string.match(last[1][1], '^(%d+)'))
end

-- Stream entry ids must grow; a script is not rolled back on error, so check
-- every stream before the first write instead of letting an XADD fail midway.
local function check_streams(n)
  local tops = {}
  local function check(key, offset)
    local top = tops[key] or top_offset(key)
    local wanted = tonumber(offset)
    if wanted == nil or wanted <= top then
      return 'stream ' .. key .. ' is at offset ' .. top .. ', cannot add offset ' .. offset
    end
    tops[key] = wanted
    return nil
  end
  local err = check(KEYS[2], ARGV[1])
  for i = 1, n do
    err = err or check(KEYS[2 + i], ARGV[6 + 2 * i])
  end
  return err
end

local function write_batch(n)
  redis.call('XADD', KEYS[2], ARGV[1] .. '-0', 'b', ARGV[3])
  -- Channel history is bounded (the last ARGV, approximately: whole stream nodes);
  -- the state log is kept whole until the session is archived.
  local maxlen = ARGV[#ARGV]
  for i = 1, n do
    redis.call('XADD', KEYS[2 + i], 'MAXLEN', '~', maxlen,
               ARGV[6 + 2 * i] .. '-0', 'f', ARGV[7 + 2 * i])
  end
  redis.call('HSET', KEYS[1], 'offset', ARGV[1], 'epoch', ARGV[2])
  redis.call(ARGV[4], ARGV[5], ARGV[3])
end

local n = tonumber(ARGV[7])
"""

APPEND_LUA = (
    _WRITE_LUA
    + """
local head = redis.call('HMGET', KEYS[1], 'offset', 'epoch')
if not head[1] then return {'missing'} end
if tonumber(head[1]) ~= tonumber(ARGV[1]) - 1 or head[2] ~= ARGV[2] then
  return {'conflict', head[1], head[2]}
end
local err = check_streams(n)
if err then return redis.error_reply(err) end
write_batch(n)
return {'ok'}
"""
)

CREATE_LUA = (
    _WRITE_LUA
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then return {'taken'} end
local err = check_streams(n)
if err then return redis.error_reply(err) end
write_batch(n)
if #KEYS > 2 + n then redis.call('SADD', KEYS[#KEYS], ARGV[6]) end
return {'ok'}
"""
)

# KEYS: head, log, every channel stream. ARGV: the archived head offset. Drops the
# session's keys only when nothing was appended since the archive was read.
DROP_LUA = """
local offset = redis.call('HGET', KEYS[1], 'offset')
if offset ~= ARGV[1] then return 0 end
redis.call('DEL', unpack(KEYS))
return 1
"""

# A rewrite (EventLog.rewrite) stages the new history in keys of the session's slot, then
# swaps them in with one script: readers see the old history or the new one, never a mix.
# KEYS: one staged stream. ARGV: the field name, MAXLEN (0: none), seconds the staged key
# lives (a writer that dies mid-way leaves nothing for long), then pairs (offset, value).
STAGE_LUA = """
local maxlen = tonumber(ARGV[2])
for i = 4, #ARGV, 2 do
  if maxlen > 0 then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, ARGV[i] .. '-0', ARGV[1], ARGV[i + 1])
  else
    redis.call('XADD', KEYS[1], ARGV[i] .. '-0', ARGV[1], ARGV[i + 1])
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""

# KEYS: head, log, staged log, the m channel streams now, the n staged channel streams,
# their n final names. ARGV: expected offset and epoch, new offset and epoch, publish
# command, bell channel, the last batch, m, n. On a moved head, the staged keys go.
SWAP_LUA = """
local m, n = tonumber(ARGV[8]), tonumber(ARGV[9])
local head = redis.call('HMGET', KEYS[1], 'offset', 'epoch')
if head[1] ~= ARGV[1] or head[2] ~= ARGV[2] then
  redis.call('DEL', KEYS[3])
  for i = 1, n do redis.call('DEL', KEYS[3 + m + i]) end
  return {'conflict', head[1], head[2]}
end
redis.call('DEL', KEYS[2])
for i = 1, m do redis.call('DEL', KEYS[3 + i]) end
redis.call('RENAME', KEYS[3], KEYS[2])
redis.call('PERSIST', KEYS[2])
for i = 1, n do
  redis.call('RENAME', KEYS[3 + m + i], KEYS[3 + m + n + i])
  redis.call('PERSIST', KEYS[3 + m + n + i])
end
redis.call('HSET', KEYS[1], 'offset', ARGV[3], 'epoch', ARGV[4])
redis.call(ARGV[5], ARGV[6], ARGV[7])
return {'ok'}
"""
#: Entries per staging call, and how long staged keys live if the swap never comes.
STAGE_CHUNK = 500
STAGE_SECONDS = 600

# KEYS: head. ARGV: the epoch expected, the fresh one.
NEW_EPOCH_LUA = """
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then return ARGV[2] end
if epoch == ARGV[1] then
  redis.call('HSET', KEYS[1], 'epoch', ARGV[2])
  return ARGV[2]
end
return epoch
"""


# On a cluster, `meta` and `presence` are scripts rather than MULTI pipelines: they then
# go through the cluster client's bounded command path like every other command.
# KEYS: the meta hash. ARGV: field, default.
META_LUA = """
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
return redis.call('HGET', KEYS[1], ARGV[1])
"""

# KEYS: the presence hash. ARGV: this instance's field, its entry, the expiry in seconds.
PRESENCE_LUA = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return redis.call('HGETALL', KEYS[1])
"""

#: URL schemes that say "this is a cluster" (plain `redis://` is asked: INFO cluster).
CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


async def until_one_fails(work: dict[str, Coroutine[Any, Any, None]]) -> None:
    """Run a feed connection's tasks (named by the keys) until one of them ends; the others
    are cancelled and what ended it is raised (a feed's tasks never end on their own)."""
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


async def keep_subscribed(wake: asyncio.Event, reconcile: Callable[[], Awaitable[None]],
                          probe: Callable[[], Awaitable[None]]) -> None:
    """A feed connection's manager: bring its subscriptions in line with what is listened
    to whenever `wake` is set, and probe the feed every PROBE_INTERVAL."""
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


def new_epoch_id() -> str:
    return secrets.token_urlsafe(6)


def _raw(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _describe(exc: BaseException) -> str:
    """Type and message: redis-py's repr of its errors leaves out the message."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _where(url: str) -> str:
    """The server part of a Redis URL, without credentials, for messages."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"


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
        self._client: aioredis.Redis | None = None
        self._sub_client: aioredis.Redis | None = None
        #: On a Redis Cluster: the command client and the sharded feed (instead of the two).
        self._cluster: RedisCluster | None = None
        self._cluster_feed: ClusterFeed | None = None
        self._scripts: dict[str, Any] = {}
        self._sharded = False
        self._listeners: dict[str, list[Listener]] = {}
        self._feed_task: asyncio.Task[None] | None = None
        self._feed_state = _FeedState()
        self._probe_channel = f"{prefix}:probe:{self.instance_id}".encode()

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
        """Connect, detect a Redis Cluster and start the pub/sub feed task."""
        if self._client is not None or self._cluster is not None:
            raise RuntimeError("RedisLog.start() called twice; call it once, then close()")
        self._client, self._sub_client = self._make_clients()
        for name, text in (("append", APPEND_LUA), ("create", CREATE_LUA)):
            self._scripts[name] = self._client.register_script(text)
        self._scripts["new_epoch"] = self._client.register_script(NEW_EPOCH_LUA)
        self._scripts["drop"] = self._client.register_script(DROP_LUA)
        self._scripts["stage"] = self._client.register_script(STAGE_LUA)
        self._scripts["swap"] = self._client.register_script(SWAP_LUA)
        info = await self._info_or_close("cluster")
        if info.get("cluster_enabled"):
            await self._start_cluster()
            return
        if self.cluster_required:
            await self.close()
            raise LogUnavailable(
                f"redis at {self._where} is not a cluster (cluster_enabled:0); use a "
                "redis:// URL for a single server"
            )
        self._feed_task = asyncio.create_task(
            self._run_feed(self._sub_client), name="hub-redis-feed"
        )
        try:
            async with asyncio.timeout(PROBE_FRESH):
                await self._feed_state.connected.wait()
        except TimeoutError:
            log.warning("redis feed at %s not connected yet; it keeps trying", self._where)

    async def _info_or_close(self, section: str) -> dict[str, Any]:
        """`INFO section` at start; a Redis that does not answer closes what was opened."""
        assert self._client is not None
        try:
            with self._reaching("start"):
                return dict(await self._client.info(section))
        except LogUnavailable:
            await self.close()
            raise

    def _make_clients(self) -> tuple[aioredis.Redis, aioredis.Redis]:
        """The command client and the pub/sub client, each owning a blocking pool."""
        # A plain pool raised "Too many connections" under bursts; a blocking one waits.
        # No retries inside redis-py: a retried append whose reply was lost would
        # come back as a false LogConflict; callers retry with their idempotency key.
        common: dict[str, Any] = {
            "decode_responses": False,
            "retry": Retry(NoBackoff(), 0),
            "socket_connect_timeout": 2.0,
            "socket_keepalive": True,
            "socket_timeout": 5.0,
            "timeout": 5.0,  # waiting for a free connection of the blocking pool
        }
        commands = aioredis.Redis.from_pool(
            aioredis.BlockingConnectionPool.from_url(
                self._plain_url,
                max_connections=COMMAND_POOL_SIZE,
                client_name=f"hub-cmd-{self.instance_id}",
                **common,
            )
        )
        # Its own pool, so that redis-py's retries never reconnect the feed behind
        # our back (we must know, to resync), and a command burst cannot starve it.
        feed = aioredis.Redis.from_pool(
            aioredis.BlockingConnectionPool.from_url(
                self._plain_url,
                max_connections=2,
                client_name=f"hub-feed-{self.instance_id}",
                **common,
            )
        )
        return commands, feed

    async def _start_cluster(self) -> None:
        """The URL's node is part of a Redis Cluster: use the cluster client and feed."""
        from .cluster import ClusterFeed, ClusterScript, GatedCluster

        if self._client is not None:
            server = await self._info_or_close("server")
            version = str(server.get("redis_version", "0"))
            if tuple(int(part) for part in version.split(".")[:2] if part.isdigit()) < (7, 0):
                await self.close()
                raise LogUnavailable(
                    f"redis at {self._where} is a cluster of Redis {version}: the hub needs "
                    "Redis 7.0 or later on a cluster (sharded pub/sub)"
                )
        for client in (self._client, self._sub_client):
            if client is not None:
                await client.aclose()
        self._client = self._sub_client = None
        self._sharded = True
        # As the single-node clients: no retries inside redis-py (MOVED and ASK are still
        # followed: a redirected command did not run), bounded in-flight commands.
        common: dict[str, Any] = {
            "decode_responses": False,
            "retry": Retry(NoBackoff(), 0),
            "socket_connect_timeout": 2.0,
            "socket_keepalive": True,
            "socket_timeout": 5.0,
        }
        try:
            with self._reaching("start"):
                self._cluster = GatedCluster.from_url(
                    self._plain_url,
                    gate=COMMAND_POOL_SIZE,
                    gate_timeout=5.0,
                    max_connections=COMMAND_POOL_SIZE,
                    client_name=f"hub-cmd-{self.instance_id}",
                    **common,
                )
                await self._cluster.initialize()
                node_options = {
                    key: value for key, value in parse_url(self._plain_url).items()
                    if key not in ("host", "port", "db", "path")
                }
                node_options.update(common, timeout=5.0,
                                    client_name=f"hub-feed-{self.instance_id}")
                parts = urlsplit(self._plain_url)
                self._cluster_feed = ClusterFeed(
                    seed=(parts.hostname or "127.0.0.1", parts.port or 6379),
                    node_options=node_options,
                    probe_prefix=f"{self.prefix}:probe:{self.instance_id}",
                    wanted=self._listeners.keys,
                    bell=self._bell,
                    session_of_bell=self._session_of_bell,
                    deliver=self._deliver,
                    resync=self._call_resync_hook,
                )
                await self._cluster_feed.start()
        except LogUnavailable:
            await self.close()
            raise
        except Exception as exc:  # a URL the cluster client refuses (a db other than 0)
            await self.close()
            raise LogUnavailable(
                f"redis at {self._where} is a cluster but cannot be used: {_describe(exc)}"
            ) from exc
        texts = {"append": APPEND_LUA, "create": CREATE_LUA, "new_epoch": NEW_EPOCH_LUA,
                 "drop": DROP_LUA, "meta": META_LUA, "presence": PRESENCE_LUA,
                 "stage": STAGE_LUA, "swap": SWAP_LUA}
        self._scripts = {name: ClusterScript(self._cluster, text) for name, text in texts.items()}
        log.info(
            "redis at %s is a cluster of %d primaries: sharded pub/sub, one connection each",
            self._where,
            len(self._cluster_feed.shards),
        )

    async def close(self) -> None:
        """Stop the feed task and close both connection pools."""
        task, self._feed_task = self._feed_task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise
        for client in (self._client, self._sub_client):
            if client is not None:
                await client.aclose()
        self._client = self._sub_client = None
        feed, self._cluster_feed = self._cluster_feed, None
        if feed is not None:
            await feed.close()
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
                f"redis at {self._where} did not answer ({what}): {_describe(exc)}"
            ) from exc
        except Exception as exc:
            from .cluster import cluster_unavailable

            if self._cluster is None or not cluster_unavailable(exc):
                raise
            raise LogUnavailable(
                f"redis cluster at {self._where} could not serve ({what}): {_describe(exc)}"
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
            log.info("redis at %s failed the readiness ping: %s", self._where, _describe(exc))
            return False
        return await self._feed_alive()

    # -- writes -------------------------------------------------------------

    def _write_call(self, batch: Batch, *, index: bool) -> tuple[list[str], list[Any]]:
        sid = batch.session
        keys = [self._key(sid, "head"), self._key(sid, "log")]
        keys += [self._key(sid, f"ch:{ev.channel}") for ev in batch.events]
        # The index set is not in the session's slot: a cluster gets it after the script.
        if index and not self._sharded:
            keys.append(f"{self.prefix}:sessions")
        publish = "SPUBLISH" if self._sharded else "PUBLISH"
        body = batch.encode()
        args: list[Any] = [batch.offset, batch.epoch, body, publish, self._bell(sid), sid]
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
            if self._sharded and result[0] == b"ok":
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
            publish = "SPUBLISH" if self._sharded else "PUBLISH"
            result = await self._scripts["swap"](keys=keys, args=[
                expect.offset, expect.epoch, last.offset, last.epoch, publish,
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
            publish = self._conn().spublish if self._sharded else self._conn().publish
            await publish(self._bell(session), batches[-1].encode())

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
        if len(listeners) == 1:  # the first local listener subscribes
            self._wanted_changed()

    def unlisten(self, session: str, listener: Listener) -> None:
        """Stop calling `listener`; the last one of a session unsubscribes."""
        listeners = self._listeners.get(session)
        if listeners and listener in listeners:
            listeners.remove(listener)
            if not listeners:
                del self._listeners[session]
                self._wanted_changed()

    def _wanted_changed(self) -> None:
        if self._cluster_feed is not None:
            self._cluster_feed.wanted_changed()
        else:
            self._feed_state.wanted_changed()

    async def wait_subscribed(self) -> None:
        """Wait until Redis confirmed the subscription of every listened session."""
        if self._cluster_feed is not None:
            await self._cluster_feed.synced.wait()
        else:
            await self._feed_state.synced.wait()

    async def _run_feed(self, sub_client: aioredis.Redis) -> None:
        """The one background task: keep the pub/sub connection up, with back-off."""
        state = self._feed_state
        delay = BACKOFF_MIN
        while True:
            pubsub = sub_client.pubsub()
            try:
                await self._feed_once(pubsub)
            except UNAVAILABLE as exc:
                log.warning(
                    "redis feed at %s lost: %s; reconnecting in %.1f s",
                    self._where,
                    _describe(exc),
                    delay,
                )
            except Exception:
                log.exception("redis feed at %s failed; reconnecting in %.1f s", self._where, delay)
            finally:
                if state.connected.is_set():
                    delay = BACKOFF_MIN
                state.down()
                await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)

    async def _feed_once(self, pubsub: PubSub) -> None:
        """Subscribe, then read and manage subscriptions until the connection fails."""
        await pubsub.subscribe(self._probe_channel)
        await until_one_fails({"hub-redis-feed-read": self._read_feed(pubsub),
                               "hub-redis-feed-manage": self._manage_feed(pubsub)})

    async def _read_feed(self, pubsub: PubSub) -> None:
        while True:
            message = await pubsub.get_message(timeout=None)
            if message is not None:
                self._on_message(message)

    async def _manage_feed(self, pubsub: PubSub) -> None:
        """Apply listen/unlisten to the subscriptions, and send a probe every second."""
        await keep_subscribed(self._feed_state.wake, lambda: self._reconcile(pubsub),
                              self._probe_tick)

    async def _reconcile(self, pubsub: PubSub) -> None:
        state = self._feed_state
        wanted = set(self._listeners)
        for session in wanted - state.subscribed:
            # One command per session: SSUBSCRIBE takes only channels of one slot.
            if self._sharded:
                await pubsub.ssubscribe(self._bell(session))
            else:
                await pubsub.subscribe(self._bell(session))
            state.subscribed.add(session)
        for session in state.subscribed - wanted:
            if self._sharded:
                await pubsub.sunsubscribe(self._bell(session))
            else:
                await pubsub.unsubscribe(self._bell(session))
            state.subscribed.discard(session)
        self._check_synced()

    async def _probe_tick(self) -> None:
        state = self._feed_state
        now = asyncio.get_running_loop().time()
        if state.probe_pending_since is not None and now - state.probe_pending_since > PROBE_FRESH:
            # A connection can stay open and deliver nothing (centrifugo #1189).
            raise RedisConnectionError(f"no pub/sub probe came back for {PROBE_FRESH:.0f} s")
        try:
            await self._conn().publish(self._probe_channel, b"probe")
        except UNAVAILABLE as exc:
            log.debug(
                "probe publish failed: %s", _describe(exc)
            )  # the command path has its own errors
            return
        if state.probe_pending_since is None:
            state.probe_pending_since = now

    async def _feed_alive(self) -> bool:
        """True when a probe came back recently, or comes back within a second now."""
        if self._cluster_feed is not None:
            return await self._cluster_feed.alive()
        state = self._feed_state
        task = self._feed_task
        if task is None or task.done() or not state.connected.is_set():
            return False
        if asyncio.get_running_loop().time() - state.probe_seen_at < PROBE_FRESH:
            return True
        state.probe_seen.clear()
        try:
            async with asyncio.timeout(PING_TIMEOUT):
                await self._conn().publish(self._probe_channel, b"probe")
                await state.probe_seen.wait()
        except (RedisError, OSError):
            return False
        return True

    def _on_message(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        channel = bytes(message["channel"] or b"")
        if kind in ("message", "smessage"):
            if channel == self._probe_channel:
                self._feed_state.probe_came_back()
            else:
                self._deliver(channel, message["data"])
        elif kind in ("subscribe", "ssubscribe"):
            if channel == self._probe_channel:
                self._feed_state.connected.set()
            else:
                self._feed_state.confirmed.add(self._session_of_bell(channel))
            self._check_synced()
        elif kind in ("unsubscribe", "sunsubscribe"):
            self._feed_state.confirmed.discard(self._session_of_bell(channel))
            self._check_synced()

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

    def _check_synced(self) -> None:
        """Mark the feed in sync when Redis confirmed every wanted session; then resync."""
        state = self._feed_state
        if not state.connected.is_set() or state.confirmed != self._listeners.keys():
            return
        state.synced.set()
        if state.resync_due:
            state.resync_due = False
            self._call_resync_hook()

    def _call_resync_hook(self) -> None:
        hook = self.resync_hook
        if hook is None:
            return
        try:
            hook()
        except Exception:
            log.exception("resync hook %r failed", hook)


class _FeedState:
    """What the feed task knows about its current pub/sub connection."""

    def __init__(self) -> None:
        #: Set when the probe channel subscription is confirmed.
        self.connected = asyncio.Event()
        #: Set when every listened session's subscription is confirmed.
        self.synced = asyncio.Event()
        #: Set by listen/unlisten to wake the subscription manager.
        self.wake = asyncio.Event()
        self.probe_seen = asyncio.Event()
        self.probe_seen_at = float("-inf")
        self.probe_pending_since: float | None = None
        self.subscribed: set[str] = set()
        self.confirmed: set[str] = set()
        #: The connection was lost since the last resync: batches may have been missed.
        self.resync_due = False

    def wanted_changed(self) -> None:
        self.synced.clear()
        self.wake.set()

    def probe_came_back(self) -> None:
        self.probe_seen_at = asyncio.get_running_loop().time()
        self.probe_pending_since = None
        self.probe_seen.set()

    def down(self) -> None:
        self.resync_due = True
        self.connected.clear()
        self.synced.clear()
        self.subscribed.clear()
        self.confirmed.clear()
        self.probe_pending_since = None
