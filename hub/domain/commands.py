"""Deciding commands: check one against the current state and say what it changes.

Every function here is pure: it reads a `SessionState` and returns a `Decision`
whose fact (if any) is appended to the session's log and then applied. A refusal
is a `HubError` with the wire code. Nothing here mutates the state.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, cast

from ..errors import (
    BAD_REQUEST,
    FORBIDDEN,
    RATE_LIMITED,
    TOO_LARGE,
    HubError,
    bad_request,
    conflict,
    forbidden,
    not_found,
)
from . import items as it
from . import ordering as orderings
from .captions import match_language
from .facts import (
    BanFact,
    CaptionFact,
    CreatedFact,
    Fact,
    FlagFact,
    FloorFact,
    HubStatusFact,
    IdentityFact,
    ItemsFact,
    NoteFact,
    RotateFact,
    SessionChangedFact,
    TokenFact,
    VoteFact,
)
from .items import Item
from .names import NameProblem, check_chosen_name, clean_name
from .roles import (
    CAPTIONER,
    HUB,
    LINK_ROLES,
    ORGANIZER,
    PARTICIPANT,
    STAFF,
    check_may_mint,
    check_may_revoke,
    has_private,
)
from .session import (
    CLOSED,
    SCHEDULED,
    STAKEHOLDERS,
    STATES,
    SessionState,
    Settings,
    banned_source,
)
from .sources import Budgets, bannable, identity_budget, vote_budget, wait_ms

NAME_MAX = 80
TITLE_MAX = 200  # a session's title; programme imports check the same limit
NAMES_A_ROLE = STAFF | {CAPTIONER}  # roles whose chosen names may say what they are
# What a moderator may change during the meeting (the organizer may change every setting).
MODERATOR_SETTINGS = frozenset({"list_closed", "speaking_time"})
MAX_ATTENDEES = 1_000_000  # what the wire takes at all; HUB_MAX_ATTENDEES bounds reports
JUMP_FACTOR = 2  # a report above twice the last count and ...
JUMP_ADD = 200  # ... more than this many above it is marked for the moderators


@dataclass(frozen=True, slots=True)
class Actor:
    """Who sends a command: an identity id, its role and display name."""

    id: str
    role: str
    name: str


@dataclass(frozen=True, slots=True)
class Decision:
    """What a command does: a fact to append (None: nothing changes) and the ack's fields."""

    fact: Fact | None
    result: dict[str, Any] = field(default_factory=dict)


def _open_for_input(state: SessionState, what: str) -> None:
    if state.state == CLOSED:
        raise conflict(f"the session is closed: it accepts no new {what}")


def check_text(text: str, limit: int, what: str) -> str:
    """`text` stripped; `bad_request` when empty, `too_large` when over `limit` characters."""
    text = text.strip()
    if not text:
        raise bad_request(f"{what} is empty")
    if len(text) > limit:
        raise HubError(TOO_LARGE, f"{what} has {len(text)} characters; the limit is {limit}")
    return text


def check_name(name: str, *, may_name_a_role: bool = True) -> str:
    """A display name: whitespace collapsed, invisible marks removed, no direction
    controls or control characters, not empty, at most 80 characters (hub/domain/names.py).
    Without `may_name_a_role` (a name a participant, hub or screen chose) it must not pass
    for a role of the staff either. Refusals carry `field: "name"` and a `reason`."""
    try:
        name = clean_name(name) if may_name_a_role else check_chosen_name(name)
    except NameProblem as exc:
        raise HubError(BAD_REQUEST, exc.message, field="name", reason=exc.reason) from None
    if len(name) > NAME_MAX:
        raise HubError(TOO_LARGE, f"the display name is over {NAME_MAX} characters",
                       field="name", reason="name_long")
    return name


def next_item_id(state: SessionState) -> str:
    """`i1`, `i2`, ... in order of creation; on a hub's relay, its own items are `h1`, `h2`,
    ... (the meeting's items it mirrors keep their ids)."""
    if state.relay is None:
        return f"i{len(state.items) + 1}"
    number = len(state.items) + 1
    while f"h{number}" in state.items:
        number += 1
    return f"h{number}"


