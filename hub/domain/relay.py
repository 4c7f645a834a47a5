"""A hub's relay: the meeting upstream, mirrored into the relay's own session.

A regional hub runs `hub relay` next to its room. The room's phones and projector
read the relay's session, which holds two things:

- the meeting as its public channel shows it (captions, the public queue, the floor,
  the session's state), each upstream event recorded as one `mirror` fact together
  with the upstream position it came from, so local readers get every upstream event
  exactly once and in order, with local offsets, and a restarted relay resumes
  upstream where it stood;
- the room's own items: attendees ask the hub, the hub's moderator forwards some (or
  the hub asks itself); each goes into the relay's `outbox` until the meeting has
  acknowledged it (`relay_sent`, which maps the local id to the meeting's id). What
  the meeting's moderators do with it comes back on the hub's private channel and is
  mirrored onto the local item, so its author sees it.

Everything here is pure: deciding functions return a `Decision`; `fold_<kind>` records;
`project_<kind>` says which local channel events a fact makes (both through the one table,
`hub.domain.fact_kinds`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..errors import conflict
from . import items as it
from .captions import CaptionLine
from .commands import Decision
from .facts import ItemsFact, MirrorFact, RelayLinkFact, RelayResyncFact, RelaySentFact
from .items import Item
from .roles import MODERATION, PRIVATE, PUBLIC, private_channel
from .session import NOTES_KEPT, STATES, RelayState, SessionState
from .views import (
    ItemAction,
    Projection,
    caption_data,
    item_events,
    moderation_item,
    public_item,
    session_data,
)

ASK, WITHDRAW = "ask", "withdraw"


def relay_of(state: SessionState) -> RelayState:
    if state.relay is None:
        raise conflict("this session is not a hub's relay")
    return state.relay


def link_status(state: SessionState) -> dict[str, Any]:
    """What local pages show of the link to the meeting."""
    relay = relay_of(state)
    return {"connected": relay.linked, "since": relay.since, "hub": relay.hub_name,
            "waiting": len(relay.outbox), "refused": relay.refused}


# -- deciding ------------------------------------------------------------------------


def mirrored_item(data: dict[str, Any]) -> Item:
    """A meeting's item, from its public view, as the relay's session keeps it."""
    author = data.get("author")
    return Item(
        id=str(data["id"]),
        kind=str(data.get("kind") or "question"),
        text=str(data.get("text") or ""),
        status=_status(data.get("status")),
        origin=str(data.get("origin") or "remote"),
        author_id=it.UPSTREAM,
        author=str(author) if author is not None else "",
        anonymous=author is None,
        lang=str(data.get("lang") or ""),
        created=_int(data.get("created")),
        votes=_int(data.get("votes")),
        reason=_opt_str(data.get("reason")),
        into=_opt_str(data.get("into")),
        public=True,
        edited=bool(data.get("edited")),
        affiliation=_opt_str(data.get("affiliation")),
        backing=_int(data["backing"]) if data.get("backing") is not None else None,
        # A name a hub declared for its attendee stays labelled so on this hub's pages too.
        on_behalf=data.get("hub_attendee") is True and author is not None,
    )


def _status(value: Any) -> str:
    return value if value in it.STATUSES else it.PENDING


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _updated(local: Item, data: dict[str, Any]) -> Item:
    """A local item after the meeting changed its upstream copy (status, votes, text...).
    It stays private to the room: the meeting's public queue shows the upstream copy."""
    changes: dict[str, Any] = {}
    if data.get("status") in it.STATUSES:
        changes["status"] = data["status"]
    if isinstance(data.get("votes"), int):
        changes["votes"] = data["votes"]
    if isinstance(data.get("text"), str) and data["text"]:
        changes["text"] = data["text"]
    changes["reason"] = _opt_str(data.get("reason"))
    changes["into"] = _opt_str(data.get("into"))
    changes["edited"] = bool(data.get("edited"))
    return replace(local, **changes)


