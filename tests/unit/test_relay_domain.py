"""A hub relay's session, decided and folded purely: mirroring, resync and the outbox."""

from __future__ import annotations

from typing import Any

import pytest

from hub.domain import commands, fact_kinds, relay, views
from hub.domain.commands import Actor
from hub.domain.fact_kinds import apply
from hub.domain.session import SessionState, new_session
from hub.errors import HubError
from tests.support.domain_helpers import run
from tests.support.relay_facts import AMINA, HUB, TARIQ, event, public_item, relay_session


def welcome(public: int = 0, private: int = 0, epoch: str = "E1", recovered: bool = False,
            **snapshot: Any) -> dict[str, Any]:
    snap = {"items": [], "order": [], "floor": {"item": None, "speaker": None, "since": None,
                                               "limit": None},
            "captions": {"en": []}, "partial": {}, **snapshot}
    return {"type": "welcome",
            "session": {"id": "s1", "title": "Main session", "state": "live",
                        "languages": ["en", "fr"]},
            "channels": {"public": {"epoch": epoch, "offset": public, "recovered": recovered},
                         "private": {"epoch": epoch, "offset": private, "recovered": recovered}},
            "snapshot": snap}






def mirror(state: SessionState, frame: dict[str, Any]) -> dict[str, Any]:
    decision = relay.mirror(state, frame["channel"], frame)
    projected = fact_kinds.project(state, decision.fact) if decision.fact else []
    run(state, decision)
    return {"result": decision.result, "events": projected}


def test_a_first_welcome_brings_the_mirror_up_to_the_meeting() -> None:
    state = relay_session()
    joined = welcome(public=7, private=0, items=[public_item("i1"), public_item("i2")],
                     order=["i2", "i1"],
                     captions={"en": [{"text": "Hello", "lang": "en", "final": True, "ts": 40}]})
    decision = relay.resync(state, joined, now=2000)
    events = fact_kinds.project(state, decision.fact or {})
    run(state, decision)
    assert state.title == "Main session" and state.languages == ["en", "fr"]
    assert state.order == ["i2", "i1"]
    assert [c.text for c in state.captions] == ["Hello"]
    assert state.relay is not None
    assert state.relay.positions == {"public": ["E1", 7], "private": ["E1", 0]}
    kinds = [(channel, kind) for channel, kind, _ in events]
    assert ("public", "caption") in kinds and ("public", "order") in kinds
    assert kinds.count(("public", "item")) == 2
    # A reader's snapshot shows the meeting's queue and says it comes through a relay.
    snap = views.snapshot(state, "participant", AMINA.id)
    assert [i["id"] for i in snap["items"]] == ["i1", "i2"]
    assert snap["relay"] == {"connected": False, "since": 0, "hub": "Nairobi hub", "waiting": 0,
                             "refused": None}
    # The same welcome again (a resume that could not recover) changes nothing.
    again = relay.resync(state, joined, now=3000)
    assert again.fact is not None
    assert not again.fact["items"] and "order" not in again.fact and not again.fact["captions"]


def test_upstream_events_are_mirrored_once_in_order_and_holes_refused() -> None:
    state = relay_session()
    run(state, relay.resync(state, welcome(public=3), now=2000))
    caption = event("public", 4, "caption", {"text": "Line", "lang": "en", "final": True})
    first = mirror(state, caption)
    assert first["events"] == [("public", "caption", {"text": "Line", "lang": "en",
                                                      "final": True})]
    assert mirror(state, caption)["result"] == {"duplicate": True}  # a repeat: nothing
    with pytest.raises(HubError) as hole:
        mirror(state, event("public", 6, "caption", {"text": "Skipped one"}))
    assert hole.value.code == "conflict"
    with pytest.raises(HubError):  # another epoch, without a welcome first
        mirror(state, event("public", 5, "caption", {"text": "x"}, epoch="E2"))
    mirror(state, event("public", 5, "item", public_item("i9")))
    mirror(state, event("public", 6, "order", {"items": ["i9"]}))
    mirror(state, event("public", 7, "floor", {"item": "i9", "speaker": "Someone",
                                               "since": 77, "limit": 120}))
    mirror(state, event("public", 8, "session", {"state": "closed", "title": "Main",
                                                 "languages": ["en"]}))
    assert [c.text for c in state.captions] == ["Line"]
    assert state.items["i9"].public and state.order == ["i9"] and state.live == "i9"
    assert state.state == "closed" and state.relay is not None
    assert state.relay.positions["public"] == ["E1", 8]
    # Junk from upstream moves the position on and changes nothing else.
    junk = mirror(state, event("public", 9, "item", "not an object"))  # type: ignore[arg-type]
    assert junk["events"] == [] and state.relay.positions["public"] == ["E1", 9]