def _items_fact(
    actor: Actor, action: str, changed: list[Item], state: SessionState, **extra: Any
) -> ItemsFact:
    """An `items` fact; `extra` holds its optional keys (hub.domain.facts.ItemsFact)."""
    fact: ItemsFact = {
        "kind": "items",
        "action": action,
        "by": actor.id,
        "by_name": actor.name,
        "items": [item.to_dict() for item in changed],
    }
    fact.update(cast(ItemsFact, extra))
    return fact


def ask(
    state: SessionState,
    actor: Actor,
    *,
    kind: str,
    text: str,
    key: str,
    lang: str | None,
    anonymous: bool,
    on_behalf: dict[str, str] | None,
    now: int,
    backing: int | None = None,
) -> Decision:
    """Put an item to the meeting; a key this identity used before returns that item."""
    existing = state.keys.get((actor.id, key))
    if existing is not None:
        return Decision(None, {"item": existing, "duplicate": True})
    _open_for_input(state, "items")
    if kind not in it.KINDS:
        raise bad_request(f"kind must be one of {', '.join(it.KINDS)}, not {kind!r}")
    text = check_text(text, state.settings.item_max, "the item's text")
    if lang is not None and not _is_language_tag(lang):
        raise bad_request(f"lang {lang!r} is not a BCP 47 language tag (like en, fr, ar, zh-Hans)")
    if state.settings.list_closed and kind != it.POINT_OF_ORDER and actor.role not in STAFF:
        raise conflict("the list of speakers is closed: only points of order are taken")
    if anonymous and not state.settings.anonymous:
        raise forbidden("this session does not allow anonymous items")
    staff = actor.role in STAFF
    author, affiliation = actor.name, None
    if backing is not None:
        if actor.role != HUB:
            raise forbidden("only a hub says how many of its attendees back an item")
        if not 1 <= backing <= MAX_ATTENDEES:
            raise bad_request("backing must be a whole number of attendees from 1")
        if state.relay is None:  # at most the room the hub last reported (a relay's own
            backing = min(backing, reported_attendees(state, actor.id))  # meeting checks)
    if on_behalf is not None:
        # A hub's relay sends on an attendee's item under the name the attendee gave it;
        # the meeting cannot check that name, so the item says who vouches for it (see
        # `hub_attendee` in views.public_item) and takes no affiliation from a hub.
        if not staff and actor.role != HUB:
            raise forbidden("only a moderator may add an item on behalf of a room speaker")
        # A hub's attendee chose that name: it may not pass for the staff's (a moderator
        # names a room speaker as the staff do).
        author = check_name(on_behalf.get("name", ""), may_name_a_role=actor.role != HUB)
        affiliation = on_behalf.get("affiliation") or None
        if affiliation is not None and actor.role == HUB:
            raise forbidden("a hub forwards an attendee's name only: the meeting cannot check "
                            "an affiliation a hub declares, so it takes none")
        if affiliation is not None:
            affiliation = check_text(affiliation, NAME_MAX * 2, "the affiliation")
    identity = state.identities.get(actor.id)
    hub = actor.id if actor.role == HUB else (identity.hub if identity is not None else None)
    if hub is None and state.relay is not None and actor.role == PARTICIPANT:
        hub = state.relay.hub  # on a hub's relay every participant is in the hub's room
    if hub is not None:
        origin = f"hub:{state.identities[hub].name if hub in state.identities else actor.name}"
    elif staff:
        origin = "room"
    else:
        origin = "room" if identity is not None and identity.in_room else "remote"
    # A moderator adding a room speaker is the one who would approve it; a hub's attendee
    # asks the hub first, whose moderator forwards it to the meeting. On a relay, what is
    # not an attendee's goes to the meeting upstream, whose moderators decide.
    local = hub is not None and actor.role != HUB
    approved = not local and state.relay is None and (staff or not state.settings.premoderation)
    item = Item(
        id=next_item_id(state),
        kind=kind,
        text=text,
        status=it.LOCAL if local else it.APPROVED if approved else it.PENDING,
        origin=origin,
        author_id=actor.id,
        author=author,
        anonymous=anonymous,
        lang=lang or state.floor_language,
        created=now,
        public=approved,
        affiliation=affiliation,
        hub=hub,
        on_behalf=on_behalf is not None,
        backing=backing,
    )
    extra: dict[str, Any] = {"key": key, "ts": now}
    if approved:
        extra["order"] = queued(state.order, item, state)
    return Decision(_items_fact(actor, "ask", [item], state, **extra), {"item": item.id})


