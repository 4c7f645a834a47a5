"""The HTTP API of an event's regional and national hubs (docs/protocol.md §24).

The Secretariat (the admin key) registers a hub once for the event, changes or removes it,
and gets or replaces its one link (`hub.access`); anyone may list the hubs (who and where
they are, which sessions they follow: never their links) and read the inputs from the
regions (`hub.domain.regional_inputs`); a hub, with its link, reads the sessions it follows
for its event page (`/e/{event}/hub`).

Reading sessions' states: each session a hub follows is loaded with `Sessions.get` (a
hub follows a few sessions; a hub following the whole programme loads it all, which is
fine for now: sessions are loaded while they run anyway).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import access, keys
from .api import base_url, json_response, read_json, secretariat, token_of
from .domain import forum as domain
from .domain import regional_inputs
from .domain.session import SessionState
from .errors import NOT_FOUND, HubError, bad_request
from .forum_api import forum_of
from .forums import Forum
from .security import client_address
from .session import now_ms
from .tokens import new_identity_id

DIGEST_TYPES = {
    "md": ("text/markdown; charset=utf-8", regional_inputs.to_markdown),
    "html": ("text/html; charset=utf-8", regional_inputs.to_html),
}


def _link(request: web.Request, forum: Forum, hub: domain.ForumHub) -> dict[str, Any]:
    token, expires = access.mint_link(request.app[keys.SIGNER], forum.state, hub)
    return {"link": f"{base_url(request)}/e/{forum.id}/hub#token={token}", "token": token,
            "expires": expires}


async def register_hub(request: web.Request) -> web.Response:
    """Register a hub for the event; the answer holds its one link."""
    secretariat(request)
    forum = await forum_of(request)
    body = await read_json(request)
    hub_id = new_identity_id()
    domain.register_hub(forum.state, body, hub_id=hub_id, now=now_ms())  # refused: nothing
    await forum.execute(lambda st: domain.register_hub(st, body, hub_id=hub_id, now=now_ms()))
    hub = domain.forum_hub(forum.state, hub_id)
    return json_response({"hub": domain.hub_public(forum.state, hub),
                          **_link(request, forum, hub)}, 201)


async def list_hubs(request: web.Request) -> web.Response:
    forum = await forum_of(request)
    state = forum.state
    hubs = sorted(state.hubs.values(), key=lambda h: (h.name.casefold(), h.id))
    return json_response({"event": forum.id,
                          "hubs": [domain.hub_public(state, h) for h in hubs]})


async def _hub(request: web.Request) -> tuple[Forum, domain.ForumHub]:
    forum = await forum_of(request)
    return forum, domain.forum_hub(forum.state, request.match_info["hub_id"])


async def patch_hub(request: web.Request) -> web.Response:
    """Change a hub's name, kind, city, country or sessions; its link stays the same."""
    secretariat(request)
    forum, hub = await _hub(request)
    body = await read_json(request)
    domain.register_hub(forum.state, body, hub_id=hub.id, now=now_ms())
    await forum.execute(lambda st: domain.register_hub(st, body, hub_id=hub.id, now=now_ms()))
    return json_response({"hub": domain.hub_public(forum.state,
                                                   domain.forum_hub(forum.state, hub.id))})


async def delete_hub(request: web.Request) -> web.Response:
    """The hub is no longer registered: its link is refused in every session."""
    secretariat(request)
    forum, hub = await _hub(request)
    await forum.execute(lambda st: domain.remove_hub(st, hub.id, now=now_ms()))
    return json_response({"id": hub.id, "deleted": True})


async def get_link(request: web.Request) -> web.Response:
    """The hub's current link (lost, or to hand on again)."""
    secretariat(request)
    forum, hub = await _hub(request)
    return json_response({"hub": domain.hub_public(forum.state, hub),
                          **_link(request, forum, hub)})


