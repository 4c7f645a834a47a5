"""Every kind of fact, as stored: a session's (`Fact`) and an event's (`ForumFact`).

Facts are the persisted log format and the rolling-upgrade contract: each kind below is
the exact JSON shape the deciding code writes (hub.domain.commands, voice, relay,
erasure, forum, and hub.session for `restored`) and the folds read. A key marked
`NotRequired` is one a fact of that kind may lack (written only when it applies, or
absent from facts older versions wrote). Nested payloads an other module owns (an item,
an identity, a dumped state) stay plain JSON objects here.

What each session fact kind does to the state and to the channels is one table,
`hub.domain.fact_kinds.KINDS`; an event's, `hub.domain.forum.FOLDS`. A kind neither
knows is `UnknownFact`: a newer version of the hub wrote it.
"""

# No `from __future__ import annotations` here: `NotRequired` must be seen when each class
# is made, or the optional keys read as required at run time (tests/test_facts.py reads
# `__optional_keys__`).
from collections.abc import Mapping
from typing import Any, Literal, NotRequired, TypedDict, cast, get_args, get_type_hints

# -- a session's facts --------------------------------------------------------------


class CreatedFact(TypedDict):
    """The first fact of a session (hub.domain.commands.create)."""

    kind: Literal["created"]
    title: str
    languages: list[str]
    state: str
    settings: dict[str, Any]
    ts: int
    relay: NotRequired[dict[str, Any]]  # a hub's relay: RelayState's upstream, hub, hub_name


class SessionChangedFact(TypedDict):
    """The session's state, title, languages or settings changed."""

    kind: Literal["session"]
    by: str
    state: NotRequired[str]
    title: NotRequired[str]
    languages: NotRequired[list[str]]
    settings: NotRequired[dict[str, Any]]
    ts: NotRequired[int]  # absent from facts written before closes were timed


class IdentityFact(TypedDict):
    """An identity joined, or changed its name, profile, room flag or place."""

    kind: Literal["identity"]
    identity: dict[str, Any]  # Identity.to_dict()
    ts: NotRequired[int]


class ItemsFact(TypedDict):
    """Items changed (asked, moderated, forwarded...): each one whole, as it is after."""

    kind: Literal["items"]
    action: str
    by: str
    by_name: str | None
    items: list[dict[str, Any]]  # Item.to_dict() of each changed item
    key: NotRequired[str]  # the asker's idempotency key
    ts: NotRequired[int]
    item: NotRequired[str]  # the item a moderator's action is about
    order: NotRequired[list[str]]
    live: NotRequired[str | None]
    since: NotRequired[int]
    limit: NotRequired[int | None]


class VoteFact(TypedDict):
    kind: Literal["vote"]
    item: str
    by: str
    undo: bool
    votes: int
    ts: NotRequired[int]


class CaptionFact(TypedDict):
    kind: Literal["caption"]
    by: str
    lang: str
    final: bool
    lines: list[str]
    ts: int
    item: NotRequired[str | None]
    speaker: NotRequired[str | None]
    seq: NotRequired[int]


# `from` is a Python keyword: this one is declared the other way.
NoteFact = TypedDict("NoteFact", {
    "kind": Literal["note"],
    "by": str,
    "to": str,
    "from": str,
    "text": str,
    "ts": NotRequired[int],
})


class HubStatusFact(TypedDict):
    kind: Literal["hub_status"]
    by: str
    name: str
    ts: NotRequired[int]
    attendees: NotRequired[int]
    jump: NotRequired[int]  # the count before an implausible jump
    connected: NotRequired[bool]


class FlagFact(TypedDict):
    """A moderator's takeaway or call to action, noted or changed; or one deleted."""

    kind: Literal["flag"]
    id: str
    by: str
    deleted: NotRequired[bool]
    type: NotRequired[str]
    text: NotRequired[str]
    item: NotRequired[str | None]
    caption: NotRequired[int | None]
    caption_ts: NotRequired[int | None]
    by_name: NotRequired[str]
    ts: NotRequired[int]


class FloorFact(TypedDict):
    """How the floor is ordered (hub.domain.ordering)."""

    kind: Literal["floor"]
    by: str
    ordering: NotRequired[str]
    weights: NotRequired[dict[str, Any]]
    budgets: NotRequired[dict[str, Any]]


class BanFact(TypedDict):
    kind: Literal["ban"]
    identity: str
    undo: bool
    by: str
    reason: NotRequired[str | None]
    by_name: NotRequired[str]
    action: NotRequired[str]
    items: NotRequired[list[dict[str, Any]]]
    source: NotRequired[str]  # the keyed hash of the address the ban covers
    order: NotRequired[list[str]]


class RotateFact(TypedDict):
    kind: Literal["rotate"]
    role: str
    generation: int
    by: str


class ErasedFact(TypedDict):
    """The end of one person's erasure (hub.domain.erasure)."""

    kind: Literal["erased"]
    identity: str
    ts: int
    action: str
    by_name: str | None
    items: list[dict[str, Any]]
    order: NotRequired[list[str]]


class TokenFact(TypedDict):
    """A named token minted (never the token itself)."""

    kind: Literal["token"]
    identity: str
    role: str
    name: str
    expires: int
    by: str
    ts: int


class VoiceFact(TypedDict):
    """A speaker's first speak grant of a turn, a desk grant, a mute, unmute or cut."""

    kind: Literal["voice"]
    action: str
    by: str
    ts: NotRequired[int]
    turn: NotRequired[int]
    item: NotRequired[str]
    identity: NotRequired[str]
    gen: NotRequired[int]
    took_over: NotRequired[str | None]
    by_name: NotRequired[str]
    by_role: NotRequired[str]


