"""The websocket protocol over real sockets: every message type and every error code."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
import websockets

from tests.support.harness import Client
from tests.support.inprocess import RunningHub


async def test_welcome_lists_every_channel_with_epoch_and_offset(meeting: dict[str, Any]) -> None:
    alice, mod, screen = meeting["alice"], meeting["moderator"], meeting["screen"]
    assert set(alice.welcome["channels"]) == {"public", "private"}
    assert set(mod.welcome["channels"]) == {"public", "moderation"}
    assert set(screen.welcome["channels"]) == {"public"}
    for client in (alice, mod, screen):
        for pos in client.welcome["channels"].values():
            assert pos["recovered"] is False and isinstance(pos["epoch"], str)
    you = alice.welcome["you"]
    assert you["role"] == "participant" and you["name"] == "Alice" and you["token"]
    assert alice.welcome["session"]["state"] == "live"
    snap = alice.welcome["snapshot"]
    assert {"items", "order", "floor", "captions", "presence", "votes"} <= set(snap)


async def test_a_question_travels_from_participant_to_moderator_to_everyone(
    meeting: dict[str, Any],
) -> None:
    alice, bob, mod, screen = (meeting[k] for k in ("alice", "bob", "moderator", "screen"))
    ack = await alice.ok({"type": "ask", "kind": "question", "text": "Who pays?", "key": "q1"})
    item = ack["item"]
    pending = await mod.wait_for(lambda c: c.kinds("item", "moderation"))
    assert pending[0]["data"]["status"] == "pending" and pending[0]["data"]["author"] == "Alice"
    assert not bob.kinds("item") and not screen.kinds("item")  # pending is not public
    mine = await alice.wait_for(lambda c: c.kinds("item", "private"))
    assert mine[0]["data"]["status"] == "pending"
    await mod.ok({"type": "moderate", "item": item, "action": "approve"})
    public = await bob.wait_for(lambda c: c.kinds("item", "public"))
    assert public[0]["data"]["status"] == "approved"
    assert "author_id" not in public[0]["data"]
    order = await screen.wait_for(lambda c: c.kinds("order"))
    assert order[-1]["data"]["items"] == [item]
    vote = await bob.ok({"type": "vote", "item": item})
    assert vote["votes"] == 1 and vote["voted"] is True
    await bob.wait_for(lambda c: c.kinds("vote", "private"))
    await alice.wait_for(lambda c: any(e["data"]["votes"] == 1 for e in c.kinds("item", "private")))
    await mod.ok({"type": "moderate", "item": item, "action": "live", "seconds": 90})
    floor = await screen.wait_for(lambda c: c.kinds("floor"))
    assert floor[-1]["data"]["item"] == item and floor[-1]["data"]["limit"] == 90
    await mod.ok({"type": "moderate", "item": item, "action": "done"})
    done = await alice.wait_for(
        lambda c: [e for e in c.kinds("item", "private") if e["data"]["status"] == "done"])
    assert done


async def test_rejection_reason_reaches_only_the_author(meeting: dict[str, Any]) -> None:
    alice, bob, mod = meeting["alice"], meeting["bob"], meeting["moderator"]
    item = (await alice.ok({"type": "ask", "kind": "comment", "text": "spam", "key": "s"}))["item"]
    await mod.ok({"type": "moderate", "item": item, "action": "reject", "text": "Off topic"})
    rejected = await alice.wait_for(
        lambda c: [e for e in c.kinds("item", "private") if e["data"]["status"] == "rejected"])
    assert rejected[0]["data"]["reason"] == "Off topic"
    assert (await bob.request({"type": "ping"}))["type"] == "pong"
    assert not bob.kinds("item")


async def test_captions_reach_every_reader_in_order(meeting: dict[str, Any]) -> None:
    cap = meeting["captioner"]
    for n in range(1, 21):
        await cap.ok({"type": "caption", "text": f"line {n}", "seq": n})
    for reader in ("alice", "bob", "screen", "moderator", "nairobi"):
        lines = await meeting[reader].wait_for(
            lambda c: len(c.kinds("caption")) >= 20 and c.kinds("caption"))
        assert [e["data"]["text"] for e in lines] == [f"line {n}" for n in range(1, 21)]
    repeat = await cap.ok({"type": "caption", "text": "line 20 again", "seq": 20})
    assert repeat["duplicate"] is True


async def test_withdraw_note_hub_status_session_and_ping(meeting: dict[str, Any]) -> None:
    alice, mod, hub, screen = (meeting[k] for k in ("alice", "moderator", "nairobi", "screen"))
    item = (await alice.ok({"type": "ask", "kind": "floor", "text": "May I?", "key": "f"}))["item"]
    await alice.ok({"type": "withdraw", "item": item})
    await mod.ok({"type": "note", "to": alice.welcome["you"]["id"], "text": "You are next"})
    note = await alice.wait_for(lambda c: c.kinds("note"))
    assert {k: note[0]["data"][k] for k in ("text", "from")} == {
        "text": "You are next", "from": "Moderator"}
    again = await _fresh_snapshot(meeting, alice)
    assert [n["text"] for n in again["notes"]] == ["You are next"]
    assert again["notes"][0]["ts"] == note[0]["data"]["ts"]
    await hub.ok({"type": "hub_status", "attendees": 35})
    assert (await _fresh_snapshot(meeting, hub))["attendees"] == 35
    status = await mod.wait_for(lambda c: [e for e in c.kinds("hub_status")
                                           if e["data"]["attendees"] == 35])
    assert status[0]["data"]["name"] == "Nairobi" and status[0]["data"]["connected"] is True
    presence = await screen.wait_for(
        lambda c: [f for f in c.frames if f["type"] == "presence" and f["attendees"] == 35])
    assert presence[-1]["hubs"] == 1 and presence[-1]["participants"] == 2
    await mod.ok({"type": "session", "state": "closed"})
    closed = await screen.wait_for(lambda c: c.kinds("session"))
    assert closed[-1]["data"]["state"] == "closed"
    refused = await alice.request({"type": "ask", "kind": "question", "text": "late", "key": "z"})
    assert refused["code"] == "conflict"
    pong = await screen.request({"type": "ping"})
    assert pong["type"] == "pong"


async def _fresh_snapshot(meeting: dict[str, Any], client: Client) -> dict[str, Any]:
    """The snapshot a second device of the same person gets."""
    other = Client(meeting["server"].ws_base, meeting["session"]["id"], client.token)
    welcome = await other.connect()
    await other.close()
    return dict(welcome["snapshot"])


async def test_moderator_adds_a_room_speaker(meeting: dict[str, Any]) -> None:
    mod, screen = meeting["moderator"], meeting["screen"]
    ack = await mod.ok({"type": "ask", "kind": "floor", "text": "Raised hand", "key": "r1",
                        "on_behalf": {"name": "Fatou Diop", "affiliation": "ISOC Senegal"}})
    items = await screen.wait_for(lambda c: c.kinds("item"))
    data = items[0]["data"]
    assert data["id"] == ack["item"] and data["origin"] == "room"
    assert (data["author"], data["affiliation"]) == ("Fatou Diop", "ISOC Senegal")


async def test_ask_key_is_idempotent_across_reconnects(meeting: dict[str, Any]) -> None:
    alice = meeting["alice"]
    first = await alice.ok({"type": "ask", "kind": "question", "text": "Once", "key": "same"})
    await alice.drop()
    await alice.connect(resume=True)
    again = await alice.ok({"type": "ask", "kind": "question", "text": "Once", "key": "same"})
    assert again["item"] == first["item"] and again["duplicate"] is True


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "ask", "kind": "question", "key": "k"}, "bad_request"),
        ({"type": "ask", "kind": "question", "text": 5, "key": "k"}, "bad_request"),
        ({"type": "ask", "kind": "question", "text": "x" * 2001, "key": "k"}, "too_large"),
        ({"type": "vote", "item": "i404"}, "not_found"),
        ({"type": "shout", "text": "hi"}, "bad_request"),
        ({"type": "moderate", "item": "i1", "action": "approve"}, "forbidden"),
        ({"type": "hello", "token": "x"}, "conflict"),
        ({"type": "withdraw"}, "bad_request"),
        ({"type": "vote", "item": "i1", "undo": "yes"}, "bad_request"),
    ],
)
async def test_bad_frames_get_a_clear_error_and_change_nothing(
    meeting: dict[str, Any], frame: dict[str, Any], code: str
) -> None:
    alice = meeting["alice"]
    reply = await alice.request(frame)
    assert reply["type"] == "error" and reply["code"] == code, reply
    assert reply["message"]
    assert not alice.events


async def test_invalid_json_and_binary_frames(meeting: dict[str, Any]) -> None:
    alice = meeting["alice"]
    await alice.ws.send("{not json")
    await alice.ws.send(b"\x00\x01")
    await alice.ws.send("[1, 2]")
    errors = await alice.wait_for(lambda c: len([f for f in c.frames if f["type"] == "error"]) >= 3
                                  and [f for f in c.frames if f["type"] == "error"])
    assert [e["code"] for e in errors] == ["bad_request"] * 3
    assert (await alice.request({"type": "ping"}))["type"] == "pong"  # still connected


async def test_rate_limit_on_ask(hub_factory: Any) -> None:
    hub: RunningHub = await hub_factory(ask_per_10min=3)
    created = await hub.session()
    alice = hub.client(created, "participant", name="Alice")
    await alice.connect()
    for n in range(3):
        await alice.ok({"type": "ask", "kind": "question", "text": f"q{n}", "key": f"k{n}"})
    limited = await alice.request({"type": "ask", "kind": "question", "text": "q", "key": "k9"})
    assert limited["code"] == "rate_limited" and limited["retry_after"] > 0
    await alice.close()


async def test_repeated_abuse_closes_with_1008(hub_factory: Any) -> None:
    hub: RunningHub = await hub_factory(max_errors_per_minute=5)
    created = await hub.session()
    alice = hub.client(created, "participant", name="Alice")
    await alice.connect()
    for _ in range(8):
        try:
            await alice.ws.send("garbage")
        except websockets.ConnectionClosed:
            break
    await asyncio.wait_for(alice.closed.wait(), 10)
    assert alice.close_code == 1008
    assert any(f["type"] == "bye" and f["reconnect"] is False for f in alice.frames)


async def test_oversized_frame_is_closed_with_1009(hub_factory: Any) -> None:
    hub: RunningHub = await hub_factory(max_frame=64 * 1024)
    created = await hub.session()
    alice = hub.client(created, "participant", name="Alice")
    await alice.connect()
    await alice.ws.send(json.dumps({"type": "ask", "text": "x" * 70_000}))
    await asyncio.wait_for(alice.closed.wait(), 10)
    assert alice.close_code == 1009


async def test_command_before_hello_and_bad_tokens(hub: RunningHub) -> None:
    created = await hub.session()
    url = f"{hub.ws_base}/ws/{created['id']}"
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "ask", "kind": "question", "text": "hi", "key": "k",
                                  "ref": "early"}))
        reply = json.loads(await ws.recv())
        assert reply == {**reply, "type": "error", "code": "unauthorized", "ref": "early"}
        await ws.send(json.dumps({"type": "ping", "ref": "p"}))
        assert json.loads(await ws.recv())["type"] == "pong"  # ping needs no hello
        await ws.send(json.dumps({"type": "hello", "token": "forged.token"}))
        reply = json.loads(await ws.recv())
        assert reply["code"] == "unauthorized"
        bye = json.loads(await ws.recv())
        assert bye["type"] == "bye" and bye["reconnect"] is False
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 4501
    other = await hub.session(title="Other")
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "hello", "token": other["tokens"]["participant"]}))
        reply = json.loads(await ws.recv())
        assert reply["code"] == "unauthorized" and "another session" in reply["message"]


async def test_expired_token_is_refused(hub: RunningHub) -> None:
    from hub import keys

    created = await hub.session()
    expired = hub.app[keys.SIGNER].mint(created["id"], "participant", ttl=-10)
    async with websockets.connect(f"{hub.ws_base}/ws/{created['id']}") as ws:
        await ws.send(json.dumps({"type": "hello", "token": expired}))
        reply = json.loads(await ws.recv())
        assert reply["code"] == "unauthorized" and "expired" in reply["message"]


async def test_unknown_session_is_not_found(hub: RunningHub) -> None:
    async with websockets.connect(f"{hub.ws_base}/ws/nosuchsession") as ws:
        reply = json.loads(await ws.recv())
        assert reply["code"] == "not_found"
        bye = json.loads(await ws.recv())
        assert bye["type"] == "bye" and bye["reconnect"] is False and bye["code"] == 4504
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 4504


async def test_foreign_origin_is_refused_and_no_origin_allowed(hub_factory: Any) -> None:
    hub: RunningHub = await hub_factory(allowed_origins=("https://igf.example",))
    created = await hub.session()
    url = f"{hub.ws_base}/ws/{created['id']}"
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(url, origin="https://evil.example"):
            pass
    assert refused.value.response.status_code == 403
    for origin in (None, "https://igf.example", hub.base):
        async with websockets.connect(url, origin=origin) as ws:  # type: ignore[arg-type]
            await ws.send(json.dumps({"type": "hello", "token": created["tokens"]["screen"]}))
            assert json.loads(await ws.recv())["type"] == "welcome"


async def test_personal_token_is_the_same_identity(meeting: dict[str, Any]) -> None:
    hub: RunningHub = meeting["server"]
    alice = meeting["alice"]
    item = (await alice.ok({"type": "ask", "kind": "question", "text": "Mine", "key": "m"}))["item"]
    again = Client(hub.ws_base, meeting["session"]["id"], alice.welcome["you"]["token"])
    welcome = await again.connect()
    assert welcome["you"]["id"] == alice.welcome["you"]["id"]
    assert welcome["you"]["name"] == "Alice"
    assert [i["id"] for i in welcome["snapshot"]["items"]] == [item]
    await again.ok({"type": "withdraw", "item": item})
    await again.close()


async def test_two_moderators_race_on_one_item_one_wins(meeting: dict[str, Any]) -> None:
    hub: RunningHub = meeting["server"]
    alice, mod = meeting["alice"], meeting["moderator"]
    other = hub.client(meeting["session"], "moderator", name="Remote moderator")
    await other.connect()
    for n in range(10):
        item = (await alice.ok({"type": "ask", "kind": "question", "text": f"q{n}",
                                "key": f"race{n}"}))["item"]
        replies = await asyncio.gather(
            mod.request({"type": "moderate", "item": item, "action": "approve"}),
            other.request({"type": "moderate", "item": item, "action": "reject", "text": "no"}),
        )
        kinds = sorted(r["type"] for r in replies)
        assert kinds == ["ack", "error"], replies
        assert [r["code"] for r in replies if r["type"] == "error"] == ["conflict"]
    await other.close()


async def test_sse_streams_the_same_events_and_resumes(meeting: dict[str, Any]) -> None:
    hub: RunningHub = meeting["server"]
    cap = meeting["captioner"]
    sid, token = meeting["session"]["id"], meeting["session"]["tokens"]["screen"]
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{hub.base}/sse/{sid}?token={token}") as resp:
            assert resp.headers["Content-Type"].startswith("text/event-stream")
            await cap.ok({"type": "caption", "text": "over SSE", "seq": 1})
            messages, last_id = await _read_sse(resp, until=lambda m: m.get("kind") == "caption")
        assert messages[0]["type"] == "welcome"
        assert messages[-1]["data"]["text"] == "over SSE"
        await cap.ok({"type": "caption", "text": "missed", "seq": 2})
        headers = {"Last-Event-ID": last_id}
        async with http.get(f"{hub.base}/sse/{sid}?token={token}", headers=headers) as resp:
            messages, _ = await _read_sse(resp, until=lambda m: m.get("kind") == "caption")
        assert messages[0]["channels"]["public"]["recovered"] is True
        assert [m["data"]["text"] for m in messages if m.get("kind") == "caption"] == ["missed"]


async def _read_sse(resp: aiohttp.ClientResponse, until: Any) -> tuple[list[dict[str, Any]], str]:
    messages: list[dict[str, Any]] = []
    last_id = ""

    async def read() -> None:
        nonlocal last_id
        async for raw in resp.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("id: "):
                last_id = line[4:]
            elif line.startswith("data: "):
                messages.append(json.loads(line[6:]))
                if until(messages[-1]):
                    return

    await asyncio.wait_for(read(), 10)
    return messages, last_id


async def test_conflicts_are_not_abuse(hub_factory: Any) -> None:
    hub: RunningHub = await hub_factory(max_errors_per_minute=3)
    created = await hub.session()
    alice = hub.client(created, "participant", name="Alice")
    await alice.connect()
    for _ in range(10):  # votes on a missing item: not_found, an honest mistake
        reply = await alice.request({"type": "vote", "item": "i99"})
        assert reply["code"] == "not_found"
    assert not alice.closed.is_set()
    await alice.close()


async def test_sse_refuses_bad_tokens_with_a_status(meeting: dict[str, Any]) -> None:
    hub: RunningHub = meeting["server"]
    sid = meeting["session"]["id"]
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{hub.base}/sse/{sid}?token=forged") as resp:
            assert resp.status == 401
            assert (await resp.json())["error"]["code"] == "unauthorized"
            assert "Content-Security-Policy" in resp.headers
        async with http.get(f"{hub.base}/sse/nosuch?token={meeting['session']['tokens']['screen']}"
                            ) as resp:
            assert resp.status == 401  # the token is for another session
        token = meeting["session"]["tokens"]["screen"]
        async with http.get(f"{hub.base}/sse/{sid}?token={token}") as resp:
            assert resp.headers["X-Content-Type-Options"] == "nosniff"


async def test_in_room_is_kept_across_reconnects(meeting: dict[str, Any]) -> None:
    hub: RunningHub = meeting["server"]
    created = meeting["session"]
    phone = Client(hub.ws_base, created["id"], created["tokens"]["participant"], name="In room",
                   in_room=True)
    await phone.connect()
    phone.hello_extra = {}  # the page reconnects without saying it again
    await phone.drop()
    await phone.connect(resume=True)
    item = await phone.ok({"type": "ask", "kind": "floor", "text": "From the room", "key": "r"})
    got = await meeting["moderator"].wait_for(lambda c: [
        e for e in c.kinds("item", "moderation") if e["data"]["id"] == item["item"]])
    assert got[0]["data"]["origin"] == "room"
    await phone.close()


async def test_low_bandwidth_readers_get_captions_and_their_own_items(
    meeting: dict[str, Any],
) -> None:
    hub: RunningHub = meeting["server"]
    created, mod, bob = meeting["session"], meeting["moderator"], meeting["bob"]
    others = (await bob.ok({"type": "ask", "kind": "question", "text": "Bob's", "key": "b"}))
    await mod.ok({"type": "moderate", "item": others["item"], "action": "approve"})
    phone = Client(hub.ws_base, created["id"], created["tokens"]["participant"], name="Phone",
                   lite=True)
    welcome = await phone.connect()
    assert welcome["snapshot"]["items"] == [] and welcome["snapshot"]["order"] == []
    mine = (await phone.ok({"type": "ask", "kind": "question", "text": "Mine", "key": "m"}))
    await mod.ok({"type": "moderate", "item": mine["item"], "action": "approve"})
    await meeting["captioner"].ok({"type": "caption", "text": "Only this", "seq": 1})
    await phone.wait_for(lambda c: c.kinds("caption"))
    assert not phone.kinds("item", "public") and not phone.kinds("order")
    assert {e["data"]["status"] for e in phone.kinds("item", "private")} == {
        "pending", "approved"}
    # Positions moved past what was skipped: a resume picks up exactly after it.
    await phone.drop()
    await meeting["captioner"].ok({"type": "caption", "text": "After the drop", "seq": 2})
    await mod.ok({"type": "moderate", "item": others["item"], "action": "live"})
    await phone.connect(resume=True)
    got = await phone.wait_for(lambda c: len(c.kinds("caption")) == 2 and c.kinds("caption"))
    assert [e["data"]["text"] for e in got] == ["Only this", "After the drop"]
    assert phone.kinds("floor") and not phone.kinds("item", "public")
    await phone.close()
