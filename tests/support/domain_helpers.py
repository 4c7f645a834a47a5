"""Building sessions in pure tests: decide, then apply, as the server does."""

from __future__ import annotations

from typing import Any

from hub.domain import commands
from hub.domain.commands import Actor, Decision
from hub.domain.fact_kinds import apply
from hub.domain.session import SessionState, new_session

MOD = Actor("m1", "moderator", "Moderator")
ALICE = Actor("p1", "participant", "Alice")
BOB = Actor("p2", "participant", "Bob")
NAIROBI = Actor("h1", "hub", "Nairobi")
CAPTIONER = Actor("c1", "captioner", "Captioner")


def make_session(**settings: Any) -> SessionState:
    state = new_session("s1")
    apply(state, commands.create(title="Workshop", languages=["en", "fr"], state="live",
                                 settings=settings or None, now=1000))
    for actor in (MOD, ALICE, BOB, NAIROBI, CAPTIONER):
        run(state, commands.join(state, actor.id, actor.role, actor.name, None, False, 1000))
    return state


def run(state: SessionState, decision: Decision) -> dict[str, Any]:
    """Apply a decision's fact (if any) and return its ack fields."""
    if decision.fact is not None:
        apply(state, decision.fact)
    return decision.result


def ask(state: SessionState, actor: Actor = ALICE, text: str = "A question?", key: str = "k",
        kind: str = "question", **kw: Any) -> str:
    args: dict[str, Any] = {"lang": None, "anonymous": False, "on_behalf": None, "now": 2000}
    args.update(kw)
    result = run(state, commands.ask(state, actor, kind=kind, text=text, key=key, **args))
    return str(result["item"])


def moderate(state: SessionState, item: str, action: str, **kw: Any) -> dict[str, Any]:
    return run(state, commands.moderate(state, MOD, item, action, **kw))
