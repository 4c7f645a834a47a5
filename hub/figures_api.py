"""The HTTP API of an event's participation figures: public, aggregate
and suppressed (hub.domain.event_figures), as of the figures' cut-off.

Like a session's figures (GET /api/sessions/{id}/stats), an event's move once per
`figures_every` seconds (HUB_FIGURES_EVERY), never on each join: they are computed as of
the start of the current period. So they are computed once per period and event (and
programme change), from each session's fold as the session digests keep it, not from 300
sessions held in memory; every request of the period gets the same figures. The
computing runs in a thread, on copies of what it reads.

The cells of closed sessions that were once suppressed stay suppressed (two cut-offs read
together must not pin a cell): they are recorded in the event's log (`figures_kept`)
before the figures are served, and every computation, on any instance and after any
restart, starts from them.
"""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import web

from . import keys
from .api import json_response
from .domain import forum as forum_domain
from .domain import stats
from .domain.event_figures import (
    CUT_KINDS,
    EventFigures,
    FigureSource,
    event_figures,
    kept_cells,
)
from .domain.event_figures_render import to_csv, to_json
from .domain.forum import ForumState
from .domain.session import SessionState
from .errors import HubError, bad_request
from .forum_api import forum_of
from .forums import Forum
from .session import now_ms
from .session_digest import SessionDigests

FORMATS = ("json", "csv")


@dataclass
class _Computed:
    cutoff: int
    programme: tuple[int, str]  # the event's log position the programme was read at
    figures: EventFigures


@dataclass
class EventFiguresCache:
    """Each event's figures of the current period, computed once (one at a time)."""

    digests: SessionDigests
    _done: dict[str, _Computed] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    async def of(self, forum: Forum, cutoff: int) -> EventFigures:
        """The event's figures as of `cutoff`, from the cache when the period and the
        event's log position are the ones they were computed for."""
        async with self._locks.setdefault(forum.id, asyncio.Lock()):
            await forum.catch_up()  # the cells another instance kept a moment ago too
            position = (forum.state.offset, forum.state.epoch)
            done = self._done.get(forum.id)
            if done is not None and done.cutoff == cutoff and done.programme == position:
                return done.figures
            sources = await self._sources(forum.state)
            kept = set(forum.state.figures_kept)
            # 300 sessions take a second or two: off the event loop, which goes on serving
            # the live sessions (and changing their states: the thread reads copies).
            figures = await asyncio.to_thread(
                event_figures, sources, cutoff, done.figures if done else None, kept)
            # Recorded before they are served: what was suppressed stays so everywhere.
            newly = kept_cells(sources, figures)
            await forum.execute(lambda st: forum_domain.keep_figures(st, newly, now=now_ms()))
            position = (forum.state.offset, forum.state.epoch)
            self._done[forum.id] = _Computed(cutoff, position, figures)
            return figures

    async def _sources(self, forum: ForumState) -> list[FigureSource]:
        programme = forum.programme()
        states = await self.digests.states(s.session for s in programme)
        sources = []
        for session in programme:
            state = states.get(session.session)
            if state is None:
                continue  # not made yet, or deleted: no figures
            sources.append(FigureSource(session.session, session.title,
                                        forum.day_of(session.start), session.track,
                                        _still(state)))
        return sources


def _still(state: SessionState) -> SessionState:
    """What the figures read of a session (who was counted, the floor, the hubs' counts,
    the settings), copied so that a thread may read it while the loop changes the state.
    The entries are frozen: copying the containers is enough."""
    return replace(state, identities=dict(state.identities), items=dict(state.items),
                   turns=list(state.turns), hubs=dict(state.hubs), captions=[], partial={},
                   notes={}, keys={}, voters={}, tokens={}, flags={}, arrivals={})


def _cut(request: web.Request, figures: EventFigures) -> tuple[str | None, str | None]:
    """The cut asked for (`?cut=day&key=2026-12-01`): None for every cut."""
    kind = request.query.get("cut")
    key = request.query.get("key")
    if kind is None:
        if key is not None:
            raise bad_request("`key` goes with `cut` (session, day, track or event)")
        return None, None
    if kind not in CUT_KINDS:
        raise bad_request(f"`cut` must be one of {', '.join(CUT_KINDS)}")
    if key is not None and not any(c.cut.key == key for c in figures.cuts(kind)):
        raise HubError("not_found", f"no {kind} {key[:80]!r} in this event's figures")
    return kind, key


def _json(figures: EventFigures, kind: str | None, key: str | None) -> dict[str, Any]:
    whole = to_json(figures)
    if kind is None:
        return whole
    names = {"session": "sessions", "day": "days", "track": "tracks"}
    cuts = [whole["event"]] if kind == "event" else whole[names[kind]]
    chosen = [c for c in cuts if key is None or c["key"] == key]
    return {"as_of": whole["as_of"], "k": whole["k"], "cut": kind, "cuts": chosen}


def _csv(figures: EventFigures, kind: str | None, key: str | None) -> str:
    text = to_csv(figures)
    if kind is None:
        return text
    rows = list(csv.reader(io.StringIO(text)))
    head = rows[0]
    at_kind, at_key = head.index("cut_kind"), head.index("cut")
    kept = [r for r in rows[1:] if r[at_kind] == kind and (key is None or r[at_key] == key)]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([head, *kept])
    return out.getvalue()


async def get_figures(request: web.Request) -> web.Response:
    """The event's participation figures: every session, day, track and the event (or one
    cut, `?cut=…&key=…`), as JSON or CSV (`?format=`)."""
    fmt = request.query.get("format", "json")
    if fmt not in FORMATS:
        raise bad_request(f"`format` must be one of {', '.join(FORMATS)}")
    forum = await forum_of(request)
    every_ms = request.app[keys.CONFIG].figures_every * 1000
    cutoff = stats.cutoff(now_ms(), every_ms)
    figures = await request.app[keys.EVENT_FIGURES].of(forum, cutoff)
    kind, key = _cut(request, figures)
    headers = {"Cache-Control": "no-cache"}
    if fmt == "json":
        response = json_response(_json(figures, kind, key))
        response.headers.update(headers)
        return response
    suffix = f"-{kind}" if kind else ""
    name = f"{forum.id}-figures{suffix}.csv"
    body = "\ufeff".encode() + _csv(figures, kind, key).encode("utf-8")
    return web.Response(body=body, headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{name}"', **headers})


def routes() -> list[web.RouteDef]:
    return [web.get("/api/events/{event_id}/figures", get_figures)]
