"""Join sources, storing commands and hubs' names, over real websockets against a real server:
identities made in bulk from one join link, unlimited storing commands and attendee
counts, and hubs posting under any name."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from hub import keys
from tests.support.harness import ADMIN_KEY, Client, HubProcess, ahttp, create_session
from tests.support.inprocess import HubFactory, RunningHub


async def mint(hub: RunningHub, sid: str, body: dict[str, Any], token: str) -> dict[str, Any]:
    status, minted, _ = await ahttp("POST", f"{hub.base}/api/sessions/{sid}/tokens", body,
                                    token=token)
    assert status == 201, minted
    return dict(minted)


async def refused(client: Client) -> str:
    """The refusal a client's `hello` gets (the connection must not be welcomed)."""
    with pytest.raises(RuntimeError) as err:
        await client.connect()
    return str(err.value)


async def approved_question(created: dict[str, Any], hub: RunningHub) -> tuple[Client, str]:
    mod = hub.client(created, "moderator", name="Chair")
    await mod.connect()
    asker = hub.client(created, "participant", name="Asker")
    await asker.connect()
    item = (await asker.ok({"type": "ask", "kind": "question", "key": "q",
                            "text": "What about rural access?"}))["item"]
    await mod.ok({"type": "moderate", "item": item, "action": "approve"})
    await asker.close()
    return mod, item


# -- one participant link, unlimited identities --------------------------------------------


async def test_fresh_identities_from_one_address_cannot_pile_votes(
    hub_factory: HubFactory,
) -> None:
    hub = await hub_factory(votes_per_address=3, shared_addresses=())
    created = await hub.session(title="Votes")
    mod, item = await approved_question(created, hub)
    voters = [hub.client(created, "participant", name=f"Sock {n}") for n in range(5)]
    replies = []
    for voter in voters:
        await voter.connect()
        replies.append(await voter.request({"type": "vote", "item": item}))
    assert [r["type"] for r in replies] == ["ack", "ack", "ack", "error", "error"]
    assert replies[3]["code"] == "forbidden" and replies[3]["reason"] == "source_votes"
    assert "network address" in replies[3]["message"]
    session = await hub.app[keys.SESSIONS].get(created["id"])
    assert session.state.items[item].votes == 3
    # Taking a vote back frees the slot for someone else from the same address.
    await voters[0].ok({"type": "vote", "item": item, "undo": True})
    assert (await voters[3].ok({"type": "vote", "item": item}))["votes"] == 3
    for client in (mod, *voters):
        await client.close()


async def test_new_identities_from_one_address_have_a_budget(hub_factory: HubFactory) -> None:
    hub = await hub_factory(new_identities_per_address=3, shared_addresses=())
    created = await hub.session(title="Budget")
    joined = [hub.client(created, "participant", name=f"Sock {n}") for n in range(3)]
    for client in joined:
        await client.connect()
    refusal = await refused(hub.client(created, "participant", name="One too many"))
    assert "rate_limited" in refusal and "new identities" in refusal
    assert "retry_after" in refusal
    # People who already joined come back with their own token, whatever the budget.
    await joined[0].close()
    again = Client(hub.ws_base, created["id"], joined[0].token)
    assert (await again.connect())["you"]["id"] == joined[0].welcome["you"]["id"]
    session = await hub.app[keys.SESSIONS].get(created["id"])
    assert len([i for i in session.state.identities.values() if i.role == "participant"]) == 3
    for client in (again, *joined[1:]):
        await client.close()


async def test_a_ban_covers_the_address_and_no_address_is_stored(
    hub_factory: HubFactory,
) -> None:
    hub = await hub_factory(shared_addresses=())  # loopback is shared by default
    created = await hub.session(title="Ban")
    mod = hub.client(created, "moderator", name="Chair")
    troll = hub.client(created, "participant", name="Troll")
    await mod.connect()
    await troll.connect()
    troll_id = troll.welcome["you"]["id"]
    await mod.ok({"type": "ban", "identity": troll_id, "reason": "spam"})
    await troll.closed.wait()
    # Before: the same link made a fresh identity, and the banned person was back.
    refusal = await refused(hub.client(created, "participant", name="Troll again"))
    assert "forbidden" in refusal and "'reason': 'banned'" in refusal
    session = await hub.app[keys.SESSIONS].get(created["id"])
    source = session.state.identities[troll_id].source
    assert source.startswith("a:") and "127.0.0.1" not in source and len(source) == 18
    # What is stored is a keyed hash: the raw address appears nowhere in the data folder.
    for path in hub.data.rglob("*"):
        if path.is_file():
            assert b"127.0.0.1" not in path.read_bytes(), path
    # Lifting the ban lets that address make identities again.
    await mod.ok({"type": "ban", "identity": troll_id, "undo": True})
    back = hub.client(created, "participant", name="Forgiven")
    await back.connect()
    for client in (mod, back):
        await client.close()


