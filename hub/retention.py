"""The retention period: sessions closed and untouched for HUB_RETENTION_DAYS are deleted.

Every instance sweeps now and then (one sweep an instance, at a random moment of each
interval, so that several instances on one Redis rarely sweep at once); deleting is
idempotent, so two instances deleting the same session do no harm. A deleted session goes
the way `DELETE /api/sessions/{id}` takes: its log, frames and archive file, with the
SQLite file vacuumed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator

from aiohttp import web

from . import keys
from .domain.erasure import retention_expired
from .domain.fact_kinds import apply
from .domain.facts import session_fact
from .domain.session import CLOSED, new_session, valid_session_id
from .errors import HubError
from .log import EventLog, LogUnavailable
from .session import Sessions

log = logging.getLogger(__name__)

DAY_MS = 86_400_000


async def sweep(event_log: EventLog, sessions: Sessions, *, days: float, now: int) -> list[str]:
    """Delete every session closed and untouched for `days` as of `now` (ms); their ids."""
    deleted = []
    for session_id in await event_log.sessions():
        if not valid_session_id(session_id):
            continue  # an event's log (hub.forums): events are kept
        head = await event_log.head(session_id)
        if head is None:
            continue
        last = await event_log.batches(session_id, head.offset - 1, 1)
        if not last or not retention_expired(True, last[-1].ts, now, days):
            continue  # touched lately: no need to fold it
        state = new_session(session_id)
        after = 0
        while True:
            page = await event_log.batches(session_id, after, 1000)
            for batch in page:
                apply(state, session_fact(batch.fact))
            if len(page) < 1000:
                break
            after = page[-1].offset
        if not retention_expired(state.state == CLOSED, last[-1].ts, now, days):
            continue
        if await sessions.delete(session_id):
            log.info("retention: deleted session %s, closed and untouched for %g days "
                     "(HUB_RETENTION_DAYS)", session_id, days)
            deleted.append(session_id)
    return deleted


async def run(app: web.Application) -> AsyncIterator[None]:
    """The app's retention task (a cleanup context): off when HUB_RETENTION_DAYS is 0."""
    config = app[keys.CONFIG]
    task = None
    if config.retention_days > 0:
        task = asyncio.create_task(_loop(app), name="hub-retention")
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _loop(app: web.Application) -> None:
    config = app[keys.CONFIG]
    interval = config.retention_sweep
    while True:
        await asyncio.sleep(random.uniform(0.1, 1.0) * interval)
        try:
            await sweep(app[keys.LOG], app[keys.SESSIONS], days=config.retention_days,
                        now=int(time.time() * 1000))
        except (LogUnavailable, HubError) as exc:
            log.warning("retention sweep failed (tried again later): %s", exc)
        except Exception:
            log.exception("retention sweep failed (tried again later)")
