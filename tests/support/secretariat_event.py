"""An event to watch from the Secretariat's dashboard: four programme sessions over two
days and two tracks, one closed with its report published, one closed with a draft, one
closed with nothing, one still scheduled. Built in the process of an in-process hub (the
programme rows go straight to the event's log, as an import would put them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from hub import keys
from hub.domain import commands
from hub.domain import forum as domain
from hub.domain.commands import Actor
from hub.domain.programme import Organizer, ProgrammeRow
from hub.session import now_ms

DAY = 86_400_000
EVENT = "igf-dash"
ORGANIZER = Actor("organizer", "organizer", "Organizer")
# Cells a spreadsheet would run as formulas, and a name in Arabic script.
EVIL_NAME = "=HYPERLINK(\"http://evil.example\",\"x\")"
EVIL_TITLE = "@SUM(1+1)"
ARABIC_NAME = "ليلى حداد"


def at(day: int, hour: int) -> int:
    return int(datetime(2026, 12, day, hour, tzinfo=UTC).timestamp() * 1000)


ROWS = [
    ProgrammeRow(1, "WS-1", "Open data for all", at(1, 9), at(1, 10), room="Room A",
                 track="AI", kind="Workshop",
                 organizers=(Organizer("Ana Silva", "ana@example.org"),)),
    ProgrammeRow(2, "WS-2", "Connecting the last billion", at(1, 11), at(1, 12),
                 room="Room B", track="Access", kind="Open forum",
                 organizers=(Organizer(ARABIC_NAME, "leila@example.org"),
                             Organizer(EVIL_NAME, "-bad@example.org"))),
    ProgrammeRow(3, "WS-3", EVIL_TITLE, at(2, 9), at(2, 10), room="Room A", track="AI",
                 kind="Workshop", organizers=(Organizer("Chen Wei", ""),)),
    ProgrammeRow(4, "WS-4", "Youth and the internet", at(2, 11), at(2, 12), room="Room B",
                 track="Access", kind="Lightning talk",
                 organizers=(Organizer("Ivan Petrov", "ivan@example.org"),)),
]


@dataclass
class DashEvent:
    """The event's id and its sessions' ids, by what happened to them."""

    id: str
    published: str
    draft: str
    nothing: str
    scheduled: str
    closed_at: dict[str, int]

    @property
    def sessions(self) -> list[str]:
        return [self.published, self.draft, self.nothing, self.scheduled]


async def seed_event(app: web.Application, event_id: str = EVENT) -> DashEvent:
    """Create the event, its programme and hub sessions, close three sessions (1, 3 and
    5 days ago), publish one report and save another as a draft."""
    forums = app[keys.FORUMS]
    created = domain.create({"title": "IGF 2026", "start": "2026-12-01", "end": "2026-12-02",
                             "timezone": "UTC", "languages": ["en", "ar"]}, now=now_ms())
    forum = await forums.create(event_id, created)
    assert forum is not None
    await forum.execute(lambda st: domain.import_programme(st, ROWS, source="csv",
                                                           by="organizer", now=now_ms()))
    await forums.materialize(forum)
    ids = [forum.state.external[row.external_id] for row in ROWS]
    now = now_ms()
    closed_at = {ids[0]: now - 5 * DAY, ids[1]: now - 3 * DAY, ids[2]: now - 1 * DAY}
    for session_id, when in closed_at.items():
        session = await app[keys.SESSIONS].get(session_id)
        await session.execute(lambda st, when=when: commands.change_session(
            st, ORGANIZER, new_state="closed", now=when))
    report: dict[str, Any] = {"takeaways": ["Open data needs open standards."],
                              "summary": "We met."}
    await forum.execute(lambda st: domain.save_report(
        st, ids[0], report, publish=True, closed=True, by="organizer", now=now_ms()))
    await forum.execute(lambda st: domain.save_report(
        st, ids[1], {"summary": "Draft"}, publish=False, closed=True, by="organizer",
        now=now_ms()))
    return DashEvent(event_id, *ids, closed_at=closed_at)