def queued(order: list[str], item: Item, state: SessionState) -> list[str]:
    """`order` with `item` added: at the end, or for a point of order after the points of
    order already waiting, ahead of everything else."""
    if item.kind != it.POINT_OF_ORDER:
        return [*order, item.id]
    at = 0
    while at < len(order) and state.items[order[at]].kind == it.POINT_OF_ORDER:
        at += 1
    return [*order[:at], item.id, *order[at:]]


def withdraw(state: SessionState, actor: Actor, item_id: str) -> Decision:
    """The author takes back a pending or approved item."""
    item = state.item(item_id)
    if item.author_id != actor.id:
        raise forbidden(f"only the author of item {item.id} may withdraw it")
    status = it.transition(item, "withdraw")
    extra: dict[str, Any] = {}
    if item.id in state.order:
        extra["order"] = [i for i in state.order if i != item.id]
    changed = [it.moved(item, status)]
    return Decision(_items_fact(actor, "withdraw", changed, state, **extra), {"item": item.id})


def reported_attendees(state: SessionState, hub: str) -> int:
    """The most attendees a hub may say back an item: its last report, at least 1."""
    known = state.hubs.get(hub)
    return max(1, known.attendees if known is not None else 0)


def vote(
    state: SessionState, actor: Actor, item_id: str, undo: bool, budgets: Budgets | None = None,
    now: int | None = None,
) -> Decision:
    """One vote per identity on an approved question or comment; `undo` takes it back.
    With `budgets`, one item takes at most so many votes from one source (an address, a
    venue, a hub's attendee link): identities made in bulk from one join link add nothing."""
    item = state.item(item_id)
    _open_for_input(state, "votes")
    if item.author_id == it.UPSTREAM:
        raise conflict(f"item {item.id} is in the meeting's own queue: votes there are counted "
                       "at the meeting, where your hub speaks for the room")
    if item.kind not in it.VOTABLE_KINDS:
        raise conflict(f"item {item.id} is a {item.kind}: only questions and comments take votes")
    if item.status != it.APPROVED:
        raise conflict(f"item {item.id} is {item.status}: only approved items take votes")
    voters = state.voters.get(item.id, set())
    voted = actor.id in voters
    if voted != undo:  # already in the asked-for state: acknowledge, change nothing
        return Decision(None, {"item": item.id, "votes": item.votes, "voted": voted})
    if not undo and budgets is not None:
        _check_vote_budget(state, actor, item, voters, budgets)
    votes = item.votes - 1 if undo else item.votes + 1
    fact: VoteFact = {
        "kind": "vote", "item": item.id, "by": actor.id, "undo": undo, "votes": votes}
    if now is not None:  # when the voter started to count in the figures
        fact["ts"] = now
    return Decision(fact, {"item": item.id, "votes": votes, "voted": not undo})


def _check_vote_budget(
    state: SessionState, actor: Actor, item: Item, voters: set[str], budgets: Budgets
) -> None:
    me = state.identities.get(actor.id)
    source = me.source if me is not None else ""
    limit = vote_budget(budgets, source)
    if limit is None:
        return
    same = sum(1 for v in voters if (o := state.identities.get(v)) is not None
               and o.source == source)
    if same >= limit:
        raise HubError(FORBIDDEN, f"item {item.id} already has {same} votes from your network "
                       f"address or link: that is the most one source gives one item",
                       reason="source_votes")


