"""The site's search page: `/e/{event}/search?q=…` (this event) and `/search?q=…` (every
event), server-rendered from the search index as GET /api/search reads it.

The page's parameters are the API's, but for the language filter (`language`: `lang` is
the page's own language on the site) and `all=1` (every event from an event's page). The
query and filters go through the API's parsing (hub/search/api.py `parse_params`), so a
query the API refuses is refused here too, with the reason in the reader's language and
the form kept; the search budget (HUB_SEARCH_PER_MINUTE) is the API's. Never a 500.

Snippets are the index's (hub/search/snippet.py: escaped text, matches in <mark>); the
page takes them apart into text and marked text and lets the template escape both, so
no text of the index is ever written into the page as markup.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDict
from yarl import URL

from .. import keys
from ..errors import BAD_REQUEST, NOT_FOUND, RATE_LIMITED, HubError
from ..search.api import parse_params, take_budget
from ..search.base import MAX_PAGE, PER_PAGE, IndexUnavailable, Results
from ..search.documents import KINDS, TRANSCRIPT, Document
from ..search.query import MAX_CLAUSES, MAX_LENGTH, Query, parse
from ..search.snippet import snippet
from .text import NAMES, Words

# The page's parameters, and the API's name of each (None: the page's own).
PAGE_PARAMETERS = {"q": "q", "kind": "kind", "language": "lang", "track": "track",
                   "type": "type", "year": "year", "page": "page", "all": None, "lang": None}
# Facets shown, in order, with the page parameter each sets.
FACET_PARAMETERS = {"kind": "kind", "lang": "language", "track": "track", "type": "type",
                    "year": "year", "event": None}
PAGES_AROUND = 3  # page numbers shown either side of the current one
_MARK = re.compile(r"(</?mark>)")


def snippet_parts(marked: str) -> list[tuple[str, bool]]:
    """An index snippet (escaped text with <mark>…</mark>) as plain text parts, each with
    whether it is marked: the template escapes them again, and nothing else is markup."""
    parts: list[tuple[str, bool]] = []
    inside = False
    for piece in _MARK.split(marked):
        if piece == "<mark>":
            inside = True
        elif piece == "</mark>":
            inside = False
        elif piece:
            parts.append((html.unescape(piece), inside))
    return parts


@dataclass(frozen=True, slots=True)
class Search:
    """What the reader asked: the words, the filters as the page names them, the page."""

    event: str | None  # None: every event
    params: dict[str, str]  # the page's parameters given (not lang), as given

    def url(self, lang: str, **changes: str | None) -> str:
        """This search's page with `changes` (None removes a parameter); the page number
        goes back to 1 unless given."""
        query = {k: v for k, v in self.params.items() if k != "page"}
        for name, value in changes.items():
            if value is None:
                query.pop(name, None)
            else:
                query[name] = value
        query["lang"] = lang
        path = f"/e/{self.event}/search" if self.event else "/search"
        return f"{path}?{urlencode(query)}"


def _reason(exc: HubError, words: Words, raw: str) -> str:
    """A refusal of the query or filters, in the reader's language."""
    if not raw.strip():
        return words["s_err_empty"]
    if len(raw) > MAX_LENGTH:
        return words.format("s_err_long", most=MAX_LENGTH)
    try:
        parse(raw)
    except HubError as refused:
        if "no words" in refused.message:
            return words["s_err_words"]
        return words.format("s_err_many", most=MAX_CLAUSES)
    return words["s_err_filter"]


def result_view(doc: Document, query: Query, words: Words, titles: dict[str, str],
                lang: str) -> dict[str, Any]:
    """One result as shown: its kind, snippet parts, the session's link (a transcript line
    at its moment, the line marked on the session page)."""
    url = URL(doc.url)
    params = {"t": url.query["t"]} if doc.kind == TRANSCRIPT and "t" in url.query else {}
    link = f"{url.path}?{urlencode({**params, 'lang': lang})}" + ("#here" if params else "")
    moment = None
    if params:
        seconds = int(params["t"])
        moment = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return {"kind": words[f"s_kind_{doc.kind}"], "parts": snippet_parts(snippet(doc.text, query)),
            "title": doc.title, "url": link, "lang": doc.lang, "moment": moment,
            "event": doc.event, "event_title": titles.get(doc.event, doc.event),
            "event_url": f"/e/{doc.event}?{urlencode({'lang': lang})}", "day": doc.day}


