"""The wire format: parsing client frames into commands, and encoding server frames.

One `parse` for the client direction and one `dump` for the server direction
(docs/protocol.md has every field). Parsing checks shape and types only; what
a command means for the session is checked in `hub.domain.commands`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from .errors import TOO_LARGE, HubError, bad_request

# Hard caps before any session setting applies (the session's own limits are lower).
MAX_TEXT = 100_000
MAX_KEY = 128
MAX_REF = 128
MAX_ID = 128

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008  # repeated abuse
CLOSE_TOO_BIG = 1009
CLOSE_RESTART = 1012  # server restarting: reconnect elsewhere
# Application close codes: 4000-4499 mean "reconnect and resume", 4500-4999 "do not".
CLOSE_SLOW = 4000  # the reader fell too far behind
CLOSE_HELLO_TIMEOUT = 4001
CLOSE_UNAVAILABLE = 4002
CLOSE_RATE_LIMITED = 4029  # too many joins from one address: come back after retry_after
CLOSE_UNAUTHORIZED = 4501
CLOSE_FORBIDDEN = 4503
CLOSE_NOT_FOUND = 4504


@dataclass(frozen=True, slots=True)
class Position:
    epoch: str
    offset: int
    sig: str | None = None  # the server's signature of this position (from `event.sig`)


@dataclass(frozen=True, slots=True)
class Hello:
    token: str
    name: str | None
    profile: dict[str, Any] | None
    resume: dict[str, Position]
    in_room: bool | None  # None: as before (a new identity is remote)
    lite: bool = False  # low bandwidth: captions, the floor and one's own items only


@dataclass(frozen=True, slots=True)
class Caption:
    text: str
    lang: str | None
    final: bool
    seq: int | None


@dataclass(frozen=True, slots=True)
class Ask:
    kind: str
    text: str
    key: str
    lang: str | None
    anonymous: bool
    on_behalf: dict[str, str] | None
    backing: int | None = None  # a hub (its relay): how many of its attendees back the item


@dataclass(frozen=True, slots=True)
class Vote:
    item: str
    undo: bool


@dataclass(frozen=True, slots=True)
class Withdraw:
    item: str


@dataclass(frozen=True, slots=True)
class Moderate:
    item: str
    action: str
    text: str | None
    into: str | None
    before: str | None
    seconds: int | None


@dataclass(frozen=True, slots=True)
class ChangeSession:
    """The `session` command: a new state or changed settings."""

    state: str | None
    settings: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Forward:
    item: str
    backing: int | None


@dataclass(frozen=True, slots=True)
class Decline:
    item: str
    text: str | None


@dataclass(frozen=True, slots=True)
class Ban:
    identity: str
    reason: str | None
    undo: bool


@dataclass(frozen=True, slots=True)
class Floor:
    ordering: str | None
    weights: dict[str, Any] | None
    budgets: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ChangeFlag:
    """The `flag` command: a takeaway or call to action noted, edited or deleted."""

    kind: str | None
    text: str | None
    item: str | None
    caption: int | None
    id: str | None
    delete: bool


@dataclass(frozen=True, slots=True)
class Note:
    to: str
    text: str


@dataclass(frozen=True, slots=True)
class HubStatus:
    attendees: int


@dataclass(frozen=True, slots=True)
class Ping:
    pass


@dataclass(frozen=True, slots=True)
class Media:
    want: str
    take_over: bool


@dataclass(frozen=True, slots=True)
class Voice:
    action: str


Command = (
    Hello | Caption | Ask | Vote | Withdraw | Moderate | ChangeSession | Note | HubStatus
    | ChangeFlag | Floor | Forward | Decline | Ban | Ping | Media | Voice
)


@dataclass(frozen=True, slots=True)
class Frame:
    """A parsed client frame: its type name, its `ref` (if any) and the command."""

    type: str
    ref: str | None
    command: Command


def loads(raw: str | bytes) -> dict[str, Any]:
    """The JSON object in a text frame; `bad_request` for anything else."""
    try:
        frame = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"invalid JSON: {exc}") from exc
    if not isinstance(frame, dict):
        raise bad_request("a frame must be a JSON object with a `type`")
    return frame


def ref_of(frame: dict[str, Any]) -> str | None:
    """The frame's `ref` when it is a usable string (errors echo it)."""
    ref = frame.get("ref")
    if isinstance(ref, str) and len(ref) <= MAX_REF:
        return ref
    return None