def moderate(
    state: SessionState,
    actor: Actor,
    item_id: str,
    action: str,
    *,
    text: str | None = None,
    into: str | None = None,
    before: str | None = None,
    seconds: int | None = None,
    now: int = 0,
) -> Decision:
    """A moderator moves an item through its lifecycle (see `items.TRANSITIONS`)."""
    if action not in it.MODERATOR_ACTIONS:
        raise bad_request(f"action must be one of {', '.join(it.MODERATOR_ACTIONS)}")
    if state.relay is not None:
        raise forbidden("this is a hub's relay: the meeting's moderators decide, upstream; "
                        "the hub forwards or declines its room's items")
    item = state.item(item_id)
    status = it.transition(item, action)
    order = list(state.order)
    extra: dict[str, Any] = {}
    changed: list[Item]
    if action == "approve":
        changed = [it.moved(item, status)]
        order = queued(order, item, state)
    elif action == "reject":
        reason = text.strip() if text else None
        if reason:
            reason = check_text(reason, state.settings.item_max, "the reason")
        changed = [it.moved(item, status, reason=reason or None)]
    elif action == "edit":
        if text is None:
            raise bad_request("edit needs `text`: the item's new text")
        new_text = check_text(text, state.settings.item_max, "the item's text")
        changed = [it.moved(item, status, text=new_text, edited=True)]
    elif action == "merge":
        changed = _merge(state, item, status, into)
        if item.id in order:
            order.remove(item.id)
    elif action == "move":
        order = _move(state, item, before)
        changed = []
    elif action == "live":
        changed = []
        if state.live is not None:
            changed.append(it.moved(state.items[state.live], it.DONE))
        changed.append(it.moved(item, status))
        order.remove(item.id)
        extra["live"] = item.id
        extra["since"] = now
        limit = seconds if seconds is not None else state.settings.speaking_time
        extra["limit"] = limit or None
    else:  # done
        changed = [it.moved(item, status)]
        extra["live"] = None
    if order != state.order:
        extra["order"] = order
    fact = _items_fact(actor, action, changed, state, item=item.id, ts=now, **extra)
    return Decision(fact, {"item": item.id})


def _merge(state: SessionState, item: Item, status: str, into: str | None) -> list[Item]:
    if into is None:
        raise bad_request("merge needs `into`: the id of the item to merge into")
    if into == item.id:
        raise conflict("an item cannot be merged into itself")
    target = state.item(into)
    if target.status not in it.OPEN:
        raise conflict(f"cannot merge into item {target.id}: it is {target.status}")
    voters = state.voters.get(target.id, set()) | state.voters.get(item.id, set())
    return [
        it.moved(item, status, into=target.id, votes=0),
        replace(target, votes=len(voters)),
    ]


def _move(state: SessionState, item: Item, before: str | None) -> list[str]:
    order = [i for i in state.order if i != item.id]
    if before is None:
        return [*order, item.id]
    if before == item.id:
        raise conflict("an item cannot be moved before itself")
    if before not in order:
        raise conflict(f"`before` must be an approved item's id; {before!r} is not in the queue")
    at = order.index(before)
    return [*order[:at], item.id, *order[at:]]


def change_session(
    state: SessionState,
    actor: Actor,
    *,
    new_state: str | None = None,
    title: str | None = None,
    languages: list[str] | None = None,
    settings: dict[str, Any] | None = None,
    now: int | None = None,
) -> Decision:
    """Move a session between scheduled, live and closed, or change its title or settings.
    `now` stamps the fact (`ts`): the time it closed is the figure the Secretariat's
    dashboard counts "days since closed" from."""
    fact: SessionChangedFact = {"kind": "session", "by": actor.id}
    if new_state is not None:
        if new_state not in STATES:
            raise bad_request(f"state must be one of {', '.join(STATES)}")
        if new_state != state.state:
            fact["state"] = new_state
    if title is not None:
        title = check_text(title, TITLE_MAX, "the title")
        if title != state.title:
            fact["title"] = title
    if languages is not None:
        languages = check_languages(languages)
        if languages != state.languages:
            fact["languages"] = languages
    if settings:
        if actor.role != ORGANIZER and set(settings) - MODERATOR_SETTINGS:
            raise forbidden(
                f"a moderator may change only {', '.join(sorted(MODERATOR_SETTINGS))}")
        new_settings = state.settings.merged(settings)
        if new_settings != state.settings:
            fact["settings"] = new_settings.to_dict()
    changed = len(fact) > 2
    if changed and now is not None:
        fact["ts"] = now
    result = {"state": fact.get("state", state.state)}
    return Decision(fact if changed else None, result)


