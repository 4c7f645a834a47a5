"""`hub relay`: a regional hub's own server, joined to the meeting over one link.

The relay is a hub server on the embedded default, run on a laptop in the hub's room.
Its session has the meeting's id; the room's phones and projector use its pages. One
upstream websocket, as the hub's identity, feeds it (see `hub.domain.relay` for what
is mirrored and why it is exact):

- every upstream event is appended to the local log before the next is read, with the
  upstream position, so after a drop (or a restart of the relay) it resumes upstream
  from the last event it holds and local readers see no gap and no repeat;
- the outbox (items forwarded by the hub's moderator, withdrawals) is sent in order
  while the link is up, each `ask` with an idempotency key made from the local item,
  so an entry sent twice across a drop is taken once;
- the hub's attendee count is reported upstream: the participants connected here plus
  the count the hub's moderator gives for people without a device;
- voice: the room's pages get their grants from the meeting through the link
  (`hub.relay_voice`), and their Janus signalling through the relay's `/janus`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import logging
import os
import random
import socket
import urllib.parse
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from . import keys
from .api import json_response, link_at, secretariat
from .datadir import FILE_MODE
from .domain import commands
from .domain import relay as domain
from .domain.commands import Decision
from .domain.facts import Fact
from .domain.forum import is_forum_log
from .domain.roles import CAPTIONER, HUB, PARTICIPANT, SCREEN
from .domain.session import SessionState, valid_session_id
from .errors import CONFLICT, NOT_FOUND, RATE_LIMITED, UNAVAILABLE, HubError, bad_request
from .log.base import new_epoch_id
from .protocol import CLOSE_NOT_FOUND
from .relay_voice import LINK_DOWN, RelayVoice
from .session import Session, now_ms

log = logging.getLogger(__name__)

HEARTBEAT = 10.0  # seconds between websocket pings upstream; a silent link is cut after
WELCOME_TIMEOUT = 20.0
ACK_TIMEOUT = 20.0
BACKOFF_FIRST, BACKOFF_MAX = 0.25, 3.0  # seconds between reconnects, doubling; a room waits
REPORT_EVERY = 2.0  # seconds between checks of the attendee count
MAX_FRAME = 4 * 1024 * 1024
RETRY_CODES = frozenset({UNAVAILABLE, RATE_LIMITED})


LINKS_FILE = "relay-links.txt"  # in the data folder, mode 0600: the room's links, for services


class Refused(Exception):
    """The meeting refused the relay's token: it says why."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where the meeting is and who the hub is there, read from the hub's link or token."""

    base: str  # http(s)://host[:port]
    token: str
    session: str
    hub: str
    name: str
    place: dict[str, str] = field(default_factory=dict)

    @property
    def ws_url(self) -> str:
        scheme = "wss" if self.base.startswith("https") else "ws"
        return f"{scheme}{self.base[self.base.index(':'):]}/ws/{self.session}"

    @classmethod
    def parse(cls, url: str | None, token: str | None, *, insecure: bool = False) -> Upstream:
        """From the meeting's address (`--upstream`: the server, or the hub's page link)
        and the hub's named token (HUB_RELAY_TOKEN or `--token-file`), where the token may
        be the hub's whole link, `https://…/s/SESSION/hub#token=…`, which says both.

        The link must be https (the token crosses the network on it) unless `insecure`."""
        if token and "://" in token:  # the whole link: its fragment holds the token
            url = url or token
            token = token_in(token)
        if not url:
            raise bad_request("give the meeting's address: --upstream (or HUB_RELAY_UPSTREAM), "
                              "or the hub's whole link in the token file")
        parts = urllib.parse.urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise bad_request(f"--upstream must be an http(s) address, not {url!r}")
        if parts.scheme == "http" and not insecure:
            raise bad_request(
                f"the meeting's address {parts.scheme}://{parts.netloc} is not https: the "
                "hub's token would cross the network readable by anyone on the way. Use the "
                "meeting's https:// address (or --insecure, for a meeting on this machine)")
        token = token or token_in(url)
        if not token:
            raise bad_request("give the hub's token: in HUB_RELAY_TOKEN, or in a file named "
                              "with --token-file (the token, or the hub's whole link)")
        body = _payload(token)
        if body.get("r") != HUB or not body.get("i"):
            raise bad_request("this is not a hub's own link: ask the meeting's organizer for "
                              "the hub's named link (a hub token with the hub's name)")
        raw = body.get("p")
        place = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
        return cls(f"{parts.scheme}://{parts.netloc}", token, str(body["s"]), str(body["i"]),
                   str(body.get("n") or "Hub"), place)


def token_in(link: str) -> str | None:
    """The token in a link's `#token=…` fragment, if any."""
    fragment = urllib.parse.parse_qs(urllib.parse.urlsplit(link.strip()).fragment)
    return next(iter(fragment.get("token", [])), None)