async def replace_link(request: web.Request) -> web.Response:
    """A new link for the hub; the one before is refused from now on."""
    secretariat(request)
    forum, hub = await _hub(request)
    await forum.execute(lambda st: domain.replace_hub_link(st, hub.id, now=now_ms()))
    hub = domain.forum_hub(forum.state, hub.id)
    return json_response({"hub": domain.hub_public(forum.state, hub),
                          **_link(request, forum, hub)}, 201)


async def _states(request: web.Request, session_ids: list[str]) -> dict[str, SessionState]:
    sessions = request.app[keys.SESSIONS]
    out = {}
    for session_id in session_ids:
        try:
            out[session_id] = (await sessions.get(session_id)).state
        except HubError as exc:
            if exc.code != NOT_FOUND:  # a programme session deleted: nothing happened there
                raise
    return out


async def my_sessions(request: web.Request) -> web.Response:
    """The hub's own view, with its link: itself and the sessions it follows, with their
    state and their hub pages."""
    app = request.app
    address = client_address(request, app[keys.CONFIG])
    forum, hub = await access.event_hub(app[keys.SIGNER], app[keys.LIMITS], app[keys.FORUMS],
                                        token_of(request), request.match_info["event_id"],
                                        address)
    state = forum.state
    rows = domain.followed(state, hub)
    states = await _states(request, [r.session for r in rows])
    sessions = []
    for row in rows:
        session = states.get(row.session)
        sessions.append({
            "session": row.session, "title": row.title, "start": row.start, "end": row.end,
            "day": state.day_of(row.start), "room": row.room, "track": row.track,
            "state": session.state if session is not None else None,
            "page": f"/s/{row.session}/hub"})
    return json_response({"event": domain.data(state), "hub": domain.hub_public(state, hub),
                          "days": state.days(), "sessions": sessions})


async def _digest(request: web.Request, hub_id: str | None) -> web.StreamResponse:
    forum = await forum_of(request)
    fmt = request.query.get("format", "json")
    if fmt != "json" and fmt not in DIGEST_TYPES:
        raise bad_request("format must be one of md, html, json")
    state = forum.state
    hubs = [domain.forum_hub(state, hub_id)] if hub_id is not None else list(state.hubs.values())
    wanted = {row.session for hub in hubs for row in domain.followed(state, hub)}
    states = await _states(request, [r.session for r in state.programme() if r.session in wanted])
    digest = regional_inputs.build(state, states, now=now_ms(), hub_id=hub_id)
    if fmt == "json":
        return json_response(regional_inputs.to_json(digest))
    media_type, render = DIGEST_TYPES[fmt]
    name = f"{forum.id}-{hub_id}-inputs" if hub_id else f"{forum.id}-inputs"
    return web.Response(body=render(digest).encode(), headers={
        "Content-Type": media_type,
        "Content-Disposition": f'inline; filename="{name}.{fmt}"'})


async def event_digest(request: web.Request) -> web.StreamResponse:
    """The inputs from the regions: every hub, and every input by session."""
    return await _digest(request, None)


async def hub_digest(request: web.Request) -> web.StreamResponse:
    """One hub's attendance and inputs across the event."""
    _, hub = await _hub(request)
    return await _digest(request, hub.id)


def routes() -> list[web.RouteDef]:
    return [
        web.post("/api/events/{event_id}/hubs", register_hub),
        web.get("/api/events/{event_id}/hubs", list_hubs),
        web.get("/api/events/{event_id}/hubs/me", my_sessions),
        web.get("/api/events/{event_id}/hubs/digest", event_digest),
        web.patch("/api/events/{event_id}/hubs/{hub_id}", patch_hub),
        web.delete("/api/events/{event_id}/hubs/{hub_id}", delete_hub),
        web.get("/api/events/{event_id}/hubs/{hub_id}/link", get_link),
        web.post("/api/events/{event_id}/hubs/{hub_id}/link", replace_link),
        web.get("/api/events/{event_id}/hubs/{hub_id}/digest", hub_digest),
    ]
