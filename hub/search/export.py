"""An event's published outputs as JSON Lines: one download for the IGF's website and for
researchers.

Pure: from the event's state and its sessions' states. The same public content as the
search index (hub/search/documents.py decides it), so an export never holds more than a
search would find: the event, then per programme session its programme entry (organizers
by name only, never an email) followed by its documents.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from ..domain import forum as forum_domain
from ..domain.forum import ForumState
from ..domain.session import SessionState
from .documents import documents

FORMAT = "igf-hub-archive/1"


def _session_line(forum: ForumState, session: forum_domain.ProgrammeSession) -> dict[str, Any]:
    data = forum_domain.session_data(forum, session)
    data["organizers"] = [{"name": o["name"]} for o in data["organizers"]]
    return {"type": "session", **data}


def lines(forum: ForumState, states: Mapping[str, SessionState]) -> Iterator[bytes]:
    """The export, one JSON object per line (each ending in a newline)."""
    yield orjson.dumps({"type": "event", "format": FORMAT, **forum_domain.data(forum)}) + b"\n"
    for entry in forum.programme():
        yield orjson.dumps(_session_line(forum, entry)) + b"\n"
        state = states.get(entry.session)
        if state is None:
            continue
        for doc in documents(state, forum):
            yield orjson.dumps({
                "type": doc.kind, "session": doc.session, "lang": doc.lang, "text": doc.text,
                "ts": doc.ts, "url": doc.url, "key": doc.key}) + b"\n"
