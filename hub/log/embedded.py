"""The embedded backend: SQLite on disk (WAL) and in-process fan-out, for one process.

An acknowledged append has been committed by SQLite in WAL mode, so it survives
the process being killed (`kill -9`); `synchronous=NORMAL` trades only the last
commits on a power cut for speed. All SQLite work runs on one thread, in order.

Erasure (a deleted session, a person's rewritten history) really erases:
`secure_delete` overwrites deleted rows with zeros, the WAL (which still holds the old
page images) is checkpointed and truncated before `delete` and `rewrite` return, and a
VACUUM then rebuilds the file in the background (on the SQLite thread: appends wait for
it, the event loop does not).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ..datadir import FOLDER_MODE, create_private
from .base import (
    Batch,
    EventLog,
    Head,
    Listener,
    LogConflict,
    LogUnavailable,
    check_rewrite,
    new_epoch_id,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, epoch TEXT NOT NULL, head INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    session TEXT NOT NULL, offset INTEGER NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (session, offset)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS frames (
    session TEXT NOT NULL, channel TEXT NOT NULL, offset INTEGER NOT NULL, frame BLOB NOT NULL,
    PRIMARY KEY (session, channel, offset)) WITHOUT ROWID;
"""


class EmbeddedLog(EventLog):
    """SQLite under `data_dir` plus in-process listeners."""

    kind = "embedded"

    @property
    def shared(self) -> bool:
        """False: one process owns the SQLite file."""
        return False

    def __init__(self, data_dir: str) -> None:
        self.path = os.path.join(data_dir, "hub.sqlite3")
        self._data_dir = data_dir
        self._db: sqlite3.Connection | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-sqlite")
        self._listeners: dict[str, list[Listener]] = defaultdict(list)
        self._vacuum: asyncio.Task[None] | None = None
        self._vacuum_again = False

    async def _run(self, fn: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, *args)
        except sqlite3.OperationalError as exc:
            raise LogUnavailable(f"sqlite: {exc}") from exc

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("EmbeddedLog used before start(); call `await log.start()` first")
        return self._db

    async def start(self) -> None:
        os.makedirs(self._data_dir, mode=FOLDER_MODE, exist_ok=True)

        def open_db() -> sqlite3.Connection:
            # Owner only: it holds the admin key and the token secret. SQLite gives the
            # -wal and -shm files the database file's mode.
            create_private(self.path)
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=5000")
            db.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten, not left
            db.executescript(SCHEMA)
            return db

        self._db = await self._run(open_db)

    async def close(self) -> None:
        if self._vacuum is not None:
            await asyncio.gather(self._vacuum, return_exceptions=True)
        if self._db is not None:
            db, self._db = self._db, None
            await asyncio.get_running_loop().run_in_executor(self._executor, db.close)
        self._executor.shutdown(wait=True)

    async def ping(self) -> bool:
        try:
            await self._run(lambda: self._conn().execute("SELECT 1").fetchone())
        except (LogUnavailable, RuntimeError):
            return False
        return True

    async def create(self, batch: Batch) -> bool:
        def write() -> bool:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                if db.execute("SELECT 1 FROM sessions WHERE id=?", (batch.session,)).fetchone():
                    db.execute("ROLLBACK")
                    return False
                db.execute(
                    "INSERT INTO sessions (id, epoch, head) VALUES (?, ?, 0)",
                    (batch.session, batch.epoch),
                )
                self._write_batch(db, batch)
                db.execute("COMMIT")
                return True
            except BaseException:
                db.execute("ROLLBACK")
                raise

        created: bool = await self._run(write)
        if created:
            self._announce(batch)
        return created

    def _write_batch(self, db: sqlite3.Connection, batch: Batch) -> None:
        db.execute(
            "INSERT INTO batches (session, offset, body) VALUES (?, ?, ?)",
            (batch.session, batch.offset, batch.encode()),
        )
        db.executemany(
            "INSERT INTO frames (session, channel, offset, frame) VALUES (?, ?, ?, ?)",
            [(batch.session, ev.channel, ev.offset, ev.frame) for ev in batch.events],
        )
        db.execute("UPDATE sessions SET head=? WHERE id=?", (batch.offset, batch.session))

    async def append(self, batch: Batch) -> None:
        def write() -> tuple[bool, Head | None]:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT head, epoch FROM sessions WHERE id=?", (batch.session,)
                ).fetchone()
                head = Head(row[0], row[1]) if row else None
                if head is None or head.offset != batch.offset - 1 or head.epoch != batch.epoch:
                    db.execute("ROLLBACK")
                    return False, head
                self._write_batch(db, batch)
                db.execute("COMMIT")
                return True, None
            except BaseException:
                db.execute("ROLLBACK")
                raise

        stored, head = await self._run(write)
        if not stored:
            raise LogConflict(head)
        self._announce(batch)

    def _announce(self, batch: Batch) -> None:
        for listener in list(self._listeners.get(batch.session, ())):
            listener(batch)

    async def head(self, session: str) -> Head | None:
        def read() -> Head | None:
            row = self._conn().execute(
                "SELECT head, epoch FROM sessions WHERE id=?", (session,)
            ).fetchone()
            return Head(row[0], row[1]) if row else None

        result: Head | None = await self._run(read)
        return result

    async def batches(self, session: str, after: int, limit: int = 1000) -> list[Batch]:
        def read() -> list[Batch]:
            rows = self._conn().execute(
                "SELECT body FROM batches WHERE session=? AND offset>? ORDER BY offset LIMIT ?",
                (session, after, limit),
            ).fetchall()
            return [Batch.decode(row[0]) for row in rows]

        result: list[Batch] = await self._run(read)
        return result

    async def frames(
        self, session: str, channel: str, after: int, limit: int = 1000
    ) -> list[tuple[int, bytes]]:
        def read() -> list[tuple[int, bytes]]:
            rows = self._conn().execute(
                "SELECT offset, frame FROM frames WHERE session=? AND channel=? AND offset>? "
                "ORDER BY offset LIMIT ?",
                (session, channel, after, limit),
            ).fetchall()
            return [(row[0], bytes(row[1])) for row in rows]

        result: list[tuple[int, bytes]] = await self._run(read)
        return result

    async def new_epoch(self, session: str, old: str) -> str:
        fresh = new_epoch_id()

        def write() -> str:
            db = self._conn()
            db.execute("UPDATE sessions SET epoch=? WHERE id=? AND epoch=?", (fresh, session, old))
            row = db.execute("SELECT epoch FROM sessions WHERE id=?", (session,)).fetchone()
            return str(row[0]) if row else fresh

        result: str = await self._run(write)
        return result

    def listen(self, session: str, listener: Listener) -> None:
        self._listeners[session].append(listener)

    def unlisten(self, session: str, listener: Listener) -> None:
        listeners = self._listeners.get(session)
        if listeners and listener in listeners:
            listeners.remove(listener)
            if not listeners:
                del self._listeners[session]

    async def delete(self, session: str) -> bool:
        """Remove every row of `session`."""
        def write() -> bool:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                found = db.execute("DELETE FROM sessions WHERE id=?", (session,)).rowcount
                db.execute("DELETE FROM batches WHERE session=?", (session,))
                db.execute("DELETE FROM frames WHERE session=?", (session,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            if found:
                self._truncate_wal(db)
            return bool(found)

        deleted: bool = await self._run(write)
        if deleted:
            self._vacuum_later()
        return deleted

    async def rewrite(self, session: str, expect: Head, batches: list[Batch]) -> None:
        """Replace the session's rows in one transaction, then erase the old ones from the
        files (see the module docstring)."""
        check_rewrite(session, expect, batches)

        def write() -> Head | None:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT head, epoch FROM sessions WHERE id=?", (session,)
                ).fetchone()
                head = Head(row[0], row[1]) if row else None
                if head != expect:
                    db.execute("ROLLBACK")
                    return head
                db.execute("DELETE FROM batches WHERE session=?", (session,))
                db.execute("DELETE FROM frames WHERE session=?", (session,))
                db.execute("UPDATE sessions SET epoch=? WHERE id=?", (batches[0].epoch, session))
                for batch in batches:
                    self._write_batch(db, batch)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            self._truncate_wal(db)
            return expect

        head = await self._run(write)
        if head != expect:
            raise LogConflict(head)
        self._vacuum_later()
        self._announce(batches[-1])

    @staticmethod
    def _truncate_wal(db: sqlite3.Connection) -> None:
        """Copy the WAL into the database and empty it: it held the erased rows' pages."""
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _vacuum_later(self) -> None:
        """Rebuild the file in the background (one VACUUM at a time; one more if asked
        meanwhile), so that no page keeps what was erased and the space is given back."""
        if self._vacuum is not None and not self._vacuum.done():
            self._vacuum_again = True
            return

        async def vacuum() -> None:
            while True:
                self._vacuum_again = False
                try:
                    await self._run(self._vacuum_now)
                except (LogUnavailable, RuntimeError) as exc:
                    log.warning("sqlite VACUUM after an erasure failed: %s", exc)
                if not self._vacuum_again:
                    return

        self._vacuum = asyncio.create_task(vacuum(), name="hub-sqlite-vacuum")

    def _vacuum_now(self) -> None:
        db = self._conn()
        db.execute("VACUUM")
        self._truncate_wal(db)

    async def settled(self) -> None:
        """Wait until the VACUUM that follows a delete or a rewrite is done."""
        while self._vacuum is not None and not self._vacuum.done():
            await asyncio.gather(self._vacuum, return_exceptions=True)

    async def was_deleted(self, session: str) -> bool:
        """SQLite keeps what it acknowledged: a missing session was deleted."""
        return await self.head(session) is None

    async def archive(self, session: str) -> bool:
        """SQLite on disk is the durable store already: nothing to move."""
        return False

    async def presence(self, session: str, local: dict[str, int]) -> dict[str, int]:
        """One process: its own counts are all there is."""
        return dict(local)

    async def wait_subscribed(self) -> None:
        """In-process listeners are live as soon as they are added."""

    async def sessions(self) -> list[str]:
        def read() -> list[str]:
            return [r[0] for r in self._conn().execute("SELECT id FROM sessions ORDER BY id")]

        result: list[str] = await self._run(read)
        return result

    async def meta(self, key: str, default: str) -> str:
        def write() -> str:
            db = self._conn()
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, default))
            return str(db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()[0])

        result: str = await self._run(write)
        return result