def test_the_room_asks_the_hub_and_forwarded_items_go_to_the_outbox() -> None:
    state = relay_session()
    assert state.relay is not None
    run(state, relay.resync(state, welcome(), now=1500))
    first = run(state, commands.ask(state, AMINA, kind="question", text="Rural access?",
                                    key="q", lang=None, anonymous=False, on_behalf=None,
                                    now=2000))["item"]
    second = run(state, commands.ask(state, TARIQ, kind="comment", text="Youth!", key="q",
                                     lang=None, anonymous=True, on_behalf=None,
                                     now=2000))["item"]
    assert (first, second) == ("h1", "h2")  # the room's own ids: never a meeting's `i…`
    assert state.items[first].status == "local" and state.items[first].hub == HUB.id
    assert state.items[first].origin == "hub:Nairobi hub"
    run(state, commands.forward(state, HUB, first, 12, now=3000))
    run(state, commands.forward(state, HUB, second, None, now=3000))
    assert state.items[first].status == "pending"  # never approved here: the meeting decides
    assert state.order == []
    assert state.relay.outbox == [{"op": "ask", "item": first}, {"op": "ask", "item": second}]
    # Withdrawn before it was sent: it is simply not sent.
    run(state, commands.withdraw(state, TARIQ, second))
    assert state.relay.outbox == [{"op": "ask", "item": first}]
    # The meeting's event for the new item comes before the ask's ack...
    mirror(state, event("private", 1, "item", {**public_item("i3", "pending"),
                                                "author": "Amina", "anonymous": False,
                                                "public": False}))
    assert "i3" in state.relay.unmatched
    # ...which maps it; the local item takes the meeting's view of it.
    decision = relay.sent(state, {"op": "ask", "item": first}, "i3")
    run(state, decision)
    assert state.relay.sent == {first: "i3"} and not state.relay.outbox
    assert not state.relay.unmatched
    # The meeting approves it: its author hears, privately; the room's queue is the meeting's.
    out = mirror(state, event("private", 2, "item", {**public_item("i3", "approved", votes=4),
                                                     "author": "Amina", "anonymous": False,
                                                     "public": True}))
    local = state.items[first]
    assert (local.status, local.votes, local.public) == ("approved", 4, False)
    channels = {channel for channel, _, _ in out["events"]}
    assert f"private:{AMINA.id}" in channels and "public" not in channels
    # Withdrawn after it was sent: the meeting is told.
    run(state, commands.withdraw(state, AMINA, first))
    assert state.relay.outbox == [{"op": "withdraw", "item": first}]
    run(state, relay.sent(state, {"op": "withdraw", "item": first}, None))
    assert not state.relay.outbox


def test_a_refused_ask_tells_its_author_why() -> None:
    state = relay_session()
    item = run(state, commands.ask(state, AMINA, kind="question", text="Late question",
                                   key="q", lang=None, anonymous=False, on_behalf=None,
                                   now=2000))["item"]
    run(state, commands.forward(state, HUB, item, None, now=3000))
    decision = relay.sent(state, {"op": "ask", "item": item}, None,
                          refused="the session is closed: it accepts no new items")
    events = fact_kinds.project(state, decision.fact or {})
    run(state, decision)
    assert state.items[item].status == "rejected"
    assert "closed" in (state.items[item].reason or "")
    assert any(channel == f"private:{AMINA.id}" for channel, _, _ in events)
    assert state.relay is not None and not state.relay.outbox


def test_the_meetings_items_are_not_voted_or_moderated_here() -> None:
    state = relay_session()
    run(state, relay.resync(state, welcome(public=1, items=[public_item("i1")],
                                           order=["i1"]), now=2000))
    with pytest.raises(HubError) as vote:
        commands.vote(state, AMINA, "i1", undo=False)
    assert vote.value.code == "conflict"
    with pytest.raises(HubError) as moderate:
        commands.moderate(state, Actor("m", "moderator", "Mod"), "i1", "live")
    assert moderate.value.code == "forbidden"


