"""The embedded search index: SQLite FTS5 in its own file in the data folder.

`make run` searches with no set-up. Documents live in `docs`; their words are indexed by
two FTS5 tables over it (external content, so each text is stored once): English with
the Porter stemmer, every other language with `unicode61 remove_diacritics 2` (no stemmer
of theirs ships with SQLite). Chinese is indexed as character bigrams and Arabic folded
(hub/search/text.py), the same for both tables. Work runs in threads (sqlite3 lets go of
the GIL while SQLite works), so a search or a large re-index never holds up the event loop
and caption delivery; one writer connection, a few readers (WAL: they never wait on it).
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ..datadir import create_private
from .base import Filters, IndexUnavailable, Results, SearchIndex, check_documents, count_facets
from .documents import Document
from .query import Query
from .text import indexable

log = logging.getLogger(__name__)

FILENAME = "search.sqlite"
READERS = 4
T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS combos (
    id INTEGER PRIMARY KEY,
    event TEXT NOT NULL, track TEXT NOT NULL, type TEXT NOT NULL, kind TEXT NOT NULL,
    lang TEXT NOT NULL, day TEXT NOT NULL, year INTEGER NOT NULL,
    UNIQUE (event, track, type, kind, lang, day)
);
CREATE TABLE IF NOT EXISTS docs (
    id INTEGER PRIMARY KEY,
    session TEXT NOT NULL, key TEXT NOT NULL, title TEXT NOT NULL, ts INTEGER NOT NULL,
    url TEXT NOT NULL, text TEXT NOT NULL, body TEXT NOT NULL, stemmed INTEGER NOT NULL,
    UNIQUE (session, key)
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS fts_en USING fts5(
    body, content='docs', content_rowid='id',
    tokenize='porter unicode61 remove_diacritics 2', prefix='2 3');
CREATE VIRTUAL TABLE IF NOT EXISTS fts_any USING fts5(
    body, content='docs', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2', prefix='2 3');
"""
# A document's rowid is its facet combination's id shifted left, plus a running number: a
# search counts facets and applies filters from the rowids FTS5 returns, without reading
# one document (reading them made common words cost 5 µs a match; see docs/performance.md).
SHIFT = 40
Combo = tuple[str, str, str, str, str, str]  # event, track, type, kind, lang, day
COMBO_FIELDS = ("event", "track", "type", "kind", "lang", "day")


def stemmed(lang: str) -> bool:
    """Whether documents in `lang` go to the Porter-stemmed table (English)."""
    return lang.lower().split("-")[0] == "en"


def match_expression(query: Query) -> str:
    """The FTS5 MATCH text of a parsed query: each clause a quoted phrase (a prefix: `*`).
    Words hold letters and digits only; quotes are doubled anyway, as FTS5 wants."""
    parts = []
    for clause in query.clauses:
        phrase = '"' + " ".join(w.replace('"', '""') for w in clause.words) + '"'
        parts.append(phrase + (" *" if clause.prefix else ""))
    return " AND ".join(parts)


def combo_of(doc: Document) -> Combo:
    return (doc.event, doc.track, doc.type, doc.kind, doc.lang, doc.day)


