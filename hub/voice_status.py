"""Whether voice is on in a session here: the `media` frame's fields (docs/protocol.md §19.1).

The same answer goes in `welcome.session.voice`, in the `media` frame a connection gets
right after `welcome` (`hub.client`) and in `GET /api/sessions/{id}` (`hub.api`).
"""

from __future__ import annotations

from typing import Any

from .media.manager import HOW_TO_TURN_ON
from .session import Session


def voice_status(session: Session) -> dict[str, Any]:
    """`on`, `down` or `off`, with the media server's `run` and, when not on, a `reason`."""
    if session.media is None:
        return {"voice": "off", "run": None, "reason": HOW_TO_TURN_ON}
    return session.media.status(session.id)
