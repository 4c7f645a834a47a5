"""What each kind of session fact does: to the state (its fold) and to the channels (its
projection), one table, and the two functions that go through it.

`apply` records a fact in a `SessionState` (it decides nothing: deciding happens in
`hub.domain.commands`); `project` says which events it puts on each channel, given the
state just before it. A kind the table does not hold was written by a newer version of
the hub: both raise `UnknownFact`, never a guess. The shapes are in `hub.domain.facts`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from . import relay, session, views, voice
from .facts import Fact, ItemsFact, UnknownFact
from .session import SessionState
from .snapshot import restore
from .views import Projection

F = TypeVar("F")


@dataclass(frozen=True, slots=True)
class FactKind(Generic[F]):
    """One kind's handlers. `voice_after`: once folded, the open voice intervention ends
    if its speaker lost the floor (hub.domain.voice.after)."""

    fold: Callable[[SessionState, F], None]
    project: Callable[[SessionState, F], list[Projection]]
    voice_after: bool = True


def _fold_items(state: SessionState, fact: ItemsFact) -> None:
    session.fold_items(state, fact)
    if state.relay is not None:  # a hub's relay: what the meeting must now be told
        relay.owe_upstream(state, fact)


def _project_items(state: SessionState, fact: ItemsFact) -> list[Projection]:
    out = views.project_items(state, fact)
    if state.relay is not None:
        out += relay.outbox_events(state, fact)
    return out


_nothing = views.project_nothing

KINDS: dict[str, FactKind[Any]] = {
    "created": FactKind(session.fold_created, _nothing),
    "session": FactKind(session.fold_session, views.project_session),
    "identity": FactKind(session.fold_identity, _nothing),
    "items": FactKind(_fold_items, _project_items),
    "vote": FactKind(session.fold_vote, views.project_vote),
    "caption": FactKind(session.fold_caption, views.project_caption),
    "note": FactKind(session.fold_note, views.project_note),
    "hub_status": FactKind(session.fold_hub_status, views.project_hub_status),
    "flag": FactKind(session.fold_flag, views.project_flag),
    "floor": FactKind(session.fold_floor, views.project_floor),
    "ban": FactKind(session.fold_ban, views.project_ban),
    "rotate": FactKind(session.fold_rotate, _nothing),
    "erased": FactKind(session.fold_erased, views.project_erased),
    "token": FactKind(session.fold_token, _nothing),
    "voice": FactKind(voice.fold_voice, views.project_voice, voice_after=False),
    "restored": FactKind(restore, _nothing, voice_after=False),
    # A hub's relay: the meeting mirrored, and what the room owes it (hub.domain.relay).
    "mirror": FactKind(relay.fold_mirror, relay.project_mirror, voice_after=False),
    "relay_resync": FactKind(relay.fold_resync, relay.project_resync, voice_after=False),
    "relay_link": FactKind(relay.fold_link, relay.project_link, voice_after=False),
    "relay_sent": FactKind(relay.fold_sent, relay.project_sent, voice_after=False),
}


def kind(fact: Fact) -> FactKind[Any]:
    """The handlers of `fact`'s kind; `UnknownFact` for a kind this version does not know."""
    found = KINDS.get(fact["kind"])
    if found is None:
        raise UnknownFact(fact["kind"])
    return found


def apply(state: SessionState, fact: Fact) -> None:
    """Record one fact in `state`. Facts were checked when decided; this never refuses
    (except a kind it does not know)."""
    handlers = kind(fact)
    handlers.fold(state, fact)
    if handlers.voice_after and state.voice.interventions:
        voice.after(state, fact)


def project(state: SessionState, fact: Fact) -> list[Projection]:
    """The events `fact` puts on each channel, given the state just before it."""
    return kind(fact).project(state, fact)
