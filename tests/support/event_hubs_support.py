"""Events with a programme, for the tests of an event's hubs.

The event is created over HTTP; its programme is put in the event's log the way an import
does (`forum.import_programme`, then `Forums.materialize`), without the file parser (the
programme's own tests cover that): through the in-process app's `Forums`, or through a
`Forums` of the test's own on the same Redis as the hub processes (one more instance).
"""

from __future__ import annotations

import asyncio
import urllib.parse
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from hub import keys
from hub.domain import forum as domain
from hub.domain.programme import Organizer, ProgrammeRow
from hub.forums import Forums
from hub.log import open_log
from hub.metrics import Metrics
from hub.session import Sessions
from tests.support.harness import ADMIN_KEY, ahttp

# The event is next week (a hub's link expires the day after its event ends).
FIRST = date.today() + timedelta(days=7)
DAYS = [(FIRST + timedelta(days=n)).isoformat() for n in range(4)]


def at(hour: int, day: int = 1) -> int:
    """ms at `hour` UTC on the event's `day` (0-based)."""
    when = FIRST + timedelta(days=day)
    return int(datetime(when.year, when.month, when.day, hour, tzinfo=UTC).timestamp() * 1000)


def rows(count: int, *, prefix: str = "WS", day: int = 1) -> list[ProgrammeRow]:
    """`count` one-hour sessions on the event's `day`, the first at 09:00 UTC."""
    return [ProgrammeRow(line=n + 1, external_id=f"{prefix}{n}", title=f"Workshop {n}",
                         start=at(8 + n, day), end=at(9 + n, day), room=f"Room {n % 2}",
                         track="Digital inclusion", kind="workshop",
                         organizers=(Organizer("Amina Diallo"),), languages=("en",))
            for n in range(1, count + 1)]


async def create_event(base: str, event_id: str, **extra: Any) -> dict[str, Any]:
    body = {"id": event_id, "title": f"Event {event_id}", "start": DAYS[0], "end": DAYS[-1],
            "timezone": "UTC", **extra}
    status, answer, _ = await ahttp("POST", f"{base}/api/events", body, token=ADMIN_KEY)
    assert status == 201, answer
    return dict(answer)


async def import_rows(forums: Forums, event_id: str, programme: list[ProgrammeRow]) -> list[str]:
    """The programme in the event's log, its sessions made; their ids in programme order."""
    forum = await forums.get(event_id)
    await forum.execute(lambda st: domain.import_programme(
        st, programme, source="csv", by="test", now=at(0, 0)))
    await forums.materialize(forum)
    return [forum.state.external[row.external_id] for row in programme]


async def seed(base: str, app: Any, event_id: str, count: int, **extra: Any) -> list[str]:
    """An event with `count` sessions on an in-process hub; the sessions' ids."""
    await create_event(base, event_id, **extra)
    return await import_rows(app[keys.FORUMS], event_id, rows(count, prefix=event_id))


async def seed_on_redis(base: str, redis_url: str, prefix: str, data: Path, event_id: str,
                        count: int, programme: list[ProgrammeRow] | None = None) -> list[str]:
    """An event with `count` sessions (or `programme`), for hub processes sharing one
    Redis."""
    await create_event(base, event_id)
    event_log = open_log(redis_url, str(data), prefix)
    await event_log.start()
    forums = Forums(event_log, Sessions(event_log, Metrics(), b"test-only-position-key"))
    try:
        return await import_rows(forums, event_id, programme or rows(count, prefix=event_id))
    finally:
        await forums.close()
        await event_log.close()


async def register(base: str, event_id: str, **body: Any) -> dict[str, Any]:
    body.setdefault("kind", "nri")
    status, answer, _ = await ahttp("POST", f"{base}/api/events/{event_id}/hubs", body,
                                    token=ADMIN_KEY)
    assert status == 201, answer
    return dict(answer)


async def session_links(base: str, session_id: str) -> dict[str, str]:
    status, answer, _ = await ahttp("GET", f"{base}/api/sessions/{session_id}/links",
                                    token=ADMIN_KEY)
    assert status == 200, answer
    return dict(answer["tokens"])


async def sse_first(base: str, session_id: str, token: str) -> tuple[int, dict[str, Any] | None]:
    """The HTTP status of an SSE stream and its first frame (None when refused)."""
    url = f"{base}/sse/{session_id}?token={urllib.parse.quote(token)}"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        if response.status != 200:
            return response.status, None
        async with asyncio.timeout(10):
            async for raw in response.content:
                line = raw.decode().strip()
                if line.startswith("data: "):
                    return 200, orjson.loads(line[6:])
    return response.status, None
