"""The public event site's handlers: the event home, a session's page, the highlights.

Pages are rendered on the server (Jinja2, autoescaped) and read without JavaScript; the
one script (web/js/site.js) only adds the reader's own time beside the event's. Pages
are cached per (event, page, language, filters) (see cache.py); the API's highlights
are built from the event's state once per change.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from .. import keys
from ..api import base_url
from ..domain import highlights
from ..domain.roles import PARTICIPANT
from ..domain.session import CLOSED
from ..errors import NOT_FOUND, HubError, bad_request
from ..forums import Forum
from ..session import Session, now_ms
from . import search_page, views
from .cache import PageCache
from .text import LANGUAGES, NAMES, TAGS, Words, choose

TEMPLATES = Path(__file__).resolve().parent / "templates"
HTML = "text/html; charset=utf-8"
FORMATS = {"md": "text/markdown; charset=utf-8", "html": HTML,
           "json": "application/json"}

_env = Environment(loader=FileSystemLoader(TEMPLATES),
                   autoescape=select_autoescape(default=True, default_for_string=True),
                   trim_blocks=True, lstrip_blocks=True, auto_reload=False)


def render(template: str, words: Words, **context: Any) -> bytes:
    return _env.get_template(template).render(t=words, **context).encode()


def rendered_part(template: str, words: Words, **context: Any) -> Markup:
    """A template rendered as a part of another page (already escaped)."""
    return Markup(_env.get_template(template).render(t=words, **context))


class Body:
    """A rendered page, and its gzip form made once when a reader first takes it: the
    home page of a 300-session programme is ~190 KB of HTML, ~10 % of it gzipped, which
    is what a weak link wants."""

    __slots__ = ("_gzip", "raw")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self._gzip: bytes | None = None

    def gzip(self) -> bytes:
        if self._gzip is None:
            self._gzip = gzip.compress(self.raw, compresslevel=6, mtime=0)
        return self._gzip


MOST_SECONDS = 7 * 24 * 3600  # a moment later than a week into a session is no moment


def moment(value: str | None) -> int | None:
    """`?t=`: whole seconds from the transcript's start; None when absent or not that."""
    if not value or not value.isascii() or not value.isdigit() or len(value) > 7:
        return None
    seconds = int(value)
    return seconds if seconds <= MOST_SECONDS else None


def takes_gzip(request: web.Request) -> bool:
    """Whether Accept-Encoding takes gzip (and does not refuse it with q=0)."""
    for part in request.headers.get("Accept-Encoding", "")[:256].split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


