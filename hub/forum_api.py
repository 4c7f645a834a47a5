"""The HTTP API of events: create one, change it, import its programme, read it.

The Secretariat (the admin key) creates events and imports programmes; reading an event
and its programme is public (organizers' emails only with the admin key)."""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from . import keys
from .api import is_secretariat, json_response, read_json, secretariat
from .domain import forum as domain
from .domain import programme
from .domain.facts import ProgrammeFact
from .domain.roles import ORGANIZER
from .errors import TOO_LARGE, HubError, bad_request
from .forums import Forum
from .session import now_ms

MAX_PROGRAMME = programme.MAX_BYTES + 64 * 1024  # a file over the parser's limit is told so


async def forum_of(request: web.Request) -> Forum:
    forum: Forum = await request.app[keys.FORUMS].get(request.match_info["event_id"])
    return forum


async def create_event(request: web.Request) -> web.Response:
    secretariat(request)
    body = await read_json(request)
    wanted = body.get("id")
    if wanted is not None and not domain.valid_forum_id(wanted):
        raise bad_request(f"`id` must be {domain.FORUM_ID_RULE}")
    fact = domain.create(body, now=now_ms())
    forum_id = wanted or secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")
    forum = await request.app[keys.FORUMS].create(forum_id, fact)
    if forum is None:
        raise HubError("conflict", f"an event with id {forum_id!r} exists already")
    return json_response({"id": forum_id, "event": domain.data(forum.state),
                          "site": f"/e/{forum_id}"}, 201)


async def list_events(request: web.Request) -> web.Response:
    forums = request.app[keys.FORUMS]
    out = []
    for forum_id in await forums.ids():
        forum = await forums.get(forum_id)
        out.append(domain.data(forum.state))
    return json_response({"events": out})


async def get_event(request: web.Request) -> web.Response:
    forum = await forum_of(request)
    staff = is_secretariat(request)
    state = forum.state
    sessions = []
    for row in state.programme():
        data = domain.session_data(state, row)
        if not staff:
            data["organizers"] = [{"name": o["name"]} for o in data["organizers"]]
        sessions.append(data)
    return json_response({**domain.data(state), "programme": sessions})


async def patch_event(request: web.Request) -> web.Response:
    secretariat(request)
    forum = await forum_of(request)
    body = await read_json(request)
    domain.change(forum.state, body, now=now_ms())  # refused here: nothing applied
    await forum.execute(lambda st: domain.change(st, body, now=now_ms()))
    return json_response(domain.data(forum.state))


async def read_programme(request: web.Request) -> bytes:
    """The whole uploaded file, up to the parser's limit and a little more (so a file
    over it gets the parser's clear answer); 413 beyond."""
    declared = request.content_length
    if declared is not None and declared > MAX_PROGRAMME:
        raise HubError(TOO_LARGE, f"the programme file is {declared} bytes; at most "
                       f"{programme.MAX_BYTES} (10 MB)")
    parts: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > MAX_PROGRAMME:
            raise HubError(TOO_LARGE, f"the programme file is over {programme.MAX_BYTES} "
                           "bytes (10 MB)")
        parts.append(chunk)
    return b"".join(parts)


def problems_error(exc: programme.ProgrammeError) -> HubError:
    problems = [{"line": p.line, "field": p.field, "message": p.message} for p in exc.problems]
    first = exc.problems[0] if exc.problems else None
    where = f"line {first.line}: " if first is not None and first.line else ""
    summary = f"{where}{first.message}" if first is not None else "the programme is not valid"
    more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
    return HubError("bad_request", f"nothing was imported: {summary}{more}", problems=problems)


async def import_programme(request: web.Request) -> web.Response:
    """Import a programme (CSV or iCalendar), all or nothing; `?dry_run=1` only checks it.
    Sessions are matched by external id: importing the same file again changes nothing."""
    grant = secretariat(request)
    forum = await forum_of(request)
    raw = await read_programme(request)
    filename = request.query.get("filename")
    content_type = request.headers.get("Content-Type")
    try:
        rows = programme.parse(raw, filename=filename, content_type=content_type,
                               timezone=forum.state.timezone)
    except programme.ProgrammeError as exc:
        raise problems_error(exc) from None
    source = programme.detect_format(raw, filename, content_type)
    by = grant.identity or ORGANIZER
    fact = domain.import_programme(forum.state, rows, source=source, by=by, now=now_ms())
    changed = domain.changed_sessions(forum.state, fact)
    created = sum(1 for row in changed if row["session"] not in forum.state.sessions)
    answer: dict[str, Any] = {
        "rows": len(rows), "created": created, "updated": len(changed) - created,
        "unchanged": len(rows) - len(changed), "dry_run": bool(request.query.get("dry_run")),
    }
    if answer["dry_run"]:
        return json_response(answer)

    def decide(state: domain.ForumState) -> ProgrammeFact | None:
        fresh = domain.import_programme(state, rows, source=source, by=by, now=now_ms())
        return fresh if domain.changed_sessions(state, fresh) else None

    await forum.execute(decide)
    touched = {row["session"] for row in changed}
    await request.app[keys.FORUMS].materialize(
        forum, [s for s in forum.state.programme() if s.session in touched])
    answer["sessions"] = [{"session": forum.state.external[row.external_id],
                           "external_id": row.external_id, "line": row.line} for row in rows]
    return json_response(answer, 200)


def routes() -> list[web.RouteDef]:
    return [
        web.post("/api/events", create_event),
        web.get("/api/events", list_events),
        web.get("/api/events/{event_id}", get_event),
        web.patch("/api/events/{event_id}", patch_event),
        web.post("/api/events/{event_id}/programme", import_programme),
    ]
