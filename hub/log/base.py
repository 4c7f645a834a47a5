"""The event log interface every backend implements, and the batch it stores.

A session's history is a sequence of batches, numbered 1, 2, 3... without gaps
(the state log). Each batch holds one fact (what changed, folded into the
session's state) and the events that fact put on the client channels, each
with its channel offset and its wire frame, encoded once when the batch was
made. Backends store batches whole and index the frames by channel, so a
client resume reads "frames of channel C after offset N".

A log's id is a session id, or `forum.<id>` for an event's log (hub/forums.py: facts
only, no channel events, never archived).

Guarantees every backend gives (tests/server/test_log_contract.py checks them):
- `append` is atomic: the batch and all its frames are stored, or none is.
- `append` refuses (LogConflict) a batch whose offset is not head + 1 or whose
  epoch is not the session's: two writers cannot both extend the same head.
- frames of a channel are returned in offset order, gap-free from where the
  backend still holds them.
- listeners get every appended batch at most once each, in any instance;
  they may miss some (Redis pub/sub is a doorbell), so readers compare the
  batch offset with their cursor and fill holes with `batches`.
- `shared` says whether other instances (processes) may append to the same
  logs: True for Redis, False for the embedded SQLite file, which one process
  owns. What only matters across instances (sharing presence counts) is done
  only on a shared log.
"""

from __future__ import annotations

import abc
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson


def new_epoch_id() -> str:
    """A fresh epoch: history starts again (a new session, or its log went backwards)."""
    return secrets.token_urlsafe(6)


class LogConflict(Exception):
    """The session's head moved (another writer appended first), or the epoch changed."""

    def __init__(self, head: Head | None) -> None:
        super().__init__(f"log head is now {head}")
        self.head = head


class LogUnavailable(Exception):
    """The backend does not answer; the write may be retried with the same idempotency key."""


@dataclass(frozen=True, slots=True)
class ChannelEvent:
    """One event on one channel: its channel key, gap-free offset and encoded wire frame."""

    channel: str
    offset: int
    frame: bytes
    kind: str | None = None  # the event kind, for readers that skip some (low bandwidth)


@dataclass(frozen=True, slots=True)
class Head:
    """Where a session's log stands: the last batch offset and the epoch in force."""

    offset: int
    epoch: str


@dataclass(frozen=True, slots=True)
class Batch:
    """One entry of a session's state log."""

    session: str
    offset: int
    epoch: str
    ts: int
    fact: Mapping[str, Any]  # a session's or an event's fact (hub.domain.facts), as JSON
    events: tuple[ChannelEvent, ...]

    def encode(self) -> bytes:
        """The batch as stored and published: JSON with the frames as strings."""
        return orjson.dumps(
            {
                "s": self.session,
                "o": self.offset,
                "e": self.epoch,
                "ts": self.ts,
                "f": self.fact,
                "ev": [[ev.channel, ev.offset, ev.frame.decode(), ev.kind] for ev in self.events],
            }
        )

    @classmethod
    def decode(cls, raw: bytes | str) -> Batch:
        body = orjson.loads(raw)
        return cls(
            session=body["s"],
            offset=body["o"],
            epoch=body["e"],
            ts=body["ts"],
            fact=body["f"],
            events=tuple(
                ChannelEvent(ev[0], ev[1], ev[2].encode(), ev[3] if len(ev) > 3 else None)
                for ev in body["ev"]
            ),
        )


Listener = Callable[[Batch], None]
ResyncHook = Callable[[], None]


