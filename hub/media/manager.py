"""This instance's side of the media plane: Janus set up, grants made, and Janus kept in
line with the floor (`hub.domain.voice` says who may publish; this makes it so).

Reconciling is idempotent and needs no memory of its own: every value is derived
(`hub.media.grants`), so any instance can do it, and several at once. One instance that is
behind another (it has not folded the latest turn yet) leaves alone what belongs to a turn
or desk grant newer than the ones it knows, and catches up from the log before it removes
anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import protocol
from ..config import ONE_JANUS
from ..domain import voice
from ..domain.commands import Actor
from ..domain.facts import Fact
from ..domain.session import CLOSED
from ..errors import UNAVAILABLE, HubError
from . import grants, levels, recordings
from .janus import (
    AUDIOBRIDGE,
    MOUNTPOINT_EXISTS,
    NO_SUCH_MOUNTPOINT,
    NO_SUCH_ROOM,
    NO_SUCH_SESSION,
    ROOM_EXISTS,
    STREAMING,
    Janus,
    JanusDown,
    JanusError,
)
from .process import JanusProcess, find_janus, janus_lib_dir, write_config

if TYPE_CHECKING:
    from ..config import Config, MediaServer
    from ..metrics import Metrics
    from ..session import Session, Sessions

log = logging.getLogger(__name__)

ON, DOWN, OFF = "on", "down", "off"
TICK = 0.5  # seconds between health checks (a restart is noticed within about this)
RECONCILE_EVERY = 1.0  # seconds between reconciliations of every session held here
SWEEP_EVERY = 5.0  # seconds between sweeps of Janus's token list
CONVERT_AFTER_MS = 3000  # an intervention's recording is converted this long after its end
RUN_PREFIX = "hv1.run."
# Opus bit rate of the room's mix (what listeners and the desk receive): 12 kbit/s keeps a
# listener at about 38 kbit/s on the wire (20 ms frames carry ~26 kbit/s of headers); see
# docs/architecture.md "The media plane".
ROOM_BITRATE = 12000
# Packets AudioBridge buffers per publisher before mixing it (Janus's default, 6 x 20 ms):
# the jitter a remote speaker's weak link may have.
ROOM_PREBUFFERING = 6
HOW_TO_TURN_ON = ("voice is off on this hub: install Janus (apt-get install janus janus-tools) "
                  "and restart it, or set HUB_MEDIA_URL to a Janus shared by the hub's instances")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class MediaPlane:
    """The media plane as one hub instance runs it, on one Janus (`hub.media.pool` holds one
    per Janus and gives each the sessions assigned to it: `owns`)."""

    def __init__(self, config: Config, sessions: Sessions, key: bytes,
                 metrics: Metrics | None = None, server: MediaServer | None = None,
                 several: bool = False) -> None:
        self.config = config
        self.server = server
        self.name = server.name if server is not None else ONE_JANUS
        self.owns: Callable[[str], bool] = lambda session_id: True
        self.metrics = metrics
        self.sessions = sessions
        self.key = key
        self.state = OFF
        self.reason = HOW_TO_TURN_ON
        self.run: str | None = None
        self.janus: Janus | None = None
        self.process: JanusProcess | None = None
        # The Janus API as pages reach it: through this hub (`/janus`, or `/janus/<name>`
        # with several, hub/media/proxy.py) unless the operator says otherwise.
        path = f"/janus/{self.name}" if several else "/janus"
        given = server.public_url if server is not None else config.media_public_url
        self.public_url = given or (f"{config.public_url}{path}" if config.public_url
                                    else path)
        folder = server.recordings if server is not None else config.media_recordings
        self.recordings: Path | None = Path(folder) if folder else None
        self.rooms: dict[str, int] = {}  # session id -> mountpoint audio port, rooms made
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._locks: dict[str, asyncio.Lock] = {}
        self.resets = 0  # media resets seen (a restarted Janus)
        self._tries: dict[tuple[str, int], int] = {}  # recordings conversions tried
        self.levels = levels.Levels(self)  # the speaker's talking state (hub/media/levels.py)

    # -- lifetime ----------------------------------------------------------------------

    def owned_sessions(self) -> list[Session]:
        """The sessions held here whose room is on this Janus."""
        return [s for s in self.sessions.held() if self.owns(s.id)]

    async def start(self) -> None:
        """Find or start Janus; voice stays off (with the reason) when there is none.
        `begin` then sets it up and watches it."""
        config = self.config
        mode = config.media
        if self.server is not None:
            api_url, admin_url, secret = (self.server.api_url, self.server.admin_url,
                                          self.server.admin_secret)
        elif mode == "off":
            self.reason = ("voice is off on this hub (HUB_MEDIA_URL=off): unset it with Janus "
                           "installed (apt-get install janus janus-tools), or set it to a "
                           "Janus shared by the hub's instances")
            return
        elif mode == "auto":
            binary = find_janus()
            lib_dir = janus_lib_dir(binary) if binary else None
            if binary is None or lib_dir is None:
                log.info("voice off: no janus on PATH (apt-get install janus janus-tools)")
                return
            janus_cfg = write_config(Path(config.data) / "janus", lib_dir,
                                     rtp_ports=config.media_rtp_ports,
                                     ice_enforce=config.media_ice_enforce, ip=config.media_host)
            self.process = JanusProcess(binary, janus_cfg)
            await self.process.start()
            api_url, admin_url, secret = (janus_cfg.api_url.replace("127.0.0.1",
                                                                    config.media_host),
                                          janus_cfg.admin_url, janus_cfg.admin_secret)
            self.recordings = janus_cfg.recordings
        else:
            raise ValueError(f"HUB_MEDIA_URL={mode!r} needs a server (hub.media.pool)")
        self.janus = Janus(api_url, admin_url, secret)
        self.state, self.reason = DOWN, "the media server is starting"
        if self.metrics is not None:
            self.metrics.voice_up.labels(self.name).set(0)

    async def begin(self) -> None:
        """First set-up (sessions attached already), then the watch loop."""
        await self._first_setup()
        self._task = asyncio.create_task(self._watch(), name=f"hub-media-{self.name}")
        self.levels.start()

    async def _first_setup(self) -> None:
        """Wait (up to 5 s) for Janus to answer at start, so that the first pages already
        find voice on; after that the watch loop keeps trying."""
        # A private Janus answers within a fraction of a second; a shared one that does not
        # answer at once must not hold the text meeting's start: the watch loop retries.
        deadline = time.monotonic() + (5 if self.process is not None else 0)
        while True:
            try:
                await self._setup()
                return
            except (JanusDown, JanusError, TimeoutError) as exc:
                self.reason = f"the media server does not answer yet ({exc})"
                if time.monotonic() >= deadline:
                    return
                await asyncio.sleep(0.1)

    async def stop(self) -> None:
        await self.levels.stop()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.janus is not None:
            await self.janus.close()
        if self.process is not None:
            await self.process.stop()

    def attach(self, session: Session) -> None:
        """Follow a session loaded here (its room is on this Janus): reconcile after each
        fact that may change it."""
        def watch(fact: Fact) -> None:
            if fact["kind"] in ("items", "voice", "ban", "erased", "session", "restored"):
                self._dirty.add(session.id)
                self._wake.set()

        session.watchers.append(watch)
        self._dirty.add(session.id)
        self._wake.set()

    # -- status ------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """The `media` frame's fields (docs/protocol.md §19.1)."""
        data: dict[str, Any] = {"voice": self.state, "run": self.run if self.state == ON else None}
        if self.state != ON:
            data["reason"] = self.reason
        return data

    def frame(self) -> bytes:
        return protocol.dump({"type": "media", **self.status()})

    def _announce(self) -> None:
        frame = self.frame()
        for session in self.owned_sessions():
            session.push_all(frame)

    def _set(self, state: str, reason: str) -> None:
        changed = state != self.state
        self.state, self.reason = state, reason
        if self.metrics is not None:
            self.metrics.voice_up.labels(self.name).set(1 if state == ON else 0)
        if changed:
            log.log(logging.INFO if state == ON else logging.WARNING, "voice %s (janus %s)%s",
                    state, self.name, f": {reason}" if state != ON else "")
            self._announce()

    # -- health ------------------------------------------------------------------------

    async def _watch(self) -> None:
        last_reconcile = last_sweep = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(TICK):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self._check()
                if self.state != ON:
                    continue
                now = time.monotonic()
                if now - last_reconcile >= RECONCILE_EVERY:
                    last_reconcile = now
                    self._dirty.update(s.id for s in self.owned_sessions())
                dirty, self._dirty = self._dirty, set()
                for session_id in dirty:
                    session = self.sessions.held_one(session_id)
                    if session is not None:
                        await self.reconcile(session)
                if now - last_sweep >= SWEEP_EVERY:
                    last_sweep = now
                    await self._sweep_tokens()
                    await self._convert_recordings()
            except (JanusDown, TimeoutError) as exc:
                self._set(DOWN, f"the media server does not answer ({exc}); the hub "
                          "retries every second")
            except JanusError as exc:
                log.warning("media: %s", exc)
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad pass must not stop the media plane for good
                log.exception("media: reconciliation failed")

    async def _check(self) -> None:
        """Keep the hub's Janus session; set everything up again when Janus lost it."""
        assert self.janus is not None
        if self.janus.session_id is None:
            await self._setup()
            return
        try:
            await self.janus.keepalive()
        except JanusError as exc:
            if exc.code == NO_SUCH_SESSION or exc.code == 403:
                log.warning("media: the media server lost the hub's session (restarted); "
                            "setting up again")
                await self._setup()
                return
            raise

    async def _setup(self) -> None:
        """The hub's token, session and handles on a (new) Janus run; rooms made again as
        sessions are reconciled; pages told to ask for new grants (a new `run`)."""
        janus = self.janus
        assert janus is not None
        janus.session_id = None
        token = grants.hub_token(self.key)
        try:
            await janus.add_token(token, [AUDIOBRIDGE, STREAMING])
        except JanusError as exc:
            if exc.code != 0 and "exist" not in exc.reason.lower():
                raise
        await janus.connect(token)
        run = await self._run_id()
        self.rooms.clear()
        if self.run is not None and run != self.run:
            self.resets += 1
            if self.metrics is not None:
                self.metrics.media_resets.labels(self.name).inc()
        self.run = run
        self._dirty.update(s.id for s in self.owned_sessions())
        for session_id in list(self._dirty):
            session = self.sessions.held_one(session_id)
            if session is not None:
                await self.reconcile(session)
                await self._restore_grants(session)
        self.state = DOWN  # _set announces the change, with the new run
        self._set(ON, "")

    async def _run_id(self) -> str:
        """An id of this Janus run that every instance sharing it agrees on: the hash of
        the smallest run marker token on it (one is added when there is none)."""
        assert self.janus is not None
        markers = [t for t in await self.janus.tokens() if t.startswith(RUN_PREFIX)]
        if not markers:
            marker = RUN_PREFIX + secrets.token_urlsafe(24)
            await self.janus.add_token(marker, [STREAMING])
            markers = [t for t in await self.janus.tokens() if t.startswith(RUN_PREFIX)]
        return hashlib.sha256(min(markers).encode()).hexdigest()[:12]

    # -- rooms -------------------------------------------------------------------------

    def _ids(self, session_id: str) -> tuple[int, str, str]:
        return (grants.room_id(self.key, session_id), grants.room_secret(self.key, session_id),
                grants.listen_pin(self.key, session_id))

    async def ensure_room(self, session_id: str) -> None:
        """The session's AudioBridge room (tokens checked) and Streaming mountpoint, the
        room's mix forwarded to it once."""
        if session_id in self.rooms:
            return
        janus = self.janus
        assert janus is not None
        room, secret, pin = self._ids(session_id)
        port = await self._mountpoint(room, secret, pin)
        create: dict[str, Any] = {
            "request": "create", "room": room, "secret": secret, "is_private": True,
            "permanent": False, "sampling_rate": 48000, "default_bitrate": ROOM_BITRATE,
            "default_prebuffering": ROOM_PREBUFFERING,
            "description": f"hub session {session_id}", "allowed": [],
            **levels.ROOM_OPTIONS}
        if self.recordings is not None:
            folder = self.recordings / session_id
            with contextlib.suppress(OSError):  # a shared Janus's folder may not be ours
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            create.update({"mjrs": True, "mjrs_dir": str(folder)})
        try:
            await janus.request(AUDIOBRIDGE, create)
        except JanusError as exc:
            if exc.code != ROOM_EXISTS:
                raise
        await janus.request(AUDIOBRIDGE, {"request": "allowed", "room": room, "secret": secret,
                                          "action": "enable"})
        await self._forward(room, secret, port)
        self.rooms[session_id] = port

    async def _mountpoint(self, room: int, secret: str, pin: str) -> int:
        janus = self.janus
        assert janus is not None
        try:
            created = await janus.request(STREAMING, {
                "request": "create", "type": "rtp", "id": room, "secret": secret, "pin": pin,
                "is_private": True, "permanent": False, "description": "hub session",
                "audio": True, "audioport": 0, "audiopt": 100, "audiocodec": "opus",
                "audiortpmap": "opus/48000/2"})
            return int(created["stream"]["audio_port"])
        except JanusError as exc:
            if exc.code != MOUNTPOINT_EXISTS:
                raise
        info = await janus.request(STREAMING, {"request": "info", "id": room, "secret": secret})
        return int(info["info"]["media"][0]["port"])

    async def _forward(self, room: int, secret: str, port: int) -> None:
        """Exactly one forwarder of the room's mix to the mountpoint. Two instances adding
        one at once both keep the lowest stream id and stop the others."""
        janus = self.janus
        assert janus is not None
        listed = await janus.request(AUDIOBRIDGE, {"request": "listforwarders", "room": room,
                                                   "secret": secret})
        if not listed.get("rtp_forwarders"):
            await janus.request(AUDIOBRIDGE, {
                "request": "rtp_forward", "room": room, "secret": secret, "host": "127.0.0.1",
                "port": port, "codec": "opus", "ptype": 100})
            listed = await janus.request(AUDIOBRIDGE, {"request": "listforwarders",
                                                       "room": room, "secret": secret})
        ids = sorted(int(f["stream_id"]) for f in listed.get("rtp_forwarders", ()))
        for extra in ids[1:]:
            with contextlib.suppress(JanusError):
                await janus.request(AUDIOBRIDGE, {"request": "stop_rtp_forward", "room": room,
                                                  "secret": secret, "stream_id": extra})

    async def _drop_room(self, session_id: str) -> None:
        janus = self.janus
        assert janus is not None
        room, secret, _ = self._ids(session_id)
        for plugin, body in ((AUDIOBRIDGE, {"request": "destroy", "room": room}),
                             (STREAMING, {"request": "destroy", "id": room})):
            try:
                await janus.request(plugin, {**body, "secret": secret})
            except JanusError as exc:
                if exc.code not in (NO_SUCH_ROOM, NO_SUCH_MOUNTPOINT):
                    raise
        self.rooms.pop(session_id, None)

    # -- grants ------------------------------------------------------------------------

    def _unavailable(self) -> HubError:
        if self.state == OFF:
            return HubError(UNAVAILABLE, self.reason, reason="voice_off")
        return HubError(UNAVAILABLE, f"voice is down: {self.reason}", reason="voice_down")

    async def grant(self, session: Session, actor: Actor, want: str,
                    take_over: bool) -> dict[str, Any]:
        """A `media` request: checked against the floor, recorded when it is a fact, and
        made true on Janus; the ack's fields (docs/protocol.md §19.2)."""
        if self.state != ON or self.janus is None:
            raise self._unavailable()
        now = now_ms()
        result = await session.execute(
            lambda st: voice.grant(st, actor, want, take_over, now))
        state = session.state
        try:
            await self.ensure_room(session.id)
            room, _secret, pin = self._ids(session.id)
            out: dict[str, Any] = {"want": want, "janus": self.public_url, "run": self.run}
            if want == voice.LISTEN:
                expires = (now // 3_600_000 + 1) * 3_600_000 + voice.LISTEN_GRANT_MS
                token = grants.token(self.key, session.id, actor.id, grants.LISTEN, 0,
                                     expires // 1000)
                await self.janus.add_token(token, [STREAMING])
                out.update({"mountpoint": room, "pin": pin})
            else:
                if want == voice.SPEAK:
                    kind, seq = grants.SPEAK, voice.current_turn(state)
                    expires = voice.speak_expires(state)
                    out["item"] = result.get("item")
                else:
                    kind, seq = grants.DESK, state.voice.desk_gen
                    expires = state.voice.desk_since + voice.DESK_GRANT_MS
                token = grants.token(self.key, session.id, actor.id, kind, seq, expires // 1000)
                await self.janus.add_token(token, [AUDIOBRIDGE])
                await self.janus.request(AUDIOBRIDGE, {
                    "request": "allowed", "room": room, "secret": _secret, "action": "add",
                    "allowed": [token]})
                out.update({"room": room,
                            "id": grants.participant_id(self.key, session.id, actor.id, kind,
                                                        seq),
                            "display": _display(state, actor)})
        except (JanusDown, JanusError) as exc:
            self._wake.set()
            raise HubError(UNAVAILABLE, f"the media server refused or did not answer ({exc}); "
                           "ask again", reason="voice_down") from None
        out.update({"token": token, "expires": expires,
                    "ice_servers": grants.ice_servers(list(self.config.ice_servers),
                                                      self.config.turn_secret, actor.id,
                                                      now // 1000, self.config.turn_ttl)})
        if self.metrics is not None:
            self.metrics.media_grants.labels(want).inc()
        if want == voice.DESK_WANT:  # a take-over: the previous desk goes at once
            self._dirty.add(session.id)
            self._wake.set()
        return out

    async def control(self, session: Session, actor: Actor, action: str) -> dict[str, Any]:
        """A moderator's `voice` command: recorded, then enforced on Janus at once."""
        now = now_ms()
        result = await session.execute(lambda st: voice.control(st, actor, action, now))
        if self.state == ON:
            with contextlib.suppress(JanusDown, JanusError):
                await self.reconcile(session)
        return result

    # -- reconciling -------------------------------------------------------------------

    async def reconcile(self, session: Session) -> None:
        """Make Janus agree with `hub.domain.voice.desired` for one session: tokens of ended
        turns and replaced desks removed (room and core), their participants kicked, the
        speaker muted or not. Idempotent; safe when several instances do it at once."""
        lock = self._locks.setdefault(session.id, asyncio.Lock())
        async with lock:
            await self._reconcile(session)

    async def _reconcile(self, session: Session) -> None:
        janus = self.janus
        assert janus is not None
        if session.deleted or session.state.state == CLOSED:
            if session.id in self.rooms or session.deleted:
                await self._drop_room(session.id)
            return
        await self.ensure_room(session.id)
        room, secret, _ = self._ids(session.id)
        listed = await janus.request(AUDIOBRIDGE, {"request": "allowed", "room": room,
                                                   "secret": secret, "action": "add",
                                                   "allowed": []})
        stale = self._stale_tokens(session, listed.get("allowed", ()), room)
        parts = (await janus.request(AUDIOBRIDGE, {"request": "listparticipants",
                                                   "room": room})).get("participants", [])
        extra = self._stale_participants(session, parts)
        if stale or extra:
            # Catch up before removing anything: another instance may be ahead of this one.
            with contextlib.suppress(HubError, Exception):
                await session.catch_up()
            stale = self._stale_tokens(session, listed.get("allowed", ()), room)
            extra = self._stale_participants(session, parts)
        if stale:
            await janus.request(AUDIOBRIDGE, {"request": "allowed", "room": room,
                                              "secret": secret, "action": "remove",
                                              "allowed": stale})
            for token in stale:
                await janus.remove_token(token)
        for pid in extra:
            try:
                await janus.request(AUDIOBRIDGE, {"request": "kick", "room": room,
                                                  "secret": secret, "id": pid})
                log.info("session %s: kicked participant %s from the audio room", session.id,
                         pid)
                if self.metrics is not None:
                    self.metrics.media_kicks.labels(self.name).inc()
            except JanusError as exc:
                if exc.code not in (487, NO_SUCH_ROOM):
                    raise
        await self._mute(session, parts, room, secret)

    async def _restore_grants(self, session: Session) -> None:
        """After Janus restarted: the current speaker's (once they took a grant) and desk's
        tokens are put back, so the grants pages hold stay valid (the pages still join
        again: their Janus sessions died with it). Listen grants are not facts: pages ask
        again on the new `run`."""
        janus = self.janus
        assert janus is not None
        if session.state.state == CLOSED:
            return
        want, tokens, _ = self._wanted(session)
        if want.speaker is not None and voice.turn_voice(session.state).since is None:
            tokens.discard(grants.token(self.key, session.id, want.speaker, grants.SPEAK,
                                        want.turn, want.speak_expires // 1000))
        if not tokens:
            return
        room, secret, _ = self._ids(session.id)
        for token in tokens:
            await janus.add_token(token, [AUDIOBRIDGE])
        await janus.request(AUDIOBRIDGE, {"request": "allowed", "room": room, "secret": secret,
                                          "action": "add", "allowed": sorted(tokens)})

    def _wanted(self, session: Session) -> tuple[voice.Desired, set[str], set[int]]:
        state = session.state
        now = now_ms()
        want = voice.desired(state, now)
        tokens: set[str] = set()
        pids: set[int] = set()
        if want.speaker is not None:
            tokens.add(grants.token(self.key, session.id, want.speaker, grants.SPEAK, want.turn,
                                    want.speak_expires // 1000))
            pids.add(grants.participant_id(self.key, session.id, want.speaker, grants.SPEAK,
                                           want.turn))
        if want.desk is not None:
            tokens.add(grants.token(self.key, session.id, want.desk, grants.DESK, want.desk_gen,
                                    (want.desk_since + voice.DESK_GRANT_MS) // 1000))
            pids.add(grants.participant_id(self.key, session.id, want.desk, grants.DESK,
                                           want.desk_gen))
        return want, tokens, pids

    def _stale_tokens(self, session: Session, allowed: Any, room: int) -> list[str]:
        want, keep, _ = self._wanted(session)
        stale = []
        for token in allowed:
            info = grants.parse_token(str(token))
            if info is None or info.room != room:
                stale.append(str(token))  # nothing the hub made: out
                continue
            if token in keep:
                continue
            known = want.turn if info.kind == grants.SPEAK else want.desk_gen
            if info.seq > known:
                continue  # a newer turn or desk than this instance knows: not its to judge
            stale.append(str(token))
        return stale

    def _stale_participants(self, session: Session, parts: list[dict[str, Any]]) -> list[int]:
        want, _, keep = self._wanted(session)
        out = []
        for part in parts:
            pid = part.get("id")
            if not isinstance(pid, int) or pid in keep:
                continue
            kind, seq = grants.parse_participant(pid)
            known = want.turn if kind == grants.SPEAK else want.desk_gen
            if seq > known and seq - known < 1000:
                continue  # another instance is ahead
            out.append(pid)
        return out

    async def _mute(self, session: Session, parts: list[dict[str, Any]], room: int,
                    secret: str) -> None:
        want = voice.desired(session.state, now_ms())
        if want.speaker is None:
            return
        pid = grants.participant_id(self.key, session.id, want.speaker, grants.SPEAK, want.turn)
        for part in parts:
            if part.get("id") == pid and bool(part.get("muted")) != want.muted:
                assert self.janus is not None
                await self.janus.request(AUDIOBRIDGE, {
                    "request": "mute" if want.muted else "unmute", "room": room,
                    "secret": secret, "id": pid})

    async def _convert_recordings(self) -> None:
        """Ended interventions' recordings into Ogg Opus (a few seconds after the end, so
        Janus has closed the file); each tried a few times at most."""
        if self.recordings is None:
            return
        now = now_ms()
        for session in self.owned_sessions():
            for record in session.state.voice.interventions:
                end = record.ended(now)
                key = (session.id, record.n)
                if end is None or now - end < CONVERT_AFTER_MS or self._tries.get(key, 0) >= 3:
                    continue
                target = recordings.audio_path(self.config.data, session.id, record.n)
                if target.exists():
                    continue
                self._tries[key] = self._tries.get(key, 0) + 1
                pid = grants.participant_id(self.key, session.id, record.speaker, grants.SPEAK,
                                            record.turn)
                sources = recordings.mjr_files(self.recordings, session.id, pid)
                if await recordings.convert(sources, target):
                    log.info("session %s: intervention %s recorded", session.id, record.n)

    async def deleted(self, session_id: str) -> None:
        """A session was deleted: its room and mountpoint go from Janus."""
        if self.state == ON and self.janus is not None:
            with contextlib.suppress(JanusDown, JanusError):
                await self._drop_room(session_id)

    async def _sweep_tokens(self) -> None:
        """Janus's core tokens: expired listen grants removed, and speak and desk grants of
        the sessions held here that the reconciliation found void."""
        janus = self.janus
        assert janus is not None
        rooms = {grants.room_id(self.key, s.id): s for s in self.owned_sessions()}
        now_s = now_ms() // 1000
        for token in await janus.tokens():
            info = grants.parse_token(token)
            if info is None:
                continue
            if info.expires < now_s:
                await janus.remove_token(token)
                continue
            session = rooms.get(info.room)
            if session is None or info.kind == grants.LISTEN:
                continue
            if self._stale_tokens(session, [token], info.room):
                await janus.remove_token(token)


def _display(state: Any, actor: Actor) -> str:
    who = state.identities.get(actor.id)
    return who.name if who is not None else actor.name


def unavailable_reason(plane: MediaPlane | None) -> HubError:
    if plane is None:
        return HubError(UNAVAILABLE, HOW_TO_TURN_ON, reason="voice_off")
    return plane._unavailable()


Status = Callable[[], dict[str, Any]]
