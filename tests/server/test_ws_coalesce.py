"""Coalesced writes over real websockets: what one turn gives a socket goes out in one
write, and each frame still arrives whole, in order, as a message of its own; a burst to
many readers whose flushes interleave with new events loses nothing; readers that close
or vanish mid-burst cost the others nothing. (The harness's `Client` checks that every
channel's offsets arrive one by one, without a hole or a repeat.)"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from hub import keys, protocol
from tests.support.harness import Client
from tests.support.inprocess import HubFactory, RunningHub


async def test_frames_of_one_turn_arrive_whole_and_in_order(meeting: dict[str, Any]) -> None:
    hub: RunningHub = meeting["server"]
    session = hub.app[keys.SESSIONS].held_one(meeting["session"]["id"])
    assert session is not None
    readers = [meeting[name] for name in ("alice", "bob", "screen", "moderator", "nairobi")]
    for reader in readers:
        reader.frames.clear()
    for n in range(1, 31):  # thirty frames to every socket within this one turn
        session.push_all(protocol.dump({"type": "presence", "participants": n}))
    for reader in readers:
        seen = await reader.wait_for(lambda c: [f["participants"] for f in c.frames
                                                if f["type"] == "presence"][:30])
        assert seen == list(range(1, 31))


async def test_a_batch_of_several_events_arrives_as_separate_events(
    meeting: dict[str, Any],
) -> None:
    alice, bob, mod = meeting["alice"], meeting["bob"], meeting["moderator"]
    item = (await alice.ok({"type": "ask", "kind": "question", "text": "Who pays?",
                            "key": "q"}))["item"]
    before = bob.positions["public"]["offset"]
    await mod.ok({"type": "moderate", "item": item, "action": "approve"})
    # One fact, several events on the public channel, fanned out in one turn.
    events = await bob.wait_for(lambda c: c.kinds("order", "public") and [
        e for e in c.events if e["channel"] == "public" and e["offset"] > before])
    assert [e["kind"] for e in events] == ["item", "order"]
    assert [e["offset"] for e in events] == [before + 1, before + 2]


async def _burst(hub: RunningHub, readers: int, captions: int, *, closing: int = 0,
                 dropping: int = 0) -> tuple[list[Client], list[Client]]:
    """`readers` screens; `captions` captions sent without waiting for their acks; while
    they flow, `closing` readers close their websocket and `dropping` lose their TCP
    connection. Returns the readers that stayed and those that left."""
    created = await hub.session(title="Burst")
    cap = hub.client(created, "captioner")
    screens = [hub.client(created, "screen") for _ in range(readers)]
    await cap.connect()
    for screen in screens:
        await screen.connect()
    sent = [asyncio.create_task(cap.ok({"type": "caption", "text": f"line {n}", "seq": n}))
            for n in range(1, captions + 1)]
    leaving = screens[:closing + dropping]
    await leaving[0].wait_for(lambda c: c.kinds("caption")) if leaving else None
    await asyncio.gather(*(c.close() for c in leaving[:closing]),
                         *(c.drop() for c in leaving[closing:]))
    await asyncio.gather(*sent)
    staying = screens[closing + dropping:]
    for screen in staying:
        lines = await screen.wait_for(
            lambda c: len(c.kinds("caption")) >= captions and c.kinds("caption"), timeout=30)
        assert [e["data"]["text"] for e in lines] == [f"line {n}" for n in range(1, captions + 1)]
    await cap.close()
    return staying, leaving


@pytest.fixture
def short_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    """Flushes yield to the event loop after every 64 sockets: captions coming meanwhile
    join the writes of the sockets not flushed yet."""
    monkeypatch.setattr("hub.coalesce.FLUSH_SLICE", 0.0)


@pytest.mark.usefixtures("short_slices")
async def test_a_burst_to_many_readers_loses_nothing(hub_factory: HubFactory) -> None:
    hub = await hub_factory(caption_per_10s=10_000)
    staying, _ = await _burst(hub, readers=150, captions=60)
    assert len(staying) == 150
    await asyncio.gather(*(c.close() for c in staying))
    assert all(c.ws.close_code == 1000 for c in staying)


@pytest.mark.usefixtures("short_slices")
async def test_readers_closed_mid_burst_cost_the_others_nothing(hub_factory: HubFactory) -> None:
    hub = await hub_factory(caption_per_10s=10_000)
    staying, leaving = await _burst(hub, readers=120, captions=60, closing=20, dropping=20)
    closed = leaving[:20]
    # Their close handshake completed: nothing came after the hub's close frame.
    assert all(c.ws.close_code == 1000 for c in closed)
    for client in closed:
        assert client.frames and all(f["type"] == "event" for f in client.frames)
    session_id = staying[0].url.rsplit("/", 1)[1]
    session = hub.app[keys.SESSIONS].held_one(session_id)
    assert session is not None
    await asyncio.sleep(0.2)  # the dropped ones' connection_lost
    assert len(session.connections) == len(staying)
    await asyncio.gather(*(c.close() for c in staying))


async def test_a_reader_kicked_mid_burst_gets_bye_last(hub_factory: HubFactory) -> None:
    """The hub closes a reader while captions flow to it: its `bye` is the last frame it
    gets (nothing is written after our close frame), and its close code is the bye's."""
    hub = await hub_factory(caption_per_10s=10_000)
    created = await hub.session(title="Kick")
    cap, org = hub.client(created, "captioner"), hub.client(created, "moderator")
    alice = hub.client(created, "participant", name="Alice")
    for client in (cap, org, alice):
        await client.connect()
    sent = [asyncio.create_task(cap.ok({"type": "caption", "text": f"line {n}", "seq": n}))
            for n in range(1, 41)]
    await alice.wait_for(lambda c: c.kinds("caption"))
    identity = alice.welcome["you"]["id"]
    await org.ok({"type": "ban", "identity": identity})
    await asyncio.wait_for(alice.closed.wait(), 10)
    await asyncio.gather(*sent)
    assert alice.frames[-1]["type"] == "bye", alice.frames[-3:]
    assert alice.close_code == alice.frames[-1]["code"] == protocol.CLOSE_FORBIDDEN
    await asyncio.gather(cap.close(), org.close())


