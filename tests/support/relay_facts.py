"""A relay's session built from facts in memory, and its public items."""

from __future__ import annotations

from typing import Any

from hub.domain import commands
from hub.domain.commands import Actor
from hub.domain.fact_kinds import apply
from hub.domain.session import SessionState, new_session
from tests.support.domain_helpers import run

HUB = Actor("hubid", "hub", "Nairobi hub")
AMINA = Actor("a1", "participant", "Amina")
TARIQ = Actor("a2", "participant", "Tariq")


def relay_session() -> SessionState:
    state = new_session("s1")
    fact = commands.create(title="Nairobi hub: the meeting", languages=None, state="live",
                           settings=None, now=1000)
    fact["relay"] = {"upstream": "https://meeting.example", "hub": HUB.id,
                     "hub_name": HUB.name}
    apply(state, fact)
    for actor in (HUB, AMINA, TARIQ):
        run(state, commands.join(state, actor.id, actor.role, actor.name, None, False, 1000))
    return state


def event(channel: str, offset: int, kind: str, data: dict[str, Any], epoch: str = "E1",
          ts: int = 5000) -> dict[str, Any]:
    return {"type": "event", "channel": channel, "epoch": epoch, "offset": offset,
            "kind": kind, "data": data, "ts": ts}


def public_item(item_id: str, status: str = "approved", **extra: Any) -> dict[str, Any]:
    return {"id": item_id, "kind": "question", "text": f"Item {item_id}", "status": status,
            "origin": "remote", "author": "Someone", "affiliation": None, "lang": "en",
            "votes": 0, "reason": None, "into": None, "edited": False, "created": 10,
            "backing": None, **extra}
