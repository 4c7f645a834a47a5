"""Events (forums) as one server process holds them: folded state, writes, their sessions.

A forum's log lives in the same `EventLog` as the sessions (id `forum.<id>`, batches with a
fact and no channel events). Writes go decide -> append -> apply as for a session; when
another instance appended first the log refuses, the forum catches up and decides again.
Other instances' appends arrive through `listen` (a hole is filled from `batches`), so
every instance serves the same programme, hubs and published reports.

After a programme import, `Forums.materialize` makes sure each programme session exists
as a hub session with the programme's title and languages: idempotent (a session already
there is changed only where the programme changed), so a crash between the import and
the sessions is repaired by the next import or `materialize`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from .domain import commands
from .domain import forum as domain
from .domain.commands import Actor
from .domain.facts import ForumCreatedFact, ForumFact, UnknownFact, forum_fact
from .domain.forum import ForumState, ProgrammeSession
from .domain.roles import ORGANIZER
from .errors import CONFLICT, UNAVAILABLE, HubError, not_found
from .log import Batch, EventLog, LogConflict, LogUnavailable
from .log.base import new_epoch_id
from .session import Session, Sessions, now_ms

log = logging.getLogger(__name__)

APPEND_ATTEMPTS = 20
PAGE = 1000

Decide = Callable[[ForumState], ForumFact | None]


class Forum:
    """One event's state in this process, following its log."""

    def __init__(self, forum_id: str, event_log: EventLog) -> None:
        self.id = forum_id
        self.key = domain.log_id(forum_id)
        self.log = event_log
        self.state = domain.new_forum(forum_id)
        self._write_lock = asyncio.Lock()
        self._catch_up_lock = asyncio.Lock()
        self._behind = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Called with each fact once applied (caches of pages built from the state).
        self.watchers: list[Callable[[ForumFact], None]] = []
        # Set when the log holds a fact this version does not know (`_cannot_follow`).
        self.stopped: UnknownFact | None = None

    async def load(self) -> None:
        if await self.log.head(self.key) is None:
            raise not_found(f"no event {self.id!r}")
        self.log.listen(self.key, self._on_batch)
        await self.log.wait_subscribed()
        await self.catch_up()
        self._task = asyncio.create_task(self._follow(), name=f"hub-forum-{self.id}")

    async def close(self) -> None:
        self.log.unlisten(self.key, self._on_batch)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def _on_batch(self, batch: Batch) -> None:
        if batch.epoch == self.state.epoch and batch.offset <= self.state.offset:
            return
        if batch.epoch == self.state.epoch and batch.offset == self.state.offset + 1:
            try:
                self._apply(batch)
            except HubError:
                if self.stopped is None:
                    raise  # logged by `_cannot_follow`: the feed goes on for other logs
        else:
            self._behind.set()

    async def _follow(self) -> None:
        while True:
            await self._behind.wait()
            self._behind.clear()
            try:
                await self.catch_up()
            except (LogUnavailable, HubError) as exc:
                if self.stopped is not None:
                    return
                log.warning("event %s: catching up failed: %s", self.id, exc)
                await asyncio.sleep(1.0)
                self._behind.set()

    async def catch_up(self) -> None:
        """Apply what the log holds beyond our state; start again on a new epoch."""
        async with self._catch_up_lock:
            head = await self.log.head(self.key)
            if head is None:
                raise not_found(f"event {self.id!r} is gone from the log")
            if head.offset < self.state.offset or (
                self.state.epoch and head.epoch != self.state.epoch
            ):
                self.state = domain.new_forum(self.id)
            while True:
                batches = await self.log.batches(self.key, self.state.offset, PAGE)
                for batch in batches:
                    if batch.offset == self.state.offset + 1:
                        self._apply(batch)
                if len(batches) < PAGE:
                    return

    def _cannot_follow(self, exc: UnknownFact) -> HubError:
        """The log holds a fact this version does not know: stop following the event
        here, say so in the log, and refuse it (`unavailable`) until this instance is
        upgraded."""
        message = f"event {self.id!r} cannot be served by this instance: {exc}"
        if self.stopped is None:
            self.stopped = exc
            log.error("%s; this instance stops following it", message)
            self.log.unlisten(self.key, self._on_batch)
            if self._task is not None and self._task is not asyncio.current_task():
                self._task.cancel()
        return HubError(UNAVAILABLE, message)

    def _apply(self, batch: Batch) -> None:
        try:
            fact = forum_fact(batch.fact)
        except UnknownFact as exc:
            raise self._cannot_follow(exc) from exc
        domain.apply(self.state, fact)
        self.state.offset = batch.offset
        self.state.epoch = batch.epoch
        for watch in self.watchers:
            watch(fact)

    async def execute(self, decide: Decide) -> ForumFact | None:
        """Decide against the current state and append the fact (None: nothing to do);
        retried against the new head when another instance appended first."""
        async with self._write_lock:
            for _ in range(APPEND_ATTEMPTS):
                fact = decide(self.state)
                if fact is None:
                    return None
                batch = Batch(self.key, self.state.offset + 1, self.state.epoch, fact["ts"],
                              fact, ())
                try:
                    await self.log.append(batch)
                except LogConflict:
                    await self._catch_up_or_unavailable()
                    continue
                except LogUnavailable as exc:
                    raise HubError(UNAVAILABLE, f"storage is unavailable ({exc})") from exc
                if batch.offset == self.state.offset + 1:
                    self._apply(batch)
                return fact
        raise HubError(CONFLICT, "the event is very busy; try again")

    async def _catch_up_or_unavailable(self) -> None:
        try:
            await self.catch_up()
        except LogUnavailable as exc:
            raise HubError(UNAVAILABLE, f"storage is unavailable ({exc})") from exc