def check_languages(languages: Any) -> list[str]:
    """A list of 1 to 20 distinct BCP 47 tags; the first is the floor language."""
    if not isinstance(languages, list) or not languages or len(languages) > 20:
        raise bad_request("languages must be a list of 1 to 20 BCP 47 tags, floor language first")
    seen: list[str] = []
    for tag in languages:
        if not isinstance(tag, str):
            raise bad_request("each language must be a string, a BCP 47 tag like en or zh-Hans")
        if not _is_language_tag(tag):
            raise bad_request(f"{tag[:40]!r} is not a BCP 47 language tag (like en, fr, ar)")
        if tag.lower() in (s.lower() for s in seen):
            raise bad_request(f"language {tag!r} is listed twice")
        seen.append(tag)
    return seen


def _is_language_tag(tag: str) -> bool:
    parts = tag.split("-")
    if not 2 <= len(parts[0]) <= 3 or not parts[0].isascii() or not parts[0].isalpha():
        return False
    return all(1 <= len(p) <= 8 and p.isascii() and p.isalnum() for p in parts[1:])


def caption(
    state: SessionState,
    actor: Actor,
    *,
    lines: list[str],
    lang: str | None,
    final: bool,
    seq: int | None,
    now: int,
) -> Decision:
    """Captions from the captioner; a (lang, seq) at or below the last accepted one is a repeat."""
    if lang is None:
        matched: str | None = state.floor_language
    else:
        matched = match_language(lang, state.languages)
    if matched is None:
        raise bad_request(
            f"language {lang!r} is not one of this session's: {', '.join(state.languages)}"
        )
    last = state.caption_seq.get(matched)
    if seq is not None and last is not None and seq <= last:
        return Decision(None, {"seq": seq, "lang": matched, "duplicate": True})
    _open_for_input(state, "captions")
    limit = state.settings.caption_max
    kept: list[str] = []
    for line in lines:
        if len(line) > limit:
            raise HubError(TOO_LARGE, f"a caption has {len(line)} characters; the limit is {limit}")
        line = line.strip()
        if line:
            kept.append(line)
    if not kept and final:
        raise bad_request("the caption is empty")
    fact: CaptionFact = {
        "kind": "caption",
        "by": actor.id,
        "lang": matched,
        "final": final,
        "lines": kept or [""],
        "ts": now,
        "item": state.live,
        "speaker": state.speaker(),
    }
    if seq is not None:
        fact["seq"] = seq
    return Decision(fact, {"seq": seq, "lang": matched, "lines": len(kept)})


FLAG_KINDS = ("takeaway", "call_to_action")


def flag(
    state: SessionState,
    actor: Actor,
    *,
    kind: str | None,
    text: str | None,
    item: str | None,
    caption: int | None,
    flag_id: str | None,
    delete: bool,
    now: int,
) -> Decision:
    """A moderator notes a key takeaway or call to action (for the report), edits or deletes one."""
    if flag_id is not None and flag_id not in state.flags:
        raise not_found(f"no flag {flag_id!r} in this session")
    if delete:
        if flag_id is None:
            raise bad_request("delete needs `id`: the flag to delete")
        deleted: FlagFact = {"kind": "flag", "id": flag_id, "deleted": True, "by": actor.id}
        return Decision(deleted, {"id": flag_id})
    if kind not in FLAG_KINDS:
        raise bad_request(f"kind must be one of {', '.join(FLAG_KINDS)}")
    body = check_text(text or "", state.settings.item_max, "the flag's text")
    if item is not None:
        state.item(item)
    caption_ts = None
    if caption is not None:
        line = next((c for c in state.captions if c.seq == caption), None)
        if line is None:
            raise not_found(f"no caption line with seq {caption}")
        caption_ts = line.ts
    fact: FlagFact = {
        "kind": "flag",
        "caption_ts": caption_ts,
        "id": flag_id or f"f{len(state.flags) + 1}-{state.offset + 1}",
        "type": kind,
        "text": body,
        "item": item,
        "caption": caption,
        "by": actor.id,
        "by_name": actor.name,
        "ts": now,
    }
    return Decision(fact, {"id": fact["id"]})


