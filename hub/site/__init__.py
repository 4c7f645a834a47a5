"""The public event site (issue #14, parts 3 and 5): `/e/{event}`, its sessions' pages and
the event's highlights, server-rendered in six languages; and the highlights API."""

from __future__ import annotations

from aiohttp import web

from .pages import Site


def routes() -> list[web.RouteDef]:
    """The site's routes, with one page cache for this application."""
    site = Site()
    return [
        web.get("/e/{event}", site.event_home),
        web.get("/e/{event}/highlights", site.highlights_page),
        web.get("/e/{event}/s/{session}", site.session_page),
        web.get("/api/events/{event_id}/highlights", site.highlights_api),
    ]
