"""A session's digest: where it stands (scheduled, live, closed; when it closed; its title),
for the pages that list a whole event's sessions at once (the Secretariat's dashboard).

An event has ~300 sessions; holding each as a live `Session` (its whole folded state, a log
subscription, a background task) to list them would cost far more than the list. So a
digest is kept per session instead, cached with the log position it was folded up to
(offset and epoch): a request reads each session's head, and folds only the batches
appended since (none for a closed session, the usual case). A session this process holds
anyway is read from its state, with no I/O. A changed epoch (history rewritten by an
erasure, or lost) folds the log again from the start.

Only the facts that move these fields are folded, through the sessions' own `apply`, so a
digest says what the session's state says.

The event's participation figures need more of each session (who was counted, the floor,
the hubs' counts): `SessionDigests.states` keeps for them a fold of each session's whole
log, pruned of what no figure reads (caption lines, notes), and brought up to date the
same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from .domain.fact_kinds import apply
from .domain.facts import UnknownFact, session_fact
from .domain.session import SCHEDULED, SessionState, new_session
from .errors import UNAVAILABLE, HubError
from .log import Batch, EventLog, LogUnavailable
from .session import Sessions

PAGE = 1000
READS_AT_ONCE = 16  # heads and logs read concurrently for one request
_FOLDED = frozenset({"created", "session", "restored"})  # the facts that move a digest


@dataclass(frozen=True, slots=True)
class SessionDigest:
    """A session as an event-wide list needs it, and the log position it is folded to."""

    id: str
    title: str
    state: str
    closed_at: int | None  # when it last closed (ms); None while not closed
    offset: int = 0
    epoch: str = ""


def of_state(state: SessionState) -> SessionDigest:
    """The digest of a folded session state."""
    return SessionDigest(state.id, state.title, state.state, state.closed_at, state.offset,
                         state.epoch)


def fold(digest: SessionDigest, batch: Batch) -> SessionDigest:
    """`digest` with one more batch of its session's log folded in."""
    moved = replace(digest, offset=batch.offset, epoch=batch.epoch)
    if batch.fact["kind"] not in _FOLDED:  # a digest reads no other kind (nor a newer one)
        return moved
    fact = session_fact(batch.fact)
    if fact["kind"] == "session" and "ts" not in fact:
        fact = {**fact, "ts": batch.ts}  # a fact written before `session` facts had a time
    state = new_session(digest.id)
    state.title, state.state, state.closed_at = digest.title, digest.state, digest.closed_at
    apply(state, fact)
    return replace(moved, title=state.title, state=state.state, closed_at=state.closed_at)


def _blank(session_id: str) -> SessionDigest:
    return SessionDigest(session_id, "", SCHEDULED, None)


def fold_state(state: SessionState, batch: Batch) -> SessionState:
    """`state` (a figures fold) with one more batch applied, then pruned of what no figure
    reads (caption lines, notes, idempotency keys): 300 sessions' folds stay small."""
    fact = session_fact(batch.fact)
    if fact["kind"] == "session" and "ts" not in fact:
        fact = {**fact, "ts": batch.ts}
    apply(state, fact)
    state.offset, state.epoch = batch.offset, batch.epoch
    state.captions.clear()
    state.partial.clear()
    state.notes.clear()
    state.keys.clear()
    return state


T = TypeVar("T")


