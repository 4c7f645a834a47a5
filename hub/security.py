"""Origin checks for websocket and SSE handshakes, and the headers every response carries."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from aiohttp import web

from . import keys
from .config import Config

# connect-src is filled per request: this origin only ('self', plus its ws:/wss: form
# spelled out, which older browsers do not derive from 'self'), never any ws: host.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src {connect}; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def origin_allowed(request: web.Request, config: Config) -> bool:
    """No Origin (captioning software, relays, bots): allowed. Otherwise it must be this
    hub's own origin or one the operator allowed."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    origin = origin.rstrip("/").lower()
    own = {f"{scheme}://{host}".lower() for scheme, host in _own_hosts(request, config)}
    if config.public_url:
        own.add(_origin_of(config.public_url))
    return origin in own or origin in {o.lower() for o in config.allowed_origins}


def _own_hosts(request: web.Request, config: Config) -> list[tuple[str, str]]:
    """(scheme, host) this hub answers as: the request's own, and behind a trusted proxy
    (HUB_TRUST_PROXY) the X-Forwarded-Proto/-Host it passes on. Without that setting the
    X-Forwarded-* headers are the client's word and count for nothing."""
    own = [(request.scheme, request.host)]
    forwarded = request.headers.get("X-Forwarded-Host")
    if config.trust_proxy and forwarded:
        proto = request.headers.get("X-Forwarded-Proto", request.scheme)
        own.append((proto, forwarded))
    return own


def connect_sources(request: web.Request, config: Config) -> str:
    """CSP connect-src: 'self' and the websocket forms of this hub's own origins (the
    request's host, the proxy's forwarded one when trusted, HUB_PUBLIC_URL's). A host that
    is not a plain host[:port] is left out, so no header can widen the policy."""
    hosts = {host.lower() for _, host in _own_hosts(request, config)}
    if config.public_url:
        hosts.add(urlsplit(config.public_url).netloc.lower())
    sources = ["'self'"]
    for host in sorted(hosts):
        if _HOST.match(host):
            sources += [f"ws://{host}", f"wss://{host}"]
    return " ".join(sources)


def client_address(request: web.Request, config: Config) -> str:
    """Who is asking: the peer address, or behind a trusted proxy the address that proxy
    saw, which it appends last to X-Forwarded-For (earlier entries are the client's word)."""
    if config.trust_proxy:
        forwarded = request.headers.get("X-Forwarded-For", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return request.remote or "unknown"


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """CSP without inline script, no MIME sniffing, no referrer leaking tokens in links; on
    every response (an `on_response_prepare` hook, so streams and errors get them too)."""
    headers = response.headers
    config = request.app[keys.CONFIG]
    headers.setdefault("Content-Security-Policy",
                       CSP.format(connect=connect_sources(request, config)))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