class Site:
    """The site's handlers and their page cache (one per application)."""

    def __init__(self) -> None:
        self.cache = PageCache()

    # -- the parts every page needs -------------------------------------------------

    async def _forum(self, request: web.Request) -> Forum | None:
        try:
            forum: Forum = await request.app[keys.FORUMS].get(request.match_info["event"])
        except HubError as exc:
            if exc.code == NOT_FOUND:
                return None
            raise
        self.cache.watch(forum)
        return forum

    @staticmethod
    def words(request: web.Request, forum: Forum | None) -> Words:
        languages = forum.state.languages if forum is not None else []
        return Words(choose(request.query.get("lang"),
                            request.headers.get("Accept-Language"), languages))

    @staticmethod
    def switcher(request: web.Request, words: Words) -> list[dict[str, Any]]:
        """The language switcher: this page in each language, as plain links."""
        out = []
        for code in LANGUAGES:
            query = {**request.query, "lang": code}
            out.append({"code": code, "tag": TAGS[code], "name": NAMES[code],
                        "url": str(request.rel_url.with_query(query)),
                        "current": code == words.lang})
        return out

    def respond(self, request: web.Request, body: Body, words: Words, *,
                status: int = 200, cache: str = "public, max-age=5") -> web.Response:
        headers = {"Content-Type": HTML, "Content-Language": words.tag,
                   "Vary": "Accept-Language, Accept-Encoding", "Cache-Control": cache}
        if takes_gzip(request):
            headers["Content-Encoding"] = "gzip"
            return web.Response(body=body.gzip(), status=status, headers=headers)
        return web.Response(body=body.raw, status=status, headers=headers)

    def page(self, request: web.Request, template: str, words: Words, **context: Any) -> Body:
        return Body(render(template, words, switcher=self.switcher(request, words), **context))

    def not_found(self, request: web.Request, words: Words, message: str,
                  forum: Forum | None = None) -> web.Response:
        links = views.Links(forum.id, words.lang) if forum is not None else None
        body = self.page(request, "not_found.html", words, message=words[message],
                         event=forum.state if forum is not None else None, links=links)
        return self.respond(request, body, words, status=404, cache="no-cache")

    @staticmethod
    def held(request: web.Request, forum: Forum) -> dict[str, str]:
        """The state of each of the event's sessions held in this process (those someone
        is in or asked about): never a load of every session."""
        programme = forum.state.sessions
        return {s.id: s.state.state for s in request.app[keys.SESSIONS].held()
                if s.id in programme}

    # -- pages ----------------------------------------------------------------------

    async def event_home(self, request: web.Request) -> web.Response:
        """The event: dates, venue, live now, the programme by day; ?room= and ?track=."""
        forum = await self._forum(request)
        words = self.words(request, forum)
        if forum is None:
            return self.not_found(request, words, "no_event")
        state = forum.state
        room, track = request.query.get("room", ""), request.query.get("track", "")
        if (room and room not in views.rooms(state)) or (
                track and track not in views.tracks(state)):
            return self.not_found(request, words, "no_filter", forum)
        key = (forum.id, "home", words.lang, room, track)
        body = self.cache.get(key)
        if body is None:
            links = views.Links(forum.id, words.lang)
            programme = self.programme(forum, words, links, room, track)
            data = views.event_page(state, words, links, held=self.held(request, forum),
                                    now=now_ms())
            body = self.page(request, "event.html", words, links=links, programme=programme,
                             **data)
            self.cache.put(key, body)
        return self.respond(request, body, words)

    def programme(self, forum: Forum, words: Words, links: views.Links, room: str,
                  track: str) -> Markup:
        """The programme part of the event home, rendered once per change of the event
        (the page around it shows what is live, and is rendered every few seconds)."""
        key = (forum.id, "programme", words.lang, room, track)
        part: Markup | None = self.cache.get(key)
        if part is None:
            data = views.programme_part(forum.state, words, links, room=room, track=track)
            part = rendered_part("programme.html", words, **data)
            self.cache.put(key, part, live=False)
        return part

    async def session_page(self, request: web.Request) -> web.Response:
        """One session: time, room, track, people, state; its join link until it closes;
        after, its published report and its transcript."""
        forum = await self._forum(request)
        words = self.words(request, forum)
        if forum is None:
            return self.not_found(request, words, "no_event")
        row = forum.state.sessions.get(request.match_info["session"])
        if row is None:
            return self.not_found(request, words, "no_session", forum)
        at = moment(request.query.get("t"))
        # A search result's moment (?t=) marks one line: such pages are not kept.
        key = (forum.id, "session", row.session, words.lang)
        body = self.cache.get(key) if at is None else None
        if body is None:
            session = await self._session(request, row.session)
            links = views.Links(forum.id, words.lang)
            if session is None:  # not made a hub session (yet): the schedule says
                status = views.status_of(row, {}, now_ms())
                captions, floor, join = None, (row.languages or ["en"])[0], None
            else:
                status = session.state.state
                captions, floor = session.state.captions, session.state.floor_language
                join = self._join_link(request, session) if status != CLOSED else None
            data = views.session_page(forum.state, row, words, links, status=status,
                                      join=join, captions=captions, floor_language=floor,
                                      at=at)
            body = self.page(request, "session.html", words, links=links, **data)
            if at is None:
                self.cache.put(key, body)
        return self.respond(request, body, words)

    @staticmethod
    async def _session(request: web.Request, session_id: str) -> Session | None:
        sessions = request.app[keys.SESSIONS]
        held = sessions.held_one(session_id)
        if held is not None and not held.deleted:
            return held
        try:
            return await sessions.get(session_id)
        except HubError as exc:
            if exc.code == NOT_FOUND:
                return None
            raise

    @staticmethod
    def _join_link(request: web.Request, session: Session) -> str:
        """The session's participant join link, as the organizer's links give it (the
        same link all day); relative, so no Host header can change it."""
        signer = request.app[keys.SIGNER]
        token = signer.mint(session.id, PARTICIPANT, expires=signer.link_expiry(),
                            generation=session.state.links.get(PARTICIPANT, 0))
        return f"/s/{session.id}/{PARTICIPANT}#token={token}"

    async def search_event(self, request: web.Request) -> web.Response:
        """/e/{event}/search?q=: this event's published outputs (or every event's, all=1)."""
        forum = await self._forum(request)
        words = self.words(request, forum)
        if forum is None:
            return self.not_found(request, words, "no_event")
        return await self._search(request, words, forum)

    async def search_all(self, request: web.Request) -> web.Response:
        """/search?q=: every event's published outputs."""
        return await self._search(request, self.words(request, None), None)

    async def _search(self, request: web.Request, words: Words,
                      forum: Forum | None) -> web.Response:
        status, data = await search_page.run(request, forum.id if forum else None, words)
        links = views.Links(forum.id, words.lang) if forum is not None else None
        body = self.page(request, "search.html", words, links=links,
                         event=forum.state if forum is not None else None, **data)
        response = self.respond(request, body, words, status=status, cache="no-store")
        if status == 429:
            response.headers["Retry-After"] = "60"
        return response

    def built(self, forum: Forum) -> highlights.Highlights:
        """The event's highlights, built again after each change of the event."""
        key = (forum.id, "highlights")
        found: highlights.Highlights | None = self.cache.get(key)
        if found is None:
            found = highlights.build(forum.state)
            self.cache.put(key, found, live=False)
        return found

    async def highlights_page(self, request: web.Request) -> web.Response:
        """The event's main point highlights, from the published reports."""
        forum = await self._forum(request)
        words = self.words(request, forum)
        if forum is None:
            return self.not_found(request, words, "no_event")
        key = (forum.id, "highlights-page", words.lang)
        body = self.cache.get(key)
        if body is None:
            links = views.Links(forum.id, words.lang)
            fragment = highlights.to_html_fragment(
                self.built(forum), words.highlights(), query=f"?lang={words.lang}")
            body = self.page(request, "highlights.html", words, links=links,
                             event=forum.state, fragment=Markup(fragment))
            self.cache.put(key, body, live=False)
        return self.respond(request, body, words)

    async def highlights_api(self, request: web.Request) -> web.Response:
        """GET /api/events/{event}/highlights?format=md|html|json (public)."""
        fmt = request.query.get("format", "json")
        if fmt not in FORMATS:
            raise bad_request("format must be one of md, html, json")
        forum: Forum = await request.app[keys.FORUMS].get(request.match_info["event_id"])
        self.cache.watch(forum)
        built = self.built(forum)
        words = self.words(request, forum)
        if fmt == "json":
            body = orjson.dumps(highlights.to_json(built))
        elif fmt == "md":
            body = highlights.to_markdown(built, words.highlights(), base_url(request)).encode()
        else:
            body = highlights.to_html_page(built, words.highlights(), lang=words.tag,
                                           direction=words.dir,
                                           query=f"?lang={words.lang}").encode()
        return web.Response(body=body, headers={
            "Content-Type": FORMATS[fmt], "Content-Language": words.tag,
            "Vary": "Accept-Language", "Cache-Control": "no-cache",
            "Content-Disposition": f'inline; filename="{forum.id}-highlights.{fmt}"'})
