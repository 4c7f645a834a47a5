"""Voice on a hub's relay: the meeting's media server, reached through the room's link.

A relay runs no media server. Its pages ask it for `media` grants as on any hub; it asks
the meeting over its one upstream link, as the hub's identity, and hands the answer on:

- `listen`: **one** listen grant of the hub serves every device of the room. The meeting
  rate-limits `media` per identity (30 a minute) and counts the hub as one identity: a
  grant per phone would exhaust the hub's budget as soon as a room of thirty pressed
  "Listen" within a minute, and tell the meeting nothing it may act on (it cannot tell
  the room's phones apart anyway). The grant (a token for the meeting's Streaming
  mountpoint, 12 h) is kept until the meeting's media server restarts (a new `run`) or
  it has less than an hour left, then asked again once, whoever asks first.
- `speak`: only the hub's own page (the hub identity's link on the relay, which speaks for
  the room) is given the meeting's speak grant, asked for at the moment, so the meeting's
  floor decides: it is refused (`not_your_turn`) unless the meeting has given the hub's
  item the floor, and the meeting's media server drops it when the turn ends. An
  attendee's page may listen, never speak for the hub (`forbidden`, decided here).
- `desk`: the venue's sound desk is the meeting's, never a relay's (`forbidden`).

The grant's `janus` is the relay's own `/janus`: pages stay on the relay's origin (its
Content-Security-Policy is unchanged). The relay forwards `/janus` requests that carry a
token it handed out (and only those) to the meeting's `/janus` over the same address as
the link (hub/media/proxy.py); the meeting's Janus checks the token itself. Only the
signalling goes that way: the audio (ICE, RTP) flows between the browser and the meeting's
Janus directly.

The `media` frames and `welcome.session.voice` on the relay say the meeting's voice status
as the link last reported it, or `down` with "the link to the meeting is down: the audio
will come back when it is" while the link is down; the meeting's `run` comes through
unchanged, so a restart of the meeting's Janus resets the room's pages as any page.
"""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from typing import TYPE_CHECKING, Any

from . import keys, protocol
from .domain import voice
from .domain.commands import Actor
from .domain.roles import HUB
from .errors import FORBIDDEN, UNAVAILABLE, HubError, bad_request

if TYPE_CHECKING:
    from .connection import Connection
    from .relay import Relay
    from .session import Session

