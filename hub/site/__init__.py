"""The public event site: `/e/{event}`, its sessions' pages and
the event's highlights and the search page, server-rendered in six languages;
the highlights API and the event's offline bundle."""

from __future__ import annotations

from aiohttp import web

from . import bundle
from .pages import Site


def routes() -> list[web.RouteDef]:
    """The site's routes, with one page cache for this application."""
    site = Site()
    return [
        web.get("/e/{event}", site.event_home),
        web.get("/e/{event}/highlights", site.highlights_page),
        web.get("/e/{event}/s/{session}", site.session_page),
        web.get("/e/{event}/search", site.search_event),
        web.get("/search", site.search_all),
        web.get("/api/events/{event_id}/highlights", site.highlights_api),
        web.get("/api/events/{event_id}/export.zip", bundle.export_zip),
    ]
