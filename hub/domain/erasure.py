"""One person's data: what an export holds, and how their erasure rewrites the facts.

A session's history is a log of facts, and the state is a fold over it: erasing a person
means rewriting the facts themselves, not appending "forget X" (the earlier facts would
still hold the name). `scrub` is that rewrite, pure: the server folds the scrubbed facts
again, under a fresh epoch, and replaces the stored history with the result (see
`Session.erase`). What the organizer can expect, and the tests check:

| the person's...            | after the erasure                                            |
|----------------------------|--------------------------------------------------------------|
| display name, profile,     | gone: the identity becomes an anonymous alias (a fresh       |
| place, room flag           | random id) named ERASED_NAME, with no profile                |
| items (asked, edited)      | kept, so the transcript, the turns and the decisions (merges,|
|                            | the floor) stay meaningful; text and affiliation replaced by |
|                            | ERASED_TEXT / none, author by ERASED_NAME, anonymous         |
| open items                 | withdrawn (the `erased` fact), out of the queue              |
| votes                      | still counted, cast by the alias: no longer theirs           |
| notes sent to them         | dropped, with their private channel                          |
| flags and notes they wrote | kept, by ERASED_NAME (in a `restored` fact too, found there  |
|                            | by the names they went by: it keeps no author id)            |
| ban reason about them      | dropped                                                      |
| captions of their turn     | text kept (it is the meeting's record), speaker name dropped |
| name on a named token      | ERASED_NAME                                                  |
| identity id                | only in the `erased` fact, so that their tokens are refused  |

The alias keeps the fold consistent (a vote taken back, an idempotency key), and nothing
stored links it to the identity id. A speaker a moderator added by name (no identity of
their own) is not an identity and cannot be erased this way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, cast

from . import items as it
from .facts import ErasedFact, Fact
from .session import SessionState

ERASED_NAME = "[erased]"
ERASED_TEXT = "[erased at the person's request]"


class LogEntry(NamedTuple):
    """A fact of a session's log with the time of the batch it was stored in (ms)."""

    ts: int
    fact: Fact


def authored(facts: Iterable[Fact], who: str) -> set[str]:
    """The ids of every item `who` asked, anywhere in `facts`."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("author_id") == who and isinstance(value.get("id"), str):
                found.add(value["id"])
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    for fact in facts:
        walk(fact)
    return found


def scrub(entries: Sequence[LogEntry], who: str, alias: str) -> list[LogEntry]:
    """`entries` with identity `who` erased (the table above); dropped facts are left out.
    `alias` is a fresh random id that stands for `who` where a fold needs one."""
    own = authored((entry.fact for entry in entries), who)
    names = _names((entry.fact for entry in entries), who)
    out: list[LogEntry] = []
    for entry in entries:
        clean = _scrub_fact(entry.fact, who, alias, own, names)
        if clean is not None:
            out.append(LogEntry(entry.ts, clean))
    return out


def _names(facts: Iterable[Fact], who: str) -> set[str]:
    """Every name `who` went by in `facts` (joined, renamed, or on a named token)."""
    found: list[Any] = []
    for fact in facts:
        if fact["kind"] == "identity" and fact["identity"].get("id") == who:
            found.append(fact["identity"].get("name"))
        elif fact["kind"] == "token" and fact["identity"] == who:
            found.append(fact["name"])
        elif fact["kind"] == "restored":
            data = fact["state"]
            found += [i.get("name") for i in data.get("identities", ()) if i.get("id") == who]
            found += [t.get("name") for t in data.get("tokens", ()) if t.get("identity") == who]
    return {name for name in found if isinstance(name, str)}


def _scrub_fact(
    stored: Fact, who: str, alias: str, own: set[str], names: set[str]
) -> Fact | None:
    kind = stored["kind"]
    if stored["kind"] == "note" and stored["to"] == who:
        return None
    fact: dict[str, Any] = dict(stored)
    by_them = fact.get("by") == who
    if kind == "identity" and fact["identity"].get("id") == who:
        fact["identity"] = _anonymous(fact["identity"])
    elif kind == "note" and by_them:
        fact["from"] = ERASED_NAME
    elif kind == "ban" and fact.get("identity") == who:
        fact["reason"] = None
        fact.pop("source", None)  # the keyed hash of the address they joined from
    elif kind == "flag" and by_them and "by_name" in fact:
        fact["by_name"] = ERASED_NAME
    elif kind == "hub_status" and by_them:
        fact["name"] = ERASED_NAME
    elif kind == "token" and fact.get("identity") == who:
        fact["name"] = ERASED_NAME
    elif kind == "caption" and fact.get("item") in own:
        fact["speaker"] = None
    elif kind == "restored":
        fact["state"] = _scrub_dump(fact["state"], who, own, names)
    if "by_name" in fact and by_them:
        fact["by_name"] = ERASED_NAME
    return cast(Fact, _rename(fact, who, alias))


def _anonymous(identity: dict[str, Any]) -> dict[str, Any]:
    """An identity's record with nothing of the person left (the id is renamed later)."""
    return {**identity, "name": ERASED_NAME, "profile": {}, "place": {}, "in_room": False,
            "source": ""}


