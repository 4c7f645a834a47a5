"""A session's state and the folds of its own facts (`fold_<kind>`).

Facts are the entries of a session's state log (their shapes: `hub.domain.facts`). Each
one carries its outcome (the whole item after a change, the new order), so folding
decides nothing: it only records. Deciding happens in `hub.domain.commands`; which fold
a fact goes through, in `hub.domain.fact_kinds`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from ..errors import bad_request, not_found
from .captions import CaptionLine
from .facts import (
    BanFact,
    CaptionFact,
    CreatedFact,
    ErasedFact,
    FlagFact,
    FloorFact,
    HubStatusFact,
    IdentityFact,
    ItemsFact,
    NoteFact,
    RotateFact,
    SessionChangedFact,
    TokenFact,
    VoteFact,
)
from .items import Item
from .sources import bannable, recent
from .voice import VoiceState

# What a session id is, everywhere one comes from outside (routes, `POST /api/sessions`)
# and where one names a file (the archive): 3 to 64 letters, digits, '-' or '_'.
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{3,64}")


def valid_session_id(text: object) -> bool:
    """True when `text` is a whole session id (never a path, never a trailing newline)."""
    return isinstance(text, str) and SESSION_ID.fullmatch(text) is not None


SCHEDULED = "scheduled"
LIVE = "live"
CLOSED = "closed"
STATES = (SCHEDULED, LIVE, CLOSED)

STAKEHOLDERS = (
    "government",
    "civil_society",
    "private_sector",
    "technical",
    "academia",
    "intergovernmental",
    "media",
    "other",
)
GENDERS = ("woman", "man", "nonbinary", "undisclosed")

# How many caption lines per language the snapshot carries.
SNAPSHOT_CAPTIONS = 50


@dataclass(frozen=True, slots=True)
class Settings:
    """What the organizer chooses per session."""

    premoderation: bool = True
    anonymous: bool = True
    item_max: int = 2000
    caption_max: int = 10000
    speaking_time: int = 0  # seconds per turn shown as a countdown; 0: no limit
    list_closed: bool = False  # no new requests, except points of order
    room_count: int = 0  # people in the room, as the organizer counted them (for the report)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def merged(self, changes: dict[str, Any]) -> Settings:
        """These settings with `changes` applied; `bad_request` names any bad key or value."""
        known = {f.name: f for f in fields(self)}
        values = self.to_dict()
        for key, value in changes.items():
            if key not in known:
                raise bad_request(f"unknown setting {key!r} (known: {', '.join(known)})")
            if isinstance(values[key], bool):
                if not isinstance(value, bool):
                    raise bad_request(f"setting {key!r} takes true or false")
            else:
                low = 0 if key in ("speaking_time", "room_count") else 1
                whole = isinstance(value, int) and not isinstance(value, bool)
                if not whole or not low <= value <= 100_000:
                    raise bad_request(f"setting {key!r} takes a whole number from {low} to 100000")
            values[key] = value
        return Settings(**values)


@dataclass(frozen=True, slots=True)
class Identity:
    """A participant, hub, moderator, captioner or screen as the server knows it."""

    id: str
    role: str
    name: str
    profile: dict[str, Any] = field(default_factory=dict)
    in_room: bool = False
    joined: int = 0
    hub: str | None = None  # for an attendee of a remote hub: the hub's identity id
    place: dict[str, str] = field(default_factory=dict)  # a hub's city and country
    # When they first acted (asked, voted, took the floor) or declared a profile (ms); None:
    # never. Only such identities count in the figures (a join link makes unlimited
    # identities, so merely joining must not move a figure).
    counted: int | None = None
    # Where it joined from, for an identity made from a join link (see `sources`): a keyed
    # hash of the client address, never the address itself.
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class NamedToken:
    """A named token as minted (`POST …/tokens`): who it names, never the token itself. Kept
    so the organizer can list and revoke it, used or not."""

    identity: str
    role: str
    name: str
    expires: int  # seconds since the Unix epoch
    by: str  # the identity that minted it
    ts: int  # when (ms)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class HubState:
    """A remote hub as the roll call shows it."""

    attendees: int = 0
    connected: bool = False
    last_seen: int = 0
    jump: int | None = None  # the count before the latest report, when it jumped implausibly
    peak: int = 0  # the most attendees it reported in this session (event-wide figures)


@dataclass(frozen=True, slots=True)
class LiveSpan:
    """One turn as the state records it: when an item held the floor (`ended` is None
    while it still does). The figures and the ordering see a turn as `ordering.Turn`."""

    item: str
    started: int
    ended: int | None = None

    def seconds(self, now: int) -> float:
        return max(0, (self.ended if self.ended is not None else now) - self.started) / 1000


@dataclass(frozen=True, slots=True)
class Flag:
    """A key takeaway or call to action a moderator noted, on an item or a caption line."""

    id: str
    kind: str
    text: str
    by: str
    ts: int
    item: str | None = None
    caption: int | None = None  # the caption line's `seq`, when flagged on one
    caption_ts: int | None = None  # and its time

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class RelayState:
    """A hub's relay: where its session mirrors the meeting from, and what it owes upstream
    (see `hub.domain.relay`)."""

    upstream: str  # the meeting server's address
    hub: str  # the hub's identity id, upstream and here
    hub_name: str
    # Upstream channel ("public", "private") -> [epoch, offset] mirrored so far.
    positions: dict[str, list[Any]] = field(default_factory=dict)
    linked: bool = False
    since: int = 0  # when the link last came up or went down (ms)
    sent: dict[str, str] = field(default_factory=dict)  # local item id -> upstream item id
    outbox: list[dict[str, str]] = field(default_factory=list)  # {"op", "item"}, oldest first
    # Upstream id -> the latest own view of an item the meeting knows before its ask's ack.
    unmatched: dict[str, dict[str, Any]] = field(default_factory=dict)
    caption_ts: dict[str, int] = field(default_factory=dict)  # lang -> last mirrored line's ts
    refused: str | None = None  # why the meeting turned the hub's token away, if it did
    voice: dict[str, Any] | None = None  # the meeting's public `voice` data, as last mirrored


@dataclass(slots=True)
class SessionState:
    """Everything a session is, folded from its facts. Mutated only by
    `hub.domain.fact_kinds.apply`."""

    id: str
    title: str = ""
    state: str = SCHEDULED
    # When it last moved to closed (ms, the fact's `ts`); None while not closed, or for a
    # close recorded before facts carried their time. Reopened and closed again: the last.
    closed_at: int | None = None
    languages: list[str] = field(default_factory=lambda: ["en"])
    settings: Settings = field(default_factory=Settings)
    created: int = 0
    identities: dict[str, Identity] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    live: str | None = None
    live_since: int | None = None  # when the live item took the floor (ms)
    live_limit: int | None = None  # its speaking time in seconds, if limited
    keys: dict[tuple[str, str], str] = field(default_factory=dict)
    voters: dict[str, set[str]] = field(default_factory=dict)
    caption_seq: dict[str, int] = field(default_factory=dict)
    captions: list[CaptionLine] = field(default_factory=list)
    partial: dict[str, CaptionLine] = field(default_factory=dict)
    hubs: dict[str, HubState] = field(default_factory=dict)
    banned: dict[str, str] = field(default_factory=dict)  # identity id -> reason
    tokens: dict[str, NamedToken] = field(default_factory=dict)  # named tokens, by identity
    notes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # the latest, per person
    links: dict[str, int] = field(default_factory=dict)  # role -> join link generation
    turns: list[LiveSpan] = field(default_factory=list)  # who had the floor, when, for how long
    flags: dict[str, Flag] = field(default_factory=dict)  # takeaways and calls to action
    # How the moderators order the floor: {"ordering", "weights", "budgets"} (see ordering.py)
    floor: dict[str, Any] = field(default_factory=lambda: {"ordering": "arrival"})
    # Log position: the state log's offset, the epoch, and each channel's top.
    offset: int = 0
    epoch: str = ""
    tops: dict[str, int] = field(default_factory=dict)
    relay: RelayState | None = None  # set when this session is a hub's relay of a meeting
    erased: set[str] = field(default_factory=set)  # identities erased: their tokens are refused
    # Source -> when its identities joined (ms), the last 10 minutes: budgets per source.
    arrivals: dict[str, list[int]] = field(default_factory=dict)
    voice: VoiceState = field(default_factory=VoiceState)  # the desk, the speaker's audio

    @property
    def floor_language(self) -> str:
        return self.languages[0]

    def item(self, item_id: Any) -> Item:
        """The item with this id; `not_found` otherwise."""
        if not isinstance(item_id, str) or item_id not in self.items:
            raise not_found(f"no item {item_id!r} in this session")
        return self.items[item_id]

    def holder(self, identity_id: str) -> tuple[str, str] | None:
        """The role and name of an identity that joined or was minted a named token."""
        known = self.identities.get(identity_id)
        if known is not None:
            return known.role, known.name
        minted = self.tokens.get(identity_id)
        return (minted.role, minted.name) if minted is not None else None

    def speaker(self) -> str | None:
        """Who holds the floor: the live item's author, unless it was asked anonymously."""
        if self.live is None:
            return None
        item = self.items[self.live]
        return None if item.anonymous else item.author


