"""The HTTP API: sessions, tokens, caption ingest, transcripts, health and metrics."""

from __future__ import annotations

import functools
import hmac
import math
import re
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from . import access, keys
from .domain import commands, meeting, report, transcript, views, voice
from .domain.captions import match_language
from .domain.commands import Actor
from .domain.profiles import check_profile
from .domain.roles import (
    CAPTIONER,
    HUB,
    LINK_ROLES,
    ORGANIZER,
    PARTICIPANT,
    ROLES,
    STAFF,
    check_may_mint,
)
from .domain.session import SessionState, valid_session_id
from .errors import (
    FORBIDDEN,
    NOT_FOUND,
    TOO_LARGE,
    UNAUTHORIZED,
    UNAVAILABLE,
    HubError,
    bad_request,
    forbidden,
)
from .log.base import new_epoch_id
from .media import grants, recordings
from .media.manager import HOW_TO_TURN_ON
from .security import client_address
from .session import Session, now_ms
from .standing import check_standing
from .tokens import DAY, Grant, new_identity_id, new_session_id
from .voice_status import voice_status

SESSION_ID_RULE = "3 to 64 letters, digits, '-' or '_'"
MAX_BODY = 1024 * 1024
MIN_TTL = 60  # seconds: the shortest lifetime `POST …/tokens` gives
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
        response = json_response(body, exc.http_status)
        retry_after = exc.extra.get("retry_after")
        if isinstance(retry_after, int | float):
            response.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
        return response


