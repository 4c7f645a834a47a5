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
CREATE TABLE IF NOT EXISTS search_combos (
    id serial PRIMARY KEY,
    event text NOT NULL, track text NOT NULL, type text NOT NULL, kind text NOT NULL,
    lang text NOT NULL, day text NOT NULL, year integer NOT NULL,
    UNIQUE (event, track, type, kind, lang, day)
);
CREATE TABLE IF NOT EXISTS search_documents (
    id bigserial PRIMARY KEY,
    session text NOT NULL, key text NOT NULL, combo integer NOT NULL, title text NOT NULL,
    ts bigint NOT NULL, url text NOT NULL, text text NOT NULL,
    UNIQUE (session, key)
);
CREATE TABLE IF NOT EXISTS search_terms (
    id bigint PRIMARY KEY, combo integer NOT NULL, ts bigint NOT NULL, tsv tsvector NOT NULL
);
CREATE INDEX IF NOT EXISTS search_terms_tsv ON search_terms USING gin (tsv);
"""
# A search reads every match's row (a GIN index cannot count or rank by itself): the rows
# it reads hold only what it needs, the words and the facet combination, half the size of
# the documents', so a common word costs half as much (docs/performance.md).
SEARCH = """
WITH hits AS MATERIALIZED (
    SELECT id, combo, ts, ts_rank(tsv, %s::tsquery) AS rank
    FROM search_terms WHERE tsv @@ %s::tsquery{within})
