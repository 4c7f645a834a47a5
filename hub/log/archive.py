"""The archive of closed sessions: a session's whole log as a file under the data directory.

A closed session's history is written here before the Redis backend drops it, so a
finished meeting's transcript and report stay available. One JSON line per batch,
written to a temporary file, synced and renamed into place (never half written).
Instances that share an archive must share the data directory (for example a
network file system); docs/architecture.md says so.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..datadir import FILE_MODE, FOLDER_MODE
from ..domain.session import valid_session_id
from .base import Batch


class Archive:
    """Files `<data>/archive/<session>.jsonl`, one encoded batch per line."""

    def __init__(self, data_dir: str) -> None:
        self.dir = Path(data_dir) / "archive"
        self._cache: dict[str, tuple[float, list[Batch]]] = {}

    def path(self, session: str) -> Path:
        """The session's file; `ValueError` for anything that is not a session id (the
        routes refuse those already: this is the last line, never a path outside `dir`)."""
        if not valid_session_id(session):
            raise ValueError(f"not a session id: {session[:80]!r}")
        return self.dir / f"{session}.jsonl"

    def exists(self, session: str) -> bool:
        # An event's log (`forum.<id>`) is never archived: it has no file (and no path).
        return valid_session_id(session) and self.path(session).is_file()

    def write(self, session: str, batches: list[Batch]) -> None:
        """Store `batches` (the whole log, in order) as the session's archive."""
        self.dir.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        final = self.path(session)
        tmp = final.with_suffix(".tmp")
        # Owner only, whatever the umask: a session's whole history.
        with open(os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, FILE_MODE), "wb") as out:
            for batch in batches:
                out.write(batch.encode() + b"\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, final)
        self._cache.pop(session, None)

    def read(self, session: str) -> list[Batch]:
        """The archived batches of `session` (empty when there is no archive)."""
        path = self.path(session)
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return []
        cached = self._cache.get(session)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        with open(path, "rb") as lines:
            batches = [Batch.decode(line) for line in lines if line.strip()]
        if len(self._cache) > 32:
            self._cache.clear()
        self._cache[session] = (mtime, batches)
        return batches
