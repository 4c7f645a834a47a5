"""The event's "main point highlights", from its published session reports.

Pure: `build(state)` reads a `ForumState` and keeps only what was *published* (a saved
draft, a withdrawn report and the organizers' names or emails never appear): each
published report's key takeaways and calls to action, grouped by the programme's track
(theme), each point linked to its session (title, id, the public page's path), with the
counts a reader and the Secretariat expect (sessions per track, published / total,
takeaways, calls). Renderers: Markdown, HTML (a fragment for the site's page, a whole
page for the API) and JSON. The texts come from `LABELS` (English) unless the caller
passes the reader's language's (hub.site.text does).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .forum import ForumState, ProgrammeSession

_MD_SPECIAL = frozenset("\\`*_{}[]()<>#+!|~&")
_LIST_START = re.compile(r"^(-|=|\d{1,9}\.)")

LABELS: dict[str, str] = {
    "title": "Main point highlights",
    "intro": "Key takeaways and calls to action from the published reports of the "
             "event's sessions, by track.",
    "published_of": "Sessions with a published report: {published} of {total}",
    "counts": "Key takeaways: {takeaways}; calls to action: {calls}",
    "takeaways": "Key takeaways",
    "calls": "Calls to action",
    "no_track": "Other sessions",
    "none_yet": "No session of this track has a published report yet.",
    "nothing": "No report is published yet: the highlights grow as sessions publish "
               "theirs.",
    "from": "from",
}


@dataclass(frozen=True, slots=True)
class Point:
    """One takeaway or call to action, with the session it comes from."""

    text: str
    session: str
    title: str
    path: str


@dataclass(slots=True)
class TrackHighlights:
    """One track's (theme's) highlights and counts."""

    track: str  # "" for sessions with no track
    sessions: int = 0
    published: int = 0
    takeaways: list[Point] = field(default_factory=list)
    calls: list[Point] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Highlights:
    """The whole event's highlights: one entry per track, in the order tracks are shown."""

    event: str
    title: str
    tracks: tuple[TrackHighlights, ...]
    sessions: int
    published: int
    takeaways: int
    calls: int


def session_path(event: str, session: str) -> str:
    """The public page of one session of the event."""
    return f"/e/{event}/s/{session}"


def build(state: ForumState) -> Highlights:
    """The highlights of `state`: published reports only, in programme order per track;
    tracks sorted by name, the sessions without a track last."""
    tracks: dict[str, TrackHighlights] = {}
    for row in state.programme():
        entry = tracks.setdefault(row.track, TrackHighlights(row.track))
        entry.sessions += 1
        published = state.report(row.session).published
        if published is None:
            continue
        entry.published += 1
        entry.takeaways += [_point(state.id, row, text) for text in published.takeaways]
        entry.calls += [_point(state.id, row, text) for text in published.calls]
    ordered = tuple(sorted(tracks.values(), key=lambda t: (t.track == "", t.track.casefold())))
    return Highlights(
        event=state.id, title=state.title, tracks=ordered,
        sessions=sum(t.sessions for t in ordered),
        published=sum(t.published for t in ordered),
        takeaways=sum(len(t.takeaways) for t in ordered),
        calls=sum(len(t.calls) for t in ordered))


def _point(event: str, row: ProgrammeSession, text: str) -> Point:
    return Point(text, row.session, row.title, session_path(event, row.session))


def _words(labels: Mapping[str, str] | None) -> Mapping[str, str]:
    return {**LABELS, **(labels or {})}


def _track_name(track: TrackHighlights, words: Mapping[str, str]) -> str:
    return track.track or words["no_track"]


# -- JSON -----------------------------------------------------------------------------


def _point_json(point: Point) -> dict[str, str]:
    return {"text": point.text, "session": point.session, "title": point.title,
            "path": point.path}


def to_json(built: Highlights) -> dict[str, Any]:
    """JSON-ready: the counts, then each track with its points."""
    return {
        "event": built.event, "title": built.title,
        "counts": {"sessions": built.sessions, "published": built.published,
                   "takeaways": built.takeaways, "calls": built.calls},
        "tracks": [{"track": t.track, "sessions": t.sessions, "published": t.published,
                    "takeaways": [_point_json(p) for p in t.takeaways],
                    "calls": [_point_json(p) for p in t.calls]} for t in built.tracks],
    }


# -- Markdown -------------------------------------------------------------------------