SELECT 1, combo, count(*) FROM hits GROUP BY combo
UNION ALL
SELECT 2, (row_number() OVER (ORDER BY rank DESC, ts DESC, id))::integer, id
FROM (SELECT id, rank, ts FROM hits ORDER BY rank DESC, ts DESC, id LIMIT %s OFFSET %s) AS page
"""
COMBO_FIELDS = ("event", "track", "type", "kind", "lang", "day")
Combo = tuple[str, str, str, str, str, str]


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
        self._ids: dict[Combo, int] = {}  # facet combinations known here, both ways
        self._combos: dict[int, Combo] = {}

    async def start(self) -> None:
        try:
            # One connection first: a server that refuses or a wrong password is said at
            # once, with PostgreSQL's own words, instead of after the pool's timeout.
            first = await psycopg.AsyncConnection.connect(self.url, connect_timeout=int(TIMEOUT))
            await first.close()
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
                await _remove(conn, "session = %s", (session,))
                await self._insert(conn, documents)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise IndexUnavailable(f"search index (PostgreSQL): {exc}") from exc

    async def add(self, session: str, documents: Sequence[Document]) -> None:
        check_documents(session, documents)
        if not documents:
            return
        try:
            async with self._pool.connection() as conn, conn.transaction():
                await _lock(conn, session)
                await _remove(conn, "session = %s AND key = ANY(%s)",
                              (session, [doc.key for doc in documents]))
                await self._insert(conn, documents)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise IndexUnavailable(f"search index (PostgreSQL): {exc}") from exc

    async def _insert(self, conn: psycopg.AsyncConnection[Any],
                      documents: Sequence[Document]) -> None:
        if not documents:
            return
        combos: dict[Combo, int] = {}
        for combo in dict.fromkeys(combo_of(doc) for doc in documents):
            combos[combo] = await self._combo_id(conn, combo)
        ids = [int(r[0]) for r in await (await conn.execute(
            "SELECT nextval('search_documents_id_seq') FROM generate_series(1, %s)",
            (len(documents),))).fetchall()]
        async with conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO search_documents (id, session, key, combo, title, ts, url, text) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [(i, d.session, d.key, combos[combo_of(d)], d.title, d.ts, d.url, d.text)
                 for i, d in zip(ids, documents, strict=True)])
            await cur.executemany(
                "INSERT INTO search_terms (id, combo, ts, tsv) "
                "VALUES (%s, %s, %s, to_tsvector(%s::regconfig, %s))",
                [(i, combos[combo_of(d)], d.ts, config_of(d.lang), indexable(d.text))
                 for i, d in zip(ids, documents, strict=True)])

    async def _combo_id(self, conn: psycopg.AsyncConnection[Any], combo: Combo) -> int:
        known = self._ids.get(combo)
        if known is not None:
            return known
        row = await (await conn.execute(
            f"INSERT INTO search_combos ({', '.join(COMBO_FIELDS)}, year) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT "
            f"({', '.join(COMBO_FIELDS)}) DO UPDATE SET year = excluded.year RETURNING id",
            (*combo, int(combo[5][:4])))).fetchone()
        if row is None:  # RETURNING of an insert or an update gives one row
            raise IndexUnavailable("search index (PostgreSQL): no id for a combination")
        self._ids[combo] = int(row[0])
        self._combos[int(row[0])] = combo
        return int(row[0])

    async def delete(self, session: str) -> None:
        try:
            async with self._pool.connection() as conn, conn.transaction():
                await _lock(conn, session)
                await _remove(conn, "session = %s", (session,))
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise IndexUnavailable(f"search index (PostgreSQL): {exc}") from exc

    async def search(self, query: Query, filters: Filters, page: int = 1,
                     per_page: int = 20) -> Results:
        configs = [config_of(filters.lang)] if filters.lang else [*CONFIGS.values(), OTHER]
        expression, params = tsquery(query, configs)
        where, filter_params = _where(filters)
        within = f" AND combo IN (SELECT id FROM search_combos WHERE {where})" if where else ""
        try:
            async with self._pool.connection() as conn:
                row = await (await conn.execute(expression, params)).fetchone()
                text = combined(row or ())
                if not text:  # only words the configurations drop (stop words)
                    return Results(0, [], count_facets([]))
                rows = await (await conn.execute(SEARCH.format(within=within), (
                    text, text, *filter_params, per_page, (page - 1) * per_page))).fetchall()
                counts = [(int(r[1]), int(r[2])) for r in rows if r[0] == 1]
                ids = [int(r[2]) for r in sorted((r for r in rows if r[0] == 2),
                                                 key=lambda r: int(r[1]))]
                found = await (await conn.execute(
                    "SELECT id, session, key, combo, title, ts, url, text "
                    "FROM search_documents WHERE id = ANY(%s)", (ids,))).fetchall() if ids else []
                unknown = {c for c, _ in counts} - set(self._combos)
                if unknown:  # made by another instance
                    for r in await (await conn.execute(
                            f"SELECT id, {', '.join(COMBO_FIELDS)} FROM search_combos "
                            "WHERE id = ANY(%s)", (list(unknown),))).fetchall():
                        self._combos[int(r[0])] = (r[1], r[2], r[3], r[4], r[5], r[6])
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise IndexUnavailable(f"search index (PostgreSQL): {exc}") from exc
        by_id = {int(r[0]): r for r in found}
        documents = [self._document(by_id[i]) for i in ids if i in by_id]
        facet_rows: list[tuple[object, ...]] = []
        for combo_id, number in counts:
            event, track, type_, kind, lang, day = self._combo(combo_id)
            facet_rows.append((event, track, type_, kind, lang, int(day[:4]), number))
        return Results(sum(n for _, n in counts), documents, count_facets(facet_rows))

    def _combo(self, combo_id: int) -> Combo:
        return self._combos.get(combo_id) or ("", "", "", "", "", "0000")

    def _document(self, row: Sequence[Any]) -> Document:
        event, track, type_, kind, lang, day = self._combo(int(row[3]))
        return Document(session=row[1], key=row[2], kind=kind, text=row[7], lang=lang,
                        event=event, title=row[4], track=track, type=type_, day=day,
                        ts=int(row[5]), url=row[6])

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


def tsquery(query: Query, configs: Sequence[str]) -> tuple[sql.Composed, list[Any]]:
    """A SELECT of the query as each configuration makes it (its clauses ANDed), one text
    column per configuration; the caller ORs the distinct ones."""
    columns: list[sql.Composable] = []
    params: list[Any] = []
    for config in configs:
        ands: list[sql.Composable] = []
        for clause in query.clauses:
            part, part_params = _clause(clause, config)
            ands.append(part)
            params += part_params
        columns.append(sql.SQL("(") + sql.SQL(" && ").join(ands) + sql.SQL(")::text"))
    return sql.SQL("SELECT ") + sql.SQL(", ").join(columns), params


def combined(texts: Sequence[str | None]) -> str:
    """The configurations' tsqueries ORed, each once (several stem a word alike: GIN then
    scans its entries once). The texts are PostgreSQL's own output, so they parse back."""
    distinct = list(dict.fromkeys(t for t in texts if t))
    return " | ".join(f"( {t} )" for t in distinct)


def _where(filters: Filters) -> tuple[str, list[Any]]:
    """Conditions on `search_combos` for the filters ("" for none), and their parameters."""
    clauses, params = [], []
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


async def _remove(conn: psycopg.AsyncConnection[Any], where: str,
                  params: tuple[Any, ...]) -> None:
    """Delete the documents `where` selects, and their words."""
    await conn.execute(f"DELETE FROM search_terms WHERE id IN (SELECT id FROM "
                       f"search_documents WHERE {where})", params)
    await conn.execute(f"DELETE FROM search_documents WHERE {where}", params)


def combo_of(doc: Document) -> Combo:
    return (doc.event, doc.track, doc.type, doc.kind, doc.lang, doc.day)
