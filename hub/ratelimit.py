"""Per-identity rate limits for commands, held by each instance."""

from __future__ import annotations

import ipaddress
import time

from .config import Config
from .domain.limits import Window
from .domain.sources import Budgets
from .errors import RATE_LIMITED, HubError

# Commands that store something and share one budget per identity (bucket -> commands).
SHARED_BUCKETS = {
    "staff": ("moderate", "session", "note", "flag", "floor", "ban"),
    "hub_queue": ("forward", "decline"),
}


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
            "withdraw": (config.withdraw_per_minute, 60.0),
            "hub_status": (config.hub_status_per_minute, 60.0),
            "hub_queue": (config.hub_queue_per_minute, 60.0),
            "staff": (config.staff_per_minute, 60.0),
        }
        self._bucket = {c: b for b, commands in SHARED_BUCKETS.items() for c in commands}
        self.budgets = Budgets(
            identities=config.new_identities_per_address,
            shared_identities=config.shared_new_identities,
            votes=config.votes_per_address,
            shared_votes=config.shared_votes,
        )
        self._shared = _networks(config.shared_addresses)
        self.max_attendees = config.max_attendees
        self.attendee_jump = config.attendee_jump
        self.max_connections = config.max_connections_per_address
        self._connections: dict[str, int] = {}
        self._windows: dict[tuple[str, str, str], Window] = {}
        self._checks = 0

    def limited(self, command: str) -> bool:
        """Whether `command` has a budget (every command that stores something does)."""
        return self._bucket.get(command, command) in self._rules

    def shared(self, address: str) -> bool:
        """Whether `address` is in HUB_SHARED_ADDRESSES (a venue's or a hub's NAT)."""
        if not self._shared:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self._shared)

    def check(self, session: str, identity: str, command: str) -> None:
        bucket = self._bucket.get(command, command)
        rule = self._rules.get(bucket)
        if rule is None:
            return
        now = time.monotonic()
        key = (session, identity, bucket)
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = Window(*rule)
        wait = window.take(now)
        self._checks += 1
        if self._checks % 1000 == 0:
            self._sweep(now)
        if wait:
            together = SHARED_BUCKETS.get(bucket)
            what = f"{', '.join(together)} commands together" if together else command
            raise HubError(
                RATE_LIMITED,
                f"too many {what}: at most {rule[0]} per {int(rule[1])} s; "
                f"retry in {wait:.0f} s",
                retry_after=round(wait, 1),
            )

    def refund(self, session: str, identity: str, command: str) -> None:
        """Give back the slot of a command that could not run (the backend was away)."""
        window = self._windows.get((session, identity, self._bucket.get(command, command)))
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


def _networks(entries: tuple[str, ...]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    nets = []
    for entry in entries:
        try:
            nets.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as exc:
            raise ValueError(f"HUB_SHARED_ADDRESSES: {entry!r} is not an address or a CIDR "
                             "(like 203.0.113.7 or 198.51.100.0/24)") from exc
    return nets
