"""Remote hubs end to end: attendee links, the hub's local queue, forwarding, roll call."""

from __future__ import annotations

from typing import Any

from tests.support.harness import ADMIN_KEY, Client, ahttp
from tests.support.inprocess import RunningHub


async def mint(hub: RunningHub, sid: str, body: dict[str, Any], token: str) -> dict[str, Any]:
    status, minted, _ = await ahttp("POST", f"{hub.base}/api/sessions/{sid}/tokens", body,
                                    token=token)
    assert status == 201, minted
    return dict(minted)


async def test_hub_local_queue_forwarding_and_roll_call(hub: RunningHub) -> None:
    created = await hub.session(title="Hubs")
    sid = created["id"]
    nairobi_link = await mint(hub, sid, {"role": "hub", "name": "Nairobi hub",
                                         "city": "Nairobi", "country": "ke"}, ADMIN_KEY)
    mod = hub.client(created, "moderator", name="Chair")
    screen = hub.client(created, "screen")
    nairobi = Client(hub.ws_base, sid, nairobi_link["token"])
    for client in (mod, screen, nairobi):
        await client.connect()
    hub_id = nairobi.welcome["you"]["id"]
    roll = await mod.wait_for(lambda c: [e for e in c.kinds("hub_status")
                                         if e["data"]["connected"]])
    assert roll[-1]["data"]["place"] == {"city": "Nairobi", "country": "KE"}
    await nairobi.ok({"type": "hub_status", "attendees": 42})

    # The hub hands its room an attendee link; attendees ask the hub first.
    attendee_link = await mint(hub, sid, {"role": "participant"}, nairobi.welcome["you"]["token"])
    assert attendee_link["hub"] == hub_id
    attendees = [Client(hub.ws_base, sid, attendee_link["token"], name=f"Attendee {n}")
                 for n in range(2)]
    for client in attendees:
        await client.connect()
    first = (await attendees[0].ok({"type": "ask", "kind": "question", "key": "q",
                                    "text": "What about rural Kenya?"}))["item"]
    second = (await attendees[1].ok({"type": "ask", "kind": "question", "key": "q",
                                     "text": "Off topic"}))["item"]
    held = await nairobi.wait_for(lambda c: len(c.kinds("item", "private")) >= 2
                                  and c.kinds("item", "private"))
    assert {e["data"]["status"] for e in held} == {"local"}
    assert all(e["data"]["origin"] == "hub:Nairobi hub" for e in held)
    waiting = await mod.wait_for(lambda c: [e for e in c.kinds("item", "moderation")
                                            if e["data"]["status"] == "local"])
    assert len(waiting) == 2
    assert not screen.kinds("item")  # nothing local is public

    await nairobi.ok({"type": "forward", "item": first, "backing": 17})
    await nairobi.ok({"type": "decline", "item": second, "text": "Kept for our room"})
    await mod.ok({"type": "moderate", "item": first, "action": "approve"})
    public = await screen.wait_for(lambda c: c.kinds("item"))
    assert public[0]["data"]["origin"] == "hub:Nairobi hub"
    assert public[0]["data"]["backing"] == 17
    status = await attendees[0].wait_for(lambda c: [
        e for e in c.kinds("item", "private") if e["data"]["status"] == "approved"])
    assert status[0]["data"]["backing"] == 17
    declined = await attendees[1].wait_for(lambda c: [
        e for e in c.kinds("item", "private") if e["data"]["status"] == "rejected"])
    assert declined[0]["data"]["reason"] == "Kept for our room"
    back = await nairobi.wait_for(lambda c: [
        e for e in c.kinds("item", "private") if e["data"]["status"] == "approved"])
    assert back[0]["data"]["id"] == first  # the hub sees what became of what it forwarded

    # Only its own hub may forward; a hub cannot mint other kinds of links.
    other = await mint(hub, sid, {"role": "hub", "name": "Dhaka hub"}, ADMIN_KEY)
    dhaka = Client(hub.ws_base, sid, other["token"])
    await dhaka.connect()
    third = (await attendees[0].ok({"type": "ask", "kind": "comment", "key": "c",
                                    "text": "Another"}))["item"]
    refused = await dhaka.request({"type": "forward", "item": third})
    assert refused["code"] == "forbidden"
    status_code, _, _ = await ahttp("POST", f"{hub.base}/api/sessions/{sid}/tokens",
                                    {"role": "moderator", "name": "x"},
                                    token=nairobi.welcome["you"]["token"])
    assert status_code == 403

    # The roll call: who is connected, attendees, items waiting, last seen.
    await nairobi.close()
    gone = await mod.wait_for(lambda c: [e for e in c.kinds("hub_status")
                                         if e["data"]["hub"] == hub_id
                                         and not e["data"]["connected"]])
    assert gone[-1]["data"]["attendees"] == 42 and gone[-1]["data"]["waiting"] == 2
    late = hub.client(created, "moderator", name="Late moderator")
    snap = (await late.connect())["snapshot"]["hubs"]
    by_name = {h["name"]: h for h in snap}
    assert by_name["Nairobi hub"]["connected"] is False
    assert by_name["Dhaka hub"]["connected"] is True
    for client in (mod, screen, dhaka, late, *attendees):
        await client.close()
