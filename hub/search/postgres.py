"""The shared search index of a deployment: PostgreSQL full-text search.

Chosen with `--archive postgresql://…` (HUB_ARCHIVE_URL): every instance indexes into and
searches the same tables. Each document's words are a `tsvector` made with its language's
snowball configuration (english, french, spanish, russian, arabic; `simple` for the rest,
Chinese included: its text arrives as character bigrams, see hub/search/text.py), under a
GIN index. A query is built from parsed words with the tsquery functions, each word a bound
parameter, never user text as tsquery syntax: for each configuration the clauses ANDed,
the configurations ORed (a document in French matches the query as French stems it).
Writers of one session take a transaction-level advisory lock on it, so two instances
re-indexing it at once never leave both sets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from .base import Filters, IndexUnavailable, Results, SearchIndex, check_documents, count_facets
from .documents import Document
from .query import Clause, Query
from .text import indexable

CONFIGS = {"en": "english", "fr": "french", "es": "spanish", "ru": "russian", "ar": "arabic"}
OTHER = "simple"
SCHEMA_LOCK = 0x5EA4C4  # an advisory lock id: one instance makes the tables at a time
TIMEOUT = 10.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS search_documents (
    id bigserial PRIMARY KEY,
    session text NOT NULL, key text NOT NULL, kind text NOT NULL, lang text NOT NULL,
    event text NOT NULL, title text NOT NULL, track text NOT NULL, type text NOT NULL,
    day text NOT NULL, year integer NOT NULL, ts bigint NOT NULL, url text NOT NULL,
    text text NOT NULL, tsv tsvector NOT NULL,
    UNIQUE (session, key)
);
CREATE INDEX IF NOT EXISTS search_documents_tsv ON search_documents USING gin (tsv);
"""
INSERT = (
    "INSERT INTO search_documents (session, key, kind, lang, event, title, track, type, day, "
    "year, ts, url, text, tsv) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
    "to_tsvector(%s::regconfig, %s))")
UPSERT = INSERT + (
    " ON CONFLICT (session, key) DO UPDATE SET kind = excluded.kind, lang = excluded.lang, "
    "event = excluded.event, title = excluded.title, track = excluded.track, "
    "type = excluded.type, day = excluded.day, year = excluded.year, ts = excluded.ts, "
    "url = excluded.url, text = excluded.text, tsv = excluded.tsv")
COLUMNS = "session, key, kind, text, lang, event, title, track, type, day, ts, url"
# One pass over the matches: the facet counts (tag 1) and the page's ids (tag 2).
SEARCH = """
WITH hits AS MATERIALIZED (
    SELECT id, event, track, type, kind, lang, year, ts, ts_rank(tsv, %s::tsquery) AS rank
    FROM search_documents WHERE tsv @@ %s::tsquery AND {where})
SELECT 1, event, track, type, kind, lang, year, count(*) FROM hits GROUP BY 2, 3, 4, 5, 6, 7
UNION ALL
SELECT 2, NULL, NULL, NULL, NULL, NULL,
       (row_number() OVER (ORDER BY rank DESC, ts DESC, id))::integer, id
FROM (SELECT id, rank, ts FROM hits ORDER BY rank DESC, ts DESC, id LIMIT %s OFFSET %s) AS page
"""


def config_of(lang: str) -> str:
    """The text search configuration of a language tag (`en-GB`: english)."""
    return CONFIGS.get(lang.lower().split("-")[0], OTHER)


