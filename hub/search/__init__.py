"""Search over every session's public content: an index with a backend per URL.

Not to be confused with hub/log/archive.py, the durable store of closed sessions' logs.
"""

from __future__ import annotations

from .base import Filters, IndexUnavailable, Results, SearchIndex
from .sqlite import SqliteIndex

__all__ = ["Filters", "IndexUnavailable", "Results", "SearchIndex", "open_index"]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_index(archive_url: str | None, data_dir: str) -> SearchIndex:
    """PostgreSQL when a URL is given (HUB_ARCHIVE_URL), else SQLite FTS5 in the data folder."""
    if archive_url:
        if not archive_url.startswith(POSTGRES_SCHEMES):
            raise ValueError("HUB_ARCHIVE_URL (--archive) takes a postgresql:// URL, not "
                             f"{archive_url.split('://', 1)[0]}://…")
        from .postgres import PostgresIndex  # imported lazily: psycopg is the `postgres` extra

        return PostgresIndex(archive_url)
    return SqliteIndex(data_dir)