class RestoredFact(TypedDict):
    """A whole state put back into a log that lost it (hub.domain.snapshot)."""

    kind: Literal["restored"]
    state: dict[str, Any]  # snapshot.dump_state()
    ts: int


class MirrorFact(TypedDict):
    """A hub's relay: one upstream event, with the position it came from."""

    kind: Literal["mirror"]
    channel: str
    epoch: str
    offset: int
    event: str
    data: dict[str, Any]
    ts: int
    item: NotRequired[dict[str, Any]]
    items: NotRequired[list[dict[str, Any]]]
    unmatched: NotRequired[bool]


class RelayResyncFact(TypedDict):
    """A hub's relay: the meeting welcomed it; where each channel stands, what changed."""

    kind: Literal["relay_resync"]
    positions: dict[str, list[Any]]
    ts: int
    items: NotRequired[list[dict[str, Any]]]
    order: NotRequired[list[str]]
    voice: NotRequired[dict[str, Any]]
    captions: NotRequired[list[dict[str, Any]]]
    floor: NotRequired[dict[str, Any]]
    session: NotRequired[dict[str, Any]]
    locals: NotRequired[list[dict[str, Any]]]
    unmatched: NotRequired[dict[str, dict[str, Any]]]


class RelayLinkFact(TypedDict):
    """A hub's relay: the link to the meeting came up or went down."""

    kind: Literal["relay_link"]
    connected: bool
    ts: int
    refused: NotRequired[str]


class RelaySentFact(TypedDict):
    """A hub's relay: the meeting acknowledged (or refused) one outbox entry."""

    kind: Literal["relay_sent"]
    op: dict[str, str]
    upstream: str | None
    items: NotRequired[list[dict[str, Any]]]


Fact = (
    CreatedFact | SessionChangedFact | IdentityFact | ItemsFact | VoteFact | CaptionFact
    | NoteFact | HubStatusFact | FlagFact | FloorFact | BanFact | RotateFact | ErasedFact
    | TokenFact | VoiceFact | RestoredFact | MirrorFact | RelayResyncFact | RelayLinkFact
    | RelaySentFact
)


# -- an event's (a forum's) facts ---------------------------------------------------


class ForumCreatedFact(TypedDict):
    kind: Literal["forum"]
    languages: list[str]
    venue: str
    title: str
    start: str
    end: str
    timezone: str
    ts: int


class ForumChangedFact(TypedDict):
    kind: Literal["forum_changed"]
    ts: int
    title: NotRequired[str]
    venue: NotRequired[str]
    timezone: NotRequired[str]
    languages: NotRequired[list[str]]
    start: NotRequired[str]
    end: NotRequired[str]


class ProgrammeFact(TypedDict):
    """One import of a programme, whole."""

    kind: Literal["programme"]
    sessions: list[dict[str, Any]]  # each row with its session (forum.row_data + session)
    source: str
    by: str
    numbered: int
    ts: int


class ForumHubFact(TypedDict):
    kind: Literal["forum_hub"]
    hub: dict[str, Any]  # forum.hub_data()
    ts: int


class ForumHubRemovedFact(TypedDict):
    kind: Literal["forum_hub_removed"]
    hub: str
    ts: int


class ReportSavedFact(TypedDict):
    kind: Literal["report_saved"]
    session: str
    report: dict[str, Any]  # forum.report_data()
    ts: int


class ReportPublishedFact(TypedDict):
    kind: Literal["report_published"]
    session: str
    report: dict[str, Any]
    ts: int


class ReportWithdrawnFact(TypedDict):
    kind: Literal["report_withdrawn"]
    session: str
    by: str
    ts: int


class FiguresKeptFact(TypedDict):
    kind: Literal["figures_kept"]
    cells: list[list[str]]
    ts: int


ForumFact = (
    ForumCreatedFact | ForumChangedFact | ProgrammeFact | ForumHubFact | ForumHubRemovedFact
    | ReportSavedFact | ReportPublishedFact | ReportWithdrawnFact | FiguresKeptFact
)


# -- kinds ----------------------------------------------------------------------------


class UnknownFact(Exception):
    """A fact of a kind this version does not know: a newer hub wrote it. Nothing folds
    it half-understood; the session (or event) is not served from this instance."""

    def __init__(self, kind: object, where: str = "") -> None:
        self.kind = kind
        self.where = where
        place = f" in {where}" if where else ""
        super().__init__(f"fact kind {kind!r}{place} is unknown to this version; written by a "
                         "newer hub? upgrade this instance")


def kind_of(shape: type) -> str:
    """The `kind` a fact type declares (its Literal)."""
    (kind,) = get_args(get_type_hints(shape)["kind"])
    return str(kind)


# kind -> its TypedDict, for each side.
SESSION_SHAPES: dict[str, type] = {kind_of(t): t for t in get_args(Fact)}
FORUM_SHAPES: dict[str, type] = {kind_of(t): t for t in get_args(ForumFact)}


def session_fact(data: Mapping[str, Any]) -> Fact:
    """A session's fact as the log holds it; `UnknownFact` for a kind not declared here."""
    if data.get("kind") not in SESSION_SHAPES:
        raise UnknownFact(data.get("kind"))
    return cast(Fact, data)


def forum_fact(data: Mapping[str, Any], where: str = "") -> ForumFact:
    """An event's fact as the log holds it; `UnknownFact` for a kind not declared here."""
    if data.get("kind") not in FORUM_SHAPES:
        raise UnknownFact(data.get("kind"), where)
    return cast(ForumFact, data)
