"""The HTTP API: sessions, tokens, caption ingest, transcripts, health and metrics."""

from __future__ import annotations

import functools
import hmac
import re
import secrets
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from . import keys
from .client import check_standing
from .domain import commands, meeting, report, transcript, views
from .domain.captions import match_language
from .domain.commands import Actor
from .domain.profiles import check_profile
from .domain.roles import CAPTIONER, HUB, LINK_ROLES, ORGANIZER, PARTICIPANT, ROLES, STAFF
from .domain.session import SessionState
from .errors import NOT_FOUND, UNAUTHORIZED, HubError, bad_request, forbidden
from .log.embedded import new_epoch_id
from .security import client_address
from .session import Session, now_ms
from .tokens import Grant, new_identity_id

SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{3,64}$")
MAX_BODY = 1024 * 1024
# Captioning software made for the common push APIs starts a post with a timestamp line.
TIMESTAMP_LINE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\S*(\s+region:\S+)?$")


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


@web.middleware
async def errors_as_json(request: web.Request, handler: Any) -> web.StreamResponse:
    """A refused request answers `{"error": {"code", "message"}}` with the matching status."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except HubError as exc:
        body = {"error": {"code": exc.code, "message": exc.message, **exc.extra}}
        return json_response(body, exc.http_status)


def token_of(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.query.get("token")


def authorize(request: web.Request, session_id: str | None, roles: frozenset[str] | None) -> Grant:
    """The grant of the request's token; 401 without a valid one, 403 for a role not in `roles`."""
    token = token_of(request)
    if not token:
        raise HubError(UNAUTHORIZED, "a token is required: `Authorization: Bearer ...` or ?token=")
    grant = request.app[keys.SIGNER].verify(token, session_id)
    if roles is not None and grant.role not in roles:
        raise forbidden(f"a {grant.role} token may not do this")
    return grant


async def allowed(request: web.Request, roles: frozenset[str] | None) -> tuple[Session, Grant]:
    """The request's session and grant: a valid token of this session, a role in `roles`,
    not banned, not a retired link."""
    session_id = request.match_info["session_id"]
    grant = authorize(request, session_id, roles)
    session = await request.app[keys.SESSIONS].get(session_id)
    check_standing(session.state, grant)
    return session, grant


async def read_json(request: web.Request) -> dict[str, Any]:
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise HubError("too_large", "the body is over 1 MiB")
    if not raw:
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"invalid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    return body


def base_url(request: web.Request) -> str:
    config = request.app[keys.CONFIG]
    if config.public_url:
        return config.public_url
    return f"{request.scheme}://{request.host}"


def page_link(request: web.Request, session_id: str, role: str, token: str) -> str:
    return link_at(base_url(request), session_id, role, token)


def link_at(base: str, session_id: str, role: str, token: str) -> str:
    """A role's page; the token rides in the fragment, so it never reaches server logs."""
    return f"{base}/s/{session_id}/{role}#token={token}"


def _opt_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise bad_request(f"`{name}` must be a string")
    return value


async def create_session(request: web.Request) -> web.Response:
    authorize(request, None, frozenset({ORGANIZER}))
    body = await read_json(request)
    title = _opt_str(body, "title")
    if title is None:
        raise bad_request("`title` is required")
    settings = body.get("settings")
    if settings is not None and not isinstance(settings, dict):
        raise bad_request("`settings` must be an object")
    fact = commands.create(
        title=title,
        languages=body.get("languages"),
        state=_opt_str(body, "state"),
        settings=settings,
        now=now_ms(),
    )
    wanted = _opt_str(body, "id")
    if wanted is not None and not SESSION_ID.match(wanted):
        raise bad_request("`id` must be 3 to 64 letters, digits, '-' or '_'")
    session_id = wanted or secrets.token_urlsafe(6)
    sessions = request.app[keys.SESSIONS]
    session = await sessions.create(session_id, fact, new_epoch_id())
    if session is None:
        raise HubError("conflict", f"a session with id {session_id!r} exists already")
    body_out = {"id": session_id, "session": views.session_data(session.state),
                **_links(request, session.state)}
    return json_response(body_out, 201)


