"""Who should speak next: orderings of the one queue, and time on the floor; advice that
never reorders the queue.

Everything here is advice for the moderator, who confirms. `suggest` ranks the waiting
candidates by one of `ORDERINGS`, given the floor history; each `Suggestion` carries reasons as
machine codes with parameters (pages translate them; `describe` gives English). Points of order
go first in every ordering. The helpers at the end compute speaking time per turn, per item
and per group, and what is left of a group's speaking-time budget.

Orderings read people's declared profiles; moderators must not. `disclose` turns
the reasons into what may be shown: a group from a declared profile is named only for an item
that is not anonymous and only when at least K people of the session share the group;
otherwise the reason says "a group" and drops whatever would tie it to earlier speakers.

Times are milliseconds since the Unix epoch, as in the session log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Final, NamedTuple, TypeAlias

from ..errors import bad_request
from . import regions

__all__ = [
    "DECLARED",
    "DIMENSIONS",
    "MIC",
    "NOT_DECLARED",
    "ORDERINGS",
    "POINT_OF_ORDER",
    "SLOTS",
    "Candidate",
    "FloorHistory",
    "Reason",
    "Suggestion",
    "Turn",
    "Weights",
    "budget_left",
    "describe",
    "disclose",
    "group_of",
    "may_request",
    "origin_class",
    "passed_over",
    "shared_groups",
    "suggest",
    "time_by_group",
    "time_by_item",
    "time_left",
    "turn_ms",
]

POINT_OF_ORDER: Final = "point_of_order"
ROOM: Final = "room"
REMOTE: Final = "remote"
HUB: Final = "hub"
NOT_DECLARED: Final = "not_declared"
DIMENSIONS: Final = ("stakeholder", "region", "gender", "youth", "origin")
"""The profile cuts the balanced ordering spreads the floor across, in tie-break order."""
DECLARED: Final = ("stakeholder", "region", "gender", "youth")
"""The cuts that come from a person's declared profile (origin shows on every item)."""
MIC: Final = "mic"
"""The pseudo-cut of `shared_groups` for the stakeholder microphones of `mics4_remote2`."""

MINUTE_MS: Final = 60_000
REASON_AFTER_MS: Final = 10 * MINUTE_MS
"""A group unheard (or an item waiting) this long gets a reason saying so."""

Profile: TypeAlias = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A waiting item. `author_id` names the person who will speak.

    For a room speaker a moderator queued on someone's behalf, pass a key for that speaker
    (e.g. "room:" + their name), not the moderator's id, or all room speakers count as one.
    """

    item_id: str
    kind: str
    origin: str  # "room", "remote" or "hub:<name>"
    author_id: str
    created_ms: int
    votes: int = 0
    profile: Profile = field(default_factory=dict)  # stakeholder, country, gender, youth


@dataclass(frozen=True, slots=True)
class Turn:
    """One past (or the current) turn on the floor; `ended_ms` is None while it goes on."""

    item_id: str
    author_id: str
    origin: str
    profile: Profile
    started_ms: int
    ended_ms: int | None = None


FloorHistory: TypeAlias = Sequence[Turn]


class Reason(NamedTuple):
    """Why an item is suggested: a code and its parameters, e.g. ("votes", {"votes": 12})."""

    code: str
    params: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One ranked item. Scores compare only within one `suggest` answer; higher is better."""

    item_id: str
    score: float
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class Weights:
    """What the organizer sets for the balanced ordering; a weight of 0 ignores that cut.

    Each cut adds up to its weight for a candidate whose group was heard least (the full
    weight when never heard); `new_speaker` goes to people who have not had the floor;
    `votes` to the most voted, in proportion. `waiting` is added per `horizon_minutes`
    waited, without cap, so no one waits forever behind newcomers. `patience` is how many
    turns in a row a group with waiting items may be passed over before the balanced
    ordering must give it the floor; `horizon_minutes` is also how long a group must be
    unheard to count as fully unheard.
    """

    stakeholder: float = 1.0
    region: float = 1.0
    gender: float = 1.0
    youth: float = 0.5
    origin: float = 1.0
    new_speaker: float = 1.0
    waiting: float = 0.5
    votes: float = 0.25
    patience: int = 3
    horizon_minutes: int = 30

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def merged(self, changes: Mapping[str, Any]) -> Weights:
        """These weights with `changes` applied; `bad_request` names any bad key or value."""
        values = self.to_dict()
        known = {f.name for f in fields(self)}
        for key, value in changes.items():
            if key not in known:
                raise bad_request(f"unknown weight {key!r} (known: {', '.join(sorted(known))})")
            values[key] = _checked_weight(key, value)
        return Weights(**values)