class Forums:
    """The events this process serves, loaded on first use."""

    def __init__(self, event_log: EventLog, sessions: Sessions) -> None:
        self.log = event_log
        self.sessions = sessions
        self._forums: dict[str, Forum] = {}
        self._loading: dict[str, asyncio.Lock] = {}
        # Called with each event once loaded here (its watchers are added then).
        self.on_load: list[Callable[[Forum], None]] = []

    async def get(self, forum_id: str) -> Forum:
        """The event with this id; `not_found` for none (or an id no event can have)."""
        if not domain.valid_forum_id(forum_id):
            raise not_found(f"no such event: an event id is {domain.FORUM_ID_RULE}")
        found = self._forums.get(forum_id)
        if found is not None and found.stopped is not None:
            await found.close()  # loaded again below: refused, saying why
            self._forums.pop(forum_id, None)
            found = None
        if found is not None:
            return found
        lock = self._loading.setdefault(forum_id, asyncio.Lock())
        async with lock:
            found = self._forums.get(forum_id)
            if found is None:
                forum = Forum(forum_id, self.log)
                try:
                    await forum.load()
                except LogUnavailable as exc:
                    await forum.close()
                    raise HubError(UNAVAILABLE, f"storage is unavailable: {exc}") from exc
                except HubError:
                    await forum.close()
                    raise
                self._forums[forum_id] = found = forum
                for hook in self.on_load:
                    hook(forum)
        self._loading.pop(forum_id, None)
        return found

    async def of_session(self, session_id: str) -> Forum | None:
        """The event whose programme holds this session, if one does (events are few:
        each is loaded once and stays)."""
        for forum_id in await self.ids():
            forum = await self.get(forum_id)
            if session_id in forum.state.sessions:
                return forum
        return None

    async def create(self, forum_id: str, fact: ForumCreatedFact) -> Forum | None:
        """Start a new event's log; None when the id is taken."""
        batch = Batch(domain.log_id(forum_id), 1, new_epoch_id(), fact["ts"], fact, ())
        try:
            created = await self.log.create(batch)
        except LogUnavailable as exc:
            raise HubError(UNAVAILABLE, f"storage is unavailable: {exc}") from exc
        if not created:
            return None
        return await self.get(forum_id)

    async def ids(self) -> list[str]:
        """Every event's id."""
        try:
            keys = await self.log.sessions()
        except LogUnavailable as exc:
            raise HubError(UNAVAILABLE, f"storage is unavailable: {exc}") from exc
        return [k.removeprefix(domain.LOG_PREFIX) for k in keys if domain.is_forum_log(k)]

    async def materialize(self, forum: Forum, rows: list[ProgrammeSession] | None = None) -> int:
        """Make each programme session (all, or `rows`) a hub session with the programme's
        title and languages; returns how many were created or changed."""
        state = forum.state
        touched = 0
        for row in rows if rows is not None else state.programme():
            languages = row.languages or state.languages
            title = row.title[:200]
            fact = commands.create(title=title, languages=list(languages), state=None,
                                   settings=None, now=now_ms())
            if await self.sessions.start_log(row.session, fact, new_epoch_id()):
                touched += 1
                continue
            session = await self.sessions.get(row.session)
            if await _align(session, title, list(languages)):
                touched += 1
        return touched

    async def close(self) -> None:
        for forum in list(self._forums.values()):
            await forum.close()
        self._forums.clear()


async def _align(session: Session, title: str, languages: list[str]) -> bool:
    """Change a session's title and languages to the programme's; True when it changed."""
    state = session.state
    if state.title == title and state.languages == languages:
        return False
    actor = Actor(ORGANIZER, ORGANIZER, "Organizer")
    await session.execute(lambda st: commands.change_session(
        st, actor, new_state=None, title=title, languages=languages, settings=None,
        now=now_ms()))
    return True