def _local_id(relay: RelayState, upstream_id: str) -> str | None:
    for local, upstream in relay.sent.items():
        if upstream == upstream_id:
            return local
    return None


def _follows(relay: RelayState, channel: str, epoch: str, offset: int) -> bool | None:
    """True when (epoch, offset) is the next upstream event on `channel`, None when it was
    mirrored already; `conflict` when it leaves a hole (the link resumes from the last)."""
    known = relay.positions.get(channel)
    if known is not None and known[0] == epoch and offset <= known[1]:
        return None
    if known is None or known[0] != epoch or offset != known[1] + 1:
        raise conflict(f"upstream {channel} event {epoch}/{offset} does not follow {known}")
    return True


def mirror(state: SessionState, channel: str, frame: dict[str, Any]) -> Decision:
    """One upstream event (`frame` as the meeting sent it) on `channel`."""
    relay = relay_of(state)
    epoch, offset = str(frame.get("epoch")), frame.get("offset")
    if not isinstance(offset, int) or channel not in (PUBLIC, PRIVATE):
        raise conflict(f"upstream frame without a position on a known channel: {frame!r:.200}")
    if _follows(relay, channel, epoch, offset) is None:
        return Decision(None, {"duplicate": True})
    kind, data = frame.get("kind"), frame.get("data")
    if not isinstance(kind, str) or not isinstance(data, dict):
        kind, data = "ignored", {}  # kept as a position: nothing else of it
    fact: MirrorFact = {"kind": "mirror", "channel": channel, "epoch": epoch,
                        "offset": offset, "event": kind, "data": data,
                        "ts": _int(frame.get("ts"))}
    if channel == PUBLIC and kind == "item" and "id" in data:
        fact["item"] = mirrored_item(data).to_dict()
    elif channel == PRIVATE and kind == "item" and "id" in data:
        local = _local_id(relay, str(data["id"]))
        if local is not None and local in state.items:
            fact["items"] = [_updated(state.items[local], data).to_dict()]
        elif "anonymous" in data:  # the hub's own item, which its ask's ack has not named
            fact["unmatched"] = True  # yet (the event comes before the ack)
    return Decision(fact)


def resync(state: SessionState, welcome: dict[str, Any], now: int) -> Decision:
    """The meeting welcomed the relay: record where each upstream channel stands and,
    for a channel it could not resume, bring the mirror up to the snapshot."""
    relay = relay_of(state)
    channels = welcome.get("channels") or {}
    positions = {name: [str(pos["epoch"]), int(pos["offset"])]
                 for name, pos in channels.items() if name in (PUBLIC, PRIVATE)}
    fact: RelayResyncFact = {"kind": "relay_resync", "positions": positions, "ts": now}
    snap = welcome.get("snapshot") or {}
    own = [i for i in snap.get("items", ()) if isinstance(i, dict) and "anonymous" in i]
    if not channels.get(PUBLIC, {}).get("recovered"):
        _resync_public(state, welcome, snap, fact)
    if not channels.get(PRIVATE, {}).get("recovered"):
        locals_, unmatched = [], {}
        for data in own:
            local = _local_id(relay, str(data.get("id")))
            if local is not None and local in state.items:
                after = _updated(state.items[local], data)
                if after != state.items[local]:
                    locals_.append(after.to_dict())
            elif data.get("id") not in relay.sent.values():
                unmatched[str(data.get("id"))] = data
        fact["locals"], fact["unmatched"] = locals_, unmatched
    return Decision(fact)