def test_the_link_state_is_an_event_for_the_room() -> None:
    state = relay_session()
    decision = relay.link(state, True, now=4000)
    events = fact_kinds.project(state, decision.fact or {})
    run(state, decision)
    assert events == [("public", "relay", {"connected": True, "since": 4000,
                                           "hub": "Nairobi hub", "waiting": 0,
                                           "refused": None})]
    assert relay.link(state, True, now=5000).fact is None  # no change, no event
    # The meeting turns the hub's token away: the room is told why, once.
    why = "unauthorized: this token is not valid"
    decision = relay.link(state, False, now=6000, refused=why)
    assert fact_kinds.project(state, decision.fact or {})[0][2]["refused"] == why
    run(state, decision)
    assert relay.link(state, False, now=7000, refused=why).fact is None
    run(state, relay.link(state, True, now=8000))
    assert relay.link_status(state)["refused"] is None


def test_the_room_hears_how_much_is_waiting_to_go_up() -> None:
    state = relay_session()
    run(state, relay.resync(state, welcome(), now=1500))
    item = run(state, commands.ask(state, AMINA, kind="question", text="Q", key="q", lang=None,
                                   anonymous=False, on_behalf=None, now=2000))["item"]
    asked = commands.forward(state, HUB, item, 3, now=3000)
    waiting = [data["waiting"]
               for channel, kind, data in fact_kinds.project(state, asked.fact or {})
               if kind == "relay"]
    assert waiting == [1]
    run(state, asked)
    done = relay.sent(state, {"op": "ask", "item": item}, "i7")
    assert [data["waiting"] for _, kind, data in fact_kinds.project(state, done.fact or {})
            if kind == "relay"] == [0]


def test_a_hub_asks_upstream_with_backing_and_an_attendees_name() -> None:
    """The meeting's side: a hub (its relay) may say who asked and how many back it."""
    state = new_session("m")
    apply(state, commands.create(title="Main", languages=None, state="live", settings=None,
                                 now=1))
    run(state, commands.join(state, HUB.id, "hub", HUB.name, None, False, 1))
    run(state, commands.join(state, AMINA.id, "participant", AMINA.name, None, False, 1))
    run(state, commands.hub_status(state, HUB, attendees=40, now=1))  # backing <= 40
    item = run(state, commands.ask(state, HUB, kind="question", text="From the room",
                                   key="relay-1-h1", lang=None, anonymous=False,
                                   on_behalf={"name": "Amina"}, backing=12, now=2))["item"]
    made = state.items[item]
    assert (made.author, made.origin, made.backing) == ("Amina", "hub:Nairobi hub", 12)
    with pytest.raises(HubError) as not_hub:
        commands.ask(state, AMINA, kind="question", text="x", key="k", lang=None,
                     anonymous=False, on_behalf=None, backing=5, now=3)
    assert not_hub.value.code == "forbidden"
    with pytest.raises(HubError) as behalf:
        commands.ask(state, AMINA, kind="question", text="x", key="k", lang=None,
                     anonymous=False, on_behalf={"name": "Someone"}, now=3)
    assert behalf.value.code == "forbidden"


def test_pages_that_join_the_relay_later_see_the_meetings_live_audio() -> None:
    """A page that joins after the meeting's `voice` event (the hub given the floor) must
    still see it: the relay's snapshot carries the meeting's voice as last mirrored, from
    an event or from a welcome's snapshot (a page that missed it never showed its speak
    panel)."""
    state = relay_session()
    on_air = {"item": "u7", "origin": f"hub:{HUB.name}", "since": 4000, "muted": False,
              "cut": False, "desk": True}
    run(state, relay.resync(state, welcome(voice={**on_air, "item": None}), 1000))
    assert views.snapshot(state, "hub", HUB.id)["voice"]["item"] is None
    projected = mirror(state, event("public", 1, "voice", on_air))
    assert [(c, k) for c, k, _ in projected["events"]] == [("public", "voice")]
    assert views.snapshot(state, "hub", HUB.id)["voice"] == on_air
    assert views.snapshot(state, "participant", AMINA.id)["voice"] == on_air
    # After a link drop the meeting's welcome says where the audio stands now.
    run(state, relay.resync(state, welcome(public=1, voice={**on_air, "item": None},
                                           epoch="E2"), 2000))
    assert views.snapshot(state, "hub", HUB.id)["voice"]["item"] is None
