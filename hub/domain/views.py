"""What each reader sees: the events a fact puts on each channel (`project_<kind>`, through
`hub.domain.fact_kinds.project`), and the join snapshot.

Projection is where permissions on reads live: a participant's channels never
carry another person's pending item, the moderation view, or a profile.
"""

from __future__ import annotations

from copy import copy
from dataclasses import replace
from typing import Any, TypedDict

from .captions import CaptionLine
from .facts import (
    BanFact,
    CaptionFact,
    ErasedFact,
    Fact,
    FlagFact,
    FloorFact,
    HubStatusFact,
    ItemsFact,
    NoteFact,
    SessionChangedFact,
    VoiceFact,
    VoteFact,
)
from .items import APPROVED, LOCAL, PENDING, Item, hub_declared
from .roles import HUB, MODERATION, PUBLIC, STAFF, has_private, private_channel
from .session import SNAPSHOT_CAPTIONS, HubState, SessionState
from .voice import voice_data

# (channel key, event kind, data)
Projection = tuple[str, str, dict[str, Any]]
# The facts after which the `voice` event may change (who may publish).
VoiceChanging = SessionChangedFact | ItemsFact | BanFact | ErasedFact | VoiceFact


class ItemAction(TypedDict):
    """What the moderators' view of a changed item says was done, and by whom."""

    action: str
    by_name: str | None


def public_item(item: Item) -> dict[str, Any]:
    """An item as everyone sees it: no author for anonymous items, no author id."""
    return {
        "id": item.id,
        "kind": item.kind,
        "text": item.text,
        "status": item.status,
        "origin": item.origin,
        "author": None if item.anonymous else item.author,
        "affiliation": None if item.anonymous else item.affiliation,
        "lang": item.lang,
        "votes": item.votes,
        "reason": item.reason,
        "into": item.into,
        "edited": item.edited,
        "created": item.created,
        "backing": item.backing,
        "hub_attendee": hub_attendee(item),
    }


def hub_attendee(item: Item) -> bool:
    """Whether a hub asked `item` on behalf of one of its attendees, under the name the hub
    declared: pages label it "forwarded by <hub> on behalf of an attendee"."""
    return hub_declared(item)


def own_item(item: Item) -> dict[str, Any]:
    """An item as its author sees it: their own name even when asked anonymously."""
    return {**public_item(item), "author": item.author, "anonymous": item.anonymous,
            "public": item.public}


def moderation_item(item: Item) -> dict[str, Any]:
    """An item as moderators see it: everything, including who asked an anonymous item."""
    return {**own_item(item), "author_id": item.author_id, "affiliation": item.affiliation,
            "on_behalf": item.on_behalf, "hub": item.hub}


def caption_data(line: CaptionLine) -> dict[str, Any]:
    data: dict[str, Any] = {"text": line.text, "lang": line.lang, "final": line.final}
    if line.seq is not None:
        data["seq"] = line.seq
    if line.item is not None:
        data["item"] = line.item
    if line.speaker is not None:
        data["speaker"] = line.speaker
    return data


def session_data(state: SessionState) -> dict[str, Any]:
    return {
        "id": state.id,
        "title": state.title,
        "state": state.state,
        "languages": list(state.languages),
        "settings": state.settings.to_dict(),
    }


def floor_data(state: SessionState) -> dict[str, Any]:
    """Who has the floor, since when (ms) and for how many seconds (None: no limit)."""
    return {
        "item": state.live,
        "speaker": state.speaker(),
        "since": state.live_since,
        "limit": state.live_limit,
    }


def project_nothing(state: SessionState, fact: Fact) -> list[Projection]:
    return []


def project_session(state: SessionState, fact: SessionChangedFact) -> list[Projection]:
    data = session_data(state)
    for key in ("title", "state", "languages", "settings"):
        if key in fact:
            data[key] = fact[key]
    return [(PUBLIC, "session", data), *_voice_if_changed(state, fact)]