def floor(
    state: SessionState,
    actor: Actor,
    *,
    ordering: str | None,
    weights: dict[str, Any] | None,
    budgets: dict[str, Any] | None,
) -> Decision:
    """Choose how the floor is ordered; the weights and time budgets are the organizer's."""
    fact: FloorFact = {"kind": "floor", "by": actor.id}
    if ordering is not None:
        if ordering not in orderings.ORDERINGS:
            raise bad_request(f"ordering must be one of {', '.join(orderings.ORDERINGS)}")
        fact["ordering"] = ordering
    for name, value in (("weights", weights), ("budgets", budgets)):
        if value is not None and not isinstance(value, dict):
            raise bad_request(f"`{name}` must be an object")
    if (weights is not None or budgets is not None) and actor.role != ORGANIZER:
        raise forbidden("only the organizer sets the balanced weights and speaking-time budgets")
    if weights is not None:
        fact["weights"] = orderings.Weights().merged(weights).to_dict()
    if budgets is not None:
        for group, seconds in budgets.items():
            whole = isinstance(seconds, int) and not isinstance(seconds, bool)
            if group not in STAKEHOLDERS or not whole or not 0 < seconds <= 86_400:
                raise bad_request("budgets map a stakeholder group to seconds (1 to 86400)")
        fact["budgets"] = dict(budgets)
    if len(fact) == 2:
        raise bad_request("`floor` needs `ordering`, `weights` or `budgets`")
    return Decision(fact, {k: v for k, v in fact.items() if k not in ("kind", "by")})


def ban(
    state: SessionState, actor: Actor, identity: str, reason: str | None, undo: bool
) -> Decision:
    """Remove an identity: its connections are closed on every instance, every token naming
    it is refused on every transport, and its items not yet public are withdrawn from the
    queue. A moderator removes participants, hubs and screens; the organizer anyone, staff
    included, and named tokens never used (revocation). `undo` lifts it."""
    target = state.holder(identity)
    if target is None:
        raise not_found(f"no identity {identity!r} in this session")
    check_may_revoke(actor.role, target[0])
    if undo:
        if identity not in state.banned:
            return Decision(None, {"identity": identity, "banned": False})
        lifted: BanFact = {"kind": "ban", "identity": identity, "undo": True, "by": actor.id}
        return Decision(lifted, {"identity": identity, "banned": False})
    if identity in state.banned:
        return Decision(None, {"identity": identity, "banned": True})
    text = check_text(reason, NAME_MAX * 4, "the reason") if reason else None
    hidden = [
        it.moved(item, it.REJECTED, reason=text or "removed by the moderators")
        for item in state.items.values()
        if item.author_id == identity and item.status in (it.LOCAL, it.PENDING)
    ]
    fact: BanFact = {"kind": "ban", "identity": identity, "undo": False, "reason": text,
                     "by": actor.id, "by_name": actor.name, "action": "ban",
                     "items": [i.to_dict() for i in hidden]}
    joined = state.identities.get(identity)
    if joined is not None and bannable(joined.source):  # the ban covers its (hashed) address
        fact["source"] = joined.source
    return Decision(fact, {"identity": identity, "banned": True})


def name_token(
    state: SessionState, actor: Actor, *, identity: str, role: str, name: str, expires: int,
    now: int,
) -> Decision:
    """Record that a named token was minted for a new identity (never the token itself), so
    the organizer can list it and revoke it before it is ever used."""
    check_may_mint(actor.role, role)
    if state.holder(identity) is not None:
        raise conflict(f"identity {identity!r} exists already")
    fact: TokenFact = {"kind": "token", "identity": identity, "role": role,
                       "name": check_name(name), "expires": expires, "by": actor.id, "ts": now}
    return Decision(fact, {"identity": identity, "role": role, "expires": expires})