def parse(frame: dict[str, Any]) -> Frame:
    """The command a client frame carries; `bad_request` or `too_large` naming the bad field."""
    kind = frame.get("type")
    if not isinstance(kind, str):
        raise bad_request("a frame needs a string `type`")
    parser = _PARSERS.get(kind)
    if parser is None:
        raise bad_request(f"unknown type {kind!r}; known: {', '.join(sorted(_PARSERS))}")
    ref = frame.get("ref")
    if ref is not None and (not isinstance(ref, str) or len(ref) > MAX_REF):
        raise bad_request(f"`ref` must be a string of at most {MAX_REF} characters")
    return Frame(kind, ref, parser(frame))


def _text(frame: dict[str, Any], name: str, *, required: bool = True, limit: int = MAX_TEXT) -> Any:
    value = frame.get(name)
    if value is None:
        if required:
            raise bad_request(f"`{name}` is required")
        return None
    if not isinstance(value, str):
        raise bad_request(f"`{name}` must be a string")
    if len(value) > limit:
        raise HubError(TOO_LARGE, f"`{name}` is over {limit} characters")
    return value


def _bool(frame: dict[str, Any], name: str, default: bool) -> bool:
    value = frame.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise bad_request(f"`{name}` must be true or false")
    return value


def _int(frame: dict[str, Any], name: str, *, required: bool) -> int | None:
    value = frame.get(name)
    if value is None:
        if required:
            raise bad_request(f"`{name}` is required")
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**53:
        raise bad_request(f"`{name}` must be a whole number from 0 to 2^53")
    return value


def _hello(frame: dict[str, Any]) -> Hello:
    token = _text(frame, "token", limit=2048)
    name = _text(frame, "name", required=False, limit=1000)
    profile = frame.get("profile")
    if profile is not None and not isinstance(profile, dict):
        raise bad_request("`profile` must be an object")
    resume: dict[str, Position] = {}
    raw = frame.get("resume")
    if raw is not None:
        if not isinstance(raw, dict) or len(raw) > 8:
            raise bad_request("`resume` must be an object {channel: {epoch, offset}}")
        for channel, pos in raw.items():
            if not isinstance(pos, dict):
                raise bad_request(f"`resume.{channel}` must be an object {{epoch, offset}}")
            epoch = _text(pos, "epoch", limit=MAX_ID)
            offset = _int(pos, "offset", required=True)
            assert offset is not None
            sig = _text(pos, "sig", required=False, limit=MAX_ID)
            resume[str(channel)] = Position(epoch, offset, sig)
    in_room = frame.get("in_room")
    if in_room is not None and not isinstance(in_room, bool):
        raise bad_request("`in_room` must be true or false")
    return Hello(token, name, profile, resume, in_room, _bool(frame, "lite", False))


def _caption(frame: dict[str, Any]) -> Caption:
    return Caption(
        _text(frame, "text"),
        _text(frame, "lang", required=False, limit=35),
        _bool(frame, "final", True),
        _int(frame, "seq", required=False),
    )


def _ask(frame: dict[str, Any]) -> Ask:
    on_behalf = frame.get("on_behalf")
    if on_behalf is not None:
        if not isinstance(on_behalf, dict):
            raise bad_request("`on_behalf` must be an object {name, affiliation}")
        on_behalf = {
            "name": _text(on_behalf, "name", limit=1000),
            "affiliation": _text(on_behalf, "affiliation", required=False, limit=1000) or "",
        }
    return Ask(
        _text(frame, "kind", limit=32),
        _text(frame, "text"),
        _text(frame, "key", limit=MAX_KEY),
        _text(frame, "lang", required=False, limit=35),
        _bool(frame, "anonymous", False),
        on_behalf,
        _int(frame, "backing", required=False),
    )


def _vote(frame: dict[str, Any]) -> Vote:
    return Vote(_text(frame, "item", limit=MAX_ID), _bool(frame, "undo", False))


def _withdraw(frame: dict[str, Any]) -> Withdraw:
    return Withdraw(_text(frame, "item", limit=MAX_ID))


def _moderate(frame: dict[str, Any]) -> Moderate:
    return Moderate(
        _text(frame, "item", limit=MAX_ID),
        _text(frame, "action", limit=32),
        _text(frame, "text", required=False),
        _text(frame, "into", required=False, limit=MAX_ID),
        _text(frame, "before", required=False, limit=MAX_ID),
        _int(frame, "seconds", required=False),
    )