def new_session(session_id: str) -> SessionState:
    return SessionState(id=session_id)


def fold_created(state: SessionState, fact: CreatedFact) -> None:
    state.title = fact["title"]
    state.languages = list(fact["languages"])
    state.state = fact["state"]
    state.closed_at = fact["ts"] if state.state == CLOSED else None
    state.settings = Settings(**fact["settings"])
    state.created = fact["ts"]
    if "relay" in fact:
        state.relay = RelayState(**fact["relay"])


def fold_session(state: SessionState, fact: SessionChangedFact) -> None:
    if "title" in fact:
        state.title = fact["title"]
    if "state" in fact:
        if fact["state"] != CLOSED:
            state.closed_at = None
        elif state.state != CLOSED:
            state.closed_at = fact.get("ts")
        state.state = fact["state"]
    if "languages" in fact:
        state.languages = list(fact["languages"])
    if "settings" in fact:
        state.settings = Settings(**fact["settings"])


def fold_identity(state: SessionState, fact: IdentityFact) -> None:
    data = fact["identity"]
    identity = Identity(**data)
    known = state.identities.get(identity.id)
    counted = known.counted if known is not None else identity.counted
    if counted is None and identity.profile and state.state != CLOSED:  # closed: figures final
        counted = fact.get("ts", identity.joined)
    state.identities[identity.id] = replace(identity, counted=counted)
    if known is None and identity.source:
        note_arrival(state, identity.source, identity.joined)


