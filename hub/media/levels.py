"""The live speaker's talking state and level, read from Janus, told to the moderators and
the desk as transient `talking` frames (docs/protocol.md §19.6).

Janus 1.1.2's AudioBridge measures each publisher's level from the RTP audio-level header
extension (RFC 6464) that browsers send: with the room's `audiolevel_event` on, it decides
every `audio_active_packets` packets whether the average is louder than
`audio_level_average` ("talking"), says so in `listparticipants` (`talking`) and pushes
`talking` / `stopped-talking` events to the room's participants. The number itself (the
last packet's level, `audio-level-dBov`) is only in the admin API's `handle_info` of the
publisher's own handle.

So, for each session held here whose speaker is on air, every POLL_EVERY seconds:
`listparticipants` (is the speaker there, is Janus saying `talking`), and the speaker's
handle's `handle_info` for the level (the handle is looked up once per turn through the
admin API: the pages make their own handles; a lookup that finds nothing is tried again
at most every LOOKUP_EVERY seconds, and the level is then 0/1 from `talking` alone).
`hub.domain.voice.talking_next` turns that into what the pages show, with a hold so that
pauses between words do not flip it; a frame goes out only when that changes, so at most
1 / POLL_EVERY frames a second per session, and only while someone is on air.

Polling rather than joining a hub participant into the room to receive the `talking`
events: the same state (Janus computes it once per window either way), no extra
participant that the pages and the reconciliation would have to tell apart from a
speaker, no event queue to drain, and it works unchanged with a Janus shared by several
instances: each instance asks Janus for the sessions it holds and tells its own
connections, so nothing goes through the log or between instances.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from .. import protocol
from ..connection import ConnState
from ..domain import voice
from ..domain.roles import DESK, STAFF
from . import grants
from .janus import AUDIOBRIDGE, Janus, JanusDown, JanusError

if TYPE_CHECKING:
    from ..connection import Connection
    from ..session import Session
    from .manager import MediaPlane

log = logging.getLogger(__name__)

POLL_EVERY = 0.25  # seconds: at most 4 frames a second per session
LOOKUP_EVERY = 5.0  # seconds between two searches of the speaker's handle
# The room's options (hub/media/manager.py `ensure_room`): a decision every 25 packets
# (0.5 s of 20 ms frames) instead of Janus's 2 s; "talking" when the average level is
# louder than -40 dBov (Janus's default, -25, misses a quiet voice on a laptop microphone).
ROOM_OPTIONS: dict[str, Any] = {"audiolevel_event": True, "audio_active_packets": 25,
                                "audio_level_average": 40}
READERS = STAFF | {DESK}  # who is sent `talking` frames


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Levels:
    """Polls Janus for the on-air speaker of every session held here."""

    def __init__(self, plane: MediaPlane) -> None:
        self.plane = plane
        self.state: dict[str, voice.Talking] = {}  # session id -> as last told
        self._handles: dict[tuple[str, int], tuple[int, int]] = {}  # (session, pid) ->
        # (Janus session, handle) of the speaker's page
        self._looked: dict[tuple[str, int], float] = {}
        self._task: asyncio.Task[None] | None = None
        self.frames = 0  # `talking` frames sent (tests and metrics read it)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="hub-media-levels")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def frame(self, session_id: str) -> bytes | None:
        """The frame a newly connected reader gets (None while nobody is on air)."""
        talking = self.state.get(session_id)
        if talking is None or talking.item is None:
            return None
        return protocol.dump(talking.frame())

    def greet(self, session: Session, conn: Connection) -> None:
        """After `welcome` (and the `media` frame): the current state to a reader."""
        frame = self.frame(session.id)
        if frame is not None and conn.role in READERS:
            conn.push(frame)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(POLL_EVERY)
            janus = self.plane.janus
            if janus is None or self.plane.state != "on":
                continue
            for session in self.plane.owned_sessions():
                try:
                    await self.poll(session, janus)
                except (JanusDown, JanusError, TimeoutError) as exc:
                    log.debug("levels: session %s: %s", session.id, exc)
                except asyncio.CancelledError:
                    raise
                except Exception:  # one bad poll must not stop the levels for good
                    log.exception("levels: session %s", session.id)

    async def poll(self, session: Session, janus: Janus) -> None:
        now = now_ms()
        item = voice.on_air(session.state, now)
        prev = self.state.get(session.id, voice.Talking())
        janus_talking, dbov = False, None
        if item is not None and session.id in self.plane.rooms:
            speaker = voice.speaker_now(session.state, now)
            assert speaker is not None
            pid = grants.participant_id(self.plane.key, session.id, speaker, grants.SPEAK,
                                        voice.current_turn(session.state))
            room = grants.room_id(self.plane.key, session.id)
            listed = await janus.request(AUDIOBRIDGE, {"request": "listparticipants",
                                                       "room": room})
            part = next((p for p in listed.get("participants", []) if p.get("id") == pid),
                        None)
            if part is not None:
                janus_talking = bool(part.get("talking"))
                dbov = await self._level(janus, session.id, room, pid)
        elif item is None:
            self._forget(session.id)
        nxt = voice.talking_next(prev, item, janus_talking, dbov, now)
        if nxt == voice.Talking():
            self.state.pop(session.id, None)  # nobody on air: nothing kept per session
        else:
            self.state[session.id] = nxt
        if nxt.shown() != prev.shown():
            self._tell(session, nxt)

    def _tell(self, session: Session, talking: voice.Talking) -> None:
        frame = protocol.dump(talking.frame())
        for conn in session.connections:
            if conn.state is ConnState.OPEN and conn.role in READERS:
                conn.push(frame)
        self.frames += 1

    def _forget(self, session_id: str) -> None:
        for key in [k for k in self._handles if k[0] == session_id]:
            self._handles.pop(key, None)
        for key in [k for k in self._looked if k[0] == session_id]:
            self._looked.pop(key, None)

    async def _level(self, janus: Janus, session_id: str, room: int, pid: int) -> int | None:
        """The speaker's last audio level (-dBov) from their handle's `handle_info`."""
        key = (session_id, pid)
        found = self._handles.get(key)
        if found is None:
            if time.monotonic() - self._looked.get(key, -LOOKUP_EVERY) < LOOKUP_EVERY:
                return None
            self._looked[key] = time.monotonic()
            found = await self._find(janus, room, pid)
            if found is None:
                return None
            self._handles[key] = found
        try:
            info = await janus.admin_at(found, "handle_info", plugin_only=True)
        except JanusError:
            self._handles.pop(key, None)  # the page left or joined again: look again
            return None
        specific = (info.get("info") or {}).get("plugin_specific") or {}
        if specific.get("id") != pid:
            self._handles.pop(key, None)
            return None
        value = specific.get("audio-level-dBov")
        return int(value) if isinstance(value, int) else None

    async def _find(self, janus: Janus, room: int, pid: int) -> tuple[int, int] | None:
        """The (Janus session, handle) in which `pid` is in `room`, through the admin API."""
        sessions = (await janus.admin_at((), "list_sessions")).get("sessions", [])
        for sid in sessions:
            with contextlib.suppress(JanusError):
                handles = (await janus.admin_at((sid,), "list_handles")).get("handles", [])
                for hid in handles:
                    with contextlib.suppress(JanusError):
                        info = await janus.admin_at((sid, hid), "handle_info",
                                                    plugin_only=True)
                        specific = (info.get("info") or {}).get("plugin_specific") or {}
                        if specific.get("id") == pid and specific.get("room") == room:
                            return int(sid), int(hid)
        return None