class _Follow(Generic[T]):
    """One kind of fold of many sessions' logs, each cached with its log position and
    brought up to date on request by folding only the batches appended since."""

    def __init__(self, event_log: EventLog, blank: Callable[[str], T],
                 step: Callable[[T, Batch], T], position: Callable[[T], tuple[int, str]]
                 ) -> None:
        self.log = event_log
        self.blank = blank
        self.step = step
        self.position = position
        self.cache: dict[str, T] = {}

    async def current(self, session_id: str) -> T | None:
        """The fold of the session's whole log as it stands (None: no such session)."""
        head = await self.log.head(session_id)
        if head is None:
            self.cache.pop(session_id, None)
            return None
        cached = self.cache.get(session_id)
        if cached is not None:
            offset, epoch = self.position(cached)
            if epoch == head.epoch and offset <= head.offset:
                return await self._fold_from(session_id, cached, head.offset)
        return await self._fold_from(session_id, self.blank(session_id), head.offset)

    async def _fold_from(self, session_id: str, folded: T, top: int) -> T | None:
        """`folded` with the batches after its offset applied, up to the head read (`top`)
        or beyond; a log rewritten meanwhile (its epoch changed) is folded from the start."""
        for _ in range(3):
            done = await self._read(session_id, folded, top)
            if done is not None:
                self.cache[session_id] = done
                return done
            folded = self.blank(session_id)
            head = await self.log.head(session_id)
            if head is None:
                self.cache.pop(session_id, None)
                return None
            top = head.offset
        raise LogUnavailable(f"session {session_id!r}: its log kept changing while it was read")

    async def _read(self, session_id: str, folded: T, top: int) -> T | None:
        """None when a batch of another epoch turns up (the history was rewritten)."""
        offset, epoch = self.position(folded)
        while offset < top:
            page = await self.log.batches(session_id, offset, PAGE)
            for batch in page:
                if epoch and batch.epoch != epoch:
                    return None
                folded = self.step(folded, batch)
                offset, epoch = batch.offset, batch.epoch
            if len(page) < PAGE:
                break
        return folded


class SessionDigests:
    """Every session's digest (and, for the figures, its pruned fold) this process has
    read, kept up to date on request."""

    def __init__(self, event_log: EventLog, sessions: Sessions) -> None:
        self.sessions = sessions
        self._digests: _Follow[SessionDigest] = _Follow(
            event_log, _blank, fold, lambda d: (d.offset, d.epoch))
        self._states: _Follow[SessionState] = _Follow(
            event_log, new_session, fold_state, lambda s: (s.offset, s.epoch))
        self._reads = asyncio.Semaphore(READS_AT_ONCE)
        self._locks: dict[str, asyncio.Lock] = {}  # a figures fold is changed in place

    async def of(self, session_ids: Iterable[str]) -> dict[str, SessionDigest | None]:
        """The current digest of each session (None: no such session in the log)."""
        return await self._each(session_ids, self.one)

    async def states(self, session_ids: Iterable[str]) -> dict[str, SessionState | None]:
        """Each session's state as the figures read it (None: no such session in the log):
        a held session's own state, else a fold of its log without caption lines or notes,
        kept and brought up to date. Read-only: never change what this returns."""
        return await self._each(session_ids, self.state)

    async def _each(self, session_ids: Iterable[str],
                    one: Callable[[str], Awaitable[T | None]]) -> dict[str, T | None]:
        ids = list(dict.fromkeys(session_ids))
        try:
            found = await asyncio.gather(*(one(i) for i in ids))
        except LogUnavailable as exc:
            raise HubError(UNAVAILABLE, f"storage is unavailable: {exc}") from exc
        except UnknownFact as exc:  # a newer hub wrote to one of them
            raise HubError(UNAVAILABLE, f"this instance cannot read a session: {exc}") from exc
        return dict(zip(ids, found, strict=True))

    def _held(self, session_id: str) -> SessionState | None:
        held = self.sessions.held_one(session_id)
        if held is not None and not held.deleted and held.state.offset:
            return held.state
        return None

    async def one(self, session_id: str) -> SessionDigest | None:
        """One session's current digest: from its held state, or its log beyond the cache."""
        held = self._held(session_id)
        if held is not None:
            digest = of_state(held)
            self._digests.cache[session_id] = digest
            return digest
        async with self._reads:
            return await self._digests.current(session_id)

    async def state(self, session_id: str) -> SessionState | None:
        """One session's state for the figures (see `states`)."""
        held = self._held(session_id)
        if held is not None:
            self._states.cache.pop(session_id, None)  # held: its own state is current
            return held
        lock = self._locks.setdefault(session_id, asyncio.Lock())
        async with lock, self._reads:
            state = await self._states.current(session_id)
        if state is not None:
            self._digests.cache[session_id] = of_state(state)
        return state

    def forget(self, session_id: str) -> None:
        self._digests.cache.pop(session_id, None)
        self._states.cache.pop(session_id, None)