class SqliteIndex(SearchIndex):
    kind = "sqlite"

    def __init__(self, data_dir: str, filename: str = FILENAME) -> None:
        self.path = os.path.join(data_dir, filename)
        self._writer: sqlite3.Connection | None = None
        self._write_lock = threading.Lock()
        self._readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._all: list[sqlite3.Connection] = []
        self._combos: dict[Combo, int] = {}  # every combination, and its id
        self._by_id: dict[int, Combo] = {}
        self._combo_lock = threading.Lock()
        self._next = 0  # the running number of the next document (meta 'next')
        self._purge: asyncio.Task[None] | None = None
        self._purge_again = False

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                               timeout=30)
        conn.execute("PRAGMA busy_timeout = 30000")
        self._all.append(conn)
        return conn

    async def start(self) -> None:
        def open_() -> None:
            os.makedirs(os.path.dirname(self.path) or ".", mode=0o700, exist_ok=True)
            create_private(self.path)  # 0600; SQLite gives -wal and -shm the same mode
            writer = self._connect()
            writer.execute("PRAGMA journal_mode = WAL")
            writer.execute("PRAGMA synchronous = NORMAL")
            writer.execute("PRAGMA secure_delete = ON")  # freed pages are zeroed
            writer.executescript(SCHEMA)
            self._writer = writer
            for row in writer.execute(f"SELECT id, {', '.join(COMBO_FIELDS)} FROM combos"):
                self._remember(int(row[0]), tuple(row[1:]))
            writer.execute(f"INSERT OR IGNORE INTO meta VALUES ('next', (SELECT "
                           f"coalesce(max(id & {(1 << SHIFT) - 1}), 0) + 1 FROM docs))")
            for _ in range(READERS):
                self._readers.put(self._connect())

        await self._run(open_)

    def purge_later(self) -> None:
        """FTS5 keeps a deleted row's words in its segments until they are merged: merge
        them all ('optimize'; secure_delete zeroes the pages freed) and empty the WAL,
        in the background, one purge at a time (one more if asked meanwhile)."""
        if self._purge is not None and not self._purge.done():
            self._purge_again = True
            return

        async def purge() -> None:
            while True:
                self._purge_again = False
                try:
                    await self._run(lambda: self._write(_optimize))
                    await self._run(self._truncate_wal)
                except IndexUnavailable as exc:
                    log.warning("search index: purge after a deletion failed: %s", exc)
                if not self._purge_again:
                    return

        self._purge = asyncio.create_task(purge(), name="hub-search-purge")

    def _truncate_wal(self) -> None:
        with self._write_lock:
            if self._writer is not None:
                self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def settled(self) -> None:
        while self._purge is not None and not self._purge.done():
            await asyncio.gather(self._purge, return_exceptions=True)

    def _remember(self, combo_id: int, combo: Combo) -> None:
        with self._combo_lock:  # the writer and the readers' threads
            self._combos[combo] = combo_id
            self._by_id[combo_id] = combo

    async def close(self) -> None:
        await self.settled()

        def close_() -> None:
            for conn in self._all:
                conn.close()
            self._all.clear()

        await asyncio.to_thread(close_)

    async def _run(self, work: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(work)
        except sqlite3.OperationalError as exc:
            raise IndexUnavailable(f"search index {self.path}: {exc}") from exc

    def _write(self, work: Callable[[sqlite3.Connection], None]) -> None:
        with self._write_lock:
            conn = self._writer
            if conn is None:
                raise IndexUnavailable("the search index is not open")
            known = dict(self._combos)
            conn.execute("BEGIN IMMEDIATE")  # another process (`hub reindex`) waits, or us
            try:
                # The running number is the file's, not this process's: read it under the
                # write lock, store it back in the same transaction.
                (self._next,) = conn.execute(
                    "SELECT value FROM meta WHERE name = 'next'").fetchone()
                work(conn)
                conn.execute("UPDATE meta SET value = ? WHERE name = 'next'", (self._next,))
            except BaseException:
                conn.execute("ROLLBACK")
                with self._combo_lock:  # combinations inserted in it are gone again
                    self._combos = known
                    self._by_id = {v: k for k, v in known.items()}
                raise
            conn.execute("COMMIT")

    def _read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._readers.get()
        try:
            return work(conn)
        finally:
            self._readers.put(conn)

    async def replace(self, session: str, documents: Sequence[Document]) -> None:
        check_documents(session, documents)

        def work(conn: sqlite3.Connection) -> None:
            _unindex(conn, "session = ?", (session,))
            conn.execute("DELETE FROM docs WHERE session = ?", (session,))
            self._insert(conn, documents)

        await self._run(lambda: self._write(work))

    async def add(self, session: str, documents: Sequence[Document]) -> None:
        check_documents(session, documents)

        def work(conn: sqlite3.Connection) -> None:
            for doc in documents:
                _unindex(conn, "session = ? AND key = ?", (session, doc.key))
                conn.execute("DELETE FROM docs WHERE session = ? AND key = ?",
                             (session, doc.key))
            self._insert(conn, documents)

        await self._run(lambda: self._write(work))

    def _insert(self, conn: sqlite3.Connection, documents: Sequence[Document]) -> None:
        for doc in documents:
            combo = combo_of(doc)
            combo_id = self._combos.get(combo)
            if combo_id is None:  # new here; maybe written by another process already
                conn.execute(f"INSERT OR IGNORE INTO combos ({', '.join(COMBO_FIELDS)}, year) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)", (*combo, doc.year))
                (combo_id,) = conn.execute(
                    f"SELECT id FROM combos WHERE {' AND '.join(f'{f} = ?' for f in COMBO_FIELDS)}",
                    combo).fetchone()
                self._remember(combo_id, combo)
            rowid = (combo_id << SHIFT) | self._next
            self._next += 1
            body = indexable(doc.text)
            english = stemmed(doc.lang)
            conn.execute(
                "INSERT INTO docs (id, session, key, title, ts, url, text, body, stemmed) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (rowid, doc.session, doc.key, doc.title, doc.ts, doc.url, doc.text, body,
                 int(english)))
            table = "fts_en" if english else "fts_any"
            conn.execute(f"INSERT INTO {table}(rowid, body) VALUES (?, ?)", (rowid, body))

    async def delete(self, session: str) -> None:
        def work(conn: sqlite3.Connection) -> None:
            _unindex(conn, "session = ?", (session,))
            conn.execute("DELETE FROM docs WHERE session = ?", (session,))

        await self._run(lambda: self._write(work))

    def _allowed(self, filters: Filters) -> list[int] | None:
        """The ids of the combinations `filters` lets through (None: every one)."""
        wanted = {name: getattr(filters, name) for name in COMBO_FIELDS[:-1]
                  if getattr(filters, name) is not None}
        if not wanted and filters.year is None and filters.start is None \
                and filters.end is None:
            return None
        out = []
        with self._combo_lock:
            known = list(self._combos.items())
        for combo, combo_id in known:
            fields = dict(zip(COMBO_FIELDS, combo, strict=True))
            day = fields["day"]
            if any(fields[name] != value for name, value in wanted.items()):
                continue
            if filters.year is not None and day[:4] != f"{filters.year:04d}":
                continue
            if (filters.start is not None and day < filters.start) or (
                    filters.end is not None and day > filters.end):
                continue
            out.append(combo_id)
        return out

    async def search(self, query: Query, filters: Filters, page: int = 1,
                     per_page: int = 20) -> Results:
        match = match_expression(query)
        tables = _tables(filters.lang)

        def work(conn: sqlite3.Connection) -> tuple[list[Any], list[Any], list[Any]]:
            self._refresh_combos(conn)
            allowed = self._allowed(filters)
            if allowed == []:
                return [], [], []
            within = "" if allowed is None else (
                f" AND (rowid >> {SHIFT}) IN ({', '.join(map(str, allowed))})")
            counts: list[Any] = []
            for table in tables:
                counts += conn.execute(
                    f"SELECT rowid >> {SHIFT}, count(*) FROM {table} WHERE {table} MATCH ?"
                    f"{within} GROUP BY 1", (match,)).fetchall()
            hits = " UNION ALL ".join(
                f"SELECT rowid AS id, bm25({t}) AS score FROM {t} WHERE {t} MATCH ?{within}"
                for t in tables)
            ranked = conn.execute(
                f"SELECT id FROM ({hits}) ORDER BY score, id DESC LIMIT ? OFFSET ?",
                (*[match] * len(tables), per_page, (page - 1) * per_page)).fetchall()
            ids = [row[0] for row in ranked]
            rows = conn.execute(
                f"SELECT id, session, key, title, ts, url, text FROM docs WHERE id IN "
                f"({', '.join('?' * len(ids))})", ids).fetchall() if ids else []
            return counts, ids, rows

        counts, ids, rows = await self._run(lambda: self._read(work))
        by_id = {row[0]: row for row in rows}
        facet_rows: list[tuple[object, ...]] = []
        for combo_id, number in counts:
            event, track, type_, kind, lang, day = self._combo(combo_id)
            facet_rows.append((event, track, type_, kind, lang, int(day[:4]), number))
        found = [self._document(by_id[i]) for i in ids if i in by_id]
        return Results(sum(n for _, n in counts), found, count_facets(facet_rows))

    def _combo(self, combo_id: int) -> Combo:
        return self._by_id.get(combo_id) or ("", "", "", "", "", "0000")

    def _refresh_combos(self, conn: sqlite3.Connection) -> None:
        """Learn combinations another process wrote (`hub reindex` while this one ran)."""
        (stored,) = conn.execute("SELECT count(*) FROM combos").fetchone()
        if stored != len(self._by_id):
            for row in conn.execute(f"SELECT id, {', '.join(COMBO_FIELDS)} FROM combos"):
                self._remember(int(row[0]), tuple(row[1:]))

    def _document(self, row: Sequence[Any]) -> Document:
        event, track, type_, kind, lang, day = self._combo(int(row[0]) >> SHIFT)
        return Document(session=row[1], key=row[2], kind=kind, text=row[6], lang=lang,
                        event=event, title=row[3], track=track, type=type_, day=day,
                        ts=row[4], url=row[5])

    async def sessions(self) -> set[str]:
        rows = await self._run(lambda: self._read(
            lambda conn: conn.execute("SELECT DISTINCT session FROM docs").fetchall()))
        return {row[0] for row in rows}

    async def count(self, session: str | None = None) -> int:
        sql, params = ("SELECT count(*) FROM docs", ()) if session is None else (
            "SELECT count(*) FROM docs WHERE session = ?", (session,))
        row = await self._run(lambda: self._read(
            lambda conn: conn.execute(sql, params).fetchone()))
        return int(row[0])


def _tables(lang: str | None) -> list[str]:
    if lang is None:
        return ["fts_en", "fts_any"]
    return ["fts_en"] if stemmed(lang) else ["fts_any"]


def _optimize(conn: sqlite3.Connection) -> None:
    for table in ("fts_en", "fts_any"):
        conn.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")


def _unindex(conn: sqlite3.Connection, where: str, params: tuple[str, ...]) -> None:
    """Take rows out of the FTS tables (external content: they need the old text)."""
    for table, flag in (("fts_en", 1), ("fts_any", 0)):
        conn.execute(f"INSERT INTO {table}({table}, rowid, body) SELECT 'delete', id, body "
                     f"FROM docs WHERE {where} AND stemmed = {flag}", params)