@web.middleware
async def session_ids(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every route with a `{session_id}` (API, websocket, SSE, pages) gets a well-formed
    one or a 404 `not_found`, before its handler runs: nothing else is ever looked up,
    joined to a path or used in a key."""
    session_id = request.match_info.get("session_id")
    if session_id is not None and not valid_session_id(session_id):
        raise HubError(NOT_FOUND, f"no such session: a session id is {SESSION_ID_RULE}")
    response: web.StreamResponse = await handler(request)
    return response


def token_of(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.query.get("token")


def authorize(request: web.Request, session_id: str | None, roles: frozenset[str] | None) -> Grant:
    """The grant of the request's token; 401 without a valid one, 403 for a role not in `roles`.
    (In a session, `authorize_in` also takes an event's hub link.)"""
    address = client_address(request, request.app[keys.CONFIG])
    grant = request.app[keys.LIMITS].verify(request.app[keys.SIGNER], _token(request),
                                            session_id, address)
    return _in_roles(grant, roles)


async def authorize_in(request: web.Request, session_id: str,
                       roles: frozenset[str] | None) -> Grant:
    """The grant of the request's token in a session, checked as every transport checks it
    (`hub.access.verify`: an event's hub link too); 401 or 403 as `authorize`."""
    app = request.app
    address = client_address(request, app[keys.CONFIG])
    grant = await access.verify(app[keys.SIGNER], app[keys.LIMITS], app[keys.FORUMS],
                                _token(request), session_id, address)
    return _in_roles(grant, roles)


def _token(request: web.Request) -> str:
    token = token_of(request)
    if not token:
        raise HubError(UNAUTHORIZED, "a token is required: `Authorization: Bearer ...` or ?token=")
    return token


def _in_roles(grant: Grant, roles: frozenset[str] | None) -> Grant:
    if roles is not None and grant.role not in roles:
        raise forbidden(f"a {grant.role} token may not do this")
    return grant


def secretariat(request: web.Request) -> Grant:
    """The admin key's grant: 401 without a token, 403 for any other (a session's
    organizer link is for that session only)."""
    grant = authorize(request, None, frozenset({ORGANIZER}))
    if not grant.admin:
        raise forbidden("only the Secretariat (the admin key) may do this")
    return grant


def is_secretariat(request: web.Request) -> bool:
    """True when the request carries the admin key (no error otherwise)."""
    try:
        return secretariat(request).admin
    except HubError:
        return False


def http_actor(grant: Grant) -> Actor:
    """Who acts in an HTTP request, as facts record it (`by`) and the staff budget counts
    it: the identity a token names, the organizer for the admin key, else the role's join
    link (`moderator-link`): never the organizer for a moderator's join link."""
    if grant.identity is not None:
        return Actor(grant.identity, grant.role, grant.name or "")
    if grant.admin:
        return Actor(ORGANIZER, ORGANIZER, grant.name or "Organizer")
    return Actor(f"{grant.role}-link", grant.role, grant.name or "")


async def allowed(request: web.Request, roles: frozenset[str] | None) -> tuple[Session, Grant]:
    """The request's session and grant: a valid token of this session, a role in `roles`,
    not banned, not a retired link."""
    session_id = request.match_info["session_id"]
    grant = await authorize_in(request, session_id, roles)
    session = await request.app[keys.SESSIONS].get(session_id)
    check_standing(session.state, grant)
    return session, grant


async def read_body(request: web.Request) -> bytes:
    """The whole body, however it arrives (Content-Length or chunked); 413 `too_large` as
    soon as it is over 1 MiB. (`content.read(n)` returns only what is buffered: a large
    body was cut short.)"""
    declared = request.content_length
    if declared is not None and declared > MAX_BODY:
        raise HubError(TOO_LARGE, f"the body is over 1 MiB ({declared} bytes)")
    parts: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > MAX_BODY:
            raise HubError(TOO_LARGE, "the body is over 1 MiB")
        parts.append(chunk)
    return b"".join(parts)


async def read_json(request: web.Request) -> dict[str, Any]:
    raw = await read_body(request)
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
    secretariat(request)
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
    if wanted is not None and not valid_session_id(wanted):
        raise bad_request(f"`id` must be {SESSION_ID_RULE}")
    session_id = wanted or new_session_id()
    sessions = request.app[keys.SESSIONS]
    session = await sessions.create(session_id, fact, new_epoch_id())
    if session is None:
        raise HubError("conflict", f"a session with id {session_id!r} exists already")
    body_out = {"id": session_id, "session": views.session_data(session.state),
                **_links(request, session.state)}
    return json_response(body_out, 201)


def _links(request: web.Request, state: SessionState, *,
           organizer: bool = False) -> dict[str, Any]:
    """The current join link of every role, and the caption ingest URL; with `organizer`
    (the Secretariat asks) also the session organizer's link."""
    signer = request.app[keys.SIGNER]
    expires = signer.link_expiry()  # the same links all day, fresh ones the next
    roles = (*LINK_ROLES, ORGANIZER) if organizer else LINK_ROLES
    tokens = {role: signer.mint(state.id, role, expires=expires,
                                generation=state.links.get(role, 0))
              for role in roles}
    return {
        "expires": expires,
        "links": {role: page_link(request, state.id, role, tok) for role, tok in tokens.items()},
        "tokens": tokens,
        "captions_url": f"{base_url(request)}/api/sessions/{state.id}/captions"
        f"?token={tokens[CAPTIONER]}",
    }


async def get_links(request: web.Request) -> web.Response:
    """The session's current join links (the organizer lost them, or rotated some); the
    session organizer's own link only for the Secretariat, who hands it out."""
    session, grant = await allowed(request, frozenset({ORGANIZER}))
    return json_response({"id": session.id,
                          **_links(request, session.state, organizer=grant.admin)})


async def list_sessions(request: web.Request) -> web.Response:
    secretariat(request)
    ids = [i for i in await request.app[keys.LOG].sessions() if valid_session_id(i)]
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
    actor = http_actor(grant)  # a session organizer's change is not the Secretariat's
    settings = _opt_object(body, "settings")
    floor = _opt_object(body, "floor")
    rotate = body.get("rotate") or []
    if not isinstance(rotate, list) or not all(isinstance(r, str) for r in rotate):
        raise bad_request("`rotate` takes a list of roles whose join links to retire")
    if ORGANIZER in rotate and not grant.admin:
        raise forbidden("only the Secretariat (the admin key) retires a session organizer's "
                        "link")
    steps = [functools.partial(
        commands.change_session, actor=actor, new_state=_opt_str(body, "state"),
        title=_opt_str(body, "title"), languages=body.get("languages"), settings=settings,
        now=now_ms())]
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
        answer.update(_links(request, session.state, organizer=grant.admin))
    return json_response(answer)


def _opt_object(body: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = body.get(name)
    if value is not None and not isinstance(value, dict):
        raise bad_request(f"`{name}` must be an object")
    return value


async def delete_session(request: web.Request) -> web.Response:
    """Delete a session and everything stored of it: log, transcript, personal data."""
    session_id = request.match_info["session_id"]
    secretariat(request)
    if not await request.app[keys.SESSIONS].delete(session_id):
        raise HubError("not_found", f"no session {session_id!r}")
    return json_response({"id": session_id, "deleted": True})


async def get_session(request: web.Request) -> web.Response:
    session, _ = await allowed(request, None)
    return json_response({**views.session_data(session.state), "presence": session.presence(),
                          "voice": voice_status(session)})


def _ttl(request: web.Request, body: dict[str, Any]) -> int | None:
    """The lifetime asked for in seconds (`ttl`), within the deployment's maximum."""
    ttl = body.get("ttl")
    if ttl is None:
        return None
    longest = round(request.app[keys.CONFIG].token_max_ttl_days * DAY)
    if not isinstance(ttl, int) or isinstance(ttl, bool) or not MIN_TTL <= ttl <= longest:
        raise bad_request(f"`ttl` takes a whole number of seconds from {MIN_TTL} to {longest}")
    return ttl


async def mint_token(request: web.Request) -> web.Response:
    """A named token (one identity, e.g. one per regional hub), or a hub's attendee link.
    Only the organizer mints moderator and captioner tokens; each mint of a named token is
    recorded (identity, role, name, expiry) so it can be listed and revoked."""
    session, grant = await allowed(request, STAFF | {HUB})
    session_id = session.id
    body = await read_json(request)
    role = body.get("role")
    if role not in ROLES or role == ORGANIZER:
        raise bad_request(f"`role` must be one of {', '.join(LINK_ROLES)}")
    signer = request.app[keys.SIGNER]
    hub = _opt_str(body, "hub")
    expires = signer.expiry(_ttl(request, body))
    if grant.role == HUB:  # a hub mints links for its own attendees, nothing else
        if role != PARTICIPANT or hub not in (None, grant.identity):
            raise forbidden("a hub may only mint attendee links for itself")
        hub = grant.identity
        if grant.expires is not None:  # never outliving the hub's own token
            expires = min(expires, grant.expires)
    if hub is not None:
        known = session.state.identities.get(hub)
        if role != PARTICIPANT or known is None or known.role != HUB:
            raise bad_request("`hub` takes a connected hub's id, for role participant")
        token = signer.mint(session_id, PARTICIPANT, hub=hub, expires=expires,
                            generation=session.state.links.get(PARTICIPANT, 0))
        return json_response({"token": token, "role": role, "hub": hub, "name": known.name,
                              "expires": expires,
                              "link": page_link(request, session_id, role, token)}, 201)
    check_may_mint(grant.role, role)
    name = commands.check_name(_opt_str(body, "name") or "")
    place = {k: v for k in ("city", "country") if (v := _opt_str(body, k))}
    if "country" in place:
        place["country"] = check_profile({"country": place["country"]})["country"]
    if "city" in place:
        place["city"] = commands.check_name(place["city"])
    identity = new_identity_id()
    actor = http_actor(grant)
    request.app[keys.LIMITS].check(session_id, actor.id, "token")  # it stores a fact
    await session.execute(lambda st: commands.name_token(
        st, actor, identity=identity, role=role, name=name, expires=expires, now=now_ms()))
    token = signer.mint(session_id, role, identity=identity, name=name, expires=expires,
                        place=place if role == HUB else None)
    return json_response(
        {"token": token, "role": role, "name": name, "identity": identity, "expires": expires,
         "link": page_link(request, session_id, role, token)},
        201,
    )


async def list_tokens(request: web.Request) -> web.Response:
    """Who holds a token the organizer may revoke: named tokens minted (used or not) and the
    staff, hubs and screens that joined by a join link. Never the tokens themselves."""
    session, _ = await allowed(request, frozenset({ORGANIZER}))
    return json_response({"id": session.id, "tokens": views.token_holders(session.state)})


async def revoke_token(request: web.Request) -> web.Response:
    """Revoke every token naming one identity: a `ban` of it, on every instance and
    transport. The organizer revokes anyone; a moderator participants, hubs and screens."""
    session, grant = await allowed(request, STAFF)
    identity = request.match_info["identity"]
    body = await read_json(request)
    reason = _opt_str(body, "reason")
    actor = http_actor(grant)
    request.app[keys.LIMITS].check(session.id, actor.id, "ban")  # as the `ban` command
    await session.execute(lambda st: commands.ban(st, actor, identity, reason, False))
    return json_response({"identity": identity, "revoked": True})


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
    """A post's caption lines, one final caption event each, appended as one batch. Each
    line counts against the captioner's caption limit (shared with the websocket); a post
    over HUB_INGEST_LINES_PER_POST lines is refused whole (413)."""
    session, actor = await _captioner(request)
    config = request.app[keys.CONFIG]
    limits = request.app[keys.LIMITS]
    limits.check("*", client_address(request, config), "ingest")
    raw = await read_body(request)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad_request("the body must be UTF-8 text") from exc
    lines = [ln for ln in text.splitlines() if ln.strip() and not TIMESTAMP_LINE.match(ln.strip())]
    if not lines:
        raise bad_request("the body has no caption text: send one caption per line")
    # A post can never hold more lines than the caption limit lets through at once.
    most = min(config.ingest_lines_per_post, config.caption_per_10s)
    if len(lines) > most:
        raise HubError(TOO_LARGE, f"the body has {len(lines)} caption lines; at most {most} "
                       "per post (HUB_INGEST_LINES_PER_POST): send the rest in further posts")
    seq = _seq(request)
    lang = request.query.get("lang")
    limits.check(session.id, actor.id, "caption", len(lines))
    try:
        result = await session.execute(
            lambda st: commands.caption(
                st, actor, lines=lines, lang=lang, final=True, seq=seq, now=now_ms()
            )
        )
    except HubError as exc:
        if exc.code == UNAVAILABLE:  # it did not run: it costs nothing
            limits.refund(session.id, actor.id, "caption", len(lines))
        raise
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
                "cues": transcript.to_json(cues),
                "interventions": interventions_json(request, session, staff=False)}
        return web.Response(body=orjson.dumps(body), content_type="application/json",
                            headers=disposition)
    if fmt not in transcript.EXPORT_FORMATS:
        raise bad_request("format must be one of txt, vtt, srt, json")
    media_type, render = transcript.EXPORT_FORMATS[fmt]
    return web.Response(body=render(cues).encode(), headers={
        "Content-Type": media_type, **disposition})


def interventions_json(request: web.Request, session: Session, *,
                       staff: bool) -> list[dict[str, Any]]:
    """The session's remote interventions, each with its recording's path when there is
    one (docs/protocol.md §19.5)."""
    data = request.app[keys.CONFIG].data
    now = now_ms()
    out = []
    for record in session.state.voice.interventions:
        path = recordings.audio_path(data, session.id, record.n)
        audio = (f"/api/sessions/{session.id}/interventions/{record.n}/audio"
                 if path.is_file() else None)
        out.append(voice.intervention_view(session.state, record, now, staff=staff,
                                           audio=audio))
    return out


async def get_interventions(request: web.Request) -> web.Response:
    session, _ = await allowed(request, STAFF)
    return json_response({"session": session.id,
                          "interventions": interventions_json(request, session, staff=True)})


async def get_intervention_audio(request: web.Request) -> web.StreamResponse:
    session, _ = await allowed(request, STAFF)
    raw = request.match_info["n"]
    if not raw.isdigit() or not 1 <= int(raw) <= len(session.state.voice.interventions):
        raise HubError("not_found", f"no intervention {raw!r} in this session")
    path = recordings.audio_path(request.app[keys.CONFIG].data, session.id, int(raw))
    if not path.is_file():
        raise HubError("not_found", f"intervention {raw} has no recording")
    return web.FileResponse(path, headers={
        "Content-Type": "audio/ogg",
        "Content-Disposition": f'inline; filename="{session.id}-intervention-{raw}.opus"'})


REPORT_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
}


async def get_report(request: web.Request) -> web.StreamResponse:
    session, _ = await allowed(request, STAFF)
    session_id = session.id
    fmt = request.query.get("format", "md")
    every_ms = request.app[keys.CONFIG].figures_every * 1000
    audio = {i["n"]: i["audio"] for i in interventions_json(request, session, staff=False)
             if i["audio"]}
    built = meeting.build_report(session.state, now_ms(), every_ms, audio)
    if fmt == "json":
        return json_response(report.to_json(built))
    if fmt not in REPORT_TYPES:
        raise bad_request("format must be one of md, html, json, csv")
    render = {"md": report.to_markdown, "html": report.to_html, "csv": report.to_csv}[fmt]
    disposition = f'inline; filename="{session_id}-report.{fmt}"'
    return web.Response(body=render(built).encode(), headers={
        "Content-Type": REPORT_TYPES[fmt], "Content-Disposition": disposition})


async def get_floor(request: web.Request) -> web.Response:
    """The queue ranked by an ordering, with reasons: advice, the moderator decides. The
    reasons name no one's declared group (see `meeting.suggestions`)."""
    session, _ = await allowed(request, STAFF)
    every_ms = request.app[keys.CONFIG].figures_every * 1000
    return json_response(meeting.suggestions(session.state, request.query.get("ordering"),
                                             now_ms(), every_ms))


async def get_stats(request: web.Request) -> web.Response:
    """Participation figures as of the last cut-off (`as_of`), aggregate only, small cells
    suppressed: they move once per `figures_every` seconds, not on each join."""
    session, _ = await allowed(request, STAFF)
    every_ms = request.app[keys.CONFIG].figures_every * 1000
    cutoff = meeting.figures_cutoff(session.state, now_ms(), every_ms)
    figures = meeting.participation(session.state, cutoff)
    return json_response(meeting.stats_json(figures, cutoff))


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


async def readyz(request: web.Request) -> web.Response:
    """503 when the backend does not answer; voice off or down keeps 200 (the text meeting
    works) and is said on the second line."""
    media = request.app.get(keys.MEDIA)
    voice = "voice off: " + HOW_TO_TURN_ON
    if media is not None:
        voice = "\n".join(media.ready_lines())
    if await request.app[keys.LOG].ping():
        return web.Response(text=f"ready\n{voice}\n")
    return web.Response(text=f"backend unavailable\n{voice}\n", status=503)


async def metrics(request: web.Request) -> web.Response:
    config = request.app[keys.CONFIG]
    wanted = config.metrics_token
    if not wanted and keys.RELAY in request.app:
        # A relay runs on a laptop in a room's network: no open metrics there.
        raise HubError(NOT_FOUND, "/metrics is off on a relay unless HUB_METRICS_TOKEN is set")
    if wanted:
        address = client_address(request, config)
        limits = request.app[keys.LIMITS]
        limits.failures_allowed(address)
        given = token_of(request) or ""
        if not hmac.compare_digest(given.encode(), wanted.encode()):
            if given:
                limits.failed(address)
            raise HubError(UNAUTHORIZED, "/metrics needs the operator's metrics token")
    body = request.app[keys.METRICS].render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})