def _voice_if_changed(state: SessionState, fact: VoiceChanging) -> list[Projection]:
    """The `voice` events, when `fact` (a ban, an erasure, the session closed) changes
    who may publish."""
    if state.live is None and state.voice.desk is None:
        return []
    after = _voice_after(state, fact)
    return after if after[1][2] != voice_data(state, staff=True) else []


def project_items(state: SessionState, fact: ItemsFact | ErasedFact) -> list[Projection]:
    out: list[Projection] = []
    for raw in fact["items"]:
        item = Item.from_dict(raw)
        out.extend(item_events(state, item, fact))
    if "order" in fact:
        order = {"items": list(fact["order"])}
        out.append((PUBLIC, "order", order))
        out.append((MODERATION, "order", order))
    if fact["kind"] == "items" and "live" in fact:
        live = fact["live"]
        speaker = None
        if live is not None:
            item = Item.from_dict(next(i for i in fact["items"] if i["id"] == live))
            speaker = None if item.anonymous else item.author
        floor = {"item": live, "speaker": speaker, "since": fact.get("since"),
                 "limit": fact.get("limit")}
        out.append((PUBLIC, "floor", floor))
        if voice_data(state)["item"] is not None or _remote(fact):
            out += _voice_after(state, fact)
    return out


def _remote(fact: ItemsFact | ErasedFact) -> bool:
    """Whether a floor change gives the floor to a remote item (its voice event follows)."""
    live = fact.get("live")
    raw = next((i for i in fact["items"] if i["id"] == live), None) if live else None
    return raw is not None and raw.get("origin") != "room" and not raw.get("on_behalf")


def item_events(state: SessionState, item: Item, fact: ItemAction) -> list[Projection]:
    out: list[Projection] = []
    if item.public:
        out.append((PUBLIC, "item", public_item(item)))
    mod = moderation_item(item)
    mod["action"] = fact["action"]
    mod["by"] = fact.get("by_name")
    out.append((MODERATION, "item", mod))
    author = state.identities.get(item.author_id)
    if author is not None and has_private(author.role):
        out.append((private_channel(item.author_id), "item", own_item(item)))
    if item.hub is not None and item.hub != item.author_id:
        # The hub follows the items its attendees ask: its local queue, and what became of
        # the ones it forwarded.
        out.append((private_channel(item.hub), "item", {**public_item(item), "hub": item.hub}))
    return out


def project_vote(state: SessionState, fact: VoteFact) -> list[Projection]:
    item = state.items[fact["item"]]
    after = Item.from_dict({**item.to_dict(), "votes": fact["votes"]})
    vote_action: ItemAction = {"action": "unvote" if fact["undo"] else "vote", "by_name": None}
    out = item_events(state, after, vote_action)
    voter = private_channel(fact["by"])
    out.append((voter, "vote", {"item": item.id, "voted": not fact["undo"]}))
    return out


def project_caption(state: SessionState, fact: CaptionFact) -> list[Projection]:
    out: list[Projection] = []
    for text in fact["lines"]:
        line = CaptionLine(
            ts=fact["ts"],
            text=text,
            lang=fact["lang"],
            final=fact["final"],
            seq=fact.get("seq"),
            item=fact.get("item"),
            speaker=fact.get("speaker"),
        )
        out.append((PUBLIC, "caption", caption_data(line)))
    return out


def project_note(state: SessionState, fact: NoteFact) -> list[Projection]:
    data = {"text": fact["text"], "from": fact["from"], "ts": fact.get("ts", 0)}
    return [(private_channel(fact["to"]), "note", data)]


def project_ban(state: SessionState, fact: BanFact) -> list[Projection]:
    out: list[Projection] = []
    for raw in fact.get("items", ()):
        done: ItemAction = {"action": fact["action"], "by_name": fact.get("by_name")}
        out.extend(item_events(state, Item.from_dict(raw), done))
    name = _holder_name(state, fact["identity"])
    out.append((MODERATION, "ban", {"identity": fact["identity"], "name": name,
                                    "banned": not fact["undo"], "reason": fact.get("reason")}))
    return [*out, *_voice_if_changed(state, fact)]


