"""A whole session state as one fact, to put a session back into a log that lost it.

When Redis comes back without its data, the instances still hold each session's folded
state. One of them writes it back as a single `restored` fact under a fresh epoch:
readers then resume with `recovered: false` and a fresh snapshot, never with silently
wrong state.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from .captions import CaptionLine
from .facts import RestoredFact
from .items import Item
from .session import (
    Flag,
    HubState,
    Identity,
    LiveSpan,
    NamedToken,
    RelayState,
    SessionState,
    Settings,
    note_arrival,
)
from .voice import Intervention, VoiceState


def dump_state(state: SessionState) -> dict[str, Any]:
    """Everything `state` is, as JSON-ready data (log position excluded)."""
    return {
        "title": state.title,
        "state": state.state,
        "closed_at": state.closed_at,
        "languages": list(state.languages),
        "settings": state.settings.to_dict(),
        "created": state.created,
        "identities": [i.to_dict() for i in state.identities.values()],
        "items": [i.to_dict() for i in state.items.values()],
        "order": list(state.order),
        "live": state.live,
        "live_since": state.live_since,
        "live_limit": state.live_limit,
        "keys": [[who, key, item] for (who, key), item in state.keys.items()],
        "voters": {item: sorted(who) for item, who in state.voters.items()},
        "caption_seq": dict(state.caption_seq),
        "captions": [asdict(c) for c in state.captions],
        "partial": {lang: asdict(c) for lang, c in state.partial.items()},
        "hubs": {hub: asdict(h) for hub, h in state.hubs.items()},
        "banned": dict(state.banned),
        "tokens": [t.to_dict() for t in state.tokens.values()],
        "notes": {who: list(notes) for who, notes in state.notes.items()},
        "links": dict(state.links),
        "turns": [asdict(t) for t in state.turns],
        "flags": [f.to_dict() for f in state.flags.values()],
        "floor": dict(state.floor),
        "relay": asdict(state.relay) if state.relay is not None else None,
        "erased": sorted(state.erased),
        "voice": {**{k: v for k, v in asdict(state.voice).items() if k != "interventions"},
                  "interventions": [i.to_dict() for i in state.voice.interventions]},
    }


def restore(state: SessionState, fact: RestoredFact) -> None:
    """Fold a `restored` fact: the whole state it carries replaces what was there."""
    data = fact["state"]
    state.title, state.state = data["title"], data["state"]
    state.closed_at = data.get("closed_at")
    state.languages = list(data["languages"])
    state.settings = Settings(**data["settings"])
    state.created = data["created"]
    state.identities = {i["id"]: Identity(**i) for i in data["identities"]}
    if any("counted" not in i for i in data["identities"]):
        _count_older(state, data)
    state.arrivals = {}
    for identity in sorted(state.identities.values(), key=lambda i: i.joined):
        if identity.source:
            note_arrival(state, identity.source, identity.joined)
    state.items = {i["id"]: Item.from_dict(i) for i in data["items"]}
    state.order = list(data["order"])
    state.live, state.live_since, state.live_limit = (
        data["live"], data["live_since"], data["live_limit"])
    state.keys = {(who, key): item for who, key, item in data["keys"]}
    state.voters = {item: set(who) for item, who in data["voters"].items()}
    state.caption_seq = dict(data["caption_seq"])
    state.captions = [CaptionLine(**c) for c in data["captions"]]
    state.partial = {lang: CaptionLine(**c) for lang, c in data["partial"].items()}
    # A snapshot written before `peak` was kept: the count then is the best known peak.
    state.hubs = {hub: HubState(**{"peak": h["attendees"], **h})
                  for hub, h in data["hubs"].items()}
    state.banned = dict(data["banned"])
    state.tokens = {t["identity"]: NamedToken(**t) for t in data.get("tokens", ())}
    state.notes = {who: list(notes) for who, notes in data["notes"].items()}
    state.links = dict(data["links"])
    state.turns = [LiveSpan(**t) for t in data["turns"]]
    state.flags = {f["id"]: Flag(**f) for f in data["flags"]}
    state.floor = dict(data["floor"])
    relay = data.get("relay")
    state.relay = RelayState(**relay) if relay is not None else None
    state.erased = set(data.get("erased", ()))
    voice = dict(data.get("voice") or {})
    records = [Intervention(**i) for i in voice.pop("interventions", ())]
    state.voice = VoiceState(**voice, interventions=records)
    state.tops = {}  # a fresh epoch: every channel starts again


def _count_older(state: SessionState, data: dict[str, Any]) -> None:
    """A state dumped before identities recorded when they started to count in the figures
    (`Identity.counted`): those who declared a profile, asked or voted count from when
    they joined, as near as the dump tells."""
    acted = {i["author_id"] for i in data["items"]}
    acted.update(who for voters in data["voters"].values() for who in voters)
    for raw in data["identities"]:
        identity = state.identities[raw["id"]]
        if "counted" not in raw and (identity.profile or identity.id in acted):
            state.identities[identity.id] = replace(identity, counted=identity.joined)