LINK_DOWN = "the link to the meeting is down: the audio will come back when it is"
NOT_LINKED = {"voice": "down", "run": None, "reason": LINK_DOWN}
REFRESH_MS = voice.REFRESH_MS  # a shared listen grant with less left than this is renewed
GRANT_FIELDS = ("want", "token", "mountpoint", "pin", "room", "id", "display", "item",
                "ice_servers", "expires", "run")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class RelayVoice:
    """The relay session's media (a `SessionMedia`, hub/media/port.py): the meeting's,
    through the link; the relay runs no Janus of its own."""

    def __init__(self, relay: Relay) -> None:
        self.config = relay.app[keys.CONFIG]
        self.relay = relay
        self.public_url = (f"{self.config.public_url}/janus" if self.config.public_url
                           else "/janus")
        self.upstream: dict[str, Any] | None = None  # the meeting's status, as last said
        self.janus_url: str | None = None  # the meeting's Janus API, as the relay reaches it
        self._listen: dict[str, Any] | None = None  # the room's shared listen grant
        self._listen_lock = asyncio.Lock()
        self.tokens: dict[str, int] = {}  # tokens handed out -> expiry (ms)
        self._sent: dict[str, Any] | None = None

    # -- status ------------------------------------------------------------------------

    def status(self, session_id: str = "") -> dict[str, Any]:
        """The meeting's voice status as the link last reported it (one session here)."""
        if not self.relay.linked or self.upstream is None:
            return dict(NOT_LINKED)
        data = dict(self.upstream)
        if data.get("voice") == "off":
            data["reason"] = f"the meeting has no voice: {data.get('reason') or ''}".strip()
        return data

    def changed(self) -> None:
        """Tell the room's pages the voice status when it changed (link up or down, the
        meeting's `media` frame)."""
        status = self.status()
        if status == self._sent:
            return
        self._sent = status
        session = self.relay.session
        if session is not None:
            session.push_all(protocol.dump({"type": "media", **status}))

    def from_meeting(self, status: Any) -> None:
        """The meeting's voice status (its `welcome.session.voice` or a `media` frame)."""
        if not isinstance(status, dict):
            return
        status = {k: status.get(k) for k in ("voice", "run", "reason") if k in status}
        before = self.upstream
        self.upstream = status
        if (status.get("voice") != "on" or before is None
                or before.get("run") != status.get("run")):
            self._listen = None  # a new run voids the listen grant
            self.tokens.clear()
        self.changed()

    # -- grants ------------------------------------------------------------------------

    async def grant(self, session: Session, actor: Actor, want: str,
                    take_over: bool) -> dict[str, Any]:
        if want not in voice.WANTS:
            raise bad_request(f"`want` must be one of {', '.join(voice.WANTS)}")
        if not isinstance(take_over, bool):
            raise bad_request("`take_over` takes true or false")
        if want == voice.DESK_WANT:
            raise HubError(FORBIDDEN, "the audio desk is the meeting venue's: a hub's relay "
                                      "has none")
        if want == voice.SPEAK and (actor.role != HUB or actor.id != self.relay.upstream.hub):
            raise HubError(FORBIDDEN, "in a hub's room, the hub's own page speaks for the "
                                      "room when the meeting gives it the floor: this page "
                                      "can listen")
        status = self.status()
        if status.get("voice") != "on":
            reason = "voice_off" if status.get("voice") == "off" else "voice_down"
            raise HubError(UNAVAILABLE, str(status.get("reason")), reason=reason)
        if want == voice.LISTEN:
            async with self._listen_lock:
                cached = self._listen
                if (cached is None or cached.get("run") != status.get("run")
                        or int(cached.get("expires") or 0) - now_ms() < REFRESH_MS):
                    cached = self._listen = await self._ask(voice.LISTEN)
                return dict(cached)
        return await self._ask(voice.SPEAK)

    async def _ask(self, want: str) -> dict[str, Any]:
        """Ask the meeting for a grant as the hub; the grant for the room's pages."""
        reply = await self.relay.ask_meeting({"type": "media", "want": want})
        if reply.get("type") != "ack":
            extra = {k: reply[k] for k in ("reason", "retry_after") if k in reply}
            raise HubError(str(reply.get("code") or UNAVAILABLE),
                           str(reply.get("message") or "the meeting refused"), **extra)
        janus = str(reply.get("janus") or "")
        target = urllib.parse.urljoin(self.relay.upstream.base + "/", janus)
        if urllib.parse.urlsplit(target).scheme not in ("http", "https"):
            raise HubError(UNAVAILABLE, "the meeting's media server is reached over "
                           f"{target.split(':')[0]}, which a relay does not forward: voice "
                           "is not available through this relay", reason="voice_off")
        self.janus_url = target.rstrip("/")
        grant = {k: reply[k] for k in GRANT_FIELDS if k in reply}
        grant["janus"] = self.public_url
        self.tokens[str(grant["token"])] = int(grant.get("expires") or 0)
        return grant

    async def control(self, session: Session, actor: Actor, action: str) -> dict[str, Any]:
        raise HubError(FORBIDDEN, "the meeting's moderators control the live audio, at the "
                                  "meeting")

    def greet(self, session: Session, conn: Connection) -> None:
        return None  # `talking` frames are the meeting's instances' own: none cross a link

    # -- the relay's /janus ------------------------------------------------------------

    def forward_to(self, token: str | None) -> str:
        """Where the relay's `/janus` forwards a request carrying `token`: the meeting's
        Janus API, for a token this relay handed out that has not expired."""
        now = now_ms()
        for known, expires in list(self.tokens.items()):
            if expires <= now:
                del self.tokens[known]
        if not self.relay.linked:
            raise HubError(UNAVAILABLE, LINK_DOWN, reason="voice_down")
        if token is None or token not in self.tokens or self.janus_url is None:
            raise HubError(FORBIDDEN, "this relay forwards only requests with a grant it "
                                      "gave: ask for one with `media`")
        return self.janus_url