def _resync_public(state: SessionState, welcome: dict[str, Any], snap: dict[str, Any],
                   fact: RelayResyncFact) -> None:
    relay = relay_of(state)
    public = [i for i in snap.get("items", ()) if isinstance(i, dict) and "id" in i
              and ("anonymous" not in i or i.get("public") or i["id"] in state.items)
              and "hub" not in i]
    changed = []
    for data in public:
        item = mirrored_item(data)
        if state.items.get(item.id) != item:
            changed.append(item.to_dict())
    fact["items"] = changed
    order = [i for i in snap.get("order", ()) if isinstance(i, str)]
    if order != state.order:
        fact["order"] = order
    voice = snap.get("voice")
    if isinstance(voice, dict) and voice != relay.voice:
        fact["voice"] = voice  # the meeting's live audio, for pages that join the relay later
    lines = []
    for lang, bucket in (snap.get("captions") or {}).items():
        last = relay.caption_ts.get(lang, 0)
        seen = {c.text for c in state.captions if c.lang == lang and c.ts == last}
        for line in bucket:
            ts = _int(line.get("ts"))
            if ts > last or (ts == last and line.get("text") not in seen):
                lines.append({**line, "lang": lang, "ts": ts, "final": True})
    fact["captions"] = lines
    floor = snap.get("floor") or {}
    now_floor = {"item": state.live, "since": state.live_since, "limit": state.live_limit}
    wanted = {k: floor.get(k) for k in ("item", "since", "limit")}
    if wanted != now_floor:
        fact["floor"] = {**wanted, "speaker": floor.get("speaker")}
    session = welcome.get("session") or {}
    changes = {k: session[k] for k in ("title", "state", "languages")
               if k in session and session[k] != getattr(state, k)}
    if changes.get("state", state.state) in STATES:
        fact["session"] = changes


def link(state: SessionState, connected: bool, now: int, refused: str | None = None,
         ) -> Decision:
    """The link to the meeting came up or went down (`refused`: the meeting turned the
    hub's token away, and said why)."""
    relay = relay_of(state)
    if relay.linked == connected and relay.refused == refused:
        return Decision(None)
    fact: RelayLinkFact = {"kind": "relay_link", "connected": connected, "ts": now}
    if refused is not None:
        fact["refused"] = refused
    return Decision(fact)


def sent(state: SessionState, op: dict[str, str], upstream_id: str | None,
         refused: str | None = None) -> Decision:
    """The meeting acknowledged (or refused, for good) one outbox entry."""
    relay = relay_of(state)
    if op not in relay.outbox:
        return Decision(None)
    fact: RelaySentFact = {"kind": "relay_sent", "op": op, "upstream": upstream_id}
    local = state.items.get(op["item"])
    if local is not None and op["op"] == ASK:
        if refused is not None:
            fact["items"] = [replace(local, status=it.REJECTED,
                                     reason=f"The meeting did not take it: {refused}").to_dict()]
        elif upstream_id is not None and upstream_id in relay.unmatched:
            fact["items"] = [_updated(local, relay.unmatched[upstream_id]).to_dict()]
    return Decision(fact, {"item": op["item"]})


# -- recording -----------------------------------------------------------------------


def fold_mirror(state: SessionState, fact: MirrorFact) -> None:
    _apply_mirror(state, relay_of(state), fact)


def fold_resync(state: SessionState, fact: RelayResyncFact) -> None:
    relay = relay_of(state)
    relay.positions.update(fact["positions"])
    _apply_public_resync(state, relay, fact)
    for data in fact.get("locals", ()):
        state.items[data["id"]] = Item.from_dict(data)
    relay.unmatched.update(fact.get("unmatched", {}))


def fold_link(state: SessionState, fact: RelayLinkFact) -> None:
    relay = relay_of(state)
    relay.linked, relay.since = fact["connected"], fact["ts"]
    relay.refused = fact.get("refused")


def fold_sent(state: SessionState, fact: RelaySentFact) -> None:
    relay = relay_of(state)
    relay.outbox.remove(fact["op"])
    if fact["op"]["op"] == ASK and fact["upstream"] is not None:
        relay.sent[fact["op"]["item"]] = fact["upstream"]
        relay.unmatched.pop(fact["upstream"], None)
    for data in fact.get("items", ()):
        state.items[data["id"]] = Item.from_dict(data)


