"""Per-identity rate limits for commands, held by each instance."""

from __future__ import annotations

import time

from .config import Config
from .domain.limits import Window
from .errors import RATE_LIMITED, HubError


class RateLimits:
    """Sliding windows per (scope, key, command); `check` raises `rate_limited` with
    retry_after. Scopes: an identity (commands) or a client address (hello, ingest)."""

    def __init__(self, config: Config) -> None:
        self._rules = {
            "ask": (config.ask_per_10min, 600.0),
            "vote": (config.vote_per_minute, 60.0),
            "caption": (config.caption_per_10s, 10.0),
            "hello": (config.hello_per_minute, 60.0),
            "ingest": (config.ingest_per_10s, 10.0),
        }
        self.max_connections = config.max_connections_per_address
        self._connections: dict[str, int] = {}
        self._windows: dict[tuple[str, str, str], Window] = {}
        self._checks = 0

    def check(self, session: str, identity: str, command: str) -> None:
        rule = self._rules.get(command)
        if rule is None:
            return
        now = time.monotonic()
        key = (session, identity, command)
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = Window(*rule)
        wait = window.take(now)
        self._checks += 1
        if self._checks % 1000 == 0:
            self._sweep(now)
        if wait:
            raise HubError(
                RATE_LIMITED,
                f"too many {command} commands: at most {rule[0]} per {int(rule[1])} s; "
                f"retry in {wait:.0f} s",
                retry_after=round(wait, 1),
            )

    def refund(self, session: str, identity: str, command: str) -> None:
        """Give back the slot of a command that could not run (the backend was away)."""
        window = self._windows.get((session, identity, command))
        if window is not None:
            window.refund()

    def connect(self, address: str) -> None:
        """Count a connection from `address`; `rate_limited` past the cap (hubs behind one
        NAT need a higher cap: HUB_MAX_CONNECTIONS_PER_ADDRESS)."""
        count = self._connections.get(address, 0)
        if count >= self.max_connections:
            raise HubError(
                RATE_LIMITED,
                f"too many connections from one address (at most {self.max_connections})",
                retry_after=30,
            )
        self._connections[address] = count + 1

    def disconnect(self, address: str) -> None:
        count = self._connections.get(address, 0) - 1
        if count > 0:
            self._connections[address] = count
        else:
            self._connections.pop(address, None)

    def _sweep(self, now: float) -> None:
        for key in [k for k, w in self._windows.items() if w.idle(now)]:
            del self._windows[key]
