"""`hub relay`: a regional hub's room joined to the meeting over one flaky link.

A real meeting server and a real relay process on loopback, with a proxy between them
that cuts, refuses and delays the link; the room's devices are websocket clients of the
relay. Every local reader's offsets are checked gap-free as they arrive (the harness
client asserts it), and what they hold is compared with what the meeting published.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.harness import ADMIN_KEY, Client, HubProcess, ahttp, create_session
from tests.support.relay_rooms import Room, open_room


@pytest.fixture
async def room(tmp_path: Path) -> AsyncIterator[Room]:
    async with open_room(tmp_path) as opened:
        yield opened


def texts(client: Client, kind: str = "caption") -> list[str]:
    return [e["data"]["text"] for e in client.kinds(kind)]


async def test_captions_reach_the_room_exactly_once_through_a_link_that_drops(
    room: Room,
) -> None:
    captioner = room.upstream("captioner", name="Captioner")
    await captioner.connect()
    readers = [room.local("attendee", name=f"Attendee {n}") for n in range(2)]
    readers.append(room.local("screen"))
    for reader in readers:
        await reader.connect()
    sent = [f"Line {n}: the floor speaks." for n in range(60)]
    cuts = 0
    for n, text in enumerate(sent):
        await captioner.ok({"type": "caption", "text": text, "seq": n + 1})
        if n in (10, 25, 40):
            await room.wait_status(lambda s, cuts=cuts: s["connects"] == cuts + 1)
            room.proxy.cut()  # the room's link drops mid-sentence
            cuts += 1
        await asyncio.sleep(0.01)
    for reader in readers:
        await reader.wait_for(lambda c: len(texts(c)) >= len(sent), timeout=30)
        assert texts(reader) == sent  # every line, in order, once (offsets checked too)
    status = await room.status()
    assert status["connects"] >= 4  # it came back after each cut
    assert status["positions"]["public"]["offset"] >= len(sent)
    # A reader that joins afterwards gets the lines in its snapshot, from the relay.
    late = room.local("screen")
    welcome = await late.connect()
    assert [c["text"] for c in welcome["snapshot"]["captions"]["en"]] == sent[-50:]
    for client in (captioner, *readers, late):
        await client.close()


async def test_a_slow_flapping_link_loses_nothing(room: Room) -> None:
    room.proxy.delay = 0.05
    room.proxy.flap(every=(0.3, 0.9))
    captioner = room.upstream("captioner", name="Captioner")
    await captioner.connect()
    reader = room.local("attendee", name="Attendee")
    await reader.connect()
    sent = [f"Flaky line {n}" for n in range(40)]
    for n, text in enumerate(sent):
        await captioner.ok({"type": "caption", "text": text, "seq": n + 1})
        await asyncio.sleep(0.03)
    await reader.wait_for(lambda c: len(texts(c)) >= len(sent), timeout=40)
    assert texts(reader) == sent
    await captioner.close()
    await reader.close()


async def test_forwarded_items_go_up_once_and_their_fate_comes_back(room: Room) -> None:
    moderator = room.upstream("moderator", name="Chair")
    await moderator.connect()
    hub = room.local("hub")
    amina, tariq = room.local("attendee", name="Amina"), room.local("attendee", name="Tariq")
    for client in (hub, amina, tariq):
        await client.connect()
    assert hub.welcome["you"]["name"] == "Nairobi hub"
    assert hub.welcome["snapshot"]["relay"]["connected"] is True

    # Items asked in the room wait in the hub's local queue.
    first = (await amina.ok({"type": "ask", "kind": "question", "key": "a1",
                             "text": "What about rural connectivity?"}))["item"]
    second = (await tariq.ok({"type": "ask", "kind": "comment", "key": "t1",
                              "text": "Youth need a seat at the table"}))["item"]
    third = (await tariq.ok({"type": "ask", "kind": "question", "key": "t2",
                             "text": "Asked anonymously", "anonymous": True}))["item"]
    await hub.wait_for(lambda c: len(c.kinds("item", "private")) >= 3)
    assert {e["data"]["status"] for e in hub.kinds("item", "private")} == {"local"}

    # The meeting bounds backing by the room's count: 18 without a device and 2 phones.
    await hub.ok({"type": "hub_status", "attendees": 18})
    await hub.ok({"type": "forward", "item": first, "backing": 12})
    up_first = await moderator.wait_for(lambda c: [
        e["data"] for e in c.kinds("item", "moderation")
        if e["data"]["text"] == "What about rural connectivity?"])
    assert up_first[0]["origin"] == "hub:Nairobi hub"
    assert up_first[0]["author"] == "Amina"
    assert up_first[0]["backing"] == 12
    await room.wait_status(lambda s: s["sent"] == 1 and not s["waiting"])

    # The link goes down; the hub forwards two more meanwhile; the room keeps working.
    room.proxy.down()
    await room.wait_status(lambda s: not s["connected"])
    dropped = await hub.wait_for(lambda c: [e for e in c.kinds("relay")
                                            if not e["data"]["connected"]])
    assert dropped
    await hub.ok({"type": "forward", "item": second, "backing": 3})
    await hub.ok({"type": "forward", "item": third})
    status = await room.wait_status(lambda s: len(s["waiting"]) == 2)
    assert [op["item"] for op in status["waiting"]] == [second, third]
    await asyncio.sleep(1.0)  # a while without the meeting
    room.proxy.up()
    await room.wait_status(lambda s: s["connected"] and not s["waiting"])
    await moderator.wait_for(lambda c: len({e["data"]["id"] for e in c.kinds("item", "moderation")
                                            if e["data"]["origin"] == "hub:Nairobi hub"}) >= 3)
    # Cut again while nothing is owed, then make sure nothing was sent twice.
    room.proxy.cut()
    await room.wait_status(lambda s: s["connected"] and s["connects"] >= 3)
    ups = {e["data"]["id"]: e["data"] for e in moderator.kinds("item", "moderation")
           if e["data"]["origin"] == "hub:Nairobi hub"}
    assert sorted(d["text"] for d in ups.values()) == sorted([
        "What about rural connectivity?", "Youth need a seat at the table",
        "Asked anonymously"])
    anonymous = next(d for d in ups.values() if d["text"] == "Asked anonymously")
    assert anonymous["anonymous"] is True and anonymous["author"] == "Nairobi hub"

    # The meeting's moderators decide; the room's authors see it on their own channel.
    by_text = {d["text"]: i for i, d in ups.items()}
    await moderator.ok({"type": "moderate", "item": by_text["What about rural connectivity?"],
                        "action": "approve"})
    await moderator.ok({"type": "moderate", "item": by_text["Youth need a seat at the table"],
                        "action": "reject", "text": "Out of scope today"})
    approved = await amina.wait_for(lambda c: [e for e in c.kinds("item", "private")
                                               if e["data"]["id"] == first
                                               and e["data"]["status"] == "approved"])
    assert approved[-1]["data"]["text"] == "What about rural connectivity?"
    rejected = await tariq.wait_for(lambda c: [e for e in c.kinds("item", "private")
                                               if e["data"]["id"] == second
                                               and e["data"]["status"] == "rejected"])
    assert rejected[-1]["data"]["reason"] == "Out of scope today"
    # The approved item is in the meeting's public queue, which the room sees too.
    queue = await amina.wait_for(lambda c: [e for e in c.kinds("order", "public")
                                            if e["data"]["items"]])
    upstream_id = by_text["What about rural connectivity?"]
    assert queue[-1]["data"]["items"] == [upstream_id]
    public = [e["data"] for e in amina.kinds("item", "public") if e["data"]["id"] == upstream_id]
    assert public[-1]["status"] == "approved" and public[-1]["author"] == "Amina"
    # Votes on the meeting's queue are the meeting's: refused here with a reason.
    refusal = await amina.request({"type": "vote", "item": upstream_id})
    assert refusal["type"] == "error" and refusal["code"] == "conflict"

    # A withdrawal in the room withdraws upstream too.
    await tariq.ok({"type": "withdraw", "item": third})
    await moderator.wait_for(lambda c: [e for e in c.kinds("item", "moderation")
                                        if e["data"]["text"] == "Asked anonymously"
                                        and e["data"]["status"] == "withdrawn"])
    for client in (moderator, hub, amina, tariq):
        await client.close()


async def test_attendee_count_goes_up_by_itself(room: Room) -> None:
    moderator = room.upstream("moderator", name="Chair")
    await moderator.connect()
    phones = [room.local("attendee", name=f"Phone {n}") for n in range(3)]
    hub = room.local("hub")
    for client in (*phones, hub):
        await client.connect()
    await hub.ok({"type": "hub_status", "attendees": 20})  # people without a device
    roll = await moderator.wait_for(lambda c: [e for e in c.kinds("hub_status")
                                               if e["data"]["attendees"] == 23], timeout=20)
    assert roll[-1]["data"]["name"] == "Nairobi hub"
    assert roll[-1]["data"]["place"] == {"city": "Nairobi", "country": "KE"}
    await phones[0].close()
    await moderator.wait_for(lambda c: c.kinds("hub_status")[-1]["data"]["attendees"] == 22,
                             timeout=20)
    for client in (moderator, *phones[1:], hub):
        await client.close()


async def test_the_room_rides_out_a_meeting_server_restart(room: Room) -> None:
    """The meeting's server stops for a while and comes back (same data, same port): the
    relay resumes where it was; what the room forwarded meanwhile arrives once."""
    captioner = room.upstream("captioner", name="Captioner")
    await captioner.connect()
    reader = room.local("screen")
    hub = room.local("hub")
    asker = room.local("attendee", name="Lina")
    for client in (reader, hub, asker):
        await client.connect()
    for n in range(5):
        await captioner.ok({"type": "caption", "text": f"Before {n}", "seq": n + 1})
    await reader.wait_for(lambda c: len(texts(c)) >= 5)
    await captioner.close()
    assert room.main.terminate() == 0
    item = (await asker.ok({"type": "ask", "kind": "floor", "key": "f",
                            "text": "Lina asks for the floor"}))["item"]
    await hub.ok({"type": "hub_status", "attendees": 6})  # backing is bounded by the room
    await hub.ok({"type": "forward", "item": item, "backing": 4})
    local_line = room.local("captioner", name="Room captioner")
    await local_line.connect()
    await local_line.ok({"type": "caption", "text": "Local discussion while away"})
    await reader.wait_for(lambda c: "Local discussion while away" in texts(c))
    await asyncio.sleep(1.0)
    room.main.start()
    await room.wait_status(lambda s: s["connected"] and not s["waiting"], timeout=30)
    captioner = room.upstream("captioner", name="Captioner")
    moderator = room.upstream("moderator", name="Chair")
    for client in (captioner, moderator):
        await client.connect()
    for n in range(5):
        await captioner.ok({"type": "caption", "text": f"After {n}", "seq": 6 + n})
    await reader.wait_for(lambda c: len(texts(c)) >= 11)
    assert texts(reader) == [*(f"Before {n}" for n in range(5)), "Local discussion while away",
                             *(f"After {n}" for n in range(5))]
    asks = [i for i in moderator.welcome["snapshot"]["items"]
            if i["text"] == "Lina asks for the floor"]
    assert len(asks) == 1 and asks[0]["backing"] == 4
    for client in (captioner, moderator, reader, hub, asker, local_line):
        await client.close()


async def test_a_relay_killed_and_restarted_resumes_both_ways(room: Room) -> None:
    """kill -9 of the relay mid-stream: it comes back from its own log, resumes the
    meeting from the last event it holds, and its readers resume from theirs."""
    captioner = room.upstream("captioner", name="Captioner")
    await captioner.connect()
    reader = room.local("attendee", name="Attendee")
    await reader.connect()
    sent = [f"Line {n}" for n in range(30)]
    for n, text in enumerate(sent[:10]):
        await captioner.ok({"type": "caption", "text": text, "seq": n + 1})
    await reader.wait_for(lambda c: len(texts(c)) >= 10)
    room.relay.kill()
    await reader.closed.wait()
    for n, text in enumerate(sent[10:20], start=10):  # the meeting goes on meanwhile
        await captioner.ok({"type": "caption", "text": text, "seq": n + 1})
    room.relay.start()
    await room.wait_status(lambda s: s["connected"])
    welcome = await reader.connect(resume=True)
    assert welcome["channels"]["public"]["recovered"] is True
    for n, text in enumerate(sent[20:], start=20):
        await captioner.ok({"type": "caption", "text": text, "seq": n + 1})
    await reader.wait_for(lambda c: len(texts(c)) >= len(sent), timeout=30)
    assert texts(reader) == sent
    status = await room.status()
    assert status["connects"] == 1  # this process's first link: it resumed, not rejoined
    for client in (captioner, reader):
        await client.close()


async def test_a_relay_the_meeting_refuses_says_why(tmp_path: Path) -> None:
    main = HubProcess(tmp_path / "main").start()
    created = await create_session(main.url, "Main session", state="live")
    code, minted, _ = await ahttp("POST", f"{main.url}/api/sessions/{created['id']}/tokens",
                                  {"role": "hub", "name": "Dhaka hub"}, token=ADMIN_KEY)
    assert code == 201, minted
    payload, _, signature = minted["token"].partition(".")
    forged = f"{payload}.{signature[::-1]}"  # the hub's name and id, a signature that fails
    link = tmp_path / "hub-link.txt"
    link.write_text(f"{main.url}/s/{created['id']}/hub#token={forged}\n")
    relay = HubProcess(tmp_path / "relay", command="relay",
                       args=["--token-file", str(link), "--insecure"]).start()
    try:
        for _ in range(100):
            code, status, _ = await ahttp("GET", f"{relay.url}/api/relay", token=ADMIN_KEY)
            if status.get("refused"):
                break
            await asyncio.sleep(0.1)
        assert status["connected"] is False
        assert status["refused"].startswith("unauthorized")
        token = status["links"]["screen"].split("#token=")[1]
        screen = Client(relay.ws_url, created["id"], token)
        welcome = await screen.connect()
        assert welcome["snapshot"]["relay"]["refused"].startswith("unauthorized")
        await screen.close()
    finally:
        relay.terminate()
        main.terminate()
    # A join link (no identity) is not a hub's own link: refused at once, with a reason.
    refused = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "hub.cli", "relay", "--upstream", main.url,
                         "--insecure"],
        capture_output=True, text=True, timeout=30,
        env={**os.environ, "HUB_RELAY_TOKEN": created["tokens"]["hub"]})
    assert refused.returncode == 2
    assert "named link" in refused.stderr