def _apply_mirror(state: SessionState, relay: RelayState, fact: MirrorFact) -> None:
    relay.positions[fact["channel"]] = [fact["epoch"], fact["offset"]]
    event, data = fact["event"], fact["data"]
    if fact["channel"] == PRIVATE:
        for raw in fact.get("items", ()):
            state.items[raw["id"]] = Item.from_dict(raw)
        if fact.get("unmatched"):
            relay.unmatched[str(data["id"])] = data
        elif event == "note":
            _add_note(state, relay.hub, data)
        return
    if event == "caption":
        _add_caption(state, relay, {**data, "ts": fact["ts"]})
    elif event == "item" and "item" in fact:
        state.items[fact["item"]["id"]] = Item.from_dict(fact["item"])
    elif event == "order":
        state.order = [i for i in data.get("items", ()) if isinstance(i, str)]
    elif event == "session":
        _set_session(state, data)
    elif event == "floor":
        state.live, state.live_since, state.live_limit = (
            data.get("item"), data.get("since"), data.get("limit"))
    elif event == "voice":
        relay.voice = dict(data)


def _apply_public_resync(state: SessionState, relay: RelayState, fact: RelayResyncFact
                         ) -> None:
    for data in fact.get("items", ()):
        state.items[data["id"]] = Item.from_dict(data)
    if "order" in fact:
        state.order = list(fact["order"])
    if "voice" in fact:
        relay.voice = dict(fact["voice"])
    for line in fact.get("captions", ()):
        _add_caption(state, relay, line)
    if "floor" in fact:
        floor = fact["floor"]
        state.live, state.live_since, state.live_limit = (
            floor["item"], floor["since"], floor["limit"])
    if "session" in fact:
        _set_session(state, fact["session"])


def _add_caption(state: SessionState, relay: RelayState, data: dict[str, Any]) -> None:
    line = _line(state, data)
    if line.final:
        state.captions.append(line)
        state.partial.pop(line.lang, None)
        relay.caption_ts[line.lang] = max(relay.caption_ts.get(line.lang, 0), line.ts)
    else:
        state.partial[line.lang] = line


def _set_session(state: SessionState, data: dict[str, Any]) -> None:
    if isinstance(data.get("title"), str):
        state.title = data["title"]
    if data.get("state") in STATES:
        state.state = data["state"]
    languages = data.get("languages")
    if isinstance(languages, list) and languages and all(isinstance(x, str) for x in languages):
        state.languages = list(languages)


def _add_note(state: SessionState, hub: str, data: dict[str, Any]) -> None:
    notes = state.notes.setdefault(hub, [])
    notes.append({"text": str(data.get("text", "")), "from": str(data.get("from", "")),
                  "ts": _int(data.get("ts"))})
    del notes[:-NOTES_KEPT]


def owe_upstream(state: SessionState, fact: ItemsFact) -> None:
    """After an `items` fact on a relay: what the meeting must now be told."""
    relay = relay_of(state)
    relay.outbox = owed(relay, fact)


def owed(relay: RelayState, fact: ItemsFact) -> list[dict[str, str]]:
    """The outbox after an `items` fact: a forwarded item (or the hub's own) is asked
    upstream; a withdrawn one is withdrawn there too (or, never sent, is not sent)."""
    outbox = list(relay.outbox)
    action = fact.get("action")
    for data in fact["items"]:
        item_id = data["id"]
        if action in ("forward", "ask") and data["status"] == it.PENDING:
            if item_id not in relay.sent:
                outbox.append({"op": ASK, "item": item_id})
        elif action == "withdraw":
            ask = {"op": ASK, "item": item_id}
            if ask in outbox:
                outbox.remove(ask)
            elif item_id in relay.sent:
                outbox.append({"op": WITHDRAW, "item": item_id})
    return outbox


