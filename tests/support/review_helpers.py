"""An event with a programme, for the session organizer and report review tests.

The programme goes in through the hub's own `Forums` (the fold, the log, `materialize`),
the way `POST /api/events/{id}/programme` puts a parsed file in; only the file parsing is
left out (tested with the parser). On a Redis backend, other hub processes on the same
prefix serve the event as they would one imported through them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from hub import keys
from hub.domain import forum as domain
from hub.domain.programme import Organizer, ProgrammeRow
from hub.session import now_ms
from tests.support.harness import ADMIN_KEY, ahttp

ORGANIZERS = (Organizer("Amina Diallo", "amina@example.org"), Organizer("Kenji Sato", ""))


def today_at(hour: int) -> int:
    """Today (UTC) at `hour`:00, in ms: the event runs today."""
    day = datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    return int(day.timestamp() * 1000)


async def programme_event(app: web.Application, event_id: str = "igf26",
                          sessions: int = 2) -> list[str]:
    """An event of today with `sessions` programme sessions (hub sessions made); their ids."""
    forums = app[keys.FORUMS]
    today = datetime.now(UTC).date().isoformat()
    fact = domain.create({"title": "IGF 2026", "start": today, "timezone": "UTC",
                          "venue": "Oslo"}, now=now_ms())
    forum = await forums.create(event_id, fact)
    assert forum is not None, f"event {event_id} exists already"
    rows = [ProgrammeRow(line=n + 2, external_id=f"WS{n}", title=f"Workshop {n}: AI and inclusion",
                         start=today_at(9 + n), end=today_at(10 + n), room="Room A",
                         track="Digital inclusion", kind="workshop",
                         organizers=ORGANIZERS if n == 0 else (Organizer("Leila Haddad"),),
                         languages=("en", "fr"))
            for n in range(sessions)]
    await forum.execute(lambda st: domain.import_programme(st, rows, source="csv",
                                                           by="organizer", now=now_ms()))
    await forums.materialize(forum)
    return [row.session for row in forum.state.programme()]


async def organizer_token(base: str, session_id: str) -> str:
    """The session organizer's token, as the Secretariat gets it."""
    status, body, _ = await ahttp("GET", f"{base}/api/sessions/{session_id}/links",
                                  token=ADMIN_KEY)
    assert status == 200, body
    return str(body["tokens"]["organizer"])


async def set_state(base: str, session_id: str, state: str, token: str = ADMIN_KEY) -> None:
    status, body, _ = await ahttp("PATCH", f"{base}/api/sessions/{session_id}",
                                  {"state": state}, token=token)
    assert status == 200, body


REPORT: dict[str, Any] = {
    "takeaways": ["Community networks need spectrum set aside for them.",
                  "Local content drives adoption more than price does."],
    "calls": ["Regulators should publish spectrum maps by 2027."],
    "summary": "The workshop compared community networks in four regions.",
    "gender": {"participants": 60, "women": 28, "discussed": True,
               "how": "Speakers discussed women's access to devices."},
}
