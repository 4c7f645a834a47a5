"""GET /api/events/{event_id}/export.zip: an event's published outputs as a static HTML
bundle that reads offline (docs/protocol.md §25).

The bundle is a zip of one folder named after the event: `index.html` (the programme,
each session linked), `s-<session>.html` per programme session (its entry, its published
report and, once closed, its transcript, as the site's session page shows them),
`highlights.html` and `site.css`. It is made with the site's templates, without the
script, the language switcher or the search box; every link is relative to the folder.
Only what the public site shows is in it (hub/site/views.py decides): a published report,
never a draft; no join link, no questions queue, no names but the organizers'.

It is built in a worker thread from states gathered first, so a 300-session event does
not hold up the event loop.
"""

from __future__ import annotations

import asyncio
import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web
from markupsafe import Markup

from .. import keys
from ..domain import highlights
from ..domain.forum import FORUM_ID_RULE, ForumState, valid_forum_id
from ..domain.session import SessionState
from ..errors import not_found
from ..search.api import session_states, take_budget
from ..session import now_ms
from ..webroot import web_root
from . import views
from .pages import render, rendered_part
from .text import Words, choose


@dataclass(frozen=True, slots=True)
class BundleLinks(views.Links):
    """The site's links within the bundle: file names in one folder."""

    def home(self, **_: str) -> str:
        return "index.html"  # no room or track filter offline: the whole programme

    def session(self, session: str) -> str:
        return page_name(session)

    def highlights(self) -> str:
        return "highlights.html"


def page_name(session: str) -> str:
    return f"s-{session}.html"  # ids are letters, digits, '-' and '_'


def _page(template: str, words: Words, links: BundleLinks, forum: ForumState,
          **context: object) -> bytes:
    context.setdefault("event", forum)
    return render(template, words, links=links, switcher=[], offline=True, css="site.css",
                  **context)


def build(forum: ForumState, states: Mapping[str, SessionState], lang: str,
          style: bytes) -> bytes:
    """The zip's bytes (pure but for the CPU: run it in a thread)."""
    words = Words(lang)
    links = BundleLinks(forum.id, lang)
    now = now_ms()
    folder = forum.id
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        def put(name: str, data: bytes) -> None:
            bundle.writestr(f"{folder}/{name}", data)

        part = views.programme_part(forum, words, links, room="", track="")
        programme = rendered_part("programme.html", words, offline=True,
                                  **{**part, "rooms": [], "tracks": []})
        put("index.html", _page("bundle_index.html", words, links, forum,
                                programme=programme, first_day=words.day(forum.start),
                                last_day=words.day(forum.end)))
        for row in forum.programme():
            state = states.get(row.session)
            if state is None:
                status, captions, floor = views.status_of(row, {}, now), None, (
                    row.languages or ["en"])[0]
            else:
                status = state.state
                captions, floor = state.captions, state.floor_language
            data = views.session_page(forum, row, words, links,
                                      status=status, join=None, captions=captions,
                                      floor_language=floor)
            put(page_name(row.session), _page("session.html", words, links, forum, **data))
        fragment = highlights.to_html_fragment(highlights.build(forum), words.highlights())
        fragment = re.sub(rf'href="/e/{re.escape(forum.id)}/s/([A-Za-z0-9_-]+)"',
                          lambda m: f'href="{page_name(m.group(1))}"', fragment)
        put("highlights.html", _page("highlights.html", words, links, forum,
                                     fragment=Markup(fragment)))
        put("site.css", style)
    return out.getvalue()


async def export_zip(request: web.Request) -> web.Response:
    """GET /api/events/{event_id}/export.zip?lang= (public): the offline bundle."""
    event_id = request.match_info["event_id"]
    if not valid_forum_id(event_id):
        raise not_found(f"no such event: an event id is {FORUM_ID_RULE}")
    take_budget(request)
    forum = await request.app[keys.FORUMS].get(event_id)
    state = forum.state
    lang = choose(request.query.get("lang"), None, state.languages)
    states = await session_states(request, state)
    config = request.app[keys.CONFIG]
    css = web_root(config.web_dir) / "css" / "site.css"
    style = await asyncio.to_thread(css.read_bytes)
    body = await asyncio.to_thread(build, state, states, lang, style)
    return web.Response(body=body, headers={
        "Content-Type": "application/zip",
        "Content-Disposition": f'attachment; filename="{event_id}.zip"',
        "Cache-Control": "no-cache"})

