"""Rendered pages of the public site, kept per (event, page, language, filters).

Every entry is dropped when its event's state changes (`Forum.watchers`: a programme
import, a publish, a withdrawal, a change of the event). A page that shows what is live
is also at most `LIVE_EVERY` seconds old, since that comes from the sessions and the
clock, which the event's log does not tell; parts built from the event's state alone (the
programme by day) are kept until the event changes.
The number of entries is bounded (the oldest go first): the keys are made of values the
programme holds, never of whatever a request asks for.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from ..forums import Forum

LIVE_EVERY = 5.0  # seconds a page may show an old "live now"
MOST = 2048  # entries


class PageCache:
    """Rendered bodies by key; each key starts with its event's id."""

    def __init__(self, ttl: float = LIVE_EVERY, most: int = MOST) -> None:
        self.ttl = ttl
        self.most = most
        # key -> (until, value); until is a time.monotonic() or None (until dropped)
        self._pages: OrderedDict[tuple[Hashable, ...], tuple[float | None, Any]] = \
            OrderedDict()
        self._watched: set[str] = set()

    def watch(self, forum: Forum) -> None:
        """Drop the event's pages whenever a fact of its log is applied here."""
        if forum.id in self._watched:
            return
        self._watched.add(forum.id)
        forum.watchers.append(lambda _fact: self.drop(forum.id))

    def drop(self, event: str) -> None:
        for key in [k for k in self._pages if k[0] == event]:
            del self._pages[key]

    def get(self, key: tuple[Hashable, ...]) -> Any | None:
        found = self._pages.get(key)
        if found is None:
            return None
        until, value = found
        if until is not None and time.monotonic() > until:
            del self._pages[key]
            return None
        return value

    def put(self, key: tuple[Hashable, ...], value: Any, *, live: bool = True) -> None:
        """Keep `value` under `key`; `live=False`: until the event changes, however long."""
        self._pages[key] = (time.monotonic() + self.ttl if live else None, value)
        self._pages.move_to_end(key)
        while len(self._pages) > self.most:
            self._pages.popitem(last=False)

    def __len__(self) -> int:
        return len(self._pages)
