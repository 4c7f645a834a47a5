"""The application factory: `create_app(config)` wires the log, sessions, routes and pages."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from . import (
    access,
    api,
    dashboard_api,
    event_hubs,
    figures_api,
    forum_api,
    keys,
    organizers,
    protocol,
    retention,
    review,
    site,
    sse,
    ws,
)
from .config import MIN_SECRET_LENGTH, Config, WeakSecret, secret_problem
from .connection import Connection
from .domain.roles import LINK_ROLES
from .forums import Forums
from .log import open_log
from .media import recordings
from .media.grants import media_key
from .media.pool import MediaPool
from .media.proxy import JanusProxy
from .metrics import Metrics
from .ratelimit import RateLimits
from .search import api as search_api
from .search import open_index
from .search.indexer import Indexer
from .security import security_headers
from .session import Sessions, position_key
from .session_digest import SessionDigests
from .tokens import DAY, Signer
from .webroot import web_root

log = logging.getLogger(__name__)

# Janus's browser library and the WebRTC adapter it needs, from Debian's packages
# (libjs-janus-gateway, libjs-webrtc-adapter): served as they are installed, never copied
# into the project. Pages load them only when voice is on; a 404 hides the voice controls.
MEDIA_LIBS = {
    "janus.js": Path("/usr/share/javascript/janus-gateway/janus.js"),
    "adapter.js": Path("/usr/share/javascript/webrtc-adapter/adapter.js"),
}


def create_app(config: Config) -> web.Application:
    """A hub application for `config`; backends open and close with the app's lifetime.

    Raises WeakSecret when a secret given is a placeholder or too short."""
    problems = config.weak_secrets()
    if problems:
        raise WeakSecret("\n".join(problems))
    app = web.Application(middlewares=[api.errors_as_json, api.session_ids],
                          client_max_size=1024 * 1024)
    app.on_response_prepare.append(security_headers)
    app[keys.CONFIG] = config
    app[keys.METRICS] = Metrics()
    app[keys.LIMITS] = RateLimits(config)
    app[keys.CONNECTIONS] = set()
    app.cleanup_ctx.append(_backend)
    app.cleanup_ctx.append(retention.run)  # after the backend: it deletes through it
    app.on_shutdown.append(_say_goodbye)
    app.router.add_routes(api.routes())
    app.router.add_routes(forum_api.routes())
    app.router.add_routes(organizers.routes())
    app.router.add_routes(review.routes())
    app.router.add_routes(event_hubs.routes())
    app.router.add_routes(site.routes())
    app.router.add_routes(search_api.routes())
    app.router.add_routes(dashboard_api.routes())
    app.router.add_routes(figures_api.routes())
    ws.install(app)  # GET /ws/{session_id}
    app.router.add_get("/sse/{session_id}", sse.sse)
    proxy = JanusProxy()
    for method in ("GET", "POST"):
        app.router.add_route(method, "/janus", proxy.handle)
        app.router.add_route(method, "/janus{tail:/.*}", proxy.handle)

    async def close_proxy(_: web.Application) -> None:
        await proxy.close()

    app.on_cleanup.append(close_proxy)
    _add_pages(app, web_root(config.web_dir))
    return app


async def _backend(app: web.Application) -> AsyncIterator[None]:
    config = app[keys.CONFIG]
    event_log = open_log(config.redis_url, config.data, config.redis_prefix, config.history)
    await event_log.start()
    secret = config.secret or await event_log.meta("secret", secrets.token_urlsafe(32))
    generated = secrets.token_urlsafe(MIN_SECRET_LENGTH)
    admin_key = config.admin_key or await event_log.meta("admin_key", generated)
    # Generated values were always long enough (32 and 43 characters): a short stored one
    # was put there by hand, and the hub does not run with it (set the variable instead).
    stored = [secret_problem(f"{name} (the one stored with the state)", value)
              for name, value, given in (("HUB_SECRET", secret, config.secret),
                                         ("HUB_ADMIN_KEY", admin_key, config.admin_key))
              if not given]
    if any(stored):
        await event_log.close()
        raise WeakSecret("\n".join(problem for problem in stored if problem))
    if admin_key == generated:
        # Printed once, when it is first made; it is kept with the state afterwards.
        print(f"hub: generated the admin key (keep it safe): {admin_key}", flush=True)
    app[keys.LOG] = event_log
    app[keys.SIGNER] = Signer(secret, admin_key, ttl=round(config.token_ttl_days * DAY),
                              grace=round(config.token_grace_hours * 3600))
    app[keys.SESSIONS] = Sessions(event_log, app[keys.METRICS], position_key(secret))
    app[keys.FORUMS] = Forums(event_log, app[keys.SESSIONS])
    app[keys.FORUMS].on_load.append(access.cut_off_retired(app[keys.SESSIONS]))
    app[keys.DIGESTS] = SessionDigests(event_log, app[keys.SESSIONS])
    app[keys.EVENT_FIGURES] = figures_api.EventFiguresCache(app[keys.DIGESTS])
    media = MediaPool(config, app[keys.SESSIONS], media_key(secret), app[keys.METRICS])
    app[keys.MEDIA] = media

    async def drop_recordings(session_id: str) -> None:
        for raw in media.raw_folders():
            recordings.delete_session(config.data, raw, session_id)

    app[keys.SESSIONS].on_delete.append(drop_recordings)
    index = open_index(config.archive_url, config.data)
    try:
        await index.start()
    except BaseException:
        await event_log.close()
        raise
    app[keys.SEARCH] = index
    indexer = app[keys.INDEXER] = Indexer(index, app[keys.SESSIONS], app[keys.FORUMS])
    try:
        await indexer.start()
        await media.start()
        yield
    finally:
        await media.stop()
        await indexer.close()
        await app[keys.FORUMS].close()
        await app[keys.SESSIONS].close()
        await index.close()
        await event_log.close()


async def _say_goodbye(app: web.Application) -> None:
    """Tell every client to reconnect elsewhere (bye, then 1012) before the process exits."""
    conns: set[Connection] = app[keys.CONNECTIONS]
    for conn in list(conns):
        conn.kick(protocol.CLOSE_RESTART, "server restarting", reconnect=True)
    for _ in range(50):
        if not conns:
            break
        await asyncio.sleep(0.02)


def _add_pages(app: web.Application, web_dir: Path) -> None:
    if not web_dir.is_dir():
        log.warning("no pages at %s: set HUB_WEB_DIR (or --web) to the web/ folder", web_dir)
        return

    async def page(request: web.Request) -> web.StreamResponse:
        role = request.match_info["role"]
        if role not in (*LINK_ROLES, "organizer"):
            raise web.HTTPNotFound()
        path = web_dir / f"{role}.html"
        if not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

    async def organizer(request: web.Request) -> web.StreamResponse:
        path = web_dir / "organizer.html"
        if not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

    async def secretariat(request: web.Request) -> web.StreamResponse:
        """The Secretariat's dashboard of an event (web/secretariat.html)."""
        path = web_dir / "secretariat.html"
        if not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

    async def media_lib(request: web.Request) -> web.StreamResponse:
        path = MEDIA_LIBS.get(request.match_info["name"])
        if path is None or not path.is_file():
            raise web.HTTPNotFound(text="not installed on this hub")
        return web.FileResponse(path, headers={
            "Cache-Control": "public, max-age=3600",
            "Content-Type": "text/javascript; charset=utf-8"})

    async def event_hub(request: web.Request) -> web.StreamResponse:
        """A hub's event page: the sessions its one link opens (the token in the fragment)."""
        path = web_dir / "event-hub.html"
        if not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

    app.router.add_get("/media-lib/{name}", media_lib)
    app.router.add_get("/e/{event_id}/hub", event_hub)
    app.router.add_get("/s/{session_id}/{role}", page)
    app.router.add_get("/", organizer)
    app.router.add_get("/secretariat", secretariat)
    app.router.add_static("/static/", web_dir, append_version=True)