def _links(request: web.Request, state: SessionState) -> dict[str, Any]:
    """The current join link of every role, and the caption ingest URL."""
    signer = request.app[keys.SIGNER]
    tokens = {role: signer.mint(state.id, role, generation=state.links.get(role, 0))
              for role in LINK_ROLES}
    return {
        "links": {role: page_link(request, state.id, role, tok) for role, tok in tokens.items()},
        "tokens": tokens,
        "captions_url": f"{base_url(request)}/api/sessions/{state.id}/captions"
        f"?token={tokens[CAPTIONER]}",
    }


async def get_links(request: web.Request) -> web.Response:
    """The session's current join links (the organizer lost them, or rotated some)."""
    session, _ = await allowed(request, frozenset({ORGANIZER}))
    return json_response({"id": session.id, **_links(request, session.state)})


async def list_sessions(request: web.Request) -> web.Response:
    authorize(request, None, frozenset({ORGANIZER}))
    ids = await request.app[keys.LOG].sessions()
    out = []
    for session_id in ids:
        session = await request.app[keys.SESSIONS].get(session_id)
        out.append(views.session_data(session.state))
    return json_response({"sessions": out})


async def patch_session(request: web.Request) -> web.Response:
    """Change a session: state, title, languages, settings, the fair floor, retired links.
    Every part is checked against the current state before any is applied."""
    session, grant = await allowed(request, frozenset({ORGANIZER}))
    body = await read_json(request)
    unknown = set(body) - {"state", "title", "languages", "settings", "floor", "rotate"}
    if unknown:
        raise bad_request(f"unknown field {sorted(unknown)[0]!r}")
    actor = Actor(grant.identity or ORGANIZER, ORGANIZER, grant.name or "Organizer")
    settings = _opt_object(body, "settings")
    floor = _opt_object(body, "floor")
    rotate = body.get("rotate") or []
    if not isinstance(rotate, list) or not all(isinstance(r, str) for r in rotate):
        raise bad_request("`rotate` takes a list of roles whose join links to retire")
    steps = [functools.partial(
        commands.change_session, actor=actor, new_state=_opt_str(body, "state"),
        title=_opt_str(body, "title"), languages=body.get("languages"), settings=settings)]
    if floor is not None:
        steps.append(functools.partial(
            commands.floor, actor=actor, ordering=floor.get("ordering"),
            weights=_opt_object(floor, "weights"), budgets=_opt_object(floor, "budgets")))
    steps += [functools.partial(commands.rotate, actor=actor, role=r) for r in rotate]
    for step in steps:  # refused here, nothing was applied
        step(session.state)
    for step in steps:
        await session.execute(step)
    answer = {**views.session_data(session.state), "floor": session.state.floor}
    if rotate:
        answer.update(_links(request, session.state))
    return json_response(answer)