def _payload(token: str) -> dict[str, Any]:
    """A token's payload (the meeting checks its signature; here it only says who)."""
    try:
        raw = token.partition(".")[0]
        body = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise bad_request("this token cannot be read: copy the hub's link again") from exc
    if not isinstance(body, dict) or not isinstance(body.get("s"), str):
        raise bad_request("this token names no session")
    if is_forum_log(body["s"]):  # docs/protocol.md §24: it names no one session
        raise bad_request("this is an event's hub link, valid for several sessions: a relay "
                          "follows one session; ask that session's organizer for the hub's "
                          "link of that session")
    if not valid_session_id(body["s"]):  # it names this relay's local files and routes
        raise bad_request("this token's session id is not one a hub makes: copy the hub's "
                          "link again")
    return body


class Relay:
    """The upstream link of one relay process, and its local session."""

    def __init__(self, app: web.Application, upstream: Upstream) -> None:
        self.app = app
        self.upstream = upstream
        self.session: Session | None = None
        self.voice: RelayVoice | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._refs = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._outbox_wake = asyncio.Event()
        self._count_wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._reported: int | None = None
        self._deleted_upstream = False  # the meeting said the session was deleted
        self.ended = asyncio.Event()  # set once the relay has nothing left to do
        self.stats = {"connects": 0, "bytes_in": 0, "bytes_out": 0, "frames_in": 0,
                      "events_mirrored": 0}

    # -- lifetime --------------------------------------------------------------------

    async def start(self) -> None:
        self.session = await self._local_session()
        self.voice = RelayVoice(self)
        self.session.media = self.voice  # the room's voice is the meeting's, via the link
        self.session.watchers.append(self._watch)
        await self._execute(lambda st: domain.link(st, False, now_ms()))
        self._tasks = [
            asyncio.create_task(self._link_forever(), name="relay-link"),
            asyncio.create_task(self._report_forever(), name="relay-attendees"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _local_session(self) -> Session:
        sessions = self.app[keys.SESSIONS]
        up = self.upstream
        try:
            session = await sessions.get(up.session)
        except HubError as exc:
            if exc.code != NOT_FOUND:
                raise
            fact = commands.create(title=f"{up.name}: the meeting", languages=None,
                                   state="live", settings=None, now=now_ms())
            fact["relay"] = {"upstream": up.base, "hub": up.hub, "hub_name": up.name}
            created = await sessions.create(up.session, fact, new_epoch_id())
            session = created or await sessions.get(up.session)
        if session.state.relay is None:
            raise HubError(CONFLICT, f"session {up.session} here is not a relay: use another "
                                     "--data folder")
        await session.execute(lambda st: commands.join(
            st, up.hub, HUB, up.name, None, False, now_ms(), place=up.place, named=True))
        return session

    def links(self, base: str) -> dict[str, str]:
        """The room's links: attendees (phones), the hub's moderator, the projector, and
        a captioner for the room's own discussion."""
        assert self.session is not None
        signer, state, up = self.app[keys.SIGNER], self.session.state, self.upstream
        until = signer.link_expiry()  # as the meeting's links: the same all day long
        tokens = {
            "attendee": signer.mint(up.session, PARTICIPANT, hub=up.hub, expires=until,
                                    generation=state.links.get(PARTICIPANT, 0)),
            "hub": signer.mint(up.session, HUB, identity=up.hub, name=up.name,
                               place=up.place or None, expires=until),
            "screen": signer.mint(up.session, SCREEN, expires=until,
                                  generation=state.links.get(SCREEN, 0)),
            "captioner": signer.mint(up.session, CAPTIONER, expires=until,
                                     generation=state.links.get(CAPTIONER, 0)),
        }
        page = {"attendee": PARTICIPANT}
        return {who: link_at(base, up.session, page.get(who, who), token)
                for who, token in tokens.items()}

    def describe(self) -> str:
        """Which meeting this relays, as whom (no token: fit for the log)."""
        return (f"relay of {self.upstream.base} session {self.upstream.session} as "
                f"{self.upstream.name!r}")

    def announce(self, port: int) -> str:
        """Tell the hub's organizer the room's links once the relay listens on `port`:
        on the terminal (standard output, never the log: they carry tokens) and in
        `<data>/relay-links.txt`, mode 0600, for a relay run as a service. The path."""
        config = self.app[keys.CONFIG]
        base = config.public_url or f"http://{_lan_address(config.host)}:{port}"
        lines = [f"{self.describe()}; the room's links (keep them to the room):"]
        lines += [f"  {who}: {url}" for who, url in self.links(base).items()]
        if config.host in ("127.0.0.1", "localhost", "::1") and not config.public_url:
            lines.append("  (listening on this machine only: start with --host 0.0.0.0 for "
                         "the room's phones and projector to reach these links)")
        path = os.path.join(config.data, LINKS_FILE)
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, FILE_MODE)
        with open(fd, "w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
        print("\n".join([*lines, f"  (also in {path})"]), flush=True)
        return path

    def status(self) -> dict[str, Any]:
        assert self.session is not None
        state = self.session.state
        relay = domain.relay_of(state)
        return {
            "upstream": self.upstream.base,
            "session": self.upstream.session,
            "hub": {"id": self.upstream.hub, "name": self.upstream.name},
            "connected": relay.linked,
            "since": relay.since,
            "refused": relay.refused,
            "positions": {ch: {"epoch": e, "offset": o} for ch, (e, o) in relay.positions.items()},
            "waiting": [dict(op) for op in relay.outbox],
            "sent": len(relay.sent),
            "attendees": {**self._attendees(), "reported": self._reported},
            **self.stats,
        }

    # -- the link --------------------------------------------------------------------

    async def _link_forever(self) -> None:
        backoff = BACKOFF_FIRST
        timeout = aiohttp.ClientTimeout(total=None, connect=10, sock_connect=10)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:
                linked = False
                try:
                    async with http.ws_connect(self.upstream.ws_url, heartbeat=HEARTBEAT,
                                               max_msg_size=MAX_FRAME, autoping=True) as ws:
                        await self._join(ws)
                        linked, backoff = True, BACKOFF_FIRST
                        await self._serve(ws)
                except Refused as exc:
                    if exc.code == NOT_FOUND and domain.relay_of(self.session_state).positions:
                        self._deleted_upstream = True  # gone while the relay was away
                    else:
                        log.error("the meeting refused the relay: %s", exc)
                        await self._note_link(False, refused=str(exc))
                        backoff = 60.0
                except (aiohttp.ClientError, OSError, TimeoutError, HubError) as exc:
                    log.warning("link to the meeting lost: %s", exc or type(exc).__name__)
                finally:
                    self._ws = None
                    self._voice_changed()
                    for waiter in self._waiting.values():
                        if not waiter.done():
                            waiter.set_exception(ConnectionError("link lost"))
                    self._waiting.clear()
                if self._deleted_upstream:
                    await self._forget_deleted()
                    return
                if linked:
                    await self._note_link(False)
                await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
                backoff = min(backoff * 2, BACKOFF_MAX)

    async def _join(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        assert self.session is not None
        relay = domain.relay_of(self.session.state)
        hello: dict[str, Any] = {"type": "hello", "token": self.upstream.token}
        if relay.positions:
            hello["resume"] = {ch: {"epoch": e, "offset": o}
                               for ch, (e, o) in relay.positions.items()}
        await self._send(ws, hello)
        msg = await ws.receive(WELCOME_TIMEOUT)
        frame = self._frame(msg)
        if frame is None:
            raise ConnectionError(f"the meeting closed the link ({msg.type.name})")
        if frame.get("type") == "error":
            message = f"{frame.get('code')}: {frame.get('message')}"
            if frame.get("code") in ("unauthorized", "forbidden", "not_found"):
                raise Refused(message, str(frame.get("code")))
            raise ConnectionError(message)
        if frame.get("type") != "welcome":
            raise ConnectionError(f"the meeting sent {frame.get('type')!r} before welcome")
        await self._execute(lambda st: domain.resync(st, frame, now_ms()))
        self.stats["connects"] += 1
        if self.voice is not None:
            self.voice.from_meeting((frame.get("session") or {}).get("voice"))
        self._ws, self._reported = ws, None
        self._voice_changed()
        await self._note_link(True)
        self._outbox_wake.set()
        self._count_wake.set()
        recovered = {ch: pos.get("recovered") for ch, pos in frame["channels"].items()}
        log.info("linked to the meeting (resumed: %s)", recovered)

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        sender = asyncio.create_task(self._send_outbox(ws), name="relay-outbox")
        try:
            async for msg in ws:
                frame = self._frame(msg)
                if frame is None:
                    continue
                kind = frame.get("type")
                if kind == "event":
                    await self._mirror(frame)
                elif kind == "media" and self.voice is not None:
                    self.voice.from_meeting(frame)
                elif kind in ("ack", "error") and frame.get("ref") in self._waiting:
                    waiter = self._waiting.pop(frame["ref"])
                    if not waiter.done():
                        waiter.set_result(frame)
                elif kind == "bye":
                    log.info("the meeting says: %s", frame.get("reason"))
                    if frame.get("code") == CLOSE_NOT_FOUND:
                        self._deleted_upstream = True
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
        reason = ws.exception()
        log.info("the link closed (code %s%s)", ws.close_code, f": {reason!r}" if reason else "")
        if ws.close_code == CLOSE_NOT_FOUND:
            self._deleted_upstream = True

    async def _forget_deleted(self) -> None:
        """The meeting deleted the session: delete the room's copy (every event, the
        links file), close the room's connections for good (4504), and end the relay."""
        session = self.upstream.session
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
        await self.app[keys.SESSIONS].delete(session)
        self.session = None
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(self.app[keys.CONFIG].data, LINKS_FILE))
        log.warning("the meeting deleted session %s: its copy here is deleted too; the relay "
                    "stops", session)
        self.ended.set()

    @property
    def linked(self) -> bool:
        """The link to the meeting is up (welcomed, not closed)."""
        return self._ws is not None and not self._ws.closed

    def _voice_changed(self) -> None:
        if self.voice is not None:
            self.voice.changed()

    async def ask_meeting(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Send a request to the meeting as the hub; its `ack` or `error` frame. While the
        link is down: `unavailable` (reason `voice_down`: what only voice asks this way)."""
        ws = self._ws
        if ws is None or ws.closed:
            raise HubError(UNAVAILABLE, LINK_DOWN, reason="voice_down")
        try:
            return await self._request(ws, frame)
        except (ConnectionError, TimeoutError, aiohttp.ClientError):
            raise HubError(UNAVAILABLE, LINK_DOWN, reason="voice_down") from None

    @property
    def session_state(self) -> SessionState:
        assert self.session is not None
        return self.session.state

    def _frame(self, msg: aiohttp.WSMessage) -> dict[str, Any] | None:
        if msg.type != aiohttp.WSMsgType.TEXT:
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING,
                            aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                return None
            return {}
        self.stats["bytes_in"] += len(msg.data.encode())
        self.stats["frames_in"] += 1
        try:
            frame = orjson.loads(msg.data)
        except orjson.JSONDecodeError:
            log.warning("the meeting sent a frame that is not JSON")
            return {}
        return frame if isinstance(frame, dict) else {}

    async def _mirror(self, frame: dict[str, Any]) -> None:
        channel = frame.get("channel")
        if channel not in ("public", "private"):
            return
        result = await self._execute(lambda st: domain.mirror(st, str(channel), frame))
        if not result.get("duplicate"):
            self.stats["events_mirrored"] += 1

    async def _note_link(self, connected: bool, refused: str | None = None) -> None:
        try:
            await self._execute(lambda st: domain.link(st, connected, now_ms(), refused))
        except HubError as exc:
            log.warning("link state not recorded: %s", exc.message)

    async def _send(self, ws: aiohttp.ClientWebSocketResponse, frame: dict[str, Any]) -> None:
        data = orjson.dumps(frame).decode()
        self.stats["bytes_out"] += len(data.encode())
        await ws.send_str(data)

    async def _request(self, ws: aiohttp.ClientWebSocketResponse,
                       frame: dict[str, Any]) -> dict[str, Any]:
        ref = f"r{next(self._refs)}"
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[ref] = waiter
        try:
            await self._send(ws, {**frame, "ref": ref})
            async with asyncio.timeout(ACK_TIMEOUT):
                return await waiter
        finally:
            self._waiting.pop(ref, None)

    # -- what the room owes the meeting -----------------------------------------------

    def _watch(self, fact: Fact) -> None:
        if fact["kind"] == "items":
            self._outbox_wake.set()
        elif fact["kind"] == "hub_status":
            self._count_wake.set()

    async def _send_outbox(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Send the outbox in order, one entry at a time, while the link is up."""
        assert self.session is not None
        while True:
            relay = domain.relay_of(self.session.state)
            if not relay.outbox:
                self._outbox_wake.clear()
                await self._outbox_wake.wait()
                continue
            op = dict(relay.outbox[0])
            frame = self._outbox_frame(op)
            try:
                if "backing" in frame:  # the meeting bounds backing by the last count
                    await self._report(ws)
                reply = await self._request(ws, frame)
            except (ConnectionError, TimeoutError) as exc:
                await ws.close()  # the link is not answering: start again, resend then
                log.warning("outbox entry %s not acknowledged (%s): reconnecting", op, exc)
                return
            if reply.get("type") == "ack":
                upstream = reply.get("item") if op["op"] == domain.ASK else None
                await self._execute(partial(domain.sent, op=op, upstream_id=upstream))
                continue
            code, message = reply.get("code"), str(reply.get("message"))
            if code in RETRY_CODES or (code == CONFLICT and "busy" in message):
                await asyncio.sleep(min(float(reply.get("retry_after") or 1), 30.0))
                continue
            log.warning("the meeting refused %s: %s %s", op, code, message)
            await self._execute(partial(domain.sent, op=op, upstream_id=None, refused=message))

    def _outbox_frame(self, op: dict[str, str]) -> dict[str, Any]:
        assert self.session is not None
        state = self.session.state
        relay = domain.relay_of(state)
        item = state.items[op["item"]]
        if op["op"] == domain.WITHDRAW:
            return {"type": "withdraw", "item": relay.sent[item.id]}
        frame: dict[str, Any] = {
            "type": "ask", "kind": item.kind, "text": item.text, "lang": item.lang,
            "anonymous": item.anonymous,
            # One key per item of this relay's session: sent again, it is taken once.
            "key": f"relay-{state.created}-{item.id}",
        }
        if item.backing:
            frame["backing"] = item.backing
        if not item.anonymous and item.author_id != relay.hub:
            frame["on_behalf"] = {"name": item.author}
        return frame

    def _attendees(self) -> dict[str, int]:
        assert self.session is not None
        devices = self.session.local_presence()["participants"]
        known = self.session.state.hubs.get(self.upstream.hub)
        return {"devices": devices, "without_device": known.attendees if known else 0}

    async def _report_forever(self) -> None:
        """Tell the meeting how many people the hub's room holds, when that changes."""
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can lose a cancellation
            # that lands as the event is set, and stop() would wait for this loop forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(REPORT_EVERY):
                    await self._count_wake.wait()
            self._count_wake.clear()
            await asyncio.sleep(REPORT_EVERY / 4)  # let a burst of joins settle
            ws = self._ws
            if ws is None or ws.closed:
                continue
            with contextlib.suppress(ConnectionError, TimeoutError, aiohttp.ClientError):
                await self._report(ws)

    async def _report(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Report the room's count if it changed since the last report."""
        count = sum(self._attendees().values())
        if count == self._reported:
            return
        reply = await self._request(ws, {"type": "hub_status", "attendees": count})
        if reply.get("type") == "ack":
            self._reported = count

    async def _execute(self, decide: Callable[[SessionState], Decision]) -> dict[str, Any]:
        assert self.session is not None
        return await self.session.execute(decide)


def _lan_address(host: str) -> str:
    """The address the room's devices can reach: the host given, or this machine's."""
    if host not in ("0.0.0.0", "::", ""):
        return host
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: it only picks a route
            return str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"


async def relay_status(request: web.Request) -> web.Response:
    """`GET /api/relay`: the link's state and the room's links (the relay's organizer)."""
    secretariat(request)
    relay = request.app[keys.RELAY]
    if relay.session is None:  # the meeting deleted it: the relay is stopping
        raise HubError(NOT_FOUND, f"the meeting deleted session {relay.upstream.session}")
    base = f"{request.scheme}://{request.host}"
    return json_response({**relay.status(), "links": relay.links(base)})


def add_relay(app: web.Application, upstream: Upstream) -> Relay:
    """Make `app` a relay of `upstream`: the link runs while the app does."""
    relay = Relay(app, upstream)
    app[keys.RELAY] = relay

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        await relay.start()
        try:
            yield
        finally:
            await relay.stop()

    app.cleanup_ctx.append(lifetime)
    app.router.add_get("/api/relay", relay_status)
    return relay