_WHOLE_LIMITS: Final = {"patience": (1, 50), "horizon_minutes": (1, 600)}


def _checked_weight(key: str, value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_request(f"weight {key!r} takes a number")
    if key in _WHOLE_LIMITS:
        low, high = _WHOLE_LIMITS[key]
        if not isinstance(value, int) or not low <= value <= high:
            raise bad_request(f"{key!r} takes a whole number from {low} to {high}")
        return value
    if not 0 <= value <= 10:
        raise bad_request(f"weight {key!r} takes a number from 0 to 10")
    return float(value)


# -- groups ---------------------------------------------------------------------------------


def origin_class(origin: str) -> str:
    """ "room", "hub" (for any `hub:<name>`) or "remote"."""
    if origin == ROOM:
        return ROOM
    return HUB if origin.startswith(HUB + ":") else REMOTE


def group_of(dimension: str, origin: str, profile: Profile) -> str:
    """The group a person belongs to in one of `DIMENSIONS`; "not_declared" when not given."""
    if dimension == "origin":
        return origin_class(origin)
    if dimension == "region":
        country = profile.get("country")
        return regions.un_group(country) if country else NOT_DECLARED
    value = profile.get(dimension)
    if dimension == "youth":
        return NOT_DECLARED if value is None else ("youth" if value else "not_youth")
    return value if isinstance(value, str) and value else NOT_DECLARED


def _declared(group: str) -> bool:
    """Whether a group is a self-declared trait that balancing should favour when rare."""
    return group not in (NOT_DECLARED, regions.UNKNOWN, "undisclosed")


# -- entry point ----------------------------------------------------------------------------


def suggest(
    name: str,
    candidates: Sequence[Candidate],
    history: FloorHistory,
    weights: Weights | None = None,
    now_ms: int = 0,
    budgets: Mapping[str, int] | None = None,
) -> list[Suggestion]:
    """The candidates ranked best first by ordering `name`.

    Points of order come first, oldest first. Candidates whose stakeholder group has spent
    its speaking-time budget (`budgets`: seconds per stakeholder group) come last.
    """
    ordering = _ORDERINGS.get(name)
    if ordering is None:
        raise bad_request(f"ordering must be one of {', '.join(ORDERINGS)}, not {name!r}")
    points = sorted((c for c in candidates if c.kind == POINT_OF_ORDER), key=_arrival)
    others = [c for c in candidates if c.kind != POINT_OF_ORDER]
    spent = [c for c in others if _spent(c, history, budgets, now_ms)]
    spent_ids = {c.item_id for c in spent}
    rest = [c for c in others if c.item_id not in spent_ids]
    ranked = ordering(rest, history, weights or Weights(), now_ms)
    high = max((s.score for s in ranked), default=0.0) + len(points)
    low = min((s.score for s in ranked), default=0.0) - 1
    top = [
        Suggestion(c.item_id, high - i, (Reason(POINT_OF_ORDER, {}),)) for i, c in enumerate(points)
    ]
    tail = [
        Suggestion(c.item_id, low - i, (Reason("budget_spent", {"group": _stakeholder(c)}),))
        for i, c in enumerate(sorted(spent, key=_arrival))
    ]
    return [*top, *ranked, *tail]


def _arrival(candidate: Candidate) -> tuple[int, str]:
    return candidate.created_ms, candidate.item_id


def _stakeholder(candidate: Candidate) -> str:
    return group_of("stakeholder", candidate.origin, candidate.profile)


def _spent(
    candidate: Candidate, history: FloorHistory, budgets: Mapping[str, int] | None, now_ms: int
) -> bool:
    if not budgets:
        return False
    left = budget_left(_stakeholder(candidate), history, budgets, now_ms)
    return left is not None and left <= 0


def _by_rank(ranked: Iterable[tuple[Candidate, tuple[Reason, ...]]]) -> list[Suggestion]:
    items = list(ranked)
    count = len(items)
    return [
        Suggestion(c.item_id, float(count - i), reasons) for i, (c, reasons) in enumerate(items)
    ]


# -- arrival and votes ----------------------------------------------------------------------


def _waiting_reason(candidate: Candidate, now_ms: int) -> tuple[Reason, ...]:
    waited = now_ms - candidate.created_ms
    if waited < REASON_AFTER_MS:
        return ()
    return (Reason("waiting", {"minutes": waited // MINUTE_MS}),)


def _by_arrival(
    candidates: Sequence[Candidate], history: FloorHistory, weights: Weights, now_ms: int
) -> list[Suggestion]:
    ordered = sorted(candidates, key=_arrival)
    return _by_rank(
        (c, (Reason("arrival", {"position": i + 1}), *_waiting_reason(c, now_ms)))
        for i, c in enumerate(ordered)
    )


def _by_votes(
    candidates: Sequence[Candidate], history: FloorHistory, weights: Weights, now_ms: int
) -> list[Suggestion]:
    ordered = sorted(candidates, key=lambda c: (-c.votes, *_arrival(c)))
    return _by_rank((c, (Reason("votes", {"votes": c.votes}),)) for c in ordered)


# -- balanced -------------------------------------------------------------------------------


@dataclass(slots=True)
class _GroupFloor:
    """How much floor a group has had: time in ms and when it last held the floor."""

    ms: int = 0
    last_end: int = 0


def _floor_by_group(history: FloorHistory, dimension: str, now_ms: int) -> dict[str, _GroupFloor]:
    floors: dict[str, _GroupFloor] = {}
    for turn in history:
        group = group_of(dimension, turn.origin, turn.profile)
        floor = floors.setdefault(group, _GroupFloor())
        floor.ms += turn_ms(turn, now_ms)
        end = now_ms if turn.ended_ms is None else turn.ended_ms
        floor.last_end = max(floor.last_end, end)
    return floors


def passed_over(
    candidates: Sequence[Candidate], history: FloorHistory, dimensions: Sequence[str] = DIMENSIONS
) -> dict[tuple[str, str], int]:
    """For each (dimension, group) with waiting candidates: turns in a row it was passed over.

    A turn passes a group over when it starts after the group's oldest waiting candidate was
    created and after the group's own last turn started.
    """
    streaks: dict[tuple[str, str], int] = {}
    for dimension in dimensions:
        oldest: dict[str, int] = {}
        for c in candidates:
            group = group_of(dimension, c.origin, c.profile)
            oldest[group] = min(oldest.get(group, c.created_ms), c.created_ms)
        last: dict[str, int] = {}
        for turn in history:
            group = group_of(dimension, turn.origin, turn.profile)
            last[group] = max(last.get(group, turn.started_ms), turn.started_ms)
        for group, since in oldest.items():
            after = max(since, last.get(group, since))
            streaks[(dimension, group)] = sum(1 for t in history if t.started_ms > after)
    return streaks


def _guard(
    candidates: Sequence[Candidate],
    history: FloorHistory,
    dimensions: Sequence[str],
    patience: int,
) -> tuple[Candidate, Reason] | None:
    """The oldest candidate of the longest passed-over group, once one reached `patience`."""
    streaks = passed_over(candidates, history, dimensions)
    due = [(key, n) for key, n in streaks.items() if n >= patience]
    if not due:
        return None
    oldest: dict[tuple[str, str], Candidate] = {}
    for key, _ in due:
        members = [c for c in candidates if group_of(key[0], c.origin, c.profile) == key[1]]
        oldest[key] = min(members, key=_arrival)
    # Longest passed over first; then the earlier dimension; then whoever waited longest.
    (dimension, group), turns = min(
        due, key=lambda d: (-d[1], dimensions.index(d[0][0]), *_arrival(oldest[d[0]]))
    )
    chosen = oldest[(dimension, group)]
    reason = Reason("group_passed_over", {"dimension": dimension, "group": group, "turns": turns})
    return chosen, reason


@dataclass(frozen=True, slots=True)
class _Context:
    dimensions: tuple[str, ...]
    floors: Mapping[str, Mapping[str, _GroupFloor]]
    total_ms: Mapping[str, int]
    speakers: frozenset[str]
    max_votes: int
    now_ms: int
    horizon_ms: int


def _score(
    candidate: Candidate, context: _Context, weights: Weights
) -> tuple[float, tuple[Reason, ...]]:
    parts: list[tuple[float, Reason | None]] = []
    for dimension in context.dimensions:
        parts.append(_group_part(candidate, dimension, context, weights))
    if candidate.author_id not in context.speakers:
        parts.append((weights.new_speaker, Reason("new_speaker", {})))
    waited = context.now_ms - candidate.created_ms
    waiting_reason = _waiting_reason(candidate, context.now_ms)
    # Uncapped, unlike the other parts: whoever waits long enough outscores any newcomer.
    parts.append(
        (
            weights.waiting * max(0, waited) / context.horizon_ms,
            waiting_reason[0] if waiting_reason else None,
        )
    )
    if context.max_votes > 0 and candidate.votes > 0 and weights.votes > 0:
        parts.append(
            (
                weights.votes * candidate.votes / context.max_votes,
                Reason("votes", {"votes": candidate.votes}),
            )
        )
    score = sum(value for value, _ in parts)
    ranked = sorted((p for p in parts if p[1] is not None and p[0] > 0), key=lambda p: -p[0])
    return score, tuple(reason for _, reason in ranked if reason is not None)


def _group_part(
    candidate: Candidate, dimension: str, context: _Context, weights: Weights
) -> tuple[float, Reason | None]:
    """A cut's share of the score: 1 x weight for a group never heard, less for one often heard."""
    group = group_of(dimension, candidate.origin, candidate.profile)
    weight: float = getattr(weights, dimension)
    if not _declared(group):
        return 0.0, None
    floor = context.floors[dimension].get(group)
    if floor is None:
        return weight, Reason("first_speaker", {"dimension": dimension, "group": group})
    total = context.total_ms[dimension]
    share = floor.ms / total if total else 0.0
    quiet = context.now_ms - floor.last_end
    value = weight * (0.5 * (1 - share) + 0.5 * _fraction(quiet, context.horizon_ms))
    if quiet < REASON_AFTER_MS:
        return value, None
    params = {"dimension": dimension, "group": group, "minutes": quiet // MINUTE_MS}
    return value, Reason("not_heard_for", params)


def _fraction(ms: int, horizon_ms: int) -> float:
    return min(1.0, max(0, ms) / horizon_ms)


def _balanced(
    candidates: Sequence[Candidate], history: FloorHistory, weights: Weights, now_ms: int
) -> list[Suggestion]:
    """Spread the floor across groups; a group passed over `patience` times is served next.

    Bound (proved in tests/unit/test_ordering.py): with M distinct (dimension, group) pairs among
    the candidates of weighted dimensions, no group with waiting items is passed over more
    than `patience + M - 1` turns in a row when the moderator follows the suggestions
    (points of order and budget-spent groups aside: those turns are outside the ordering).
    """
    dimensions = tuple(d for d in DIMENSIONS if getattr(weights, d) > 0)
    floors = {d: _floor_by_group(history, d, now_ms) for d in dimensions}
    context = _Context(
        dimensions=dimensions,
        floors=floors,
        total_ms={d: sum(f.ms for f in floors[d].values()) for d in dimensions},
        speakers=frozenset(t.author_id for t in history),
        max_votes=max((c.votes for c in candidates), default=0),
        now_ms=now_ms,
        horizon_ms=weights.horizon_minutes * MINUTE_MS,
    )
    scored = [(c, *_score(c, context, weights)) for c in candidates]
    scored.sort(key=lambda s: (-s[1], *_arrival(s[0])))
    suggestions = [Suggestion(c.item_id, score, reasons) for c, score, reasons in scored]
    guarded = _guard(candidates, history, dimensions, weights.patience) if dimensions else None
    if guarded is None:
        return suggestions
    chosen, reason = guarded
    first = next(s for s in suggestions if s.item_id == chosen.item_id)
    others = [s for s in suggestions if s.item_id != chosen.item_id]
    # Scored above the best, so a page that sorts by score keeps the guard's choice first.
    score = max(first.score, others[0].score + 1) if others else first.score
    return [Suggestion(first.item_id, score, (reason, *first.reasons)), *others]


# -- presets --------------------------------------------------------------------------------

SLOTS: Final = (
    "government",
    "civil_society",
    REMOTE,
    "private_sector",
    "technical_academic",
    REMOTE,
)
"""One round of the `mics4_remote2` preset: four stakeholder microphones, two remote slots."""

_MIC_OF: Final[Mapping[str, str]] = {
    "government": "government",
    "intergovernmental": "government",
    "civil_society": "civil_society",
    "private_sector": "private_sector",
    "technical": "technical_academic",
    "academia": "technical_academic",
}


def _slot_kind(origin: str, profile: Profile) -> str | None:
    """The slot a person queues for: remote (hubs too) or a room mic; None: any room mic."""
    if origin_class(origin) != ROOM:
        return REMOTE
    stakeholder = profile.get("stakeholder")
    return _MIC_OF.get(stakeholder) if isinstance(stakeholder, str) else None


def _fit(filled: list[bool], kind: str | None) -> int | None:
    for index, slot in enumerate(SLOTS):
        if not filled[index] and (kind == slot or (kind is None and slot != REMOTE)):
            return index
    return None


def _current_round(history: FloorHistory) -> tuple[int, list[bool]]:
    """Replays the history into rounds: the current round's number and its filled slots."""
    number, filled = 1, [False] * len(SLOTS)
    for turn in sorted(history, key=lambda t: (t.started_ms, t.item_id)):
        kind = _slot_kind(turn.origin, turn.profile)
        index = _fit(filled, kind)
        if index is None:  # no open slot for it: it opened the next round
            number, filled = number + 1, [False] * len(SLOTS)
            index = _fit(filled, kind)
        if index is not None:
            filled[index] = True
        if all(filled):
            number, filled = number + 1, [False] * len(SLOTS)
    return number, filled


def _take(pending: list[Candidate], slot: str) -> Candidate | None:
    """The oldest candidate for `slot`; an open room mic takes anyone in the room without one."""
    wanted_kinds: tuple[str | None, ...] = (slot,) if slot == REMOTE else (slot, None)
    for wanted in wanted_kinds:
        for candidate in pending:
            if _slot_kind(candidate.origin, candidate.profile) == wanted:
                pending.remove(candidate)
                return candidate
    return None


def _mics4_remote2(
    candidates: Sequence[Candidate], history: FloorHistory, weights: Weights, now_ms: int
) -> list[Suggestion]:
    """Rounds of `SLOTS`: each open slot in turn takes its oldest candidate."""
    number, filled = _current_round(history)
    pending = sorted(candidates, key=_arrival)
    ranked: list[tuple[Candidate, tuple[Reason, ...]]] = []
    while pending:
        for index, slot in enumerate(SLOTS):
            candidate = None if filled[index] else _take(pending, slot)
            if candidate is not None:
                ranked.append((candidate, (Reason("slot", {"slot": slot, "round": number}),)))
        number, filled = number + 1, [False] * len(SLOTS)
    return _by_rank(ranked)


def _alternate(
    candidates: Sequence[Candidate], history: FloorHistory, weights: Weights, now_ms: int
) -> list[Suggestion]:
    """Room and remote (hubs included) one to one, each side oldest first; room starts."""
    last = max(history, key=lambda t: (t.started_ms, t.item_id), default=None)
    in_room = last is None or origin_class(last.origin) != ROOM
    room = sorted((c for c in candidates if origin_class(c.origin) == ROOM), key=_arrival)
    remote = sorted((c for c in candidates if origin_class(c.origin) != ROOM), key=_arrival)
    ranked: list[tuple[Candidate, tuple[Reason, ...]]] = []
    while room or remote:
        side = room if (in_room and room) or not remote else remote
        candidate = side.pop(0)
        label = ROOM if side is room else REMOTE
        ranked.append((candidate, (Reason("alternate", {"side": label}),)))
        in_room = label != ROOM
    return _by_rank(ranked)


_Ordering: TypeAlias = Callable[[Sequence[Candidate], FloorHistory, Weights, int], list[Suggestion]]

_ORDERINGS: Final[Mapping[str, _Ordering]] = {
    "arrival": _by_arrival,
    "votes": _by_votes,
    "balanced": _balanced,
    "mics4_remote2": _mics4_remote2,
    "alternate": _alternate,
}
ORDERINGS: Final = tuple(_ORDERINGS)
"""The orderings a moderator can switch between."""


# -- floor time -----------------------------------------------------------------------------


def turn_ms(turn: Turn, now_ms: int) -> int:
    """How long `turn` held the floor; a turn still going on counts until `now_ms`."""
    end = now_ms if turn.ended_ms is None else turn.ended_ms
    return max(0, end - turn.started_ms)


def time_by_item(history: FloorHistory, now_ms: int) -> dict[str, int]:
    """Speaking time in ms per item id (an item may take the floor more than once)."""
    totals: dict[str, int] = {}
    for turn in history:
        totals[turn.item_id] = totals.get(turn.item_id, 0) + turn_ms(turn, now_ms)
    return totals


def time_by_group(history: FloorHistory, dimension: str, now_ms: int) -> dict[str, int]:
    """Speaking time in ms per group of one of `DIMENSIONS`."""
    return {group: floor.ms for group, floor in _floor_by_group(history, dimension, now_ms).items()}


def budget_left(
    group: str, history: FloorHistory, budgets: Mapping[str, int], now_ms: int
) -> int | None:
    """Ms left of a stakeholder group's budget (seconds in `budgets`); None: no budget.

    Negative when the group ran over.
    """
    budget = budgets.get(group)
    if budget is None:
        return None
    return budget * 1000 - time_by_group(history, "stakeholder", now_ms).get(group, 0)


def time_left(turn: Turn, limit_seconds: int | None, now_ms: int) -> int | None:
    """Ms left of a turn's speaking time (negative once over); None when unlimited."""
    if not limit_seconds:
        return None
    return limit_seconds * 1000 - turn_ms(turn, now_ms)


def may_request(kind: str, *, list_closed: bool) -> bool:
    """Whether a new item of `kind` may join the queue: a closed list takes points of order."""
    return not list_closed or kind == POINT_OF_ORDER


# -- what moderators may see ---------------------------------------------------------------


def shared_groups(people: Iterable[tuple[str, Profile]]) -> dict[tuple[str, str], int]:
    """How many of `people` (origin, profile) are in each (cut, group) of `DECLARED`, and in
    each stakeholder microphone (cut `MIC`): what `disclose` checks against its threshold."""
    counts: dict[tuple[str, str], int] = {}
    for origin, profile in people:
        keys = [(d, group_of(d, origin, profile)) for d in DECLARED]
        stakeholder = profile.get("stakeholder")
        mic = _MIC_OF.get(stakeholder) if isinstance(stakeholder, str) else None
        if mic is not None:
            keys.append((MIC, mic))
        for key in keys:
            counts[key] = counts.get(key, 0) + 1
    return counts


_UNNAMED: Final[Mapping[str, str]] = {
    "first_speaker": "unheard_group",
    "not_heard_for": "quiet_group",
    "group_passed_over": "passed_over_group",
}


def disclose(
    reasons: Iterable[Reason], *, anonymous: bool, shared: Mapping[tuple[str, str], int], k: int
) -> tuple[Reason, ...]:
    """`reasons` as moderators may see them.

    A group of a declared cut (`DECLARED`, and the stakeholder microphones) is named only
    when the item is not `anonymous` and at least `k` people share the group (`shared`, from
    `shared_groups`). Otherwise the reason becomes its unnamed form, without the minutes or
    turns that would tie the group to earlier speakers: "unheard_group", "quiet_group",
    "passed_over_group", "group_budget_spent", or a "room" microphone slot. Equal reasons are
    given once. Origin (room, remote, hub) shows on every item, so it is always named.
    """

    def named(dimension: str, group: str) -> bool:
        return not anonymous and shared.get((dimension, group), 0) >= k

    out: list[Reason] = []
    for reason in reasons:
        code, params = reason
        shown = reason
        if code in _UNNAMED and params["dimension"] in DECLARED:
            if not named(params["dimension"], params["group"]):
                shown = Reason(_UNNAMED[code], {})
        elif code == "budget_spent" and not named("stakeholder", params["group"]):
            shown = Reason("group_budget_spent", {})
        elif code == "slot" and params["slot"] != REMOTE and not named(MIC, params["slot"]):
            shown = Reason("slot", {"slot": ROOM, "round": params["round"]})
        if shown not in out:
            out.append(shown)
    return tuple(out)


# -- reasons in English ---------------------------------------------------------------------

_STAKEHOLDER_NAMES: Final[Mapping[str, str]] = {
    "government": "government",
    "civil_society": "civil society",
    "private_sector": "the private sector",
    "technical": "the technical community",
    "academia": "academia",
    "intergovernmental": "intergovernmental organizations",
    "media": "the media",
    "other": "other stakeholders",
}
_GENDER_NOUNS: Final[Mapping[str, tuple[str, str]]] = {
    "woman": ("woman", "women"),
    "man": ("man", "men"),
    "nonbinary": ("non-binary person", "non-binary people"),
}
_ORIGIN_SPEAKERS: Final[Mapping[str, tuple[str, str]]] = {
    ROOM: ("speaker in the room", "the room"),
    REMOTE: ("remote speaker", "remote participants"),
    HUB: ("speaker from a hub", "hub participants"),
}
_DIMENSION_NAMES: Final[Mapping[str, str]] = {
    "stakeholder": "stakeholder group",
    "region": "country",
    "gender": "gender",
    "youth": "age group",
    "origin": "place",
}
_SLOT_NAMES: Final[Mapping[str, str]] = {
    "government": "government microphone",
    "civil_society": "civil society microphone",
    "private_sector": "private sector microphone",
    "technical_academic": "technical and academic microphone",
    REMOTE: "remote slot",
    ROOM: "room microphone",
}


def _speaker(dimension: str, group: str) -> str:
    """A singular phrase for one speaker of a group: "speaker from Africa"."""
    if dimension == "origin":
        return _ORIGIN_SPEAKERS.get(group, (f"speaker from {group}", ""))[0]
    if dimension == "youth":
        return "young speaker" if group == "youth" else "speaker outside the youth group"
    if dimension == "region":
        return f"speaker from {regions.UN_GROUP_SHORT_NAMES.get(group, group)}"
    return f"speaker from {_STAKEHOLDER_NAMES.get(group, group.replace('_', ' '))}"


def _people(dimension: str, group: str) -> str:
    """A plural phrase for a group: "women", "remote participants", "speakers from Africa"."""
    if group in (NOT_DECLARED, regions.UNKNOWN):
        return f"people who gave no {_DIMENSION_NAMES.get(dimension, dimension)}"
    if dimension == "gender":
        return _GENDER_NOUNS.get(group, (group, f"people who chose {group}"))[1]
    if dimension == "origin":
        return _ORIGIN_SPEAKERS.get(group, ("", group))[1]
    if dimension == "youth":
        return "young people" if group == "youth" else "people outside the youth group"
    if dimension == "stakeholder":
        return _STAKEHOLDER_NAMES.get(group, group.replace("_", " "))
    return _speaker(dimension, group).replace("speaker ", "speakers ", 1)


def _first(params: Mapping[str, Any]) -> str:
    dimension, group = params["dimension"], params["group"]
    if dimension == "gender" and group in _GENDER_NOUNS:
        return f"no {_GENDER_NOUNS[group][0]} has spoken yet"
    return f"first {_speaker(dimension, group)}"


def _not_heard(params: Mapping[str, Any]) -> str:
    dimension, group, minutes = params["dimension"], params["group"], params["minutes"]
    if dimension == "gender" and group in _GENDER_NOUNS:
        return f"no {_GENDER_NOUNS[group][0]} has spoken for {minutes} minutes"
    return f"first {_speaker(dimension, group)} in {minutes} minutes"


_DESCRIBE: Final[Mapping[str, Callable[[Mapping[str, Any]], str]]] = {
    POINT_OF_ORDER: lambda p: "point of order",
    "first_speaker": _first,
    "not_heard_for": _not_heard,
    "new_speaker": lambda p: "has not spoken yet",
    "waiting": lambda p: f"waiting for {p['minutes']} minutes",
    "votes": lambda p: "1 vote" if p["votes"] == 1 else f"{p['votes']} votes",
    "arrival": lambda p: f"number {p['position']} in order of arrival",
    "group_passed_over": lambda p: (
        f"{_people(p['dimension'], p['group'])} passed over {p['turns']} times in a row"
    ),
    "slot": lambda p: f"{_SLOT_NAMES.get(p['slot'], p['slot'])}, round {p['round']}",
    "alternate": lambda p: (
        f"{'room' if p['side'] == ROOM else 'remote'} turn (room and remote alternate)"
    ),
    "budget_spent": lambda p: f"{_people('stakeholder', p['group'])} used up its speaking time",
    "unheard_group": lambda p: "from a group not heard yet",
    "quiet_group": lambda p: "from a group not heard for a while",
    "passed_over_group": lambda p: "from a group passed over several turns in a row",
    "group_budget_spent": lambda p: "their group used up its speaking time",
}


def describe(reason: Reason | tuple[str, Mapping[str, Any]]) -> str:
    """The reason in plain English, e.g. "first remote speaker in 20 minutes"."""
    code, params = reason
    render = _DESCRIBE.get(code)
    return render(params) if render is not None else code.replace("_", " ")