def _scrub_dump(data: dict[str, Any], who: str, own: set[str], names: set[str]
                ) -> dict[str, Any]:
    """A `restored` fact's whole state, with `who` erased. Its flags and notes name their
    author by name only (no id), so `names` (every name `who` went by) finds theirs."""
    data = dict(data)
    data["flags"] = [{**f, "by": ERASED_NAME} if f.get("by") in names else f
                     for f in data.get("flags", ())]
    data["notes"] = {k: [{**n, "from": ERASED_NAME} if n.get("from") in names else n
                         for n in v] for k, v in data.get("notes", {}).items()}
    data["identities"] = [_anonymous(i) if i.get("id") == who else i
                          for i in data.get("identities", ())]
    data["notes"] = {k: v for k, v in data.get("notes", {}).items() if k != who}
    data["tokens"] = [{**t, "name": ERASED_NAME} if t.get("identity") == who else t
                      for t in data.get("tokens", ())]
    if who in data.get("banned", {}):
        data["banned"] = {**data["banned"], who: ""}
    data["captions"] = [{**c, "speaker": None} if c.get("item") in own else c
                        for c in data.get("captions", ())]
    data["partial"] = {lang: {**c, "speaker": None} if c.get("item") in own else c
                       for lang, c in data.get("partial", {}).items()}
    return data


def _rename(value: Any, who: str, alias: str) -> Any:
    """`value` with every item of `who` scrubbed, and `who` replaced by `alias` everywhere
    (values and keys)."""
    if isinstance(value, str):
        return alias if value == who else value
    if isinstance(value, list):
        return [_rename(v, who, alias) for v in value]
    if isinstance(value, dict):
        if value.get("author_id") == who and "text" in value:
            value = {**value, "text": ERASED_TEXT, "author": ERASED_NAME, "affiliation": None,
                     "anonymous": True}
        return {(alias if k == who else k): _rename(v, who, alias) for k, v in value.items()}
    return value


def erased_fact(state: SessionState, who: str, alias: str, now: int) -> ErasedFact:
    """The fact that ends an erasure, decided on the scrubbed state: `who`'s tokens are
    refused from now on, and the alias's items still waiting are withdrawn."""
    waiting = (it.LOCAL, it.PENDING, it.APPROVED)
    withdrawn = [it.moved(item, it.WITHDRAWN) for item in state.items.values()
                 if item.author_id == alias and item.status in waiting]
    gone = {item.id for item in withdrawn}
    fact: ErasedFact = {"kind": "erased", "identity": who, "ts": now, "action": "erase",
                            "by_name": None, "items": [i.to_dict() for i in withdrawn]}
    if gone & set(state.order):
        fact["order"] = [i for i in state.order if i not in gone]
    return fact


def person_data(state: SessionState, entries: Iterable[LogEntry], who: str) -> dict[str, Any]:
    """Everything the session holds of identity `who`, as JSON-ready data: who they are,
    what they asked, how they voted and the notes they were sent, with times (ms). A
    named token never used holds only its record (`token`)."""
    known = state.identities.get(who)
    minted = state.tokens.get(who)
    if known is not None:
        identity = known.to_dict()
    elif minted is not None:
        identity = {"id": who, "role": minted.role, "name": minted.name}
    else:
        raise KeyError(who)
    names: list[dict[str, Any]] = []
    votes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for ts, fact in entries:
        if fact["kind"] == "identity" and fact["identity"].get("id") == who:
            name = fact["identity"].get("name")
            if not names or names[-1]["name"] != name:
                names.append({"name": name, "ts": ts})
        elif fact["kind"] == "vote" and fact["by"] == who:
            votes.append({"item": fact["item"], "voted": not fact["undo"], "ts": ts})
        elif fact["kind"] == "note" and fact["to"] == who:
            notes.append({"text": fact["text"], "from": fact.get("from"),
                          "ts": fact.get("ts") or ts})
    asked = [item.to_dict() for item in state.items.values() if item.author_id == who]
    return {
        "session": state.id,
        "identity": identity,
        "token": minted.to_dict() if minted is not None else None,
        "names": names,
        "items": asked,
        "votes": votes,
        "voting_for": sorted(i for i, voters in state.voters.items() if who in voters),
        "notes": notes,
        "banned": {"reason": state.banned[who]} if who in state.banned else None,
    }


def retention_expired(closed: bool, last_activity: int, now: int, days: float) -> bool:
    """Whether a session is past the retention period: closed, and nothing appended to
    it for `days` (ms times). `days` 0 keeps every session forever."""
    return closed and days > 0 and now - last_activity > days * 86_400_000
