"""Items put to the meeting and the lifecycle they move through."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from ..errors import conflict

POINT_OF_ORDER = "point_of_order"  # goes to the top of the queue; allowed on a closed list
KINDS = ("question", "comment", "floor", POINT_OF_ORDER)
VOTABLE_KINDS = frozenset({"question", "comment"})

LOCAL = "local"  # held in a remote hub's own queue until the hub forwards it
PENDING = "pending"
APPROVED = "approved"
REJECTED = "rejected"
MERGED = "merged"
WITHDRAWN = "withdrawn"
LIVE = "live"
DONE = "done"
STATUSES = (LOCAL, PENDING, APPROVED, REJECTED, MERGED, WITHDRAWN, LIVE, DONE)
OPEN = frozenset({PENDING, APPROVED, LIVE})

# action -> (statuses it may start from, status it leads to). Nothing else is legal.
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "approve": (frozenset({PENDING}), APPROVED),
    "reject": (frozenset({PENDING}), REJECTED),
    "edit": (frozenset({PENDING}), PENDING),
    "merge": (frozenset({PENDING, APPROVED}), MERGED),
    "withdraw": (frozenset({LOCAL, PENDING, APPROVED}), WITHDRAWN),
    # A hub's moderator sends an attendee's item on to the meeting, or declines it.
    "forward": (frozenset({LOCAL}), PENDING),
    "decline": (frozenset({LOCAL}), REJECTED),
    "move": (frozenset({APPROVED}), APPROVED),
    "live": (frozenset({APPROVED}), LIVE),
    "done": (frozenset({LIVE}), DONE),
}
# The author id of an item a hub's relay mirrors from the meeting upstream: no one here.
UPSTREAM = "~upstream"
MODERATOR_ACTIONS = ("approve", "reject", "edit", "merge", "move", "live", "done")


@dataclass(frozen=True, slots=True)
class Item:
    """One item as the moderators see it. `public` is true once it has been approved."""

    id: str
    kind: str
    text: str
    status: str
    origin: str
    author_id: str
    author: str
    anonymous: bool
    lang: str
    created: int
    votes: int = 0
    reason: str | None = None
    into: str | None = None
    public: bool = False
    edited: bool = False
    affiliation: str | None = None
    hub: str | None = None  # the hub (identity id) it came through
    backing: int | None = None  # how many of that hub's attendees back it
    on_behalf: bool = False  # a moderator added it for a speaker in the room

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Item:
        return cls(**data)


def hub_declared(item: Item) -> bool:
    """Whether a hub asked `item` on behalf of one of its attendees, under a name the hub
    declared (the meeting cannot check it): asked by the hub itself, or mirrored on a hub's
    relay from a meeting that said so (`hub_attendee`)."""
    if not item.on_behalf:
        return False
    return item.author_id == UPSTREAM or (item.hub is not None and item.hub == item.author_id)


def transition(item: Item, action: str) -> str:
    """The status `action` leads `item` to; `conflict` when the lifecycle has no such step."""
    step = TRANSITIONS.get(action)
    if step is None:
        raise conflict(f"unknown action {action!r}")
    sources, target = step
    if item.status not in sources:
        allowed = " or ".join(sorted(sources))
        raise conflict(
            f"cannot {action} item {item.id}: it is {item.status}, {action} needs {allowed}"
        )
    return target


def moved(item: Item, status: str, **changes: Any) -> Item:
    """A copy of `item` in `status`; reaching `approved` makes it public for good."""
    public = item.public or status == APPROVED
    return replace(item, status=status, public=public, **changes)
