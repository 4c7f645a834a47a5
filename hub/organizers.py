"""Session organizers: each programme session's organizer link, for the Secretariat to send.

A session organizer link is an organizer-role token of one session (never the admin key):
that session's settings and state, its other links, named tokens, the websocket as
organizer, and its report's review (hub/review.py). The Secretariat gets it from
`GET /api/sessions/{id}/links` (admin key) or, for every session of an event with the
organizers' names and emails to mail it to, from `GET /api/events/{event_id}/links`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from . import keys
from .api import base_url, json_response, link_at, secretariat
from .domain import forum as domain
from .domain.roles import ORGANIZER
from .forum_api import forum_of

LOADS_AT_ONCE = 16  # sessions read at once (a programme has hundreds)


async def event_links(request: web.Request) -> web.Response:
    """Every programme session's organizer link, with its organizers (names and emails)."""
    secretariat(request)
    forum = await forum_of(request)
    signer = request.app[keys.SIGNER]
    sessions = request.app[keys.SESSIONS]
    expires = signer.link_expiry()  # the same link all day, as GET …/links gives it
    base = base_url(request)
    rows = forum.state.programme()
    gate = asyncio.Semaphore(LOADS_AT_ONCE)

    async def link_of(row: domain.ProgrammeSession) -> dict[str, Any]:
        async with gate:
            session = await sessions.get(row.session)
        token = signer.mint(row.session, ORGANIZER, expires=expires,
                            generation=session.state.links.get(ORGANIZER, 0))
        return {"session": row.session, "external_id": row.external_id, "title": row.title,
                "start": row.start, "end": row.end, "day": forum.state.day_of(row.start),
                "room": row.room, "track": row.track,
                "organizers": [{"name": o.name, "email": o.email} for o in row.organizers],
                "report": forum.state.report(row.session).status,
                "link": link_at(base, row.session, ORGANIZER, token), "token": token}

    links = await asyncio.gather(*(link_of(row) for row in rows))
    return json_response({"event": forum.id, "title": forum.state.title, "expires": expires,
                          "sessions": list(links)})


def routes() -> list[web.RouteDef]:
    return [web.get("/api/events/{event_id}/links", event_links)]