def _session(frame: dict[str, Any]) -> ChangeSession:
    settings = frame.get("settings")
    if settings is not None and not isinstance(settings, dict):
        raise bad_request("`settings` must be an object")
    state = _text(frame, "state", required=False, limit=32)
    if state is None and not settings:
        raise bad_request("`session` needs `state` or `settings`")
    return ChangeSession(state, settings)


def _object(frame: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = frame.get(name)
    if value is not None and not isinstance(value, dict):
        raise bad_request(f"`{name}` must be an object")
    return value


def _ban(frame: dict[str, Any]) -> Ban:
    return Ban(_text(frame, "identity", limit=MAX_ID), _text(frame, "reason", required=False),
               _bool(frame, "undo", False))


def _forward(frame: dict[str, Any]) -> Forward:
    return Forward(_text(frame, "item", limit=MAX_ID), _int(frame, "backing", required=False))


def _decline(frame: dict[str, Any]) -> Decline:
    return Decline(_text(frame, "item", limit=MAX_ID), _text(frame, "text", required=False))


def _floor(frame: dict[str, Any]) -> Floor:
    return Floor(
        _text(frame, "ordering", required=False, limit=32),
        _object(frame, "weights"),
        _object(frame, "budgets"),
    )


def _flag(frame: dict[str, Any]) -> ChangeFlag:
    return ChangeFlag(
        _text(frame, "kind", required=False, limit=32),
        _text(frame, "text", required=False),
        _text(frame, "item", required=False, limit=MAX_ID),
        _int(frame, "caption", required=False),
        _text(frame, "id", required=False, limit=MAX_ID),
        _bool(frame, "delete", False),
    )


def _note(frame: dict[str, Any]) -> Note:
    return Note(_text(frame, "to", limit=MAX_ID), _text(frame, "text"))


def _hub_status(frame: dict[str, Any]) -> HubStatus:
    attendees = _int(frame, "attendees", required=True)
    assert attendees is not None
    return HubStatus(attendees)


def _ping(frame: dict[str, Any]) -> Ping:
    return Ping()


def _media(frame: dict[str, Any]) -> Media:
    return Media(_text(frame, "want", limit=16), _bool(frame, "take_over", False))


def _voice(frame: dict[str, Any]) -> Voice:
    return Voice(_text(frame, "action", limit=16))


_PARSERS: dict[str, Any] = {
    "hello": _hello,
    "caption": _caption,
    "ask": _ask,
    "vote": _vote,
    "withdraw": _withdraw,
    "moderate": _moderate,
    "session": _session,
    "note": _note,
    "hub_status": _hub_status,
    "flag": _flag,
    "floor": _floor,
    "forward": _forward,
    "decline": _decline,
    "ban": _ban,
    "ping": _ping,
    "media": _media,
    "voice": _voice,
}
CLIENT_TYPES = frozenset(_PARSERS)


# What a low-bandwidth reader is not sent on `public`: everyone else's items and the queue.
LITE_SKIPS = frozenset({"item", "order"})


def lite_skips(frame: bytes) -> bool:
    """Whether a stored public event frame is one a low-bandwidth reader goes without.
    The kind comes before `data` in every encoded frame, so user text cannot fake it."""
    return b',"kind":"item",' in frame or b',"kind":"order",' in frame


def dump(frame: dict[str, Any]) -> bytes:
    """A server frame, encoded once."""
    return orjson.dumps(frame)


def frame_epoch(frame: bytes) -> str | None:
    """The epoch an `event` frame was made under (None if it names none)."""
    epoch = orjson.loads(frame).get("epoch")
    return epoch if isinstance(epoch, str) else None


def event_frame(
    channel: str, epoch: str, offset: int, kind: str, data: dict[str, Any], ts: int,
    sig: str | None = None,
) -> bytes:
    """The `event` frame for one channel event, as every reader receives it; `sig` signs
    its position (a resume above the top proves with it that the server sent it)."""
    frame: dict[str, Any] = {
        "type": "event",
        "channel": channel,
        "epoch": epoch,
        "offset": offset,
        "kind": kind,
        "data": data,
        "ts": ts,
    }
    if sig is not None:
        frame["sig"] = sig
    return orjson.dumps(frame)
