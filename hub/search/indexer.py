"""Keeping the index up to date as sessions publish, and rebuilding it from the event logs.

The `Indexer` is fed by `Session.watchers` and `Forum.watchers`, which only mark a
session as due (a dict write): nothing is done in the append path, and delivery to readers
never waits on the index. Its one background task wakes when something is due, waits
`debounce` seconds so that a burst of captions becomes one write, then indexes each due
session: a new final caption line is added (a transcript grows by appending); any other
change (an item approved, a report published, the session renamed, its history rewritten
by an erasure) replaces the session's whole set in one transaction. Both are idempotent.
A deleted session's documents go with it (`Sessions.on_delete`); after a person's data is
erased, `refresh` re-indexes the session before the erasure's answer is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from ..domain import forum as forum_domain
from ..domain.fact_kinds import apply
from ..domain.facts import Fact, ForumFact, forum_fact, session_fact
from ..domain.session import SessionState, new_session
from ..errors import HubError
from ..forums import Forum, Forums
from ..log import EventLog
from ..session import Session, Sessions
from . import documents as docs
from .base import IndexUnavailable, SearchIndex

log = logging.getLogger(__name__)

DEBOUNCE = 1.0  # seconds: captions of one burst are written together
RETRY = 5.0  # seconds before trying again when the index does not answer
UNKNOWN_FOR = 60.0  # seconds a session found in no event is not looked up again
PAGE = 1000
# Facts that change nothing searchable: presence, votes, notes, floor order, voice. (A
# ban is not one of them: it withdraws the banned person's open items.)
QUIET = frozenset({"identity", "vote", "note", "hub_status", "token", "rotate", "floor",
                   "voice", "flag"})


@dataclass(slots=True)
class Due:
    full: bool = False  # replace the whole set (else: add the new caption lines)
    load: bool = False  # load the session if this process does not hold it
    gone: bool = False  # the session was deleted (maybe by another instance): drop it


class Indexer:
    """Feeds the search index from the sessions and events this process holds."""

    def __init__(self, index: SearchIndex, sessions: Sessions, forums: Forums, *,
                 debounce: float = DEBOUNCE) -> None:
        self.index = index
        self.sessions = sessions
        self.forums = forums
        self.debounce = debounce
        self._due: dict[str, Due] = {}
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()  # one write at a time, and none after a deletion
        self._captions: dict[str, tuple[str, int]] = {}  # session -> (epoch, lines indexed)
        self._event_of: dict[str, str] = {}  # session -> event id, from the events loaded
        self._unknown: dict[str, float] = {}  # session -> when it was found in no event
        self._task: asyncio.Task[None] | None = None
        self.idle = asyncio.Event()  # set while nothing is due (tests and benches wait on it)
        self.idle.set()

    async def start(self) -> None:
        """Follow sessions and events as they load, and start the background task."""
        self.sessions.on_load.append(self._watch_session)
        self.sessions.on_delete.append(self.forget)
        self.forums.on_load.append(self._watch_forum)
        for session in self.sessions.held():
            self._watch_session(session)
        self._task = asyncio.create_task(self._run(), name="hub-search-indexer")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    # -- what is due -------------------------------------------------------------------

    def _watch_session(self, session: Session) -> None:
        session.watchers.append(lambda fact: self._session_fact(session.id, fact))
        session.on_gone.append(lambda: self.touch(session.id, gone=True))
        self.touch(session.id, full=True)  # facts folded while it loaded were not watched

    def _session_fact(self, session_id: str, fact: Fact) -> None:
        kind = fact["kind"]
        if kind in QUIET:
            return
        if kind == "caption":
            if fact.get("final"):
                self.touch(session_id)
            return
        self.touch(session_id, full=True)

    def _watch_forum(self, forum: Forum) -> None:
        for session_id in forum.state.sessions:
            self._event_of[session_id] = forum.id
        forum.watchers.append(lambda fact: self._forum_fact(forum, fact))

    def _forum_fact(self, forum: Forum, fact: ForumFact) -> None:
        kind = fact["kind"]
        if fact["kind"] == "report_published" or fact["kind"] == "report_withdrawn":
            session = fact["session"]
            if isinstance(session, str):
                self.touch(session, full=True, load=True)
        elif kind in ("programme", "forum_changed"):
            for session_id in forum.state.sessions:
                self._event_of[session_id] = forum.id
                self._unknown.pop(session_id, None)
                if self.sessions.held_one(session_id) is not None:
                    self.touch(session_id, full=True)

    def touch(self, session_id: str, *, full: bool = False, load: bool = False,
              gone: bool = False) -> None:
        """Mark a session due for indexing (cheap: called from the append path)."""
        due = self._due.setdefault(session_id, Due())
        due.full |= full
        due.load |= load
        due.gone |= gone
        self.idle.clear()
        self._wake.set()

    # -- doing it ----------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            if not self._due:
                self.idle.set()
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(self.debounce)
            due, self._due = self._due, {}
            for session_id, what in due.items():
                try:
                    async with self._lock:
                        await self._index(session_id, what)
                except IndexUnavailable as exc:
                    log.warning("search: indexing %s failed, retrying: %s", session_id, exc)
                    for again, later in due.items():
                        self.touch(again, full=later.full, load=later.load, gone=later.gone)
                    await asyncio.sleep(RETRY)
                    break
                except HubError as exc:  # the session is gone, storage unavailable
                    log.info("search: session %s not indexed: %s", session_id, exc.message)
                except Exception:
                    log.exception("search: indexing %s failed", session_id)

    async def refresh(self, session_id: str) -> bool:
        """Index one session now, whole (after an erasure: before the answer is sent).
        False when the index did not answer: then it is due, and retried in the background."""
        async with self._lock:
            self._due.pop(session_id, None)
            try:
                await self._index(session_id, Due(full=True, load=True))
                self.index.purge_later()
            except IndexUnavailable as exc:
                log.warning("search: re-indexing %s failed, will retry: %s", session_id, exc)
                self.touch(session_id, full=True, load=True)
                return False
        return True

    async def forget(self, session_id: str) -> None:
        """The session was deleted: its documents go (Sessions.on_delete)."""
        async with self._lock:
            self._due.pop(session_id, None)
            self._captions.pop(session_id, None)
            await self.index.delete(session_id)
            self.index.purge_later()

    async def _index(self, session_id: str, due: Due) -> None:
        if due.gone:
            self._captions.pop(session_id, None)
            await self.index.delete(session_id)
            self.index.purge_later()
            return
        session = (await self.sessions.get(session_id) if due.load
                   else self.sessions.held_one(session_id))
        if session is None:
            return
        if session.deleted:  # deleted on another instance: this one only noticed
            await self.index.delete(session_id)
            return
        state = session.state
        forum = await self._forum_of(session_id)
        entry = docs.public(state, forum)
        known = self._captions.get(session_id)
        if entry is None or forum is None:
            if due.full:  # it may have been public before (taken off the programme)
                await self.index.replace(session_id, [])
            return
        if due.full or known is None or known[0] != state.epoch:
            await self.index.replace(session_id, docs.documents(state, forum))
        else:
            await self.index.add(session_id,
                                 docs.caption_documents(state, forum, entry, known[1]))
        self._captions[session_id] = (state.epoch, len(state.captions))
        if session.deleted:  # it went while we wrote: take back what was written
            await self.index.delete(session_id)

    async def _forum_of(self, session_id: str) -> forum_domain.ForumState | None:
        forum_id = self._event_of.get(session_id)
        if forum_id is not None:
            forum = await self.forums.get(forum_id)
            if session_id in forum.state.sessions:
                return forum.state
        if time.monotonic() - self._unknown.get(session_id, -UNKNOWN_FOR) < UNKNOWN_FOR:
            return None
        found = await self.forums.of_session(session_id)  # loads events: they are watched
        if found is None:
            self._unknown[session_id] = time.monotonic()
            return None
        self._event_of[session_id] = found.id
        return found.state

    async def settled(self) -> None:
        """Wait until nothing is due (what was marked so far is in the index)."""
        while not self.idle.is_set() or self._due:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.05):
                    await self.idle.wait()


# -- rebuilding --------------------------------------------------------------------------


async def fold_session(event_log: EventLog, session_id: str) -> SessionState:
    """A session's state folded from its whole log (as `Session.load` does)."""
    state = new_session(session_id)
    after = 0
    while True:
        page = await event_log.batches(session_id, after, PAGE)
        for batch in page:
            apply(state, session_fact(batch.fact))
            state.offset, state.epoch = batch.offset, batch.epoch
        if len(page) < PAGE:
            return state
        after = page[-1].offset


