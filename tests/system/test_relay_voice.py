"""Voice on a hub's relay: a real meeting server with its private Janus, a real `hub relay`
behind a proxy that can take the room's link down, and Janus's own API spoken through the
relay's `/janus` as the room's pages would (no audio here: that needs the network
namespace, tests/support/voice_scenarios.py).

What is pinned: the room's pages get the meeting's grants through the relay (one shared
listen grant for the room, valid on the meeting's Janus through the relay's `/janus`); an
attendee never speaks for the hub; the hub's page speaks only while the meeting gives the
hub the floor; the relay forwards only requests carrying a grant it gave; while the link
is down the pages are told so, and voice comes back with it.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hub.relay_voice import LINK_DOWN
from tests.support.harness import Client, ahttp
from tests.support.janus_probe import JanusPage, JanusRefused, until
from tests.support.relay_rooms import Room, open_voice_room

pytestmark = pytest.mark.skipif(shutil.which("janus") is None,
                                reason="janus is not installed (scripts/test-deps.sh)")
AUDIOBRIDGE, STREAMING = "janus.plugin.audiobridge", "janus.plugin.streaming"




@pytest.fixture
async def room(tmp_path: Path) -> AsyncIterator[Room]:
    async with open_voice_room(tmp_path) as opened:
        yield opened


def last_media(client: Client) -> dict[str, Any] | None:
    media = [f for f in client.frames if f.get("type") == "media"]
    return media[-1] if media else None


async def voice_on(client: Client) -> dict[str, Any]:
    found: dict[str, Any] = await client.wait_for(
        lambda c: (m := last_media(c)) is not None and m["voice"] == "on" and m, timeout=20)
    return found


async def test_the_room_listens_to_the_meeting_through_the_relay(room: Room) -> None:
    amina, tariq = room.local("attendee", name="Amina"), room.local("attendee", name="Tariq")
    for client in (amina, tariq):
        await client.connect()
    media = await voice_on(amina)
    assert media["run"]
    assert amina.welcome["session"]["voice"]["voice"] == "on"

    listen = await amina.ok({"type": "media", "want": "listen"})
    assert listen["janus"] == "/janus"  # the relay's own origin: the CSP is unchanged
    assert listen["run"] == media["run"]
    assert listen["mountpoint"] > 0 and listen["pin"] and listen["ice_servers"] == []
    # One listen grant of the hub serves the whole room (the hub is one identity at the
    # meeting, with one `media` budget).
    again = await tariq.ok({"type": "media", "want": "listen"})
    assert again["token"] == listen["token"] and again["mountpoint"] == listen["mountpoint"]

    # Janus (the meeting's) takes the grant, reached through the relay's /janus.
    page = await JanusPage(room.relay.url + listen["janus"], listen["token"]).open(STREAMING)
    watched = await page.send({"request": "watch", "id": listen["mountpoint"],
                               "pin": listen["pin"]})
    assert watched.get("janus") == "ack" or watched.get("streaming"), watched
    events = [e for _ in range(5) for e in await page.events()]
    assert any(e.get("streaming") == "event" or "result" in e for e in events), events
    # The listen token is for the Streaming plugin only, as at the meeting.
    with pytest.raises(JanusRefused):
        await JanusPage(room.relay.url + "/janus", listen["token"]).open(AUDIOBRIDGE)

    # The relay forwards only requests carrying a grant it gave, and never an admin API.
    for body in ({"janus": "create", "transaction": "x"},
                 {"janus": "create", "transaction": "x", "token": "hv1.forged"}):
        code, answer, _ = await ahttp("POST", f"{room.relay.url}/janus", body)
        assert code == 403 and answer["error"]["code"] == "forbidden", answer
    code, answer, _ = await ahttp("GET", f"{room.relay.url}/janus/info")
    assert code == 403, answer
    for path in ("/janus/admin", "/janus/../admin", "/janus/1/2/3"):
        assert (await ahttp("GET", room.relay.url + path))[0] == 404

    # An attendee's page listens; it never speaks for the hub, nor takes a desk.
    refused = await amina.request({"type": "media", "want": "speak"})
    assert refused["type"] == "error" and refused["code"] == "forbidden", refused
    refused = await amina.request({"type": "media", "want": "desk"})
    assert refused["type"] == "error" and refused["code"] == "forbidden", refused
    for client in (amina, tariq):
        await client.close()


async def test_the_hub_page_speaks_only_while_the_meeting_gives_the_hub_the_floor(
    room: Room,
) -> None:
    moderator = room.upstream("moderator", name="Chair")
    await moderator.connect()
    hub, amina = room.local("hub"), room.local("attendee", name="Amina")
    for client in (hub, amina):
        await client.connect()
    await voice_on(hub)

    # Nothing of the hub's is live: the meeting refuses the hub's speak grant.
    refused = await hub.request({"type": "media", "want": "speak"})
    assert refused["type"] == "error" and refused["reason"] == "not_your_turn", refused

    # The hub asks for the floor for its room; the meeting gives it.
    await hub.ok({"type": "ask", "kind": "floor", "text": "Nairobi asks to speak",
                  "key": "n1"})
    item = (await moderator.wait_for(lambda c: [
        e["data"] for e in c.kinds("item", "moderation")
        if e["data"]["text"] == "Nairobi asks to speak"]))[0]
    assert item["origin"] == "hub:Nairobi hub"
    await moderator.ok({"type": "moderate", "item": item["id"], "action": "live"})
    await hub.wait_for(lambda c: any(e["data"].get("item") == item["id"]
                                     for e in c.kinds("voice")), timeout=20)

    # The hub's page gets the meeting's speak grant and joins the meeting's audio room
    # through the relay; an attendee still does not.
    speak = await hub.ok({"type": "media", "want": "speak"})
    assert speak["janus"] == "/janus" and speak["item"] == item["id"]
    assert speak["room"] > 0 and speak["id"] > 0 and speak["display"]
    refused = await amina.request({"type": "media", "want": "speak"})
    assert refused["type"] == "error" and refused["code"] == "forbidden", refused
    page = await JanusPage(room.relay.url + "/janus", speak["token"]).open(AUDIOBRIDGE)
    joined = await page.join(speak)
    assert joined["id"] == speak["id"]

    # The turn ends at the meeting: the grant ends with it.
    await moderator.ok({"type": "moderate", "item": item["id"], "action": "done"})
    refused = await hub.request({"type": "media", "want": "speak"})
    assert refused["type"] == "error" and refused["reason"] == "not_your_turn", refused

    async def speak_token_void() -> bool:
        try:
            await JanusPage(room.relay.url + "/janus", speak["token"]).open(AUDIOBRIDGE)
        except JanusRefused:
            return True
        return False

    assert await until(speak_token_void, timeout=20)  # removed by the meeting's hub
    for client in (moderator, hub, amina):
        await client.close()


async def test_the_pages_are_told_when_the_link_is_down_and_voice_comes_back(
    room: Room,
) -> None:
    amina = room.local("attendee", name="Amina")
    await amina.connect()
    media = await voice_on(amina)
    listen = await amina.ok({"type": "media", "want": "listen"})

    room.proxy.down()
    down = await amina.wait_for(
        lambda c: (m := last_media(c)) is not None and m["voice"] == "down" and m, timeout=30)
    assert down["reason"] == LINK_DOWN and down["run"] is None
    refused = await amina.request({"type": "media", "want": "listen"})
    assert refused["code"] == "unavailable" and refused["reason"] == "voice_down", refused
    code, answer, _ = await ahttp("POST", f"{room.relay.url}/janus",
                                  {"janus": "create", "transaction": "x",
                                   "token": listen["token"]})
    assert code == 503 and answer["error"]["reason"] == "voice_down", answer
    # A page joining meanwhile is told in its welcome.
    late = room.local("screen")
    welcome = await late.connect()
    assert welcome["session"]["voice"] == {"voice": "down", "run": None, "reason": LINK_DOWN}

    room.proxy.up()
    back = await voice_on(amina)
    assert back["run"] == media["run"]  # the same Janus run: pages simply ask again
    again = await amina.ok({"type": "media", "want": "listen"})
    assert again["token"] == listen["token"]
    page = await JanusPage(room.relay.url + "/janus", again["token"]).open(STREAMING)
    assert page.handle
    for client in (amina, late):
        await client.close()


async def test_a_restart_of_the_meetings_janus_resets_the_rooms_pages(room: Room) -> None:
    import os
    import signal

    from tests.support.media_pages import janus_child

    amina = room.local("attendee", name="Amina")
    await amina.connect()
    media = await voice_on(amina)
    await amina.ok({"type": "media", "want": "listen"})
    pid = janus_child(room.main)
    assert pid, "the meeting runs no Janus"
    os.kill(pid, signal.SIGKILL)
    # The meeting starts its Janus again; its `media` frame with the new run reaches the
    # room's pages through the relay (a media reset, as for any page).
    reset = await amina.wait_for(
        lambda c: (m := last_media(c)) is not None and m["voice"] == "on"
        and m["run"] != media["run"] and m, timeout=60)
    listen = await amina.ok({"type": "media", "want": "listen"})
    assert listen["run"] == reset["run"]
    page = await JanusPage(room.relay.url + "/janus", listen["token"]).open(STREAMING)
    assert page.handle
    await amina.close()
