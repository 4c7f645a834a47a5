"""The Janus servers of a deployment, and which one each session's room is on.

One `MediaPlane` (hub/media/manager.py) per Janus: each keeps its own health, run, media
resets and reconciliation, for the sessions assigned to it. A session is assigned by
rendezvous hashing of its id over the configured names (`grants.janus_for`): every
instance with the same HUB_MEDIA_URL agrees without asking anyone, and nothing is written
to the log. There is no failover: a session whose Janus is down says voice down (its room
does not move to another Janus behind the pages' back, in the middle of a turn, or split
between instances that see that Janus differently); the other sessions keep their voice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import ONE_JANUS, media_servers
from . import grants
from .manager import ON, MediaPlane

if TYPE_CHECKING:
    from ..config import Config
    from ..connection import Connection
    from ..domain.commands import Actor
    from ..metrics import Metrics
    from ..session import Session, Sessions


class MediaPool:
    """Every Janus this instance uses, and the session-to-Janus assignment."""

    def __init__(self, config: Config, sessions: Sessions, key: bytes,
                 metrics: Metrics | None = None) -> None:
        self.config = config
        self.sessions = sessions
        self.key = key
        servers = media_servers(config)
        several = len(servers) > 1
        self.planes: dict[str, MediaPlane] = {
            s.name: MediaPlane(config, sessions, key, metrics, server=s, several=several)
            for s in servers} or {ONE_JANUS: MediaPlane(config, sessions, key, metrics)}
        self.names = tuple(sorted(self.planes))
        for plane in self.planes.values():
            plane.owns = self._owner(plane.name)

    def _owner(self, name: str) -> Callable[[str], bool]:
        return lambda session_id: self.janus_of(session_id) == name

    @property
    def several(self) -> bool:
        return len(self.names) > 1

    def janus_of(self, session_id: str) -> str:
        """The name of the Janus a session's room is on."""
        if len(self.names) == 1:
            return self.names[0]
        return grants.janus_for(self.key, session_id, self.names)

    def plane_for(self, session_id: str) -> MediaPlane:
        return self.planes[self.janus_of(session_id)]

    def plane_named(self, name: str | None) -> MediaPlane | None:
        """The plane a `/janus[/<name>]` path names (no name: the only one)."""
        if name is None:
            return None if self.several else self.planes[self.names[0]]
        return self.planes.get(name)

    # -- lifetime ----------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.gather(*(plane.start() for plane in self.planes.values()))
        if not any(plane.janus is not None for plane in self.planes.values()):
            return  # voice off, with the reason (`status`)
        self.sessions.on_load.append(self.attach)
        self.sessions.on_delete.append(self.deleted)
        for session in self.sessions.held():
            self.attach(session)
        await asyncio.gather(*(plane.begin() for plane in self.planes.values()))

    async def stop(self) -> None:
        await asyncio.gather(*(plane.stop() for plane in self.planes.values()))

    def attach(self, session: Session) -> None:
        session.media = self
        self.plane_for(session.id).attach(session)

    async def deleted(self, session_id: str) -> None:
        await self.plane_for(session_id).deleted(session_id)

    # -- per session -------------------------------------------------------------------

    def status(self, session_id: str) -> dict[str, Any]:
        """The `media` frame's fields for a session: its Janus's state."""
        return self.plane_for(session_id).status()

    async def grant(self, session: Session, actor: Actor, want: str,
                    take_over: bool) -> dict[str, Any]:
        return await self.plane_for(session.id).grant(session, actor, want, take_over)

    async def control(self, session: Session, actor: Actor, action: str) -> dict[str, Any]:
        return await self.plane_for(session.id).control(session, actor, action)

    def greet(self, session: Session, conn: Connection) -> None:
        self.plane_for(session.id).levels.greet(session, conn)

    def raw_folders(self) -> list[Path]:
        """Every Janus's recordings folder this instance can reach (a session's may be on
        another Janus's than now, if the list changed): erasure and deletion look in all."""
        default = Path(self.config.data) / "janus" / "recordings"
        folders = [plane.recordings or default for plane in self.planes.values()]
        return list(dict.fromkeys(folders))

    # -- the operator's view -----------------------------------------------------------

    def ready_lines(self) -> list[str]:
        """`/readyz`'s voice lines: `voice on` with one Janus; `voice <name> on` (or down,
        with the reason) for each of several."""
        lines = []
        for name in self.names:
            status = self.planes[name].status()
            label = f"voice {name} " if self.several else "voice "
            lines.append(label + str(status["voice"]) + (
                f": {status['reason']}" if status["voice"] != ON else ""))
        return lines