def _holder_name(state: SessionState, identity_id: str) -> str:
    holder = state.holder(identity_id)
    return holder[1] if holder is not None else identity_id


def project_flag(state: SessionState, fact: FlagFact) -> list[Projection]:
    if fact.get("deleted"):
        return [(MODERATION, "flag", {"id": fact["id"], "deleted": True})]
    data = {k: fact.get(k) for k in ("id", "text", "item", "caption", "ts")}
    data.update({"kind": fact["type"], "by": fact["by_name"]})
    return [(MODERATION, "flag", data)]


def project_floor(state: SessionState, fact: FloorFact) -> list[Projection]:
    data: dict[str, Any] = dict(state.floor)
    data.update({k: fact[k] for k in ("ordering", "weights", "budgets") if k in fact})
    return [(MODERATION, "floor_settings", data)]


def roll_call_entry(state: SessionState, hub: str, status: HubState) -> dict[str, Any]:
    """One hub in the moderators' roll call."""
    identity = state.identities.get(hub)
    waiting = sum(1 for i in state.items.values()
                  if i.hub == hub and i.status in (LOCAL, PENDING, APPROVED))
    return {
        "hub": hub,
        "name": identity.name if identity else hub,
        "place": dict(identity.place) if identity else {},
        "attendees": status.attendees,
        "connected": status.connected,
        "last_seen": status.last_seen,
        "waiting": waiting,
        "jump": status.jump,  # the count before an implausible jump in the latest report
    }


def project_hub_status(state: SessionState, fact: HubStatusFact) -> list[Projection]:
    known = state.hubs.get(fact["by"], HubState())
    jump = fact.get("jump") if "attendees" in fact else known.jump
    after = HubState(fact.get("attendees", known.attendees),
                     fact.get("connected", known.connected), fact.get("ts", known.last_seen), jump)
    return [(MODERATION, "hub_status", roll_call_entry(state, fact["by"], after))]


def _voice_after(state: SessionState, fact: VoiceChanging) -> list[Projection]:
    """The `voice` event as it stands after `fact` (projections see the state before it)."""
    from .fact_kinds import apply  # the table names this module's projections

    # Only the containers the fold of an items, ban, erased or voice fact changes are
    # copied (a whole deep copy would cost a long session's captions each time).
    after = replace(state, items=dict(state.items), order=list(state.order),
                    turns=list(state.turns), identities=dict(state.identities),
                    keys=dict(state.keys), voters={k: set(v) for k, v in state.voters.items()},
                    banned=dict(state.banned), erased=set(state.erased), relay=None,
                    voice=replace(copy(state.voice),
                                  interventions=list(state.voice.interventions)))
    apply(after, fact)
    return [(PUBLIC, "voice", voice_data(after)),
            (MODERATION, "voice", voice_data(after, staff=True))]


def project_erased(state: SessionState, fact: ErasedFact) -> list[Projection]:
    return [*project_items(state, fact), *_voice_if_changed(state, fact)]


def project_voice(state: SessionState, fact: VoiceFact) -> list[Projection]:
    return _voice_after(state, fact)

def _own_ids(state: SessionState, identity_id: str) -> set[str]:
    return {i.id for i in state.items.values()
            if i.author_id == identity_id or i.hub == identity_id}


def visible_items(state: SessionState, role: str, identity_id: str) -> list[dict[str, Any]]:
    """The items a reader may see, each in the view its role gets, oldest first."""
    if role in STAFF:
        return [moderation_item(item) for item in state.items.values()]
    out = []
    for item in state.items.values():
        if item.author_id == identity_id and has_private(role):
            out.append(own_item(item))
        elif role == HUB and item.hub == identity_id:
            out.append({**public_item(item), "hub": item.hub})
        elif item.public:
            out.append(public_item(item))
    return out