def rotate(state: SessionState, actor: Actor, role: str) -> Decision:
    """Retire a role's join links (a leaked participant link, say): new ones replace them.
    Identities that already joined keep their personal tokens, except a session
    organizer's (hub.standing.check_standing)."""
    # The session organizer's link too: the Secretariat retires it (hub/api.py checks who).
    if role not in (*LINK_ROLES, ORGANIZER):
        raise bad_request(f"role must be one of {', '.join((*LINK_ROLES, ORGANIZER))}")
    generation = state.links.get(role, 0) + 1
    fact: RotateFact = {"kind": "rotate", "role": role, "generation": generation, "by": actor.id}
    return Decision(fact, {"role": role, "generation": generation})


def note(state: SessionState, actor: Actor, to: str, text: str, now: int = 0) -> Decision:
    """A moderator's note to one participant or hub, on its private channel."""
    target = state.identities.get(to)
    if target is None:
        raise not_found(f"no identity {to!r} in this session")
    if not has_private(target.role):
        raise conflict(f"a {target.role} has no private channel; notes go to participants and hubs")
    text = check_text(text, state.settings.item_max, "the note")
    fact: NoteFact = {"kind": "note", "by": actor.id, "to": to, "from": actor.name,
                      "text": text, "ts": now}
    return Decision(fact, {"to": to})


def hub_status(
    state: SessionState,
    actor: Actor,
    *,
    attendees: int | None = None,
    connected: bool | None = None,
    now: int,
    max_attendees: int = MAX_ATTENDEES,
    jump: int = JUMP_ADD,
) -> Decision:
    """A hub reports how many people are in its room, or the server that it (dis)connected.
    A count above `max_attendees` is refused; one that grows by more than `jump` people and
    more than twice over in one report is kept but marked for the moderators (`jump`: the
    count before it)."""
    if actor.id in state.erased:  # its last connection closing after its erasure: the
        return Decision(None, {"attendees": 0})  # history keeps nothing of it
    if attendees is not None and not 0 <= attendees <= max_attendees:
        raise bad_request(f"attendees must be a whole number from 0 to {max_attendees}, the "
                          f"most this meeting takes for one hub (HUB_MAX_ATTENDEES)")
    known = state.hubs.get(actor.id)
    fact: HubStatusFact = {"kind": "hub_status", "by": actor.id, "name": actor.name, "ts": now}
    if attendees is not None and (known is None or known.attendees != attendees):
        fact["attendees"] = attendees
        before = known.attendees if known is not None else 0
        if implausible_jump(before, attendees, jump):
            fact["jump"] = before
    if connected is not None and (known is None or known.connected != connected):
        fact["connected"] = connected
    result = {"attendees": attendees if attendees is not None else
              (known.attendees if known else 0)}
    return Decision(fact if len(fact) > 4 else None, result)


def implausible_jump(before: int, after: int, jump: int = JUMP_ADD) -> bool:
    """More than `jump` people more, and more than `JUMP_FACTOR` times as many, at once."""
    return after - before > jump and after > JUMP_FACTOR * before


def forward(
    state: SessionState, actor: Actor, item_id: str, backing: int | None, now: int
) -> Decision:
    """A hub's moderator sends an attendee's item on to the meeting, with how many back it."""
    item = _hub_item(state, actor, item_id)
    _open_for_input(state, "items")
    status = it.transition(item, "forward")
    if backing is not None and not 1 <= backing <= MAX_ATTENDEES:
        raise bad_request("backing must be a whole number of attendees from 1")
    most = reported_attendees(state, actor.id)
    if backing is not None and backing > most and state.relay is None:
        raise bad_request(f"backing {backing} is more than the {most} attendees this hub "
                          "reported: update the room's count first")
    approved = not state.settings.premoderation and state.relay is None
    moved = it.moved(item, it.APPROVED if approved else status, backing=backing or 1)
    extra: dict[str, Any] = {"ts": now}
    if approved:
        extra["order"] = queued(state.order, moved, state)
    fact = _items_fact(actor, "forward", [moved], state, item=item.id, **extra)
    return Decision(fact, {"item": item.id})


