"""What a session asks of its media plane: one small interface, two implementations.

`Session.media` is a `SessionMedia`: the hub's `MediaPool` (its own Janus, one or several)
or, on a hub's relay, `RelayVoice` (the meeting's Janus, through the room's link). The
session, the client and the routes use only this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..connection import Connection
    from ..domain.commands import Actor
    from ..session import Session


class SessionMedia(Protocol):
    def status(self, session_id: str) -> dict[str, Any]:
        """The `media` frame's fields for the session: voice on, down or off, run, reason."""
        ...

    async def grant(self, session: Session, actor: Actor, want: str,
                    take_over: bool) -> dict[str, Any]:
        """A `media` command's answer: a grant, or a HubError saying why not."""
        ...

    async def control(self, session: Session, actor: Actor, action: str) -> dict[str, Any]:
        """A `voice` command (mute, unmute, cut) made true on the media server."""
        ...

    def greet(self, session: Session, conn: Connection) -> None:
        """Tell a connection that just joined what it would have heard of the live audio
        (the transient `talking` frame, for the staff and the desk)."""
        ...