async def test_a_shared_address_has_a_larger_budget_and_no_address_ban(
    hub_factory: HubFactory,
) -> None:
    hub = await hub_factory(shared_addresses=("127.0.0.0/8",), new_identities_per_address=2,
                            shared_new_identities=6)
    created = await hub.session(title="Venue")
    mod = hub.client(created, "moderator", name="Chair")
    await mod.connect()
    people = [hub.client(created, "participant", name=f"Delegate {n}") for n in range(4)]
    for client in people:
        await client.connect()
    await mod.ok({"type": "ban", "identity": people[0].welcome["you"]["id"]})
    # The venue's wifi is one address: a ban there removes one person, not the room.
    late = hub.client(created, "participant", name="Late delegate")
    await late.connect()
    session = await hub.app[keys.SESSIONS].get(created["id"])
    assert session.state.identities[late.welcome["you"]["id"]].source.startswith("s:")
    for client in (mod, late, *people[1:]):
        await client.close()


async def test_a_hubs_attendee_link_is_bounded_by_the_hub_not_the_address(
    hub_factory: HubFactory,
) -> None:
    hub = await hub_factory(new_identities_per_address=2, shared_addresses=())
    created = await hub.session(title="Hub room")
    sid = created["id"]
    mod = hub.client(created, "moderator", name="Chair")
    await mod.connect()
    named = await mint(hub, sid, {"role": "hub", "name": "Nairobi hub"}, ADMIN_KEY)
    nairobi = Client(hub.ws_base, sid, named["token"])
    await nairobi.connect()
    troll = hub.client(created, "participant", name="Troll")
    await troll.connect()
    await mod.ok({"type": "ban", "identity": troll.welcome["you"]["id"]})
    assert "banned" in await refused(hub.client(created, "participant", name="Again"))
    # The hub's room shares the hub's address: its attendee link is not refused by that
    # address's ban, nor by its budget of 2 new identities.
    link = await mint(hub, sid, {"role": "participant"}, nairobi.welcome["you"]["token"])
    attendees = [Client(hub.ws_base, sid, link["token"], name=f"Attendee {n}")
                 for n in range(4)]
    for client in attendees:
        await client.connect()
    session = await hub.app[keys.SESSIONS].get(sid)
    hub_id = nairobi.welcome["you"]["id"]
    assert session.state.identities[attendees[0].welcome["you"]["id"]].source == f"h:{hub_id}"
    for client in (mod, nairobi, *attendees):
        await client.close()


# -- storing commands without limits ----------------------------------------------------


async def test_hub_status_is_rate_limited_bounded_and_jumps_are_marked(
    hub: RunningHub,
) -> None:
    created = await hub.session(title="Counts")
    sid = created["id"]
    mod = hub.client(created, "moderator", name="Chair")
    await mod.connect()
    named = await mint(hub, sid, {"role": "hub", "name": "Dhaka hub"}, ADMIN_KEY)
    dhaka = Client(hub.ws_base, sid, named["token"])
    await dhaka.connect()
    too_many = await dhaka.request({"type": "hub_status", "attendees": 1_000_000})
    assert too_many["code"] == "bad_request" and "HUB_MAX_ATTENDEES" in too_many["message"]
    await dhaka.ok({"type": "hub_status", "attendees": 40})
    await dhaka.ok({"type": "hub_status", "attendees": 5000})  # stored, but marked
    roll = await mod.wait_for(lambda c: [e["data"] for e in c.kinds("hub_status")
                                         if e["data"]["attendees"] == 5000])
    assert roll[-1]["jump"] == 40
    await dhaka.ok({"type": "hub_status", "attendees": 5100})  # a plausible change clears it
    roll = await mod.wait_for(lambda c: [e["data"] for e in c.kinds("hub_status")
                                         if e["data"]["attendees"] == 5100])
    assert roll[-1]["jump"] is None
    # Before: 300 reports were stored and pushed in 0.1 s.
    replies = [await dhaka.request({"type": "hub_status", "attendees": n}) for n in range(70)]
    limited = [r for r in replies if r["type"] == "error"]
    assert limited and limited[0]["code"] == "rate_limited" and limited[0]["retry_after"] > 0
    assert sum(r["type"] == "ack" for r in replies) == 60 - 4  # 60 a minute, 4 sent above
    for client in (mod, dhaka):
        await client.close()