def decline(state: SessionState, actor: Actor, item_id: str, text: str | None) -> Decision:
    """A hub's moderator keeps an attendee's item in the room (with a reason)."""
    item = _hub_item(state, actor, item_id)
    status = it.transition(item, "decline")
    reason = check_text(text, state.settings.item_max, "the reason") if text else None
    changed = [it.moved(item, status, reason=reason)]
    return Decision(_items_fact(actor, "decline", changed, state, item=item.id),
                    {"item": item.id})


def _hub_item(state: SessionState, actor: Actor, item_id: str) -> Item:
    item = state.item(item_id)
    if item.hub != actor.id:
        raise forbidden(f"item {item.id} was not asked through this hub")
    return item


def join(
    state: SessionState,
    identity_id: str,
    role: str,
    name: str,
    profile: dict[str, Any] | None,
    in_room: bool,
    now: int,
    hub: str | None = None,
    place: dict[str, str] | None = None,
    source: str = "",
    budgets: Budgets | None = None,
    named: bool = False,
) -> Decision:
    """Record a new identity, or a changed name or profile of a known one. A name the
    person chose (not `named` by the staff's token) must not pass for a staff role, unless
    the role is staff's own; a known identity keeps a name it already has. A new identity
    from a join link names its `source` (see `sources`): refused when a ban covers that
    source, or when the source made its budget of new identities in the last 10 minutes."""
    known = state.identities.get(identity_id)
    staff_name = named or role in NAMES_A_ROLE or (known is not None and known.name == name)
    name = check_name(name, may_name_a_role=staff_name)
    if known is not None and known.role != role:
        raise forbidden("this identity belongs to another role")
    if known is None and source:
        _check_source(state, source, budgets or Budgets(), now)
    if (
        known is not None
        and known.name == name
        and (profile is None or profile == known.profile)
        and known.in_room == in_room
        and (not place or place == known.place)
    ):
        return Decision(None)
    data = {
        "id": identity_id,
        "role": role,
        "name": name,
        "profile": profile if profile is not None else (known.profile if known else {}),
        "in_room": in_room,
        "joined": known.joined if known else now,
        "hub": known.hub if known else hub,
        "place": dict(place) if place else (dict(known.place) if known else {}),
        "source": known.source if known else source,
    }
    if role not in (PARTICIPANT, HUB):
        data["profile"] = {}
    # `ts`: when a declared profile starts to count in the figures.
    joined: IdentityFact = {"kind": "identity", "identity": data, "ts": now}
    return Decision(joined)


def _check_source(state: SessionState, source: str, budgets: Budgets, now: int) -> None:
    if banned_source(state, source):
        raise HubError(FORBIDDEN, "the moderators removed someone who joined from this network "
                       "address: no new identities are taken from it", reason="banned")
    budget = identity_budget(budgets, source)
    wait = wait_ms(state.arrivals.get(source, []), budget, now) if budget is not None else 0
    if wait:
        raise HubError(RATE_LIMITED, f"too many new identities from one network address: at "
                       f"most {budget} per 10 minutes; retry in {wait // 1000 + 1} s",
                       retry_after=round(wait / 1000, 1))


def create(
    *,
    title: str,
    languages: list[str] | None,
    state: str | None,
    settings: dict[str, Any] | None,
    now: int,
) -> CreatedFact:
    """The first fact of a new session."""
    title = check_text(title, TITLE_MAX, "the title")
    langs = check_languages(languages) if languages is not None else ["en"]
    if state is not None and state not in STATES:
        raise bad_request(f"state must be one of {', '.join(STATES)}")
    chosen = Settings().merged(settings or {})
    return {
        "kind": "created",
        "title": title,
        "languages": langs,
        "state": state or SCHEDULED,
        "settings": chosen.to_dict(),
        "ts": now,
    }