def facet_views(found: Results, search: Search, words: Words, titles: dict[str, str],
                scope_all: bool) -> list[dict[str, Any]]:
    """Each facet with its values as links (counts over every match) and a link to drop it."""
    out = []
    for facet, parameter in FACET_PARAMETERS.items():
        counts = found.facets.get(facet, {})
        if parameter is None:  # the event: only when searching every event, not a filter
            if not scope_all or not counts:
                continue
            values = [{"label": titles.get(v, v), "count": n, "current": False,
                       "url": f"/e/{v}/search?"
                              + urlencode({"q": search.params.get("q", ""),
                                           "lang": words.lang})}
                      for v, n in counts.items()]
            out.append({"id": facet, "name": words["s_facet_event"], "choices": values,
                        "any": None})
            continue
        chosen = search.params.get(parameter)
        if not counts and not chosen:
            continue
        values = []
        for value, number in counts.items():
            label = value
            if facet == "kind" and value in KINDS:
                label = words[f"s_kind_{value}"]
            elif facet == "lang":
                label = NAMES.get(value, value)
            values.append({"label": label, "count": number, "current": value == chosen,
                           "url": search.url(words.lang, **{parameter: value})})
        out.append({"id": facet, "name": words[f"s_facet_{facet}"], "choices": values,
                    "any": search.url(words.lang, **{parameter: None}) if chosen else None})
    return out


def pagination(search: Search, page: int, pages: int, words: Words) -> dict[str, Any] | None:
    if pages <= 1:
        return None
    first, last = max(1, page - PAGES_AROUND), min(pages, page + PAGES_AROUND)
    numbers = [{"n": n, "url": search.url(words.lang, page=str(n)), "current": n == page}
               for n in range(first, last + 1)]
    return {
        "prev": search.url(words.lang, page=str(page - 1)) if page > 1 else None,
        "next": search.url(words.lang, page=str(page + 1)) if page < pages else None,
        "numbers": numbers,
        "first": search.url(words.lang, page="1") if first > 1 else None,
        "last": {"n": pages, "url": search.url(words.lang, page=str(pages))}
        if last < pages else None,
    }


async def titles_of(request: web.Request, events: set[str]) -> dict[str, str]:
    """The titles of the events of a page of results (an event gone keeps its id)."""
    out = {}
    for event in sorted(events):
        try:
            out[event] = (await request.app[keys.FORUMS].get(event)).state.title
        except HubError as exc:
            if exc.code != NOT_FOUND:
                raise
    return out


async def run(request: web.Request, event: str | None, words: Words) -> tuple[int, dict[str, Any]]:
    """The status and the template data of a search page."""
    given = {name: request.query.get(name, "") for name in PAGE_PARAMETERS
             if name != "lang" and request.query.get(name)}
    scope_all = event is None or given.get("all") == "1"
    search = Search(event, given)
    raw = given.get("q", "")
    data: dict[str, Any] = {
        "q": raw, "scope_all": scope_all, "search_event": event,
        "all_url": f"/search?{urlencode({'q': raw, 'lang': words.lang})}",
        "this_url": search.url(words.lang, all=None) if event else None,
        "action": f"/e/{event}/search" if event else "/search",
        "error": None, "found": None,
    }
    if not raw.strip():
        data["error"] = words["s_err_empty"]
        return 200, data  # the reader came to the page: the form and the hints
    api: MultiDict[str] = MultiDict()
    for name, value in given.items():
        known = PAGE_PARAMETERS.get(name)
        if known:
            api[known] = value
    if not scope_all and event is not None:
        api["event"] = event
    try:
        take_budget(request)
        query, filters, page = parse_params(api)
        found = await request.app[keys.SEARCH].search(query, filters, page, PER_PAGE)
    except HubError as exc:
        if exc.code == RATE_LIMITED:
            data["error"] = words["s_err_busy"]
            return 429, data
        if exc.code != BAD_REQUEST:
            raise
        data["error"] = _reason(exc, words, raw)
        return 400, data
    except IndexUnavailable:
        data["error"] = words["s_err_down"]
        return 503, data
    pages = min(MAX_PAGE, math.ceil(found.total / PER_PAGE))
    titles = await titles_of(request, {d.event for d in found.documents}
                             | set(found.facets.get("event", {})))
    data["found"] = {
        "total": found.total, "page": page, "pages": pages,
        "results": [result_view(d, query, words, titles, words.lang) for d in found.documents],
        "facets": facet_views(found, search, words, titles, scope_all),
        "pagination": pagination(search, page, pages, words),
        "first": (page - 1) * PER_PAGE + 1, "last": (page - 1) * PER_PAGE + len(found.documents),
    }
    return 200, data

