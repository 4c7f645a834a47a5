"""`/janus`: the media server's HTTP API under the hub's own origin.

Pages reach Janus through the hub (the pages' Content-Security-Policy allows only the
hub's origin, and a private Janus listens on loopback): every instance forwards
`/janus/...` to the Janus it uses, private or shared; with several Janus, `/janus/<name>/...`
to the one named (a grant's `janus` URL names its session's). Janus sessions live in Janus, so any
instance can forward any page's requests (a long poll after a reconnect through nginx
included). Janus's own token check applies to everything forwarded: this opens nothing
that a grant does not. The admin API is never forwarded.

On a hub's relay, `/janus` forwards to the meeting's `/janus` instead (the relay has no
Janus: hub/relay_voice.py), and only requests carrying a token the relay handed out in a
grant: the relay is no open door to the meeting's media server.
"""

from __future__ import annotations

import re

import aiohttp
import orjson
from aiohttp import web

from .. import keys
from ..errors import HubError

MAX_BODY = 64 * 1024  # a Janus message with an SDP is a few kilobytes
LONG_POLL = aiohttp.ClientTimeout(total=70)  # Janus answers a long poll within 30 s
# Janus's paths: /janus, /janus/<session>, /janus/<session>/<handle>, /janus/info; each
# after /janus/<name> too (several Janus: names never are digits nor `info`).
TAIL = re.compile(r"(?:/(?!info(?:/|$))(?P<name>[a-z][a-z0-9-]{0,31}))?"
                  r"(?P<api>/info|/[0-9]{1,20}(/[0-9]{1,20})?)?")


class JanusProxy:
    """Forwards page requests to the Janus API; one HTTP client per app."""

    def __init__(self) -> None:
        self._http: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        relay = request.app.get(keys.RELAY)
        tail = request.match_info.get("tail", "")
        match = TAIL.fullmatch(tail)
        if match is None or (relay is not None and match["name"]):
            raise HubError("not_found", "not a Janus API path")  # a relay names no Janus
        media = None
        if relay is None:
            media = request.app[keys.MEDIA].plane_named(match["name"])
            if media is None:
                raise HubError("not_found", f"no Janus named {match['name']!r} on this hub"
                               if match["name"] else "this hub has several Janus: the path "
                               "names one, /janus/<name>/... (as a grant's `janus` URL does)")
        if media is not None and media.janus is None:
            raise HubError("not_found", "voice is off on this hub: there is no media server")
        body = await request.read() if request.method == "POST" else None
        if body is not None and len(body) > MAX_BODY:
            raise HubError("too_large", f"a Janus request is at most {MAX_BODY} bytes")
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=LONG_POLL)
        if relay is not None:
            if relay.voice is None:
                raise HubError("unavailable", "the relay is starting", reason="voice_down")
            url = relay.voice.forward_to(_token(request, body)) + tail
        else:
            assert media is not None and media.janus is not None
            url = media.janus.api_url + (match["api"] or "")
        try:
            async with self._http.request(
                    request.method, url, params=request.query, data=body,
                    headers={"Content-Type": "application/json"}) as answer:
                data = await answer.read()
                status = answer.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise HubError("unavailable", f"the media server does not answer ({exc})",
                           reason="voice_down") from None
        return web.Response(body=data, status=status, content_type="application/json",
                            headers={"Cache-Control": "no-store"})


def _token(request: web.Request, body: bytes | None) -> str | None:
    """The Janus token a request carries: `token` in a POST's JSON body, or in the query
    (janus.js's long poll)."""
    if body is None:
        return request.query.get("token")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    token = data.get("token") if isinstance(data, dict) else None
    return token if isinstance(token, str) else None