async def fold_forum(event_log: EventLog, forum_id: str) -> forum_domain.ForumState:
    state = forum_domain.new_forum(forum_id)
    after = 0
    while True:
        page = await event_log.batches(forum_domain.log_id(forum_id), after, PAGE)
        for batch in page:
            forum_domain.apply(state, forum_fact(batch.fact))
        if len(page) < PAGE:
            return state
        after = page[-1].offset


async def rebuild(event_log: EventLog, index: SearchIndex) -> tuple[int, int]:
    """Index every session again from the event logs, and drop sessions no log holds any
    more (`hub reindex`); returns (sessions indexed, documents)."""
    keys = await event_log.sessions()
    forums = [await fold_forum(event_log, k.removeprefix(forum_domain.LOG_PREFIX))
              for k in keys if forum_domain.is_forum_log(k)]
    event_of = {s: forum for forum in forums for s in forum.sessions}
    sessions = [k for k in keys if not forum_domain.is_forum_log(k)]
    indexed = total = 0
    for session_id in sessions:
        state = await fold_session(event_log, session_id)
        found = docs.documents(state, event_of.get(session_id))
        await index.replace(session_id, found)
        indexed += bool(found)
        total += len(found)
    for gone in await index.sessions() - set(sessions):
        await index.delete(gone)
        index.purge_later()
    await index.settled()
    return indexed, total
