"""Media credentials, derived rather than stored (pure: no I/O).

Every value the hub gives Janus or a page for a session is an HMAC of the hub's media key
(derived from HUB_SECRET, so every instance of one hub derives the same ones, and no
credential is ever written to the session log):

- the room and mountpoint id of a session (48 bits: JavaScript-safe), their secret and
  the listeners' pin;
- a grant's Janus token, `hv1.<room>.<kind>.<seq>.<expiry s>.<mac>`: `kind` is `l`
  (listen), `s` (speak) or `d` (desk); `seq` the turn (speak) or the desk grant's number
  (desk). Any instance can tell from a token listed by Janus which room and which turn it
  is for and when it expires, so reconciling is stateless: a token for an older turn or
  desk grant than the one this instance knows is void, one for a newer turn is left alone
  (another instance is ahead of this one);
- a speaker's or desk's AudioBridge participant id, `kind bit << 50 | seq << 32 | mac32`,
  decodable in the same way;
- TURN credentials in coturn's `use-auth-secret` scheme;
- which of several Janus servers a session's room is on (`janus_for`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

PREFIX = "hv1"
LISTEN, SPEAK, DESK = "l", "s", "d"
KINDS = (LISTEN, SPEAK, DESK)
SEQ_BITS = 18
DESK_BIT = 1 << 50


def media_key(secret: str) -> bytes:
    """The media key, derived from the hub's token secret."""
    return hmac.new(secret.encode(), b"hub media key v1", hashlib.sha256).digest()


def _mac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _b64(raw: bytes, size: int) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")[:size]


def room_id(key: bytes, session: str) -> int:
    """The session's AudioBridge room id, also its Streaming mountpoint id (1 .. 2^48)."""
    return int.from_bytes(_mac(key, f"room|{session}")[:6], "big") or 1


def room_secret(key: bytes, session: str) -> str:
    return _b64(_mac(key, f"room-secret|{session}"), 43)


def listen_pin(key: bytes, session: str) -> str:
    return _b64(_mac(key, f"pin|{session}"), 22)


def janus_for(key: bytes, session: str, names: tuple[str, ...] | list[str]) -> str:
    """The Janus (one of `names`) a session's room is on: rendezvous hashing, so every
    instance with the same list agrees without asking anyone, and a Janus added to or
    removed from the list moves only the sessions it takes or had (docs/architecture.md,
    "The media plane")."""
    if not names:
        raise ValueError("no Janus to assign a session to")
    return max(names, key=lambda name: (_mac(key, f"janus|{session}|{name}")[:8], name))


def hub_token(key: bytes) -> str:
    """The hub's own Janus token (every instance of the hub uses the same)."""
    return f"{PREFIX}.hub.{_b64(_mac(key, 'hub-token'), 43)}"


def token(key: bytes, session: str, identity: str, kind: str, seq: int, expires: int) -> str:
    """A grant's Janus token; `expires` in seconds since the Unix epoch."""
    body = f"{room_id(key, session)}.{kind}.{seq}.{expires}"
    return f"{PREFIX}.{body}.{_b64(_mac(key, f'tok|{session}|{identity}|{body}'), 32)}"


@dataclass(frozen=True, slots=True)
class TokenInfo:
    room: int
    kind: str
    seq: int
    expires: int


def parse_token(text: str) -> TokenInfo | None:
    """What a grant token says about itself, or None for any other token."""
    parts = text.split(".")
    if len(parts) != 6 or parts[0] != PREFIX or parts[2] not in KINDS:
        return None
    try:
        return TokenInfo(int(parts[1]), parts[2], int(parts[3]), int(parts[4]))
    except ValueError:
        return None


def participant_id(key: bytes, session: str, identity: str, kind: str, seq: int) -> int:
    """The AudioBridge participant id a speaker (`s`) or desk (`d`) must join with."""
    mac = int.from_bytes(_mac(key, f"pid|{session}|{identity}|{kind}|{seq}")[:4], "big")
    return (DESK_BIT if kind == DESK else 0) | (seq % (1 << SEQ_BITS)) << 32 | mac


def parse_participant(pid: int) -> tuple[str, int]:
    """(kind, seq) a participant id claims (check it against the expected id)."""
    return (DESK if pid & DESK_BIT else SPEAK), (pid >> 32) % (1 << SEQ_BITS)


def ice_servers(urls: list[str], turn_secret: str | None, identity: str, now_s: int,
                ttl: int) -> list[dict[str, object]]:
    """The `iceServers` for a page: STUN entries as they are; TURN entries (`turn:`,
    `turns:`) with coturn `use-auth-secret` credentials valid for `ttl` seconds: the
    username `<expiry>:<identity>`, the credential base64(HMAC-SHA1(secret, username))."""
    stun = [u for u in urls if not u.startswith(("turn:", "turns:"))]
    turn = [u for u in urls if u.startswith(("turn:", "turns:"))]
    out: list[dict[str, object]] = [{"urls": [u]} for u in stun]
    if turn and turn_secret:
        username, credential = turn_credentials(turn_secret, identity, now_s + ttl)
        out.append({"urls": turn, "username": username, "credential": credential})
    return out


def turn_credentials(secret: str, identity: str, expires: int) -> tuple[str, str]:
    """coturn's REST API credentials (`use-auth-secret` / `static-auth-secret`)."""
    username = f"{expires}:{identity}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()
