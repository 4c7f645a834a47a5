"""Documents of the search archive built for tests: a day, an event, a session."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.domain import forum as forum_domain
from hub.domain.fact_kinds import apply
from hub.domain.forum import ForumState
from hub.domain.programme import ProgrammeRow
from hub.domain.session import SessionState
from tests.support.domain_helpers import make_session

DAY = int(datetime(2025, 6, 23, 9, tzinfo=UTC).timestamp() * 1000)


def event(sessions: dict[str, tuple[str, str]], forum_id: str = "igf2025",
          start: int = DAY) -> ForumState:
    """An event whose programme holds `sessions`: id -> (track, type)."""
    state = forum_domain.new_forum(forum_id)
    day = datetime.fromtimestamp(start / 1000, UTC).date().isoformat()
    forum_domain.apply(state, forum_domain.create(
        {"title": "IGF", "start": day, "timezone": "UTC", "languages": ["en"]}, now=start))
    rows = [ProgrammeRow(line=n, external_id=sid, title=f"Session {sid}", start=start,
                         end=start + 3_600_000, track=track, kind=kind)
            for n, (sid, (track, kind)) in enumerate(sessions.items(), start=1)]
    fact = forum_domain.import_programme(state, rows, source="t", by="t", now=start)
    for row in fact["sessions"]:  # keep the test's ids as the hub session ids
        row["session"] = row["external_id"]
    forum_domain.apply(state, fact)
    return state


def session(session_id: str, languages: list[str] | None = None) -> SessionState:
    state = make_session()
    state.id = session_id
    if languages:
        apply(state, {"kind": "session", "languages": languages})
    return state