async def _person(request: web.Request) -> tuple[Session, str]:
    """The organizer's session and the identity named in the path (not the organizer)."""
    session, grant = await allowed(request, frozenset({ORGANIZER}))
    if not grant.admin:
        raise forbidden("only the Secretariat (the admin key) exports or erases a person's "
                        "data")
    identity = request.match_info["identity"]
    known = session.state.holder(identity)  # joined, or named on a token never used
    if known is None:
        erased = identity in session.state.erased
        raise HubError("not_found", f"identity {identity!r} was erased from this session"
                       if erased else f"no identity {identity!r} in this session")
    if identity == ORGANIZER:  # the admin key's; a session organizer's is a person's
        raise bad_request("the organizer's own identity holds no personal data to export "
                          "or erase")
    return session, identity


async def export_person(request: web.Request) -> web.Response:
    """Everything the session holds of one identity, as JSON (organizer only)."""
    session, identity = await _person(request)
    return _export(await session.person(identity), f"{session.id}-{identity}.json")


async def _erase_recordings(request: web.Request, session: Session, identity: str) -> None:
    """The recordings of a person's interventions go with their data."""
    media = request.app[keys.MEDIA]
    config = request.app[keys.CONFIG]
    found = [(record.n, grants.participant_id(media.key, session.id, identity, grants.SPEAK,
                                              record.turn))
             for record in session.state.voice.interventions if record.speaker == identity]
    for raw in media.raw_folders():
        recordings.delete_interventions(config.data, raw, session.id, found)


