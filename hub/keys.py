"""Every `web.AppKey` of the hub, in one module that imports nothing else of the hub."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from .config import Config
    from .connection import Connection
    from .figures_api import EventFiguresCache
    from .forums import Forums
    from .log import EventLog
    from .media.pool import MediaPool
    from .metrics import Metrics
    from .ratelimit import RateLimits
    from .relay import Relay
    from .search import SearchIndex
    from .search.indexer import Indexer
    from .session import Sessions
    from .session_digest import SessionDigests
    from .tokens import Signer
    from .ws import WsEndpoint

CONFIG: web.AppKey[Config] = web.AppKey("config")
LOG: web.AppKey[EventLog] = web.AppKey("log")
SESSIONS: web.AppKey[Sessions] = web.AppKey("sessions")
FORUMS: web.AppKey[Forums] = web.AppKey("forums")  # events
DIGESTS: web.AppKey[SessionDigests] = web.AppKey("digests")  # sessions listed event-wide
EVENT_FIGURES: web.AppKey[EventFiguresCache] = web.AppKey("event_figures")
SIGNER: web.AppKey[Signer] = web.AppKey("signer")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
LIMITS: web.AppKey[RateLimits] = web.AppKey("limits")
CONNECTIONS: web.AppKey[set[Connection]] = web.AppKey("connections")
WS: web.AppKey[WsEndpoint] = web.AppKey("ws")  # what the app's websockets share
RELAY: web.AppKey[Relay] = web.AppKey("relay")  # only on a hub's relay
MEDIA: web.AppKey[MediaPool] = web.AppKey("media")
SEARCH: web.AppKey[SearchIndex] = web.AppKey("search")  # the search index
INDEXER: web.AppKey[Indexer] = web.AppKey("indexer")  # keeps it up to date