LITE_CAPTIONS = 10


def snapshot(
    state: SessionState, role: str, identity_id: str, *, lite: bool = False
) -> dict[str, Any]:
    """The state a fresh reader starts from (presence is added by the server). A `lite`
    (low-bandwidth) reader gets its own items only, no queue and fewer caption lines."""
    keep = LITE_CAPTIONS if lite else SNAPSHOT_CAPTIONS
    captions: dict[str, list[dict[str, Any]]] = {lang: [] for lang in state.languages}
    for line in reversed(state.captions):
        bucket = captions.setdefault(line.lang, [])
        if len(bucket) < keep:
            bucket.append({**caption_data(line), "ts": line.ts})
    for bucket in captions.values():
        bucket.reverse()
    items = visible_items(state, role, identity_id)
    if lite:
        items = [i for i in items if i["id"] in _own_ids(state, identity_id)]
    snap: dict[str, Any] = {
        "items": items,
        "order": [] if lite else list(state.order),
        "floor": floor_data(state),
        "voice": _voice_snapshot(state, role),
        "captions": captions,
        "partial": {lang: caption_data(line) for lang, line in state.partial.items()},
    }
    if has_private(role):
        snap["votes"] = sorted(i for i, v in state.voters.items() if identity_id in v)
        snap["notes"] = list(state.notes.get(identity_id, ()))
    if role == HUB:
        own = state.hubs.get(identity_id)
        snap["attendees"] = own.attendees if own else 0
    if role == "captioner":
        snap["caption_seq"] = dict(state.caption_seq)
    if state.relay is not None:
        from .relay import link_status

        snap["relay"] = link_status(state)
    if role in STAFF:
        snap["floor_settings"] = dict(state.floor)
        snap["banned"] = [{"identity": i, "name": _holder_name(state, i), "reason": r}
                          for i, r in state.banned.items()]
        snap["flags"] = [
            {**{k: v for k, v in f.to_dict().items() if k != "kind"}, "kind": f.kind}
            for f in state.flags.values()
        ]
        snap["hubs"] = [roll_call_entry(state, h, s) for h, s in state.hubs.items()]
    return snap


# Roles listed by `token_holders` when they joined by a join link (participants are too
# many: moderators remove them from the people list).
LISTED_ROLES = ("moderator", "captioner", "hub", "screen")


def token_holders(state: SessionState) -> list[dict[str, Any]]:
    """Who holds a token of this session that the organizer may revoke: every named token
    minted (used or not), and every moderator, captioner, hub and screen that joined by a
    join link. Oldest first (`since`: minted or joined, ms); tokens themselves are never
    kept."""
    out: list[dict[str, Any]] = []
    for minted in state.tokens.values():
        out.append({"identity": minted.identity, "role": minted.role, "name": minted.name,
                    "named": True, "expires": minted.expires, "minted_by": minted.by,
                    "since": minted.ts, "joined": minted.identity in state.identities,
                    "revoked": minted.identity in state.banned})
    for ident in state.identities.values():
        if ident.role in LISTED_ROLES and ident.id not in state.tokens:
            out.append({"identity": ident.id, "role": ident.role, "name": ident.name,
                        "named": False, "expires": None, "minted_by": None,
                        "since": ident.joined, "joined": True,
                        "revoked": ident.id in state.banned})
    out.sort(key=lambda entry: entry["since"])
    return out


def _voice_snapshot(state: SessionState, role: str) -> dict[str, Any]:
    """`snapshot.voice`: this session's, or on a hub's relay the meeting's as mirrored
    (its pages follow the meeting's live audio, whenever they join)."""
    if state.relay is not None and state.relay.voice is not None:
        return dict(state.relay.voice)
    return voice_data(state, staff=role in STAFF)
