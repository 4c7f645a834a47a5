"""What one client does once connected, whatever the transport: join, then commands."""

from __future__ import annotations

import time
from typing import Any

from . import protocol
from .connection import Connection, Delivery
from .domain import commands, sources, views, voice
from .domain.commands import Actor
from .domain.profiles import check_profile
from .domain.roles import HUB, PARTICIPANT, channels_for, check_allowed, wire_name
from .errors import UNAUTHORIZED, UNAVAILABLE, HubError
from .log import LogUnavailable
from .media.manager import unavailable_reason
from .metrics import Metrics
from .ratelimit import RateLimits
from .session import Session, now_ms
from .standing import check_standing
from .tokens import Grant, Signer, new_identity_id
from .voice_status import voice_status


def source_of(grant: Grant, address: str, signer: Signer, limits: RateLimits | None) -> str:
    """Where a new identity comes from: its hub's attendee link, or its address as a keyed
    hash (the address itself is never stored)."""
    if grant.hub is not None:
        return sources.hub_source(grant.hub)
    shared = limits is not None and limits.shared(address)
    return sources.address_source(signer.digest("address", address), shared)


def default_name(role: str, identity: str) -> str:
    return f"{role.capitalize()} {identity[:4]}"


async def join(
    session: Session, conn: Connection, hello: protocol.Hello, grant: Grant, signer: Signer,
    metrics: Metrics, ref: str | None = None, *, address: str | None = None,
    limits: RateLimits | None = None,
) -> None:
    """Record the identity `grant` (the hello token as `hub.access.verify` checked it) lets
    in, and open `conn` with `welcome` (resumed or fresh). With the client's `address` and
    the `limits`, a new identity from a join link is charged to its source (see
    `hub.domain.sources`)."""
    if grant.session != session.id:
        raise ValueError(f"a grant for {grant.session!r} cannot join {session.id!r}: verify "
                         "the token for this session (hub.access.verify)")
    try:
        await _join(session, conn, hello, grant, signer, metrics, ref, address, limits)
    except LogUnavailable as exc:
        raise HubError(UNAVAILABLE, f"storage is unavailable ({exc}); reconnect") from exc


async def _join(
    session: Session, conn: Connection, hello: protocol.Hello, grant: Grant, signer: Signer,
    metrics: Metrics, ref: str | None, address: str | None = None,
    limits: RateLimits | None = None,
) -> None:
    role = grant.role
    state = session.state
    if grant.admin:
        identity = "organizer"
    elif grant.identity is not None:
        identity = grant.identity
    else:
        identity = new_identity_id()
    source = ""
    if grant.identity is None and role in (PARTICIPANT, HUB) and address is not None:
        source = source_of(grant, address, signer, limits)
    known = state.identities.get(identity)
    if known is not None and known.role != role:
        raise HubError(UNAUTHORIZED, "this token names an identity of another role")
    check_standing(state, grant)
    name = grant.name or hello.name or (known.name if known else default_name(role, identity))
    profile = None
    if role in (PARTICIPANT, HUB) and hello.profile is not None:
        profile = check_profile(hello.profile)
    now = now_ms()
    in_room = hello.in_room if hello.in_room is not None else bool(known and known.in_room)
    budgets = limits.budgets if limits is not None else None
    await session.execute(lambda st: commands.join(
        st, identity, role, name, profile, in_room, now, hub=grant.hub, place=grant.place,
        source=source, budgets=budgets, named=grant.name is not None))
    conn.identity, conn.role = identity, role
    conn.lite = hello.lite
    conn.name = session.state.identities[identity].name
    token = hello.token if grant.identity is not None or grant.admin else signer.personal(
        grant, identity)
    you = {"id": identity, "role": role, "name": conn.name, "token": token}
    keys = channels_for(role, identity)
    if hello.resume and await _resume(session, conn, hello, keys, you, ref):
        metrics.resumes.labels("recovered").inc()
        return
    metrics.resumes.labels("not_recovered" if hello.resume else "fresh").inc()
    _fresh(session, conn, keys, you, ref)


def _media_frame(session: Session) -> bytes:
    return protocol.dump({"type": "media", **voice_status(session)})


def _welcome(
    session: Session, you: dict[str, Any], channels: dict[str, Any], snapshot: dict[str, Any],
    ref: str | None,
) -> bytes:
    frame: dict[str, Any] = {
        "type": "welcome",
        "session": {**views.session_data(session.state), "voice": voice_status(session)},
        "you": you,
        "channels": channels,
        "snapshot": snapshot,
        "ts": now_ms(),
    }
    if ref is not None:
        frame["ref"] = ref
    return protocol.dump(frame)


def _fresh(
    session: Session, conn: Connection, keys: list[str], you: dict[str, Any], ref: str | None
) -> None:
    # No await from here on: the snapshot, the offsets and the registration are one instant.
    state = session.state
    positions = {key: state.tops.get(key, 0) for key in keys}
    session.attach(conn, positions)
    snapshot = views.snapshot(state, conn.role, conn.identity, lite=conn.lite)
    snapshot["presence"] = session.presence()
    channels = {
        wire_name(key): {"epoch": state.epoch, "offset": offset, "recovered": False,
                         "sig": session.sign(key, state.epoch, offset)}
        for key, offset in positions.items()
    }
    conn.open(_welcome(session, you, channels, snapshot, ref), [])
    if session.media is not None:
        conn.push(_media_frame(session))
        session.media.greet(session, conn)