def _md_text(text: str) -> str:
    """One line of Markdown that shows `text` as written (no markup, no raw HTML)."""
    flat = "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in " ".join(text.split()))
    lead = _LIST_START.match(flat)  # would start a list or a heading inside the item
    if lead:
        flat = flat[:lead.end() - 1] + "\\" + flat[lead.end() - 1:]
    return flat


def to_markdown(built: Highlights, labels: Mapping[str, str] | None = None,
                base: str = "") -> str:
    """Markdown; session links are `base` + the path (an absolute URL when `base` is the
    hub's public address)."""
    words = _words(labels)
    lines = [f"# {_md_text(built.title)}: {_md_text(words['title'])}", "",
             _md_text(words["intro"]), "",
             _md_text(words["published_of"].format(published=built.published,
                                                   total=built.sessions)) + "  ",
             _md_text(words["counts"].format(takeaways=built.takeaways, calls=built.calls)),
             ""]
    if not built.published:
        lines += [_md_text(words["nothing"]), ""]
    for track in built.tracks:
        lines += [f"## {_md_text(_track_name(track, words))}", "",
                  _md_text(words["published_of"].format(published=track.published,
                                                        total=track.sessions)), ""]
        if not track.published:
            lines += [_md_text(words["none_yet"]), ""]
            continue
        for key, points in (("takeaways", track.takeaways), ("calls", track.calls)):
            if not points:
                continue
            lines += [f"### {_md_text(words[key])}", ""]
            lines += [f"- {_md_text(p.text)} ({_md_text(words['from'])} "
                      f"[{_md_text(p.title)}](<{base}{p.path}>))" for p in points]
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


# -- HTML -----------------------------------------------------------------------------


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def to_html_fragment(built: Highlights, labels: Mapping[str, str] | None = None,
                     query: str = "", heading: int = 2) -> str:
    """The highlights as HTML to put inside a page: one section per track, headings from
    level `heading`; `query` (like `?lang=fr`) is added to each session link."""
    words = _words(labels)
    h, sub = f"h{heading}", f"h{heading + 1}"
    out = [f'<p class="counts">{_esc(words["published_of"].format(published=built.published, total=built.sessions))}. '  # noqa: E501
           f'{_esc(words["counts"].format(takeaways=built.takeaways, calls=built.calls))}.</p>']
    if not built.published:
        out.append(f'<p>{_esc(words["nothing"])}</p>')
    for n, track in enumerate(built.tracks, 1):
        hid = f"track-{n}"
        out.append(f'<section class="track" aria-labelledby="{hid}">')
        out.append(f'<{h} id="{hid}" dir="auto">{_esc(_track_name(track, words))}</{h}>')
        out.append(f'<p class="counts">{_esc(words["published_of"].format(published=track.published, total=track.sessions))}</p>')  # noqa: E501
        if not track.published:
            out.append(f'<p>{_esc(words["none_yet"])}</p>')
        for key, points in (("takeaways", track.takeaways), ("calls", track.calls)):
            if not points:
                continue
            out.append(f'<{sub}>{_esc(words[key])}</{sub}>')
            out.append(f'<ul class="points {key}">')
            for p in points:
                out.append(f'<li><p dir="auto">{_esc(p.text)}</p><p class="from">'
                           f'{_esc(words["from"])} <a href="{_esc(p.path + query)}">'
                           f'<bdi>{_esc(p.title)}</bdi></a></p></li>')
            out.append("</ul>")
        out.append("</section>")
    return "\n".join(out) + "\n"


def to_html_page(built: Highlights, labels: Mapping[str, str] | None = None, *,
                 lang: str = "en", direction: str = "ltr", query: str = "",
                 stylesheet: str = "/static/css/site.css") -> str:
    """A whole HTML page (no script, the site's style sheet) of the highlights."""
    words = _words(labels)
    title = f"{built.title}: {words['title']}"
    return (
        f'<!doctype html>\n<html lang="{_esc(lang)}" dir="{_esc(direction)}">\n<head>\n'
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_esc(title)}</title>\n"
        f'<link rel="stylesheet" href="{_esc(stylesheet)}">\n</head>\n<body>\n'
        f'<main id="main">\n<h1><bdi>{_esc(built.title)}</bdi>: {_esc(words["title"])}</h1>\n'
        f'<p>{_esc(words["intro"])}</p>\n'
        + to_html_fragment(built, labels, query)
        + "</main>\n</body>\n</html>\n")
