"""A session as one server process holds it: its folded state, its readers, its writes.

Every change goes through `Session.execute`: decide against the current state,
append one batch with the offset it was decided against, then apply and fan out.
When another instance appended first the log refuses (LogConflict); the session
catches up and decides again, so two moderators acting on the same item at once
get one success and one `conflict`, never a corrupted queue.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from . import protocol
from .connection import Connection, ConnState, Delivery
from .domain import commands, erasure
from .domain.commands import Actor, Decision
from .domain.fact_kinds import apply, project
from .domain.facts import CreatedFact, Fact, RestoredFact, UnknownFact, session_fact
from .domain.roles import HUB, MODERATOR, ORGANIZER, PARTICIPANT, wire_name
from .domain.session import CLOSED, SessionState, new_session
from .domain.snapshot import dump_state
from .errors import CONFLICT, UNAVAILABLE, HubError, not_found
from .log import Batch, ChannelEvent, EventLog, Head, LogConflict, LogUnavailable
from .log.base import new_epoch_id
from .metrics import Metrics
from .tokens import new_identity_id

if TYPE_CHECKING:
    from .media.port import SessionMedia

log = logging.getLogger(__name__)

PRESENCE_INTERVAL = 1.0
PRESENCE_SHARE = 3.0  # seconds between exchanges of presence counts with other instances
RESYNC_INTERVAL = 5.0
# Several instances appending to one session race for its head; the loser catches up and
# decides again. Two busy instances (a join storm) lost 8 races in a row, so: more tries,
# with a short random pause that breaks their lockstep (bench/soak.py found it).
APPEND_ATTEMPTS = 40
CONFLICT_PAUSE = 0.002  # seconds, at most, times the attempt number
PAGE = 1000
SUBSCRIBE_TIMEOUT = 5.0
SIG_BYTES = 12  # 96 bits of HMAC-SHA256: 16 characters on the wire


def now_ms() -> int:
    return int(time.time() * 1000)


# Signs one channel position: (internal channel key, epoch, offset) -> `sig`.
Sign = Callable[[str, str, int], str]


def make_batch(state: SessionState, fact: Fact, ts: int, sign: Sign) -> Batch:
    """The batch that appends `fact` to the log `state` was folded from: the fact and the
    events it puts on each channel, each frame encoded once with its signed position."""
    events: list[ChannelEvent] = []
    tops = dict(state.tops)
    for channel, kind, data in project(state, fact):
        offset = tops.get(channel, 0) + 1
        tops[channel] = offset
        frame = protocol.event_frame(wire_name(channel), state.epoch, offset, kind, data, ts,
                                     sign(channel, state.epoch, offset))
        events.append(ChannelEvent(channel, offset, frame, kind))
    return Batch(state.id, state.offset + 1, state.epoch, ts, fact, tuple(events))


def fold_into_batches(
    state: SessionState, entries: list[erasure.LogEntry], sign: Sign
) -> list[Batch]:
    """Facts (with their times) made into batches 1..n under `state.epoch`, folded into
    `state` (a new one) as they go: a whole history written again."""
    out = []
    for entry in entries:
        batch = make_batch(state, entry.fact, entry.ts, sign)
        apply(state, entry.fact)
        state.offset = batch.offset
        for event in batch.events:
            state.tops[event.channel] = event.offset
        out.append(batch)
    return out


def position_key(secret: str) -> bytes:
    """The key that signs channel positions, derived from the token secret (every instance
    of a deployment shares it, so any instance checks what another one sent)."""
    return hmac.new(secret.encode(), b"hub channel positions", hashlib.sha256).digest()


def position_sig(key: bytes, session: str, channel: str, epoch: str, offset: int) -> str:
    """The signature of one position of one channel (internal channel key: a private
    channel's names its identity), as `event.sig` and `welcome.channels[].sig` carry it."""
    message = f"{session}\n{channel}\n{epoch}\n{offset}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:SIG_BYTES]
    return base64.urlsafe_b64encode(digest).decode()


class Session:
    """One session's state and readers in this process."""

    def __init__(
        self, session_id: str, log: EventLog, metrics: Metrics, position_key: bytes
    ) -> None:
        self.id = session_id
        self.log = log
        self.metrics = metrics
        self._position_key = position_key
        self.state: SessionState = new_session(session_id)
        self.readers: dict[str, set[Connection]] = {}
        self.connections: set[Connection] = set()
        self._write_lock = asyncio.Lock()
        self._catch_up_lock = asyncio.Lock()
        self._behind = asyncio.Event()
        self._presence_dirty = asyncio.Event()
        self._presence_sent: dict[str, int] | None = None
        self._presence_total: dict[str, int] | None = None  # every instance's, when known
        self._task: asyncio.Task[None] | None = None
        self._archiving: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.deleted = False
        # Set when the log holds a fact this version does not know: this instance stops
        # following the session (a newer hub wrote it; see `_cannot_follow`).
        self.stopped: UnknownFact | None = None
        # Called with each fact once applied (a hub's relay watches for work upstream).
        self.watchers: list[Callable[[Fact], None]] = []
        # Called once the session is found deleted, here or by another instance (the
        # search index drops it).
        self.on_gone: list[Callable[[], None]] = []
        self.media: SessionMedia | None = None  # the media plane, when this hub has one

    # -- loading and following the log -------------------------------------------------

    async def load(self) -> None:
        """Fold the session's whole log and follow new batches; `not_found` when none."""
        head = await self.log.head(self.id)
        if head is None:
            raise not_found(f"no session {self.id!r}")
        self.log.listen(self.id, self._on_batch)
        try:  # then nothing appended after the catch-up can be missed
            await asyncio.wait_for(self.log.wait_subscribed(), SUBSCRIBE_TIMEOUT)
        except TimeoutError as exc:
            self.log.unlisten(self.id, self._on_batch)
            raise LogUnavailable("the live feed did not subscribe in time") from exc
        await self.catch_up()
        self._task = asyncio.create_task(self._maintain(), name=f"hub-session-{self.id}")

    async def close(self) -> None:
        """Stop following the log and end background work (an archive in progress ends)."""
        self.log.unlisten(self.id, self._on_batch)
        if self._archiving is not None:
            await asyncio.gather(self._archiving, return_exceptions=True)
        await asyncio.gather(*self._background, return_exceptions=True)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def _archive_later(self) -> None:
        """The session closed: move its log to the durable archive, in the background."""
        if self._archiving is not None and not self._archiving.done():
            return

        async def archive() -> None:
            try:
                if await self.log.archive(self.id):
                    log.info("session %s closed and archived", self.id)
            except LogUnavailable as exc:
                log.warning("session %s: archive failed, kept live: %s", self.id, exc)

        self._archiving = asyncio.create_task(archive(), name=f"hub-archive-{self.id}")

    def _on_batch(self, batch: Batch) -> None:
        if batch.offset <= self.state.offset and batch.epoch == self.state.epoch:
            return  # already applied (our own append, or a repeat)
        if batch.offset == self.state.offset + 1 and batch.epoch == self.state.epoch:
            try:
                self._apply(batch)
            except HubError:
                if self.stopped is None:
                    raise  # logged by `_cannot_follow`: the feed goes on for other sessions
        else:
            self._behind.set()  # a hole: fill it from the log

    async def catch_up(self) -> None:
        """Apply every batch the log holds beyond ours; handle a log that went backwards."""
        async with self._catch_up_lock:
            # Batches may arrive by pub/sub while the head is read: compare the head with
            # where we stood before asking, or a fresh batch looks like lost history.
            offset, epoch = self.state.offset, self.state.epoch
            head = await self.log.head(self.id)
            if head is None:
                if self.state.offset and not await self.log.was_deleted(self.id):
                    await self._put_back()
                    return
                self._gone()
                raise not_found(f"session {self.id!r} is gone from the log")
            if head.offset < offset or (epoch and head.epoch != epoch):
                await self._reset(head.epoch)
                return
            while True:
                batches = await self.log.batches(self.id, self.state.offset, PAGE)
                for batch in batches:
                    if batch.offset == self.state.offset + 1:
                        self._apply(batch)
                if len(batches) < PAGE:
                    return

    async def _reset(self, epoch: str) -> None:
        """The log lost history or changed epoch: rebuild, give the log a fresh epoch, and
        ask every reader to resume (they get `recovered: false` and a fresh snapshot)."""
        log.warning("session %s: log went backwards or changed epoch; rebuilding", self.id)
        if epoch == self.state.epoch:
            epoch = await self.log.new_epoch(self.id, epoch)
        self.state = new_session(self.id)
        batches: list[Batch] = []
        after = 0
        while True:
            page = await self.log.batches(self.id, after, PAGE)
            batches.extend(page)
            if len(page) < PAGE:
                break
            after = page[-1].offset
        for batch in batches:
            self._apply(batch, fan_out=False)
        self.state.epoch = epoch
        for conn in list(self.connections):
            if conn.identity in self.state.erased:
                conn.kick(protocol.CLOSE_FORBIDDEN, "the organizer erased your data from this "
                          "session", reconnect=False)
            else:
                conn.kick(protocol.CLOSE_SLOW, "history reset; resume", reconnect=True)

    async def _put_back(self) -> None:
        """The store lost the session (Redis came back empty): write the state we hold back
        as one `restored` fact under a fresh epoch; readers resume with a fresh snapshot.
        When several instances try at once, one creates it and the others catch up."""
        fact: RestoredFact = {"kind": "restored", "state": dump_state(self.state),
                              "ts": now_ms()}
        batch = Batch(self.id, 1, new_epoch_id(), now_ms(), fact, ())
        if await self.log.create(batch):
            log.warning("session %s was lost by the store; put back from memory", self.id)
            self.state.offset, self.state.epoch, self.state.tops = 1, batch.epoch, {}
            for conn in list(self.connections):
                conn.kick(protocol.CLOSE_SLOW, "history reset; resume", reconnect=True)
            return
        head = await self.log.head(self.id)
        if head is not None:
            await self._reset(head.epoch)

    def _gone(self) -> None:
        """The session was deleted: its readers are told, for good."""
        self.deleted = True
        for conn in list(self.connections):
            conn.kick(protocol.CLOSE_NOT_FOUND, "this session was deleted", reconnect=False)
        for hook in self.on_gone:
            hook()

    def _cannot_follow(self, exc: UnknownFact) -> HubError:
        """The log holds a fact this version does not know: stop following the session
        here (its readers reconnect, maybe to a newer instance), say so in the log, and
        refuse it (`unavailable`) until this instance is upgraded."""
        message = f"session {self.id!r} cannot be served by this instance: {exc}"
        if self.stopped is None:
            self.stopped = exc
            log.error("%s; this instance stops following it", message)
            self.log.unlisten(self.id, self._on_batch)
            if self._task is not None and self._task is not asyncio.current_task():
                self._task.cancel()
            for conn in list(self.connections):
                conn.kick(protocol.CLOSE_UNAVAILABLE, message, reconnect=True)
        return HubError(UNAVAILABLE, message)

    def _apply(self, batch: Batch, *, fan_out: bool = True) -> None:
        state = self.state
        try:
            fact = session_fact(batch.fact)
        except UnknownFact as exc:
            raise self._cannot_follow(exc) from exc
        apply(state, fact)
        state.offset = batch.offset
        state.epoch = batch.epoch
        for event in batch.events:
            state.tops[event.channel] = event.offset
        for watch in self.watchers:
            watch(fact)
        if not fan_out:
            return
        metrics = self.metrics
        for event in batch.events:
            kind = wire_name(event.channel)
            metrics.events_appended.labels(kind).inc()
            readers = self.readers.get(event.channel)
            if readers:
                channel, offset, frame, what = event.channel, event.offset, event.frame, event.kind
                for conn in readers:
                    conn.deliver(channel, offset, frame, what)
                metrics.deliveries.labels(kind).inc(len(readers))
        if batch.events:
            metrics.delivery_lag.observe(max(0, now_ms() - batch.ts) / 1000)
        kind = batch.fact["kind"]
        if kind == "hub_status":
            self._presence_dirty.set()
        elif kind == "ban" and not batch.fact["undo"]:
            # Every instance applies the fact, so the identity is cut off on all of them.
            who = "the organizer" if batch.fact["by"] == ORGANIZER else "the moderators"
            for conn in list(self.connections):
                if conn.identity == batch.fact["identity"]:
                    conn.kick(protocol.CLOSE_FORBIDDEN, f"removed by {who}", reconnect=False)
        elif kind == "rotate" and batch.fact["role"] == ORGANIZER:
            # A retired session organizer link takes its personal tokens with it
            # (hub.standing.check_standing): who is connected with one goes now, everywhere.
            for conn in list(self.connections):
                if conn.role == ORGANIZER and conn.identity != ORGANIZER:
                    conn.kick(protocol.CLOSE_UNAUTHORIZED, "this link was retired: ask the "
                              "Secretariat for the new one", reconnect=False)

    async def _maintain(self) -> None:
        """Presence at most once a second; fill holes when told, and every few seconds."""
        last_resync = last_share = time.monotonic()
        while True:
            # asyncio.timeout, not wait_for, which on Python 3.11 can lose the cancellation
            # of close() when it lands as `_behind` is set.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(PRESENCE_INTERVAL):
                    await self._behind.wait()
            shared = self.log.shared
            due = shared and time.monotonic() - last_share > PRESENCE_SHARE
            if self._presence_dirty.is_set() or due:
                self._presence_dirty.clear()
                last_share = time.monotonic()
                await self._share_presence()
            if self._behind.is_set() or time.monotonic() - last_resync > RESYNC_INTERVAL:
                self._behind.clear()
                last_resync = time.monotonic()
                try:
                    await self.catch_up()
                except (LogUnavailable, HubError) as exc:
                    if self.stopped is not None:
                        return
                    log.warning("session %s: catch-up failed: %s", self.id, exc)

    # -- writing -----------------------------------------------------------------------

    def _make_batch(self, fact: Fact, ts: int) -> Batch:
        return make_batch(self.state, fact, ts, self.sign)

    async def execute(self, decide: Callable[[SessionState], Decision]) -> dict[str, Any]:
        """Decide against the current state and append; retried on a moved head."""
        async with self._write_lock:
            for attempt in range(APPEND_ATTEMPTS):
                decision = decide(self.state)
                if decision.fact is None:
                    return decision.result
                batch = self._make_batch(decision.fact, now_ms())
                started = time.perf_counter()
                try:
                    await self.log.append(batch)
                except LogConflict:
                    self.metrics.append_conflicts.inc()
                    if attempt:
                        await asyncio.sleep(random.uniform(0, CONFLICT_PAUSE * attempt))
                    await self._catch_up_or_unavailable()
                    continue
                except LogUnavailable as exc:
                    self.metrics.backend_errors.inc()
                    raise HubError(
                        UNAVAILABLE, f"storage is unavailable ({exc}); retry with the same key"
                    ) from exc
                self.metrics.append_seconds.labels(self.log.kind).observe(
                    time.perf_counter() - started)
                if batch.offset == self.state.offset + 1:
                    self._apply(batch)
                if decision.fact.get("state") == CLOSED and decision.fact["kind"] == "session":
                    self._archive_later()
                return decision.result
        raise HubError(CONFLICT, "the session is very busy; try again")

    async def erase(self, identity: str) -> dict[str, Any]:
        """Erase one person's data (hub.domain.erasure): the whole history is folded again
        without it and replaces the stored one under a fresh epoch. Readers here start
        again from a fresh snapshot; other instances see the epoch change and do the same;
        the person's connections are closed and their tokens refused."""
        async with self._write_lock:
            for attempt in range(APPEND_ATTEMPTS):
                await self._catch_up_or_unavailable()
                if self.state.holder(identity) is None:  # joined, or a named token
                    raise not_found(f"no identity {identity!r} in this session")
                expect = Head(self.state.offset, self.state.epoch)
                try:
                    entries = [erasure.LogEntry(b.ts, session_fact(b.fact))
                               for b in await self._whole_log()]
                    alias = new_identity_id()
                    scrubbed = erasure.scrub(entries, identity, alias)
                    state = new_session(self.id)
                    state.epoch = new_epoch_id()
                    batches = fold_into_batches(state, scrubbed, self.sign)
                    last = erasure.erased_fact(state, identity, alias, now_ms())
                    batches.append(make_batch(state, last, last["ts"], self.sign))
                    await self.log.rewrite(self.id, expect, batches)
                except LogConflict:
                    await asyncio.sleep(random.uniform(0, CONFLICT_PAUSE * (attempt + 1)))
                    continue
                except LogUnavailable as exc:
                    raise HubError(UNAVAILABLE, f"storage is unavailable ({exc}); retry") from exc
                log.info("session %s: identity %s erased (%d facts dropped)", self.id,
                         identity, len(entries) - len(scrubbed))
                await self._catch_up_or_unavailable()  # the new epoch: a fresh state
                return {"identity": identity, "erased": True,
                        "items": len(erasure.authored((e.fact for e in entries), identity)),
                        "facts_dropped": len(entries) - len(scrubbed)}
        raise HubError(CONFLICT, "the session is very busy; try again")

    async def _whole_log(self) -> list[Batch]:
        batches: list[Batch] = []
        while True:
            page = await self.log.batches(self.id, batches[-1].offset if batches else 0, PAGE)
            batches.extend(page)
            if len(page) < PAGE:
                return batches

    async def person(self, identity: str) -> dict[str, Any]:
        """Everything this session holds of one identity (hub.domain.erasure.person_data)."""
        await self._catch_up_or_unavailable()
        if self.state.holder(identity) is None:
            raise not_found(f"no identity {identity!r} in this session")
        try:
            batches = await self._whole_log()
        except LogUnavailable as exc:
            raise HubError(UNAVAILABLE, f"storage is unavailable ({exc}); retry") from exc
        entries = [erasure.LogEntry(b.ts, session_fact(b.fact)) for b in batches]
        return erasure.person_data(self.state, entries, identity)

    async def _catch_up_or_unavailable(self) -> None:
        try:
            await self.catch_up()
        except LogUnavailable as exc:
            raise HubError(UNAVAILABLE, f"storage is unavailable ({exc}); retry") from exc

    # -- readers -----------------------------------------------------------------------

    def attach(self, conn: Connection, positions: dict[str, int]) -> None:
        """Register `conn` for live events from `positions` on (it holds them until open)."""
        conn.positions = dict(positions)
        for channel in positions:
            self.readers.setdefault(channel, set()).add(conn)
        first = conn.role == HUB and not self._connected(conn.identity)
        self.connections.add(conn)
        self._presence_dirty.set()
        if first:
            self._hub_seen(conn, connected=True)

    def _connected(self, identity: str) -> bool:
        return any(c.identity == identity for c in self.connections)

    def _hub_seen(self, conn: Connection, *, connected: bool) -> None:
        """Record in the log that a hub came or went (the moderators' roll call)."""
        actor = Actor(conn.identity, HUB, conn.name)

        async def record() -> None:
            try:
                await self.execute(lambda st: commands.hub_status(
                    st, actor, connected=connected, now=now_ms()))
            except HubError as exc:
                log.info("session %s: hub %s presence not recorded: %s", self.id, actor.id,
                         exc.message)

        task = asyncio.create_task(record(), name=f"hub-seen-{conn.identity}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def detach(self, conn: Connection) -> None:
        for channel in conn.positions:
            readers = self.readers.get(channel)
            if readers is not None:
                readers.discard(conn)
                if not readers:
                    del self.readers[channel]
        if conn in self.connections:
            self.connections.discard(conn)
            self._presence_dirty.set()
            if conn.role == HUB and conn.identity and not self._connected(conn.identity):
                self._hub_seen(conn, connected=False)

    async def history(self, channel: str, after: int) -> list[Delivery] | None:
        """Every event of `channel` after `after` that the log holds, or None when some of
        them are gone (trimmed) or were written under another epoch: then the reader cannot
        recover and gets a snapshot. Events past the top known now arrive live."""
        top = self.state.tops.get(channel, 0)  # before reading: the top moves meanwhile
        entries: list[Delivery] = []
        cursor = after
        while True:
            page = await self.log.frames(self.id, channel, cursor, PAGE)
            for offset, frame in page:
                if offset != cursor + 1 or protocol.frame_epoch(frame) != self.state.epoch:
                    return None
                entries.append(Delivery(channel, offset, frame))
                cursor = offset
            if len(page) < PAGE:
                break
        if cursor < top:
            return None
        return entries

    def sign(self, channel: str, epoch: str, offset: int) -> str:
        """This server's signature of a position of `channel` (internal key)."""
        return position_sig(self._position_key, self.id, channel, epoch, offset)

    def signed(self, channel: str, position: protocol.Position) -> bool:
        """Whether `position` carries this server's signature: proof that it was sent."""
        if position.sig is None:
            return False
        expected = self.sign(channel, position.epoch, position.offset)
        return hmac.compare_digest(expected.encode(), position.sig.encode())

    async def history_went_back(self) -> None:
        """A position this server signed is above the top the log holds under the current
        epoch: the log lost history the server had sent (a store restored from an older
        copy, a replica promoted without the last writes). Replace the epoch, so no reader
        resumes into offsets that will be reused; every reader gets a fresh snapshot.
        Only a signed position may call this: a client's bare claim changes nothing."""
        log.warning("session %s: a reader holds a signed position the log no longer has; "
                    "history went backwards, changing the epoch", self.id)
        await self.log.new_epoch(self.id, self.state.epoch)
        await self.catch_up()

    def presence(self) -> dict[str, int]:
        """Counts of identities connected, by role, across instances as last known."""
        return dict(self._presence_total) if self._presence_total else self.local_presence()

    async def _share_presence(self) -> None:
        local = self.local_presence()
        try:
            self._presence_total = await self.log.presence(self.id, local)
        except LogUnavailable:
            self._presence_total = local
        self._send_presence()

    def local_presence(self) -> dict[str, int]:
        """Counts of identities connected here, by role; hubs' attendees summed."""
        seen: dict[str, str] = {}
        for conn in self.connections:
            if conn.state is not ConnState.CLOSED and conn.identity:
                seen[conn.identity] = conn.role
        roles = list(seen.values())
        hubs = [i for i, r in seen.items() if r == HUB]
        return {
            "participants": roles.count(PARTICIPANT),
            "hubs": len(hubs),
            "attendees": sum(self.state.hubs[h].attendees for h in hubs if h in self.state.hubs),
            "moderators": roles.count(MODERATOR) + roles.count(ORGANIZER),
            "captioners": roles.count("captioner"),
            "screens": roles.count("screen"),
        }

    def push_all(self, frame: bytes) -> None:
        """Send a frame that is not a channel event (`presence`, `media`) to every open
        connection of this session here."""
        for conn in self.connections:
            if conn.state is ConnState.OPEN:
                conn.push(frame)

    def _send_presence(self) -> None:
        counts = {**self.local_presence(), **(self._presence_total or {})}
        if counts == self._presence_sent:
            return
        self._presence_sent = counts
        frame = protocol.dump({"type": "presence", **counts})
        for conn in self.connections:
            if conn.state is ConnState.OPEN:
                conn.push(frame)


class Sessions:
    """The sessions this process serves, loaded on first use."""

    def __init__(self, log: EventLog, metrics: Metrics, position_key: bytes) -> None:
        self.log = log
        self.metrics = metrics
        self.position_key = position_key
        self._sessions: dict[str, Session] = {}
        self._loading: dict[str, asyncio.Lock] = {}
        # Called with each session once loaded here (the media plane follows them).
        self.on_load: list[Callable[[Session], None]] = []
        # Called with a session's id once it is deleted (its media room and recordings go).
        self.on_delete: list[Callable[[str], Awaitable[None]]] = []
        log.resync_hook = self.resync_all

    def held(self) -> list[Session]:
        """The sessions loaded in this process."""
        return [s for s in self._sessions.values() if not s.deleted and s.stopped is None]

    def held_one(self, session_id: str) -> Session | None:
        """The session with this id if it is loaded here."""
        return self._sessions.get(session_id)

    async def get(self, session_id: str) -> Session:
        """The session with this id; `not_found` when the log has none."""
        session = self._sessions.get(session_id)
        if session is not None and (session.deleted or session.stopped is not None):
            await self.forget(session_id)
            session = None
        if session is not None:
            return session
        lock = self._loading.setdefault(session_id, asyncio.Lock())
        try:
            async with lock:
                session = self._sessions.get(session_id)
                if session is None:
                    session = Session(session_id, self.log, self.metrics, self.position_key)
                    try:
                        await session.load()
                    except LogUnavailable as exc:
                        await session.close()
                        raise HubError(UNAVAILABLE, f"storage is unavailable: {exc}") from exc
                    except HubError:
                        await session.close()
                        raise
                    self._sessions[session_id] = session
                    for hook in self.on_load:
                        hook(session)
        finally:
            # One lock per id being loaded, not one per id ever asked for (unknown ids too).
            if not lock.locked() and self._loading.get(session_id) is lock:
                del self._loading[session_id]
        return session

    async def create(self, session_id: str, fact: CreatedFact, epoch: str) -> Session | None:
        """Start a new session's log with its `created` fact; None when the id is taken."""
        if not await self.start_log(session_id, fact, epoch):
            return None
        return await self.get(session_id)

    async def start_log(self, session_id: str, fact: CreatedFact, epoch: str) -> bool:
        """Start a new session's log without loading it here (a programme makes hundreds
        at once); False when the id is taken."""
        batch = Batch(session_id, 1, epoch, fact["ts"], fact, ())
        try:
            return await self.log.create(batch)
        except LogUnavailable as exc:
            raise HubError(UNAVAILABLE, f"storage is unavailable: {exc}") from exc

    def resync_all(self) -> None:
        """The live feed was lost and is back: every session fills its hole."""
        self.metrics.resyncs.inc()
        for session in self._sessions.values():
            session._behind.set()

    async def delete(self, session_id: str) -> bool:
        """Remove a session and all its data; its readers here are closed for good."""
        try:
            deleted = await self.log.delete(session_id)
        except LogUnavailable as exc:
            raise HubError(UNAVAILABLE, f"storage is unavailable: {exc}") from exc
        session = self._sessions.get(session_id)
        if session is not None:
            session._gone()
            await self.forget(session_id)
        for hook in self.on_delete:
            await hook(session_id)
        return deleted

    async def forget(self, session_id: str) -> None:
        """Stop holding a session in this process."""
        session = self._sessions.pop(session_id, None)
        if session is not None:
            await session.close()

    async def close(self) -> None:
        for session in list(self._sessions.values()):
            await session.close()
        self._sessions.clear()