class PostgresIndex(SearchIndex):
    kind = "postgresql"

    def __init__(self, url: str, max_connections: int = 8) -> None:
        self.url = url
        self._pool = AsyncConnectionPool(url, min_size=1, max_size=max_connections,
                                         open=False, timeout=TIMEOUT,
                                         kwargs={"autocommit": True})

    async def start(self) -> None:
        try:
            await self._pool.open(wait=True, timeout=TIMEOUT)
            async with self._pool.connection() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                await conn.execute(SCHEMA)
        except (psycopg.Error, PoolTimeout) as exc:
            await self._pool.close()
            raise IndexUnavailable(f"search index (PostgreSQL): {exc}") from exc

    async def close(self) -> None:
        await self._pool.close()

    async def replace(self, session: str, documents: Sequence[Document]) -> None:
        check_documents(session, documents)
        try:
            async with self._pool.connection() as conn, conn.transaction():
                await _lock(conn, session)
                await conn.execute("DELETE FROM search_documents WHERE session = %s", (session,))
                async with conn.cursor() as cur:
                    await cur.executemany(INSERT, [_row(doc) for doc in documents])
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise IndexUnavailable(f"search index (PostgreSQL): {exc}") from exc

    async def add(self, session: str, documents: Sequence[Document]) -> None:
        check_documents(session, documents)
        if not documents:
            return
        try:
            async with self._pool.connection() as conn, conn.transaction():
                await _lock(conn, session)
                async with conn.cursor() as cur:
                    await cur.executemany(UPSERT, [_row(doc) for doc in documents])
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise IndexUnavailable(f"search index (PostgreSQL): {exc}") from exc

    async def delete(self, session: str) -> None:
        try:
            async with self._pool.connection() as conn, conn.transaction():
                await _lock(conn, session)
                await conn.execute("DELETE FROM search_documents WHERE session = %s", (session,))
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise IndexUnavailable(f"search index (PostgreSQL): {exc}") from exc

    async def search(self, query: Query, filters: Filters, page: int = 1,
                     per_page: int = 20) -> Results:
        configs = [config_of(filters.lang)] if filters.lang else [*CONFIGS.values(), OTHER]
        expression, params = tsquery(query, configs)
        where, filter_params = _where(filters)
        try:
            async with self._pool.connection() as conn:
                row = await (await conn.execute(
                    sql.SQL("SELECT ({})::text").format(expression), params)).fetchone()
                text = row[0] if row else ""
                if not text:  # only words the configurations drop (stop words)
                    return Results(0, [], count_facets([]))
                rows = await (await conn.execute(SEARCH.format(where=where), (
                    text, text, *filter_params, per_page, (page - 1) * per_page))).fetchall()
                facets = [r[1:8] for r in rows if r[0] == 1]
                ids = [int(r[7]) for r in sorted((r for r in rows if r[0] == 2),
                                                 key=lambda r: int(r[6]))]
                found = await (await conn.execute(
                    f"SELECT id, {COLUMNS} FROM search_documents WHERE id = ANY(%s)",
                    (ids,))).fetchall() if ids else []
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise IndexUnavailable(f"search index (PostgreSQL): {exc}") from exc
        by_id = {int(r[0]): r[1:] for r in found}
        documents = [_document(by_id[i]) for i in ids if i in by_id]
        total = sum(int(r[-1]) for r in facets)
        return Results(total, documents, count_facets(facets))

    async def sessions(self) -> set[str]:
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(
                "SELECT DISTINCT session FROM search_documents")).fetchall()
        return {r[0] for r in rows}

    async def count(self, session: str | None = None) -> int:
        async with self._pool.connection() as conn:
            if session is None:
                cur = await conn.execute("SELECT count(*) FROM search_documents")
            else:
                cur = await conn.execute(
                    "SELECT count(*) FROM search_documents WHERE session = %s", (session,))
            row = await cur.fetchone()
        return int(row[0]) if row else 0


async def _lock(conn: psycopg.AsyncConnection[Any], session: str) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (session,))


def _clause(clause: Clause, config: str) -> tuple[sql.Composable, list[Any]]:
    """One clause as a tsquery expression of one configuration, its words as parameters."""
    words = list(clause.words)
    cfg = sql.SQL("%s::regconfig")
    if not clause.prefix:
        function = "plainto_tsquery" if len(words) == 1 else "phraseto_tsquery"
        return sql.SQL("{}({}, %s)").format(sql.SQL(function), cfg), [config, " ".join(words)]
    # Words hold letters and digits only (query.parse): quoted, they are one lexeme each.
    last = sql.SQL("to_tsquery({}, %s)").format(cfg)
    last_params = [config, f"'{words[-1]}':*"]
    if len(words) == 1:
        return last, last_params
    head = sql.SQL("phraseto_tsquery({}, %s)").format(cfg)
    return (sql.SQL("tsquery_phrase({}, {})").format(head, last),
            [config, " ".join(words[:-1]), *last_params])


def tsquery(query: Query, configs: Sequence[str]) -> tuple[sql.Composable, list[Any]]:
    """The whole query: per configuration its clauses ANDed; the configurations ORed."""
    ors: list[sql.Composable] = []
    params: list[Any] = []
    for config in configs:
        ands: list[sql.Composable] = []
        for clause in query.clauses:
            part, part_params = _clause(clause, config)
            ands.append(part)
            params += part_params
        ors.append(sql.SQL("(") + sql.SQL(" && ").join(ands) + sql.SQL(")"))
    return sql.SQL(" || ").join(ors), params


def _where(filters: Filters) -> tuple[str, list[Any]]:
    clauses, params = ["true"], []
    for name in ("event", "lang", "kind", "track", "type", "year"):
        value = getattr(filters, name)
        if value is not None:
            clauses.append(f"{name} = %s")
            params.append(value)
    if filters.start is not None:
        clauses.append("day >= %s")
        params.append(filters.start)
    if filters.end is not None:
        clauses.append("day <= %s")
        params.append(filters.end)
    return " AND ".join(clauses), params


def _row(doc: Document) -> tuple[Any, ...]:
    return (doc.session, doc.key, doc.kind, doc.lang, doc.event, doc.title, doc.track,
            doc.type, doc.day, doc.year, doc.ts, doc.url, doc.text, config_of(doc.lang),
            indexable(doc.text))


def _document(row: Sequence[Any]) -> Document:
    return Document(session=row[0], key=row[1], kind=row[2], text=row[3], lang=row[4],
                    event=row[5], title=row[6], track=row[7], type=row[8], day=row[9],
                    ts=int(row[10]), url=row[11])
