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

FILENAME = "search.sqlite"
READERS = 4
T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    id INTEGER PRIMARY KEY,
    session TEXT NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL, lang TEXT NOT NULL,
    event TEXT NOT NULL, title TEXT NOT NULL, track TEXT NOT NULL, type TEXT NOT NULL,
    day TEXT NOT NULL, year INTEGER NOT NULL, ts INTEGER NOT NULL, url TEXT NOT NULL,
    text TEXT NOT NULL, body TEXT NOT NULL, stemmed INTEGER NOT NULL,
    UNIQUE (session, key)
);
CREATE VIRTUAL TABLE IF NOT EXISTS fts_en USING fts5(
    body, content='docs', content_rowid='id',
    tokenize='porter unicode61 remove_diacritics 2', prefix='2 3');
CREATE VIRTUAL TABLE IF NOT EXISTS fts_any USING fts5(
    body, content='docs', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2', prefix='2 3');
"""
COLUMNS = "d.session, d.key, d.kind, d.text, d.lang, d.event, d.title, d.track, d.type, " \
          "d.day, d.ts, d.url"


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


class SqliteIndex(SearchIndex):
    kind = "sqlite"

    def __init__(self, data_dir: str, filename: str = FILENAME) -> None:
        self.path = os.path.join(data_dir, filename)
        self._writer: sqlite3.Connection | None = None
        self._write_lock = threading.Lock()
        self._readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._all: list[sqlite3.Connection] = []

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
            writer.executescript(SCHEMA)
            self._writer = writer
            for _ in range(READERS):
                self._readers.put(self._connect())

        await self._run(open_)

    async def close(self) -> None:
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
            conn.execute("BEGIN IMMEDIATE")
            try:
                work(conn)
            except BaseException:
                conn.execute("ROLLBACK")
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
            _insert(conn, documents)

        await self._run(lambda: self._write(work))

    async def add(self, session: str, documents: Sequence[Document]) -> None:
        check_documents(session, documents)

        def work(conn: sqlite3.Connection) -> None:
            for doc in documents:
                _unindex(conn, "session = ? AND key = ?", (session, doc.key))
                conn.execute("DELETE FROM docs WHERE session = ? AND key = ?",
                             (session, doc.key))
            _insert(conn, documents)

        await self._run(lambda: self._write(work))

    async def delete(self, session: str) -> None:
        def work(conn: sqlite3.Connection) -> None:
            _unindex(conn, "session = ?", (session,))
            conn.execute("DELETE FROM docs WHERE session = ?", (session,))

        await self._run(lambda: self._write(work))

    async def search(self, query: Query, filters: Filters, page: int = 1,
                     per_page: int = 20) -> Results:
        match = match_expression(query)
        tables = _tables(filters.lang)
        hits = " UNION ALL ".join(
            f"SELECT rowid AS id, bm25({t}) AS score FROM {t} WHERE {t} MATCH ?" for t in tables)
        where, params = _where(filters)
        matches = [match] * len(tables)

        def work(conn: sqlite3.Connection) -> Results:
            facets = conn.execute(
                f"WITH hits AS ({hits}) SELECT d.event, d.track, d.type, d.kind, d.lang, "
                f"d.year, count(*) FROM hits h JOIN docs d ON d.id = h.id WHERE {where} "
                "GROUP BY 1, 2, 3, 4, 5, 6", (*matches, *params)).fetchall()
            total = sum(row[-1] for row in facets)
            rows = conn.execute(
                f"WITH hits AS ({hits}) SELECT {COLUMNS} FROM hits h JOIN docs d "
                f"ON d.id = h.id WHERE {where} ORDER BY h.score, d.ts DESC, d.id "
                "LIMIT ? OFFSET ?",
                (*matches, *params, per_page, (page - 1) * per_page)).fetchall()
            return Results(total, [_document(row) for row in rows], count_facets(facets))

        return await self._run(lambda: self._read(work))

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


def _where(filters: Filters) -> tuple[str, list[Any]]:
    clauses, params = ["1"], []
    for name in ("event", "lang", "kind", "track", "type", "year"):
        value = getattr(filters, name)
        if value is not None:
            clauses.append(f"d.{name} = ?")
            params.append(value)
    if filters.start is not None:
        clauses.append("d.day >= ?")
        params.append(filters.start)
    if filters.end is not None:
        clauses.append("d.day <= ?")
        params.append(filters.end)
    return " AND ".join(clauses), params


def _unindex(conn: sqlite3.Connection, where: str, params: tuple[str, ...]) -> None:
    """Take rows out of the FTS tables (external content: they need the old text)."""
    for table, flag in (("fts_en", 1), ("fts_any", 0)):
        conn.execute(f"INSERT INTO {table}({table}, rowid, body) SELECT 'delete', id, body "
                     f"FROM docs WHERE {where} AND stemmed = {flag}", params)


def _insert(conn: sqlite3.Connection, documents: Sequence[Document]) -> None:
    for doc in documents:
        body = indexable(doc.text)
        english = stemmed(doc.lang)
        cursor = conn.execute(
            "INSERT INTO docs (session, key, kind, lang, event, title, track, type, day, "
            "year, ts, url, text, body, stemmed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?, ?)",
            (doc.session, doc.key, doc.kind, doc.lang, doc.event, doc.title, doc.track,
             doc.type, doc.day, doc.year, doc.ts, doc.url, doc.text, body, int(english)))
        table = "fts_en" if english else "fts_any"
        conn.execute(f"INSERT INTO {table}(rowid, body) VALUES (?, ?)",
                     (cursor.lastrowid, body))


def _document(row: Sequence[Any]) -> Document:
    return Document(session=row[0], key=row[1], kind=row[2], text=row[3], lang=row[4],
                    event=row[5], title=row[6], track=row[7], type=row[8], day=row[9],
                    ts=row[10], url=row[11])
