"""Per-identity rate limits for commands, held by each instance."""

from __future__ import annotations

import ipaddress
import time

from .config import Config
from .domain.limits import Window
from .domain.sources import Budgets
from .errors import RATE_LIMITED, UNAUTHORIZED, HubError
from .tokens import Grant, Signer

# The window of failed credential checks of one address (scope "*", command below).
AUTH_FAILURE = "auth_failure"

# How many times the searches of one address a shared address gets (a venue's NAT).
SHARED_SEARCH = 20

# Commands that store something and share one budget per identity (bucket -> commands).
SHARED_BUCKETS = {
    # `token`: minting a named token over HTTP (it stores a `token` fact); `ban` also
    # counts a revocation over HTTP (DELETE …/tokens/{identity}); `report`: saving,
    # publishing or withdrawing a reviewed report (hub/review.py).
    "staff": ("moderate", "session", "note", "flag", "floor", "ban", "token",
              "voice", "report"),
    "hub_queue": ("forward", "decline"),
}


class RateLimits:
    """Sliding windows per (scope, key, command); `check` raises `rate_limited` with
    retry_after. Scopes: an identity (commands) or a client address (hello, ingest, and
    failed credential checks: see `verify`)."""

    def __init__(self, config: Config) -> None:
        self._rules = {
            "ask": (config.ask_per_10min, 600.0),
            "vote": (config.vote_per_minute, 60.0),
            "caption": (config.caption_per_10s, 10.0),
            "hello": (config.hello_per_minute, 60.0),
            "ingest": (config.ingest_per_10s, 10.0),
            AUTH_FAILURE: (config.auth_failures_per_minute, 60.0),
            "withdraw": (config.withdraw_per_minute, 60.0),
            "hub_status": (config.hub_status_per_minute, 60.0),
            "hub_queue": (config.hub_queue_per_minute, 60.0),
            "staff": (config.staff_per_minute, 60.0),
            "media": (config.media_per_minute, 60.0),
            "search": (config.search_per_minute, 60.0),
            "search_shared": (config.search_per_minute * SHARED_SEARCH, 60.0),
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

    def check(self, session: str, identity: str, command: str, count: int = 1) -> None:
        """Take `count` places (the lines of one caption post) in the window of `command`'s
        bucket, or raise `rate_limited` and take none."""
        bucket = self._bucket.get(command, command)
        rule = self._rules.get(bucket)
        if rule is None:
            return
        now = time.monotonic()
        wait = self._window(session, identity, bucket, rule).take(now, count)
        self._tick(now)
        if wait:
            together = SHARED_BUCKETS.get(bucket)
            what = f"{', '.join(together)} commands together" if together else command
            more = f" ({count} at once)" if count > 1 else ""
            raise HubError(
                RATE_LIMITED,
                f"too many {what}{more}: at most {rule[0]} per {int(rule[1])} s; "
                f"retry in {wait:.0f} s",
                retry_after=round(wait, 1),
            )

    def verify(self, signer: Signer, token: object, session: str | None, address: str, *,
               events: bool = False) -> Grant:
        """Check a token or the admin key from `address`, the one way every transport does:
        `failures_allowed` first, then the check, and a refusal is counted (`failed`). A
        missing token is refused without being counted (nothing was guessed)."""
        self.failures_allowed(address)
        try:
            return signer.verify(token, session, events=events)
        except HubError as exc:
            if exc.code == UNAUTHORIZED and isinstance(token, str) and token:
                self.failed(address)
            raise

    def failures_allowed(self, address: str) -> None:
        """The rule: an address with HUB_AUTH_FAILURES_PER_MINUTE refused credentials (a
        token that is not valid here, a wrong admin key or metrics token) within the last
        minute gets `rate_limited`, with retry_after (until the oldest of them is a minute
        old), before its next credential is even looked at; other addresses are not
        affected, and a valid credential does not wipe the count."""
        rule = self._rules[AUTH_FAILURE]
        now = time.monotonic()
        wait = self._window("*", address, AUTH_FAILURE, rule).wait(now)
        self._tick(now)
        if wait:
            raise HubError(
                RATE_LIMITED,
                f"too many failed token checks from this address: at most {rule[0]} per "
                f"{int(rule[1])} s; retry in {wait:.0f} s",
                retry_after=round(wait, 1),
            )

    def failed(self, address: str) -> None:
        """Count one refused credential from `address`."""
        rule = self._rules[AUTH_FAILURE]
        self._window("*", address, AUTH_FAILURE, rule).take(time.monotonic())

    def _window(self, scope: str, key: str, command: str, rule: tuple[int, float]) -> Window:
        window = self._windows.get((scope, key, command))
        if window is None:
            window = self._windows[(scope, key, command)] = Window(*rule)
        return window

    def _tick(self, now: float) -> None:
        self._checks += 1
        if self._checks % 1000 == 0:
            self._sweep(now)

    def refund(self, session: str, identity: str, command: str, count: int = 1) -> None:
        """Give back the places of a command that could not run (the backend was away)."""
        window = self._windows.get((session, identity, self._bucket.get(command, command)))
        if window is not None:
            window.refund(count)

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