async def test_staff_commands_share_a_budget(hub_factory: HubFactory) -> None:
    hub = await hub_factory(staff_per_minute=5)
    created = await hub.session(title="Staff")
    mod = hub.client(created, "moderator", name="Chair")
    alice = hub.client(created, "participant", name="Alice")
    await mod.connect()
    await alice.connect()
    alice_id = alice.welcome["you"]["id"]
    replies = [await mod.request({"type": "note", "to": alice_id, "text": f"Note {n}"})
               for n in range(4)]
    replies.append(await mod.request({"type": "flag", "kind": "takeaway", "text": "Fifth"}))
    replies.append(await mod.request({"type": "floor", "ordering": "arrival"}))
    assert [r["type"] for r in replies] == ["ack"] * 5 + ["error"]
    assert replies[-1]["code"] == "rate_limited"
    assert "moderate, session, note, flag, floor, ban" in replies[-1]["message"]
    for client in (mod, alice):
        await client.close()


# -- hubs post under any name ---------------------------------------------------------------


async def test_a_hubs_declared_names_are_labelled_and_backing_is_bounded(
    hub: RunningHub,
) -> None:
    created = await hub.session(title="Hub names", settings={"premoderation": False})
    sid = created["id"]
    mod = hub.client(created, "moderator", name="Chair")
    screen = hub.client(created, "screen")
    await mod.connect()
    await screen.connect()
    named = await mint(hub, sid, {"role": "hub", "name": "Nairobi hub"}, ADMIN_KEY)
    nairobi = Client(hub.ws_base, sid, named["token"])
    await nairobi.connect()
    await nairobi.ok({"type": "hub_status", "attendees": 25})
    # Before: any name and affiliation, any backing, shown as if the person asked.
    forged = await nairobi.request({
        "type": "ask", "kind": "question", "key": "x", "text": "Forged",
        "on_behalf": {"name": "The Minister", "affiliation": "Government of Kenya"},
        "backing": 1_000_000})
    assert forged["code"] == "forbidden" and "affiliation" in forged["message"]
    item = (await nairobi.ok({
        "type": "ask", "kind": "question", "key": "relay-1-h1", "text": "From the room",
        "on_behalf": {"name": "Amina"}, "backing": 1_000_000}))["item"]
    public = await screen.wait_for(lambda c: [e["data"] for e in c.kinds("item", "public")
                                              if e["data"]["id"] == item])
    assert public[-1]["author"] == "Amina" and public[-1]["hub_attendee"] is True
    assert public[-1]["origin"] == "hub:Nairobi hub"
    assert public[-1]["backing"] == 25  # bounded by the hub's last reported count
    # A hub's plain forward: backing above its count is refused with the reason.
    link = await mint(hub, sid, {"role": "participant"}, nairobi.welcome["you"]["token"])
    attendee = Client(hub.ws_base, sid, link["token"], name="Wanjiru")
    await attendee.connect()
    local = (await attendee.ok({"type": "ask", "kind": "question", "key": "a",
                                "text": "Rural Kenya?"}))["item"]
    over = await nairobi.request({"type": "forward", "item": local, "backing": 26})
    assert over["code"] == "bad_request" and "25 attendees" in over["message"]
    await nairobi.ok({"type": "forward", "item": local, "backing": 25})
    own = await screen.wait_for(lambda c: [e["data"] for e in c.kinds("item", "public")
                                           if e["data"]["id"] == local])
    assert own[-1]["hub_attendee"] is False and own[-1]["author"] == "Wanjiru"
    for client in (mod, screen, nairobi, attendee):
        await client.close()


async def test_an_address_ban_holds_on_every_instance(tmp_path: Path, redis_url: str) -> None:
    """Two `hub serve --redis` processes: a ban decided on one refuses the banned address's
    new identities on the other (the sources are in the session's state, not a process)."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    env = {"HUB_SHARED_ADDRESSES": "192.0.2.1"}  # loopback is not shared here
    hubs = [HubProcess(tmp_path / f"data{n}", redis_url=redis_url, redis_prefix=prefix,
                       env=env).start() for n in range(2)]
    try:
        created = await create_session(hubs[0].url, "Two instances", state="live")
        mod = Client(hubs[0].ws_url, created["id"], created["tokens"]["moderator"], name="M")
        troll = Client(hubs[0].ws_url, created["id"], created["tokens"]["participant"],
                       name="Troll")
        await mod.connect()
        await troll.connect()
        await mod.ok({"type": "ban", "identity": troll.welcome["you"]["id"]})
        again = Client(hubs[1].ws_url, created["id"], created["tokens"]["participant"],
                       name="Troll again")
        assert "'reason': 'banned'" in await refused(again)
        await mod.close()
    finally:
        for hub in hubs:
            hub.kill()