def _count(state: SessionState, identity_id: str, ts: int) -> None:
    """`identity_id` acted at `ts`: from then on the figures count them (see `Identity`)."""
    known = state.identities.get(identity_id)
    if known is not None and known.counted is None:
        state.identities[identity_id] = replace(known, counted=ts)


def note_arrival(state: SessionState, source: str, joined: int) -> None:
    """Count one new identity from `source`, keeping the last window's only."""
    state.arrivals[source] = [*recent(state.arrivals.get(source, ()), joined), joined]


def banned_source(state: SessionState, source: str) -> bool:
    """Whether a banned identity joined from `source` (an address a ban covers)."""
    return bannable(source) and any(
        state.identities[b].source == source for b in state.banned if b in state.identities)


def fold_items(state: SessionState, fact: ItemsFact) -> None:
    for data in fact["items"]:
        state.items[data["id"]] = Item.from_dict(data)
        if fact.get("action") == "ask":
            _count(state, data["author_id"], data["created"])
    if "order" in fact:
        state.order = list(fact["order"])
    if "live" in fact:
        now = fact.get("ts", fact.get("since") or 0)
        if state.turns and state.turns[-1].ended is None:
            state.turns[-1] = replace(state.turns[-1], ended=now)
        state.live = fact["live"]
        state.live_since = fact.get("since")
        state.live_limit = fact.get("limit")
        if state.live is not None:
            state.turns.append(LiveSpan(state.live, fact.get("since") or now))
            _count(state, state.items[state.live].author_id, fact.get("since") or now)
    key = fact.get("key")
    if key is not None:
        state.keys[(fact["by"], key)] = fact["items"][0]["id"]
    if fact.get("action") == "merge":
        source, target = fact["items"][0]["id"], fact["items"][0]["into"]
        state.voters.setdefault(target, set()).update(state.voters.pop(source, set()))