async def erase_person(request: web.Request) -> web.Response:
    """Erase one person's data from a session that is kept (hub.domain.erasure)."""
    session, identity = await _person(request)
    await _erase_recordings(request, session, identity)
    erased = await session.erase(identity)
    await request.app[keys.INDEXER].refresh(session.id)  # their words leave the search too
    return json_response(erased)


async def export_me(request: web.Request) -> web.Response:
    """The caller's own data, with their personal (or named) token. A banned person may
    still ask; an erased one has nothing left."""
    session_id = request.match_info["session_id"]
    grant = await authorize_in(request, session_id, None)
    if grant.admin or grant.identity is None:
        raise bad_request("use your personal token (`welcome.you.token`), not a join link")
    session = await request.app[keys.SESSIONS].get(session_id)
    if grant.identity in session.state.erased:
        raise HubError(FORBIDDEN, "the organizer erased this identity's data from this "
                       "session", reason="erased")
    if session.state.holder(grant.identity) is None:  # joined, or a named token's record
        raise HubError("not_found", "this session holds nothing of you yet: join first")
    return _export(await session.person(grant.identity), f"{session_id}-me.json")


def _export(data: dict[str, Any], filename: str) -> web.Response:
    response = json_response(data)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def routes() -> list[web.RouteDef]:
    return [
        web.post("/api/sessions", create_session),
        web.get("/api/sessions", list_sessions),
        web.get("/api/sessions/{session_id}", get_session),
        web.patch("/api/sessions/{session_id}", patch_session),
        web.delete("/api/sessions/{session_id}", delete_session),
        web.post("/api/sessions/{session_id}/tokens", mint_token),
        web.get("/api/sessions/{session_id}/tokens", list_tokens),
        web.delete("/api/sessions/{session_id}/tokens/{identity}", revoke_token),
        web.post("/api/sessions/{session_id}/captions", ingest_captions),
        web.get("/api/sessions/{session_id}/captions/seq", caption_seq),
        web.get("/api/sessions/{session_id}/transcript", get_transcript),
        web.get("/api/sessions/{session_id}/report", get_report),
        web.get("/api/sessions/{session_id}/interventions", get_interventions),
        web.get("/api/sessions/{session_id}/interventions/{n}/audio", get_intervention_audio),
        web.get("/api/sessions/{session_id}/links", get_links),
        web.get("/api/sessions/{session_id}/floor", get_floor),
        web.get("/api/sessions/{session_id}/stats", get_stats),
        web.get("/healthz", healthz),
        web.get("/readyz", readyz),
        web.get("/metrics", metrics),
        web.get("/api/sessions/{session_id}/people/{identity}", export_person),
        web.delete("/api/sessions/{session_id}/people/{identity}", erase_person),
        web.get("/api/sessions/{session_id}/me", export_me),
    ]
