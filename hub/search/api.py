"""GET /api/search: public search over every event's published content (docs/protocol.md §25).

Every parameter is checked before the index is asked: a bad one is a 400 naming it, so a
query never reaches an engine unparsed and a search never answers 500.
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from .. import keys
from ..api import json_response
from ..domain.facts import UnknownFact
from ..domain.forum import FORUM_ID_RULE, ForumState, valid_forum_id
from ..domain.session import SessionState
from ..errors import UNAVAILABLE, HubError, bad_request, not_found
from ..log import LogUnavailable
from ..security import client_address
from .base import MAX_PAGE, PER_PAGE, Filters, IndexUnavailable
from .documents import KINDS, Document
from .export import lines
from .indexer import fold_session
from .query import Query, parse
from .snippet import snippet

PARAMETERS = ("q", "event", "lang", "kind", "track", "type", "year", "from", "to", "page")
LANG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})?")
TEXT_MAX = 200  # characters of a track or type filter


def _one(params: MultiMapping[str], name: str) -> str | None:
    values = params.getall(name, [])
    if len(values) > 1:
        raise bad_request(f"`{name}` is given {len(values)} times; give it once")
    return values[0] if values else None


def _day(value: str | None, name: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise bad_request(f"`{name}` takes a date, YYYY-MM-DD") from None


def filters_of(request: web.Request) -> tuple[Query, Filters, int]:
    """The parsed query, the filters and the page of a request; `bad_request` naming any
    parameter that is wrong."""
    unknown = sorted(set(request.query) - set(PARAMETERS))
    if unknown:
        raise bad_request(f"unknown parameter `{unknown[0][:40]}` (known: "
                          f"{', '.join(PARAMETERS)})")
    return parse_params(request.query)


def parse_params(params: MultiMapping[str]) -> tuple[Query, Filters, int]:
    """`filters_of` on parameters named as the API names them (the site's search page
    maps its own to these), unknown ones ignored."""
    values = {name: _one(params, name) for name in PARAMETERS}
    raw = values["q"] or ""
    if not raw.strip():
        raise bad_request("`q` is required: the words to search for")
    query = parse(raw)
    event = values["event"] or None
    if event is not None and not valid_forum_id(event):
        raise bad_request(f"`event` takes an event id ({FORUM_ID_RULE})")
    lang = values["lang"] or None
    if lang is not None and not LANG.fullmatch(lang):
        raise bad_request("`lang` takes a language tag, like en, fr, zh or pt-BR")
    kind = values["kind"] or None
    if kind is not None and kind not in KINDS:
        raise bad_request(f"`kind` takes one of {', '.join(KINDS)}")
    for name in ("track", "type"):
        if values[name] is not None and len(values[name] or "") > TEXT_MAX:
            raise bad_request(f"`{name}` takes at most {TEXT_MAX} characters")
    year: int | None = None
    if values["year"]:
        if not re.fullmatch(r"[12][0-9]{3}", values["year"] or ""):
            raise bad_request("`year` takes a year, like 2025")
        year = int(values["year"] or 0)
    start, end = _day(values["from"], "from"), _day(values["to"], "to")
    if start and end and start > end:
        raise bad_request("`from` is after `to`")
    page = 1
    if values["page"]:
        text = values["page"] or ""
        if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_PAGE:
            raise bad_request(f"`page` takes a whole number from 1 to {MAX_PAGE}")
        page = int(text)
    filters = Filters(event=event, lang=lang, kind=kind, track=values["track"] or None,
                      type=values["type"] or None, year=year, start=start, end=end)
    return query, filters, page


def result(doc: Document, query: Query) -> dict[str, Any]:
    return {"kind": doc.kind, "text": doc.text, "snippet": snippet(doc.text, query),
            "session": doc.session, "event": doc.event, "title": doc.title, "lang": doc.lang,
            "ts": doc.ts, "day": doc.day, "track": doc.track, "type": doc.type,
            "url": doc.url}


def take_budget(request: web.Request) -> None:
    """One search (or export) of the client address's budget; `rate_limited` past it."""
    limits = request.app[keys.LIMITS]
    address = client_address(request, request.app[keys.CONFIG])
    limits.check("*", address, "search_shared" if limits.shared(address) else "search")


async def search(request: web.Request) -> web.Response:
    take_budget(request)
    query, filters, page = filters_of(request)
    try:
        found = await request.app[keys.SEARCH].search(query, filters, page, PER_PAGE)
    except IndexUnavailable as exc:
        raise HubError(UNAVAILABLE, f"search is unavailable ({exc}); try again") from exc
    return json_response({
        "total": found.total, "page": page, "per_page": PER_PAGE,
        "pages": min(MAX_PAGE, math.ceil(found.total / PER_PAGE)),
        "results": [result(doc, query) for doc in found.documents],
        "facets": found.facets,
    })


async def session_states(request: web.Request, forum: ForumState) -> dict[str, SessionState]:
    """The state of each of the event's programme sessions that has a log, for an export."""
    sessions = request.app[keys.SESSIONS]
    states = {}
    try:
        for entry in forum.programme():
            held = sessions.held_one(entry.session)
            # Not held here: folded from its log for the download, not loaded and followed.
            state = held.state if held is not None else await fold_session(
                request.app[keys.LOG], entry.session)
            if state.offset:  # a deleted session has no log: the programme keeps its entry
                states[entry.session] = state
    except LogUnavailable as exc:
        raise HubError(UNAVAILABLE, f"storage is unavailable ({exc}); try again") from exc
    except UnknownFact as exc:  # a newer hub wrote to one of them
        raise HubError(UNAVAILABLE, f"this instance cannot read a session: {exc}") from exc
    return states


async def export(request: web.Request) -> web.StreamResponse:
    """GET /api/events/{event_id}/export.jsonl: the event's published outputs (public)."""
    event_id = request.match_info["event_id"]
    if not valid_forum_id(event_id):
        raise not_found(f"no such event: an event id is {FORUM_ID_RULE}")
    take_budget(request)
    forum = await request.app[keys.FORUMS].get(event_id)
    states = await session_states(request, forum.state)
    response = web.StreamResponse(headers={
        "Content-Type": "application/x-ndjson; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{event_id}.jsonl"'})
    await response.prepare(request)
    for line in lines(forum.state, states):
        await response.write(line)
    await response.write_eof()
    return response


def routes() -> list[web.RouteDef]:
    return [web.get("/api/search", search),
            web.get("/api/events/{event_id}/export.jsonl", export)]