def outbox_events(state: SessionState, fact: ItemsFact) -> list[Projection]:
    """A `relay` event for the room when an `items` fact changes what is owed upstream."""
    relay = relay_of(state)
    after = owed(relay, fact)
    if len(after) == len(relay.outbox):
        return []
    return [(PUBLIC, "relay", {**link_status(state), "waiting": len(after)})]


# -- what local readers get ----------------------------------------------------------

_UPSTREAM_ACTION: ItemAction = {"action": "upstream", "by_name": None}


def project_resync(state: SessionState, fact: RelayResyncFact) -> list[Projection]:
    out = _mirrored(fact.get("items", ()), fact.get("order"))
    lines = fact.get("captions", ())
    out += [(PUBLIC, "caption", caption_data(_line(state, c))) for c in lines]
    if "floor" in fact:
        out.append((PUBLIC, "floor", dict(fact["floor"])))
    if "voice" in fact:
        out.append((PUBLIC, "voice", dict(fact["voice"])))
    if fact.get("session"):
        out.append((PUBLIC, "session", {**session_data(state), **fact["session"]}))
    for data in fact.get("locals", ()):
        out += item_events(state, Item.from_dict(data), _UPSTREAM_ACTION)
    return out


def project_link(state: SessionState, fact: RelayLinkFact) -> list[Projection]:
    status = {**link_status(state), "connected": fact["connected"], "since": fact["ts"],
              "refused": fact.get("refused")}
    return [(PUBLIC, "relay", status)]


def project_sent(state: SessionState, fact: RelaySentFact) -> list[Projection]:
    out = []
    for data in fact.get("items", ()):
        out += item_events(state, Item.from_dict(data), _UPSTREAM_ACTION)
    waiting = len(relay_of(state).outbox) - 1  # this entry is done
    out.append((PUBLIC, "relay", {**link_status(state), "waiting": waiting}))
    return out


def project_mirror(state: SessionState, fact: MirrorFact) -> list[Projection]:
    event, data = fact["event"], fact["data"]
    if fact["channel"] == PRIVATE:
        out: list[Projection] = []
        for raw in fact.get("items", ()):
            out += item_events(state, Item.from_dict(raw), _UPSTREAM_ACTION)
        if event == "note" and not fact.get("unmatched"):
            relay = relay_of(state)
            note = {"text": str(data.get("text", "")), "from": str(data.get("from", "")),
                    "ts": _int(data.get("ts"))}
            out.append((private_channel(relay.hub), "note", note))
        return out
    if event == "ignored":
        return []
    if event == "caption":
        return [(PUBLIC, "caption", caption_data(_line(state, {**data, "ts": fact["ts"]})))]
    if event == "item":
        return _mirrored([fact["item"]], None) if "item" in fact else []
    if event == "order":
        return _mirrored((), data.get("items", []))
    if event == "session":
        after = {**session_data(state)}
        after.update({k: data[k] for k in ("title", "state", "languages") if k in data})
        return [(PUBLIC, "session", after)]
    return [(PUBLIC, event, data)]  # a kind this relay does not know: passed on as it came


def _mirrored(items: Any, order: list[str] | None) -> list[Projection]:
    out: list[Projection] = []
    for data in items:
        item = Item.from_dict(data)
        out.append((PUBLIC, "item", public_item(item)))
        out.append((MODERATION, "item", {**moderation_item(item), **_UPSTREAM_ACTION}))
    if order is not None:
        listed = {"items": [i for i in order if isinstance(i, str)]}
        out.append((PUBLIC, "order", listed))
        out.append((MODERATION, "order", listed))
    return out


def _line(state: SessionState, data: dict[str, Any]) -> CaptionLine:
    return CaptionLine(ts=_int(data.get("ts")), text=str(data.get("text") or ""),
                       lang=str(data.get("lang") or state.floor_language),
                       final=data.get("final", True) is not False, seq=data.get("seq"),
                       item=data.get("item"), speaker=data.get("speaker"))