class EventLog(abc.ABC):
    """Storage and fan-out of session histories. One instance per process."""

    #: A short name for logs and metrics.
    kind: str = "abstract"
    #: Called (in the event loop) after the live feed was lost and is back, so that
    #: readers fill the hole from `batches`; set by the server.
    resync_hook: ResyncHook | None = None

    @property
    @abc.abstractmethod
    def shared(self) -> bool:
        """Whether other instances may append to the same logs (see the guarantees above)."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Open connections and files; called once before any other method."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Flush and release everything; the log is unusable afterwards."""

    @abc.abstractmethod
    async def ping(self) -> bool:
        """True when the backend answers now (readiness)."""

    @abc.abstractmethod
    async def create(self, batch: Batch) -> bool:
        """Start a new session's log with `batch` (offset 1); False when the id is taken."""

    @abc.abstractmethod
    async def append(self, batch: Batch) -> None:
        """Store `batch` as the session's next entry and announce it to listeners.

        Raises LogConflict when `batch.offset` is not head + 1 or the epoch differs,
        LogUnavailable when the backend cannot be reached (nothing was stored, or the
        caller cannot know: it retries with the same idempotency key).
        """

    @abc.abstractmethod
    async def head(self, session: str) -> Head | None:
        """The session's head, or None when there is no such session."""

    @abc.abstractmethod
    async def batches(self, session: str, after: int, limit: int = 1000) -> list[Batch]:
        """Up to `limit` batches with offset > `after`, in order."""

    @abc.abstractmethod
    async def frames(
        self, session: str, channel: str, after: int, limit: int = 1000
    ) -> list[tuple[int, bytes]]:
        """Up to `limit` (offset, frame) of `channel` with offset > `after`, in order."""

    @abc.abstractmethod
    async def new_epoch(self, session: str, old: str) -> str:
        """Replace epoch `old` by a fresh one (history went backwards); returns the one in force."""

    @abc.abstractmethod
    def listen(self, session: str, listener: Listener) -> None:
        """Call `listener` with batches appended to `session` from now on, by any instance."""

    @abc.abstractmethod
    def unlisten(self, session: str, listener: Listener) -> None:
        """Stop calling `listener`."""

    @abc.abstractmethod
    async def wait_subscribed(self) -> None:
        """Return once every `listen` so far is live (batches appended from now on arrive)."""

    @abc.abstractmethod
    async def archive(self, session: str) -> bool:
        """Keep a closed session's whole log in the durable store and free what the live
        store holds of it; reads go on answering from the archive. True when done."""

    @abc.abstractmethod
    async def presence(self, session: str, local: dict[str, int]) -> dict[str, int]:
        """Record this instance's presence counts for `session`; return every instance's sum."""

    @abc.abstractmethod
    async def delete(self, session: str) -> bool:
        """Remove everything stored of `session` (its log, frames, archive); True if it was."""

    @abc.abstractmethod
    async def rewrite(self, session: str, expect: Head, batches: list[Batch]) -> None:
        """Replace the session's whole history (batches, frames, archive) by `batches`,
        atomically, when its head is still `expect`; else LogConflict and nothing changed.

        `batches` are offsets 1..n under one epoch other than `expect.epoch`: every reader
        then sees the epoch change and starts again from a fresh snapshot. The last batch
        is announced to listeners, so that other instances notice at once. This is how a
        person's data is erased from a session that is kept (hub.domain.erasure); the old
        entries are gone from the store once it returns (see each backend for the files).
        """

    async def settled(self) -> None:
        """Wait until background work that finishes an erasure (a VACUUM) is done."""
        return None  # most backends finish an erasure before `delete`/`rewrite` return

    @abc.abstractmethod
    async def was_deleted(self, session: str) -> bool:
        """Whether `session` is missing because it was deleted (and not because the store
        lost data, after which a session's holders put it back)."""

    @abc.abstractmethod
    async def sessions(self) -> list[str]:
        """Every session id the log holds."""

    @abc.abstractmethod
    async def meta(self, key: str, default: str) -> str:
        """The stored value of `key`, storing `default` first when there is none (atomically)."""


def check_rewrite(session: str, expect: Head, batches: list[Batch]) -> None:
    """Refuse (ValueError) a history that `EventLog.rewrite` must not store."""
    if not batches:
        raise ValueError("rewrite needs at least one batch: use delete() to remove a session")
    epoch = batches[0].epoch
    if epoch == expect.epoch:
        raise ValueError("a rewritten history needs a new epoch, so that readers start again")
    for number, batch in enumerate(batches, start=1):
        if batch.session != session or batch.offset != number or batch.epoch != epoch:
            raise ValueError(
                f"rewrite takes batches of {session!r} numbered 1..n under one epoch; "
                f"got {batch.session!r}#{batch.offset} epoch {batch.epoch!r} at {number}"
            )
