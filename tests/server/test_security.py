"""Removing people and retiring links: bans, link rotation."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import aiohttp
import websockets

from tests.support.harness import ADMIN_KEY, Client, ahttp
from tests.support.inprocess import RunningHub


async def test_ban_closes_refuses_and_hides_pending_items(meeting: dict[str, Any]) -> None:
    hub: RunningHub = meeting["server"]
    alice, bob, mod = meeting["alice"], meeting["bob"], meeting["moderator"]
    pending = (await alice.ok({"type": "ask", "kind": "question", "text": "Spam spam",
                               "key": "s"}))["item"]
    kept = (await alice.ok({"type": "ask", "kind": "question", "text": "Fine question",
                            "key": "f"}))["item"]
    await mod.ok({"type": "moderate", "item": kept, "action": "approve"})
    alice_id = alice.welcome["you"]["id"]
    banned = await mod.ok({"type": "ban", "identity": alice_id, "reason": "Spamming"})
    assert banned["banned"] is True
    await asyncio.wait_for(alice.closed.wait(), 10)
    assert alice.close_code == 4503
    bye = [f for f in alice.frames if f["type"] == "bye"]
    assert bye and bye[0]["reconnect"] is False
    hidden = await mod.wait_for(lambda c: [e for e in c.kinds("item", "moderation")
                                           if e["data"]["id"] == pending
                                           and e["data"]["status"] == "rejected"])
    assert hidden[0]["data"]["reason"] == "Spamming"
    notice = await mod.wait_for(lambda c: c.kinds("ban"))
    assert notice[0]["data"] == {"identity": alice_id, "name": "Alice", "banned": True,
                                 "reason": "Spamming"}
    async with websockets.connect(f"{hub.ws_base}/ws/{meeting['session']['id']}") as ws:
        await ws.send(json.dumps({"type": "hello", "token": alice.token}))
        reply = json.loads(await ws.recv())
        assert reply["code"] == "forbidden" and "removed" in reply["message"]
    assert (await bob.request({"type": "vote", "item": kept}))["type"] == "ack"  # others go on
    refused = await mod.request({"type": "ban", "identity": mod.welcome["you"]["id"]})
    assert refused["code"] == "forbidden"
    await mod.ok({"type": "ban", "identity": alice_id, "undo": True})
    welcome = await alice.connect()
    assert welcome["you"]["id"] == alice_id


def same_link(one: str, other: str) -> bool:
    """Two join links of one role and generation (each mint has a fresh expiry)."""
    def body(token: str) -> dict[str, Any]:
        payload = token.partition(".")[0]
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        data: dict[str, Any] = json.loads(raw)
        data.pop("x")
        return data
    return body(one) == body(other)


async def test_rotating_a_role_retires_its_join_links(hub: RunningHub) -> None:
    created = await hub.session()
    sid, old = created["id"], created["tokens"]["participant"]
    early = Client(hub.ws_base, sid, old, name="Early")
    await early.connect()
    status, body, _ = await ahttp("PATCH", f"{hub.base}/api/sessions/{sid}",
                                  {"rotate": ["participant"]}, token=ADMIN_KEY)
    assert status == 200 and body["tokens"]["participant"] != old
    assert same_link(body["tokens"]["moderator"], created["tokens"]["moderator"])
    async with websockets.connect(f"{hub.ws_base}/ws/{sid}") as ws:
        await ws.send(json.dumps({"type": "hello", "token": old}))
        reply = json.loads(await ws.recv())
        assert reply["code"] == "unauthorized" and "retired" in reply["message"]
    fresh = Client(hub.ws_base, sid, body["tokens"]["participant"], name="Fresh")
    await fresh.connect()
    await early.drop()  # who joined before keeps their own token
    assert (await early.connect(resume=True))["you"]["name"] == "Early"
    status, links, _ = await ahttp("GET", f"{hub.base}/api/sessions/{sid}/links",
                                   token=ADMIN_KEY)
    assert status == 200 and same_link(links["tokens"]["participant"],
                                       body["tokens"]["participant"])
    status, _, _ = await ahttp("PATCH", f"{hub.base}/api/sessions/{sid}", {"rotate": ["king"]},
                               token=ADMIN_KEY)
    assert status == 400
    for client in (early, fresh):
        await client.close()


async def test_connections_and_joins_per_address_are_capped(hub_factory: Any) -> None:
    hub: RunningHub = await hub_factory(max_connections_per_address=3, hello_per_minute=5)
    created = await hub.session()
    clients = [Client(hub.ws_base, created["id"], created["tokens"]["screen"]) for _ in range(3)]
    for client in clients:
        await client.connect()
    try:
        async with websockets.connect(f"{hub.ws_base}/ws/{created['id']}"):
            raise AssertionError("a fourth connection from one address was let in")
    except websockets.InvalidStatus as refused:
        assert refused.response.status_code == 429
    await clients[0].close()
    await clients[1].close()
    again = [Client(hub.ws_base, created["id"], created["tokens"]["screen"]) for _ in range(2)]
    await again[0].connect()  # the fourth hello in this minute
    await again[0].close()
    await again[1].connect()  # the fifth
    await again[1].close()
    async with websockets.connect(f"{hub.ws_base}/ws/{created['id']}") as ws:
        await ws.send(json.dumps({"type": "hello", "token": created["tokens"]["screen"]}))
        reply = json.loads(await ws.recv())
        assert reply["code"] == "rate_limited" and reply["retry_after"] > 0
        bye = json.loads(await ws.recv())
        assert bye["reconnect"] is True and bye["code"] == 4029
    await clients[2].close()


async def test_caption_rate_per_captioner(hub_factory: Any) -> None:
    hub: RunningHub = await hub_factory(caption_per_10s=5)
    created = await hub.session()
    cap = hub.client(created, "captioner")
    await cap.connect()
    for n in range(5):
        await cap.ok({"type": "caption", "text": f"line {n}", "seq": n + 1})
    limited = await cap.request({"type": "caption", "text": "too fast", "seq": 6})
    assert limited["code"] == "rate_limited"
    await cap.close()


async def test_organizer_deletes_a_session_and_all_its_data(meeting: dict[str, Any]) -> None:
    hub: RunningHub = meeting["server"]
    sid, tokens = meeting["session"]["id"], meeting["session"]["tokens"]
    await meeting["captioner"].ok({"type": "caption", "text": "Personal remark", "seq": 1})
    status, _, _ = await ahttp("DELETE", f"{hub.base}/api/sessions/{sid}",
                               token=tokens["moderator"])
    assert status == 403
    status, body, _ = await ahttp("DELETE", f"{hub.base}/api/sessions/{sid}", token=ADMIN_KEY)
    assert status == 200 and body == {"id": sid, "deleted": True}
    await asyncio.wait_for(meeting["alice"].closed.wait(), 10)
    assert meeting["alice"].close_code == 4504  # told, for good
    status, _, _ = await ahttp("GET", f"{hub.base}/api/sessions/{sid}/transcript",
                               token=tokens["participant"])
    assert status == 404
    status, _, _ = await ahttp("DELETE", f"{hub.base}/api/sessions/{sid}", token=ADMIN_KEY)
    assert status == 404


async def test_bans_and_retired_links_hold_over_http_too(meeting: dict[str, Any]) -> None:
    hub: RunningHub = meeting["server"]
    sid, tokens = meeting["session"]["id"], meeting["session"]["tokens"]
    alice = meeting["alice"]
    await meeting["moderator"].ok({"type": "ban", "identity": alice.welcome["you"]["id"]})
    status, body, _ = await ahttp("GET", f"{hub.base}/api/sessions/{sid}/transcript",
                                  token=alice.welcome["you"]["token"])
    assert status == 403 and body["error"]["code"] == "forbidden"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{hub.base}/sse/{sid}?token={alice.welcome['you']['token']}") as r:
            assert r.status == 403  # before any stream starts
    status, answer, _ = await ahttp(
        "PATCH", f"{hub.base}/api/sessions/{sid}",
        {"rotate": ["captioner"], "title": "Renamed"}, token=ADMIN_KEY)
    assert status == 200 and answer["title"] == "Renamed"  # both parts applied
    status, _, _ = await ahttp("POST", f"{hub.base}/api/sessions/{sid}/captions?seq=1",
                               "retired", token=tokens["captioner"], content_type="text/plain")
    assert status == 401
    status, _, _ = await ahttp("POST", f"{hub.base}/api/sessions/{sid}/captions?seq=1",
                               "current", token=answer["tokens"]["captioner"],
                               content_type="text/plain")
    assert status == 200
    for bad in ({"floor": {"weights": [1]}}, {"floor": {"budgets": {"media": "x"}}},
                {"floor": "balanced"}, {"rotate": "participant"}):
        status, body, _ = await ahttp("PATCH", f"{hub.base}/api/sessions/{sid}", bad,
                                      token=ADMIN_KEY)
        assert status == 400, (bad, body)
    status, _, _ = await ahttp("PATCH", f"{hub.base}/api/sessions/{sid}",
                               {"title": "Not applied", "floor": {"ordering": "nope"}},
                               token=ADMIN_KEY)
    assert status == 400
    status, info, _ = await ahttp("GET", f"{hub.base}/api/sessions/{sid}", token=ADMIN_KEY)
    assert info["title"] == "Renamed"  # a refused PATCH changes nothing


async def test_hub_attendee_links_survive_a_participant_link_rotation(hub: RunningHub) -> None:
    created = await hub.session()
    sid = created["id"]
    status, minted, _ = await ahttp("POST", f"{hub.base}/api/sessions/{sid}/tokens",
                                    {"role": "hub", "name": "Accra hub"}, token=ADMIN_KEY)
    accra = Client(hub.ws_base, sid, minted["token"])
    await accra.connect()
    await ahttp("PATCH", f"{hub.base}/api/sessions/{sid}", {"rotate": ["participant"]},
                token=ADMIN_KEY)
    status, link, _ = await ahttp("POST", f"{hub.base}/api/sessions/{sid}/tokens",
                                  {"role": "participant"}, token=accra.welcome["you"]["token"])
    assert status == 201
    attendee = Client(hub.ws_base, sid, link["token"], name="Kofi")
    assert (await attendee.connect())["you"]["role"] == "participant"
    for client in (accra, attendee):
        await client.close()