async def test_an_sse_stream_gets_a_burst_whole_and_in_order(hub_factory: HubFactory) -> None:
    hub = await hub_factory(caption_per_10s=10_000)
    created = await hub.session(title="SSE")
    cap = hub.client(created, "captioner")
    await cap.connect()
    url = f"{hub.base}/sse/{created['id']}?token={created['tokens']['screen']}"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200
        sent = [asyncio.create_task(cap.ok({"type": "caption", "text": f"l{n}", "seq": n}))
                for n in range(1, 31)]
        await asyncio.gather(*sent)
        texts: list[str] = []
        ids: list[str] = []
        async with asyncio.timeout(15):
            while len(texts) < 30:
                line = (await response.content.readline()).decode().rstrip("\n")
                if line.startswith("id: "):
                    ids.append(line[4:])
                elif line.startswith("data: "):
                    frame = json.loads(line[6:])
                    if frame.get("kind") == "caption":
                        texts.append(frame["data"]["text"])
        assert texts == [f"l{n}" for n in range(1, 31)]
        # Every message's id carries the position of what was sent up to it.
        offsets = [int(part.rsplit(":", 1)[1]) for i in ids for part in i.split(",")
                   if part.startswith("public:")]
        assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
    await cap.close()


async def test_a_commands_events_come_before_its_ack_on_its_connection(
    meeting: dict[str, Any],
) -> None:
    """The ack is written at once, not after every reader's flush, but behind what its
    own socket was given: the command's events first."""
    alice = meeting["alice"]
    for n in range(5):
        alice.frames.clear()
        ack = await alice.ok({"type": "ask", "kind": "comment", "text": f"c{n}", "key": f"k{n}"})
        types = [(f["type"], f.get("ref")) for f in alice.frames]
        mine = [i for i, f in enumerate(alice.frames)
                if f["type"] == "event" and f["channel"] == "private"
                and f["data"].get("id") == ack["item"]]
        assert mine and mine[0] < types.index(("ack", ack["ref"])), types
