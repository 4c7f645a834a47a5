"""An event with a programme and captions, searchable through a running hub."""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from datetime import UTC, datetime
from typing import Any

from hub.domain import commands
from hub.domain import forum as forum_domain
from hub.domain.commands import Actor
from hub.domain.programme import ProgrammeRow
from hub.forums import Forum, Forums
from hub.session import now_ms
from tests.support.harness import ADMIN_KEY, ahttp
from tests.support.inprocess import RunningHub

WAIT = 20.0
START = int(datetime(2025, 6, 23, 9, tzinfo=UTC).timestamp() * 1000)
ROWS = [
    ProgrammeRow(1, "WS1", "Meaningful connectivity", START, START + 3_600_000,
                 track="Digital", kind="workshop", languages=("en", "fr")),
    ProgrammeRow(2, "OF2", "AI in the public sector", START + 7_200_000, START + 10_800_000,
                 track="AI", kind="open_forum", languages=("ar", "zh")),
]


async def programme(forums: Forums, forum_id: str = "igf2025") -> Forum:
    """An event with the two sessions of ROWS as hub sessions (igf2025-1 and -2), live."""
    created = await forums.create(forum_id, forum_domain.create(
        {"title": "IGF 2025", "start": "2025-06-23", "end": "2025-06-27",
         "timezone": "Europe/Oslo"}, now=now_ms()))
    assert created is not None
    await created.execute(lambda st: forum_domain.import_programme(
        st, ROWS, source="test", by="test", now=now_ms()))
    await forums.materialize(created)
    for n in (1, 2):
        session = await forums.sessions.get(f"{forum_id}-{n}")
        await session.execute(lambda st: commands.change_session(
            st, Actor("organizer", "organizer", "Organizer"), new_state="live", title=None,
            languages=None, settings=None))
    return created


async def tokens(hub: RunningHub, session_id: str) -> dict[str, str]:
    status, body, _ = await ahttp("GET", f"{hub.base}/api/sessions/{session_id}/links",
                                  token=ADMIN_KEY)
    assert status == 200, body
    return dict(body["tokens"])


async def caption(hub: RunningHub, session_id: str, token: str, text: str, lang: str) -> None:
    url = f"{hub.base}/api/sessions/{session_id}/captions?lang={lang}"
    status, body, _ = await ahttp("POST", url, text, token=token, content_type="text/plain")
    assert status == 200, body


async def until(hub: RunningHub, count: int, **params: str) -> dict[str, Any]:
    """Search until `count` results are found (the index follows in the background)."""
    deadline = time.monotonic() + WAIT
    while True:
        status, body = await search(hub, **params)
        assert status == 200, body
        if body["total"] == count or time.monotonic() > deadline:
            assert body["total"] == count, body
            return dict(body)
        await asyncio.sleep(0.1)


async def search(hub: RunningHub, **params: str) -> tuple[int, Any]:
    status, body, _ = await ahttp("GET", f"{hub.base}/api/search?"
                                  + urllib.parse.urlencode(params))
    return status, body
