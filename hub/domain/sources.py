"""Where identities join from, and the budgets that bound what one source may do.

A join link makes a new identity at each `hello`, so limits per identity alone are no
limit. Each identity made from a join link records its *source*, and a source has
budgets: new identities per 10 minutes, and votes per item. The server never stores
a client's address: the edge turns it into a keyed hash first (`hub.ratelimit`).

| source          | what it is                                   | budget | an address ban |
|-----------------|----------------------------------------------|--------|----------------|
| `a:<hash>`      | a client address                             | plain  | covers it      |
| `s:<hash>`      | an address in HUB_SHARED_ADDRESSES (a venue) | shared | does not       |
| `h:<hub id>`    | a hub's attendee link (token field `h`)      | shared | does not       |
| `""`            | no source (a named token, staff, older logs) | none   | does not       |

Pure: the clock is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

ADDRESS = "a:"
SHARED = "s:"
HUB_LINK = "h:"
WINDOW_MS = 600_000  # new identities are counted over the last 10 minutes


@dataclass(frozen=True, slots=True)
class Budgets:
    """What one source may do (configurable: HUB_NEW_IDENTITIES_PER_ADDRESS, ...)."""

    identities: int = 100  # new identities per address per 10 minutes
    shared_identities: int = 2000  # per shared address or hub attendee link
    votes: int = 20  # votes on one item from one address
    shared_votes: int = 2000  # from one shared address or one hub's attendees


def address_source(digest: str, shared: bool) -> str:
    """The source of a client address, given its keyed hash."""
    return (SHARED if shared else ADDRESS) + digest


def hub_source(hub: str) -> str:
    """The source of a hub's attendee link."""
    return HUB_LINK + hub


def is_shared(source: str) -> bool:
    """A shared address or a hub's link: many people, a larger budget."""
    return source.startswith((SHARED, HUB_LINK))


def bannable(source: str) -> bool:
    """Whether a ban of an identity from `source` refuses new identities from it too."""
    return source.startswith(ADDRESS)


def identity_budget(budgets: Budgets, source: str) -> int | None:
    """New identities `source` may make per window; None: unbounded (no source)."""
    if not source:
        return None
    return budgets.shared_identities if is_shared(source) else budgets.identities


def vote_budget(budgets: Budgets, source: str) -> int | None:
    """Votes one item may take from `source`; None: unbounded (no source)."""
    if not source:
        return None
    return budgets.shared_votes if is_shared(source) else budgets.votes


def recent(times: Iterable[int], now: int) -> list[int]:
    """The join times (ms) still inside the window at `now`, oldest first."""
    return sorted(t for t in times if t > now - WINDOW_MS)


def wait_ms(times: list[int], budget: int, now: int) -> int:
    """0 when one more join fits `budget` at `now`; else the ms until one does."""
    kept = recent(times, now)
    if len(kept) < budget:
        return 0
    return max(1, kept[len(kept) - budget] + WINDOW_MS - now)
