"""A session's digest: where it stands (scheduled, live, closed; when it closed; its title),
for the pages that list a whole event's sessions at once (the Secretariat's dashboard).

An event has ~300 sessions; holding each as a live `Session` (its whole folded state, a log
subscription, a background task) to list them would cost far more than the list. So a
digest is kept per session instead, cached with the log position it was folded up to
(offset and epoch): a request reads each session's head, and folds only the batches
appended since (none for a closed session, the usual case). A session this process holds
anyway is read from its state, with no I/O. A changed epoch (history rewritten by an
erasure, or lost) folds the log again from the start.

Only the facts that move these fields are folded, through the session's own `apply`, so a
digest says what the session's state says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, replace

from .domain.session import SCHEDULED, SessionState, new_session
from .domain.session import apply as apply_fact
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
    fact = batch.fact
    if fact["kind"] not in _FOLDED:
        return moved
    if fact["kind"] == "session" and "ts" not in fact:
        fact = {**fact, "ts": batch.ts}  # a fact written before `session` facts had a time
    state = new_session(digest.id)
    state.title, state.state, state.closed_at = digest.title, digest.state, digest.closed_at
    apply_fact(state, fact)
    return replace(moved, title=state.title, state=state.state, closed_at=state.closed_at)


def _blank(session_id: str) -> SessionDigest:
    return SessionDigest(session_id, "", SCHEDULED, None)


class SessionDigests:
    """Every session's digest this process has read, kept up to date on request."""

    def __init__(self, event_log: EventLog, sessions: Sessions) -> None:
        self.log = event_log
        self.sessions = sessions
        self._cache: dict[str, SessionDigest] = {}
        self._reads = asyncio.Semaphore(READS_AT_ONCE)

    async def of(self, session_ids: Iterable[str]) -> dict[str, SessionDigest | None]:
        """The current digest of each session (None: no such session in the log)."""
        ids = list(dict.fromkeys(session_ids))
        try:
            found = await asyncio.gather(*(self.one(i) for i in ids))
        except LogUnavailable as exc:
            raise HubError(UNAVAILABLE, f"storage is unavailable: {exc}") from exc
        return dict(zip(ids, found, strict=True))

    async def one(self, session_id: str) -> SessionDigest | None:
        """One session's current digest: from its held state, or its log beyond the cache."""
        held = self.sessions.held_one(session_id)
        if held is not None and not held.deleted and held.state.offset:
            digest = of_state(held.state)
            self._cache[session_id] = digest
            return digest
        async with self._reads:
            head = await self.log.head(session_id)
            if head is None:
                self._cache.pop(session_id, None)
                return None
            cached = self._cache.get(session_id)
            if cached is not None and cached.epoch == head.epoch:
                if cached.offset == head.offset:
                    return cached
                if cached.offset < head.offset:
                    return await self._fold_from(cached, head.offset)
            return await self._fold_from(_blank(session_id), head.offset)

    async def _fold_from(self, digest: SessionDigest, top: int) -> SessionDigest | None:
        """`digest` with the batches after its offset folded in, up to the head read (`top`)
        or beyond; a log rewritten meanwhile (its epoch changed) is folded from the start."""
        for _ in range(3):
            folded = await self._read(digest, top)
            if folded is not None:
                self._cache[folded.id] = folded
                return folded
            digest = _blank(digest.id)
            head = await self.log.head(digest.id)
            if head is None:
                self._cache.pop(digest.id, None)
                return None
            top = head.offset
        raise LogUnavailable(f"session {digest.id!r}: its log kept changing while it was read")

    async def _read(self, digest: SessionDigest, top: int) -> SessionDigest | None:
        """None when a batch of another epoch turns up (the history was rewritten)."""
        epoch = digest.epoch
        while digest.offset < top:
            page = await self.log.batches(digest.id, digest.offset, PAGE)
            for batch in page:
                if epoch and batch.epoch != epoch:
                    return None
                digest = fold(digest, batch)
                epoch = batch.epoch
            if len(page) < PAGE:
                break
        return digest

    def forget(self, session_id: str) -> None:
        self._cache.pop(session_id, None)