def fold_vote(state: SessionState, fact: VoteFact) -> None:
    voters = state.voters.setdefault(fact["item"], set())
    if fact["undo"]:
        voters.discard(fact["by"])
    else:
        voters.add(fact["by"])
        _count(state, fact["by"], fact.get("ts", 0))
    item = state.items[fact["item"]]
    state.items[item.id] = Item.from_dict({**item.to_dict(), "votes": len(voters)})


def fold_caption(state: SessionState, fact: CaptionFact) -> None:
    lang = fact["lang"]
    if fact.get("seq") is not None:
        state.caption_seq[lang] = fact["seq"]
    for text in fact["lines"]:
        line = CaptionLine(
            ts=fact["ts"],
            text=text,
            lang=lang,
            final=fact["final"],
            seq=fact.get("seq"),
            item=fact.get("item"),
            speaker=fact.get("speaker"),
        )
        if line.final:
            state.captions.append(line)
            state.partial.pop(lang, None)
        else:
            state.partial[lang] = line


def fold_flag(state: SessionState, fact: FlagFact) -> None:
    if fact.get("deleted"):
        state.flags.pop(fact["id"], None)
        return
    state.flags[fact["id"]] = Flag(
        id=fact["id"], kind=fact["type"], text=fact["text"], by=fact["by_name"], ts=fact["ts"],
        item=fact.get("item"), caption=fact.get("caption"), caption_ts=fact.get("caption_ts"),
    )


def fold_floor(state: SessionState, fact: FloorFact) -> None:
    state.floor = {**state.floor, **{k: fact[k] for k in ("ordering", "weights", "budgets")
                                     if k in fact}}


def fold_ban(state: SessionState, fact: BanFact) -> None:
    if fact["undo"]:
        state.banned.pop(fact["identity"], None)
    else:
        state.banned[fact["identity"]] = fact.get("reason") or ""
    for data in fact.get("items", ()):
        state.items[data["id"]] = Item.from_dict(data)
    if "order" in fact:
        state.order = list(fact["order"])


def fold_erased(state: SessionState, fact: ErasedFact) -> None:
    """The end of one person's erasure (hub.domain.erasure): their open items withdrawn."""
    state.erased.add(fact["identity"])
    for data in fact["items"]:
        state.items[data["id"]] = Item.from_dict(data)
    if "order" in fact:
        state.order = list(fact["order"])


def fold_token(state: SessionState, fact: TokenFact) -> None:
    state.tokens[fact["identity"]] = NamedToken(
        fact["identity"], fact["role"], fact["name"], fact["expires"], fact["by"], fact["ts"])


def fold_rotate(state: SessionState, fact: RotateFact) -> None:
    state.links[fact["role"]] = fact["generation"]


NOTES_KEPT = 20


def fold_note(state: SessionState, fact: NoteFact) -> None:
    """Kept for the recipient's snapshot (a new device, a fresh join), the latest only."""
    notes = state.notes.setdefault(fact["to"], [])
    notes.append({"text": fact["text"], "from": fact["from"], "ts": fact.get("ts", 0)})
    del notes[:-NOTES_KEPT]


def fold_hub_status(state: SessionState, fact: HubStatusFact) -> None:
    hub = fact["by"]
    known = state.hubs.get(hub, HubState())
    attendees = fact.get("attendees", known.attendees)
    connected = fact.get("connected", known.connected)
    jump = fact.get("jump") if "attendees" in fact else known.jump
    state.hubs[hub] = HubState(attendees, connected, fact.get("ts", known.last_seen), jump,
                               max(known.peak, attendees))