async def _resume(
    session: Session, conn: Connection, hello: protocol.Hello, keys: list[str],
    you: dict[str, Any], ref: str | None,
) -> bool:
    """Resume exactly where the client was, or return False (it then gets a fresh join)."""
    asked = {key: hello.resume.get(wire_name(key)) for key in keys}
    await session.catch_up()
    state = session.state
    if any(pos is None or pos.epoch != state.epoch for pos in asked.values()):
        return False
    positions = {key: pos.offset for key, pos in asked.items() if pos is not None}
    above = {key: pos for key, pos in asked.items()
             if pos is not None and pos.offset > state.tops.get(key, 0)}
    if above:
        # The client claims more than the log holds under this epoch (the catch-up above
        # already compared the log with what this process folded). Only this server's
        # signature proves it sent those offsets, so that history went backwards; a bare
        # or forged claim gets a fresh snapshot and changes nothing for anyone else.
        if all(session.signed(key, pos) for key, pos in above.items()):
            await session.history_went_back()
        return False
    session.attach(conn, positions)
    history: list[Delivery] = []
    for key, offset in positions.items():
        entries = await session.history(key, offset)
        if entries is None:
            session.detach(conn)
            conn.positions = {}
            return False
        history.extend(entries)
    channels = {
        wire_name(key): {"epoch": state.epoch, "offset": offset, "recovered": True,
                         "sig": session.sign(key, state.epoch, offset)}
        for key, offset in positions.items()
    }
    snapshot = {"presence": session.presence()}
    conn.open(_welcome(session, you, channels, snapshot, ref), history)
    if session.media is not None:
        conn.push(_media_frame(session))
        session.media.greet(session, conn)
    return True


async def handle(
    session: Session, conn: Connection, frame: protocol.Frame, limits: RateLimits
) -> dict[str, Any]:
    """Carry out one command; returns the ack's fields or raises HubError."""
    if isinstance(frame.command, protocol.Hello):
        raise HubError("conflict", "already joined: `hello` is the first frame only")
    check_allowed(conn.role, frame.type)
    actor = Actor(conn.identity, conn.role, conn.name)
    cmd = frame.command
    repeat = isinstance(cmd, protocol.Ask) and (conn.identity, cmd.key) in session.state.keys
    if not repeat:  # a retried ask answers with its item, whatever the rate
        limits.check(session.id, conn.identity, frame.type)
    try:
        return await _dispatch(session, actor, frame, limits)
    except HubError as exc:
        if exc.code == UNAVAILABLE and not repeat:  # it did not run: it costs nothing
            limits.refund(session.id, conn.identity, frame.type)
        raise


async def _dispatch(
    session: Session, actor: Actor, frame: protocol.Frame, limits: RateLimits
) -> dict[str, Any]:
    cmd = frame.command
    match cmd:
        case protocol.Caption():
            return await session.execute(lambda st: commands.caption(
                st, actor, lines=[cmd.text], lang=cmd.lang, final=cmd.final, seq=cmd.seq,
                now=now_ms()))
        case protocol.Ask():
            return await session.execute(lambda st: commands.ask(
                st, actor, kind=cmd.kind, text=cmd.text, key=cmd.key, lang=cmd.lang,
                anonymous=cmd.anonymous, on_behalf=cmd.on_behalf, backing=cmd.backing,
                now=now_ms()))
        case protocol.Vote():
            return await session.execute(lambda st: commands.vote(
                st, actor, cmd.item, cmd.undo, limits.budgets, now=now_ms()))
        case protocol.Withdraw():
            return await session.execute(lambda st: commands.withdraw(st, actor, cmd.item))
        case protocol.Moderate():
            return await session.execute(lambda st: commands.moderate(
                st, actor, cmd.item, cmd.action, text=cmd.text, into=cmd.into, before=cmd.before,
                seconds=cmd.seconds, now=now_ms()))
        case protocol.ChangeSession():
            return await session.execute(lambda st: commands.change_session(
                st, actor, new_state=cmd.state, settings=cmd.settings, now=now_ms()))
        case protocol.Floor():
            return await session.execute(lambda st: commands.floor(
                st, actor, ordering=cmd.ordering, weights=cmd.weights, budgets=cmd.budgets))
        case protocol.ChangeFlag():
            return await session.execute(lambda st: commands.flag(
                st, actor, kind=cmd.kind, text=cmd.text, item=cmd.item, caption=cmd.caption,
                flag_id=cmd.id, delete=cmd.delete, now=now_ms()))
        case protocol.Note():
            return await session.execute(
                lambda st: commands.note(st, actor, cmd.to, cmd.text, now_ms()))
        case protocol.HubStatus():
            return await session.execute(lambda st: commands.hub_status(
                st, actor, attendees=cmd.attendees, now=now_ms(),
                max_attendees=limits.max_attendees, jump=limits.attendee_jump))
        case protocol.Ban():
            return await session.execute(lambda st: commands.ban(
                st, actor, cmd.identity, cmd.reason, cmd.undo))
        case protocol.Forward():
            return await session.execute(lambda st: commands.forward(
                st, actor, cmd.item, cmd.backing, now_ms()))
        case protocol.Decline():
            return await session.execute(lambda st: commands.decline(
                st, actor, cmd.item, cmd.text))
        case protocol.Media():
            if session.media is None:
                raise unavailable_reason(None)
            return await session.media.grant(session, actor, cmd.want, cmd.take_over)
        case protocol.Voice():
            if session.media is None:
                return await session.execute(lambda st: voice.control(
                    st, actor, cmd.action, now_ms()))
            return await session.media.control(session, actor, cmd.action)
    raise HubError("bad_request", f"{frame.type!r} cannot be sent here")


def elapsed(start: float) -> float:
    return time.perf_counter() - start
