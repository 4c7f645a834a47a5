"""The HTTP API of the Secretariat's dashboard: every session's report state and the
reminders to send (admin key only: organizers' emails are in them)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import keys
from .api import base_url, json_response, secretariat
from .domain import dashboard
from .forum_api import forum_of
from .session import now_ms

NO_STORE = {"Cache-Control": "no-store"}


async def board_of(request: web.Request) -> dict[str, Any]:
    """The dashboard of the event in the path, as of now (after the admin key is checked)."""
    secretariat(request)
    forum = await forum_of(request)
    state = forum.state
    standings = await request.app[keys.DIGESTS].of(state.sessions)
    return dashboard.dashboard(state, standings, now_ms())


async def get_dashboard(request: web.Request) -> web.Response:
    response = json_response(await board_of(request))
    response.headers.update(NO_STORE)
    return response


async def get_reminders(request: web.Request) -> web.Response:
    """The sessions closed without a published report, with their organizers, as CSV."""
    board = await board_of(request)
    filename = f"{board['event']['id']}-reminders.csv"
    return web.Response(body=dashboard.reminders_csv(board, base_url(request)), headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{filename}"', **NO_STORE})


def routes() -> list[web.RouteDef]:
    return [
        web.get("/api/events/{event_id}/dashboard", get_dashboard),
        web.get("/api/events/{event_id}/reminders.csv", get_reminders),
    ]