def _opt_object(body: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = body.get(name)
    if value is not None and not isinstance(value, dict):
        raise bad_request(f"`{name}` must be an object")
    return value


async def delete_session(request: web.Request) -> web.Response:
    """Delete a session and everything stored of it: log, transcript, personal data."""
    session_id = request.match_info["session_id"]
    authorize(request, session_id, frozenset({ORGANIZER}))
    if not await request.app[keys.SESSIONS].delete(session_id):
        raise HubError("not_found", f"no session {session_id!r}")
    return json_response({"id": session_id, "deleted": True})


async def get_session(request: web.Request) -> web.Response:
    session, _ = await allowed(request, None)
    return json_response({**views.session_data(session.state), "presence": session.presence()})


async def mint_token(request: web.Request) -> web.Response:
    """A named token (one identity, e.g. one per regional hub), or a hub's attendee link."""
    session, grant = await allowed(request, STAFF | {HUB})
    session_id = session.id
    body = await read_json(request)
    role = body.get("role")
    if role not in ROLES or role == ORGANIZER:
        raise bad_request(f"`role` must be one of {', '.join(LINK_ROLES)}")
    signer = request.app[keys.SIGNER]
    hub = _opt_str(body, "hub")
    if grant.role == HUB:  # a hub mints links for its own attendees, nothing else
        if role != PARTICIPANT or hub not in (None, grant.identity):
            raise forbidden("a hub may only mint attendee links for itself")
        hub = grant.identity
    if hub is not None:
        known = session.state.identities.get(hub)
        if role != PARTICIPANT or known is None or known.role != HUB:
            raise bad_request("`hub` takes a connected hub's id, for role participant")
        token = signer.mint(session_id, PARTICIPANT, hub=hub,
                            generation=session.state.links.get(PARTICIPANT, 0))
        return json_response({"token": token, "role": role, "hub": hub, "name": known.name,
                              "link": page_link(request, session_id, role, token)}, 201)
    if grant.role not in STAFF:
        raise forbidden("only moderators and the organizer mint named links")
    name = commands.check_name(_opt_str(body, "name") or "")
    place = {k: v for k in ("city", "country") if (v := _opt_str(body, k))}
    if "country" in place:
        place["country"] = check_profile({"country": place["country"]})["country"]
    if "city" in place:
        place["city"] = commands.check_name(place["city"])
    token = signer.mint(session_id, role, identity=new_identity_id(), name=name,
                        place=place if role == HUB else None)
    return json_response(
        {"token": token, "role": role, "name": name,
         "link": page_link(request, session_id, role, token)},
        201,
    )


async def _captioner(request: web.Request) -> tuple[Session, Actor]:
    session, grant = await allowed(request, frozenset({CAPTIONER}))
    token = token_of(request) or ""
    # A join link names no identity: captions ingested with it are signed by the link itself.
    ident = grant.identity or "ingest-" + token[-10:]
    return session, Actor(ident, CAPTIONER, grant.name or "Captioner")


def _seq(request: web.Request) -> int | None:
    raw = request.query.get("seq")
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 15:
        raise bad_request("`seq` must be a whole number")
    return int(raw)


async def ingest_captions(request: web.Request) -> web.Response:
    session, actor = await _captioner(request)
    config = request.app[keys.CONFIG]
    request.app[keys.LIMITS].check("*", client_address(request, config), "ingest")
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise HubError("too_large", "the body is over 1 MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad_request("the body must be UTF-8 text") from exc
    lines = [ln for ln in text.splitlines() if ln.strip() and not TIMESTAMP_LINE.match(ln.strip())]
    if not lines:
        raise bad_request("the body has no caption text: send one caption per line")
    seq = _seq(request)
    lang = request.query.get("lang")
    result = await session.execute(
        lambda st: commands.caption(
            st, actor, lines=lines, lang=lang, final=True, seq=seq, now=now_ms()
        )
    )
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    headers = {"X-Hub-Duplicate": "1"} if result.get("duplicate") else {}
    return web.Response(text=stamp + "\n", content_type="text/plain", headers=headers)


def _language(state: SessionState, lang: str | None) -> str:
    """The session language `lang` names (the floor language when None); 400 otherwise."""
    if lang is None:
        return state.floor_language
    matched = match_language(lang, state.languages)
    if matched is None:
        raise bad_request(f"language {lang!r} is not one of {', '.join(state.languages)}")
    return matched


async def caption_seq(request: web.Request) -> web.Response:
    session, _ = await _captioner(request)
    matched = _language(session.state, request.query.get("lang"))
    return json_response({"lang": matched, "seq": session.state.caption_seq.get(matched)})


async def get_transcript(request: web.Request) -> web.StreamResponse:
    session, _ = await allowed(request, None)
    session_id, state = session.id, session.state
    fmt = request.query.get("format", "txt")
    matched = _language(state, request.query.get("lang"))
    cues = transcript.build_cues(state.captions, matched)
    filename = f"{session_id}-{matched}.{fmt}"
    disposition = {"Content-Disposition": f'inline; filename="{filename}"'}
    if fmt == "json":
        body = {"session": views.session_data(state), "lang": matched,
                "cues": transcript.to_json(cues)}
        return web.Response(body=orjson.dumps(body), content_type="application/json",
                            headers=disposition)
    if fmt not in transcript.EXPORT_FORMATS:
        raise bad_request("format must be one of txt, vtt, srt, json")
    media_type, render = transcript.EXPORT_FORMATS[fmt]
    return web.Response(body=render(cues).encode(), headers={
        "Content-Type": media_type, **disposition})


REPORT_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
}


async def get_report(request: web.Request) -> web.StreamResponse:
    session, _ = await allowed(request, STAFF)
    session_id = session.id
    fmt = request.query.get("format", "md")
    built = meeting.build_report(session.state, now_ms())
    if fmt == "json":
        return json_response(report.to_json(built))
    if fmt not in REPORT_TYPES:
        raise bad_request("format must be one of md, html, json, csv")
    render = {"md": report.to_markdown, "html": report.to_html, "csv": report.to_csv}[fmt]
    disposition = f'inline; filename="{session_id}-report.{fmt}"'
    return web.Response(body=render(built).encode(), headers={
        "Content-Type": REPORT_TYPES[fmt], "Content-Disposition": disposition})


async def get_floor(request: web.Request) -> web.Response:
    """The queue ranked by an ordering, with reasons: advice, the moderator decides."""
    session, _ = await allowed(request, STAFF)
    return json_response(meeting.suggestions(session.state, request.query.get("ordering"),
                                             now_ms()))


async def get_stats(request: web.Request) -> web.Response:
    """Live participation figures, aggregate only, small cells suppressed."""
    session, _ = await allowed(request, STAFF)
    return json_response(meeting.stats_json(meeting.participation(session.state, now_ms())))


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


async def readyz(request: web.Request) -> web.Response:
    if await request.app[keys.LOG].ping():
        return web.Response(text="ready\n")
    return web.Response(text="backend unavailable\n", status=503)


async def metrics(request: web.Request) -> web.Response:
    wanted = request.app[keys.CONFIG].metrics_token
    if not wanted and keys.RELAY in request.app:
        # A relay runs on a laptop in a room's network: no open metrics there.
        raise HubError(NOT_FOUND, "/metrics is off on a relay unless HUB_METRICS_TOKEN is set")
    if wanted and not hmac.compare_digest((token_of(request) or "").encode(), wanted.encode()):
        raise HubError(UNAUTHORIZED, "/metrics needs the operator's metrics token")
    body = request.app[keys.METRICS].render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})


def routes() -> list[web.RouteDef]:
    return [
        web.post("/api/sessions", create_session),
        web.get("/api/sessions", list_sessions),
        web.get("/api/sessions/{session_id}", get_session),
        web.patch("/api/sessions/{session_id}", patch_session),
        web.delete("/api/sessions/{session_id}", delete_session),
        web.post("/api/sessions/{session_id}/tokens", mint_token),
        web.post("/api/sessions/{session_id}/captions", ingest_captions),
        web.get("/api/sessions/{session_id}/captions/seq", caption_seq),
        web.get("/api/sessions/{session_id}/transcript", get_transcript),
        web.get("/api/sessions/{session_id}/report", get_report),
        web.get("/api/sessions/{session_id}/links", get_links),
        web.get("/api/sessions/{session_id}/floor", get_floor),
        web.get("/api/sessions/{session_id}/stats", get_stats),
        web.get("/healthz", healthz),
        web.get("/readyz", readyz),
        web.get("/metrics", metrics),
    ]
