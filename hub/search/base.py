"""The search index interface every backend implements, and what a search returns.

A backend stores `Document`s (hub/search/documents.py) by session and answers parsed
queries (hub/search/query.py): it never sees a user's raw text, only words.

Guarantees every backend gives (tests/server/test_search_contract.py checks them on each):
- `replace` makes the given documents the session's whole set in one transaction: after
  it, no document of an earlier indexing is left and none is there twice; readers see the
  old set or the new one, never a mix. Indexing the same content again changes nothing.
- `add` stores documents of a session, replacing any with the same key (idempotent).
- `delete` removes every document of a session (the session was deleted); afterwards no
  search finds any of them.
- `search` finds the documents where every clause matches (words stemmed where the engine
  stems that language, a phrase in order, a prefix), filtered by `Filters`, ranked best
  first, `per_page` at a time; `total` and the facet counts cover every match, not one page.
  Unknown filter values simply match nothing. It never fails on a query `parse` accepted.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field

from .documents import Document
from .query import Query

FACETS = ("event", "track", "type", "kind", "lang", "year")
PER_PAGE = 20
MAX_PAGE = 50  # deeper than 1,000 results, people refine the query instead


class IndexUnavailable(Exception):
    """The index's store does not answer (PostgreSQL down, the disk full)."""


@dataclass(frozen=True, slots=True)
class Filters:
    """What a search is narrowed to; None: any."""

    event: str | None = None
    lang: str | None = None
    kind: str | None = None
    track: str | None = None
    type: str | None = None
    year: int | None = None
    start: str | None = None  # first day, YYYY-MM-DD, inclusive (the session's day)
    end: str | None = None  # last day, inclusive


@dataclass(frozen=True, slots=True)
class Results:
    total: int
    documents: list[Document]  # this page, best first
    facets: dict[str, dict[str, int]] = field(default_factory=dict)  # facet -> value -> count


class SearchIndex(abc.ABC):
    """Stored documents of public content and searches over them. One per process."""

    kind: str = "abstract"

    @abc.abstractmethod
    async def start(self) -> None:
        """Open the store and make its tables; called once before any other method."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release everything; the index is unusable afterwards."""

    @abc.abstractmethod
    async def replace(self, session: str, documents: Sequence[Document]) -> None:
        """Make `documents` the session's whole set, atomically (empty: none left)."""

    @abc.abstractmethod
    async def add(self, session: str, documents: Sequence[Document]) -> None:
        """Store documents of `session`, each replacing the one with its key, if any."""

    @abc.abstractmethod
    async def delete(self, session: str) -> None:
        """Remove every document of `session`."""

    @abc.abstractmethod
    async def search(self, query: Query, filters: Filters, page: int = 1,
                     per_page: int = PER_PAGE) -> Results:
        """Documents matching `query` and `filters`, ranked; page 1 is the first."""

    def purge_later(self) -> None:
        """Removed text was a person's or a deleted session's: make it unrecoverable from
        the store's files too, in the background (see each backend)."""
        return None

    async def settled(self) -> None:
        """Wait until a purge asked for is done."""
        return None

    @abc.abstractmethod
    async def sessions(self) -> set[str]:
        """Every session with documents in the index."""

    @abc.abstractmethod
    async def count(self, session: str | None = None) -> int:
        """How many documents the index holds (of one session)."""


def check_documents(session: str, documents: Sequence[Document]) -> None:
    """Refuse (ValueError) documents of another session or twice the same key."""
    keys: set[str] = set()
    for doc in documents:
        if doc.session != session:
            raise ValueError(f"a document of {doc.session!r} given for {session!r}")
        if doc.key in keys:
            raise ValueError(f"document key {doc.key!r} given twice for {session!r}")
        keys.add(doc.key)


def count_facets(rows: Sequence[tuple[object, ...]]) -> dict[str, dict[str, int]]:
    """Facet counts from rows of (event, track, type, kind, lang, year, count), grouped."""
    out: dict[str, dict[str, int]] = {name: {} for name in FACETS}
    for row in rows:
        *values, number = row
        for name, value in zip(FACETS, values, strict=True):
            if value is None or value == "":
                continue
            bucket = out[name]
            bucket[str(value)] = bucket.get(str(value), 0) + int(number)  # type: ignore[call-overload]
    return {name: dict(sorted(bucket.items(), key=lambda kv: (-kv[1], kv[0])))
            for name, bucket in out.items()}
