"""Origin checks for websocket and SSE handshakes, and the headers every response carries."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from .config import Config

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


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
    own = {f"{request.scheme}://{request.host}".lower()}
    forwarded = request.headers.get("X-Forwarded-Host")
    if forwarded:
        proto = request.headers.get("X-Forwarded-Proto", request.scheme)
        own.add(f"{proto}://{forwarded}".lower())
    if config.public_url:
        own.add(_origin_of(config.public_url))
    return origin in own or origin in {o.lower() for o in config.allowed_origins}


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
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
