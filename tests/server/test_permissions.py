"""The permission matrix: every role x every command, over real websockets."""

from __future__ import annotations

from typing import Any

import pytest

from hub.domain.roles import COMMAND_ROLES, ROLES, check_allowed
from hub.errors import HubError
from tests.support.harness import ADMIN_KEY, Client, ahttp
from tests.support.inprocess import RunningHub

ALLOWED = {
    "caption": {"captioner"},
    "ask": {"participant", "hub", "moderator", "organizer"},
    "vote": {"participant", "hub"},
    "withdraw": {"participant", "hub", "moderator", "organizer"},
    "moderate": {"moderator", "organizer"},
    "session": {"moderator", "organizer"},
    "note": {"moderator", "organizer"},
    "hub_status": {"hub"},
    "flag": {"moderator", "organizer"},
    "floor": {"moderator", "organizer"},
    "forward": {"hub"},
    "decline": {"hub"},
    "ban": {"moderator", "organizer"},
    "ping": set(ROLES),
    "media": set(ROLES),
    "voice": {"moderator", "organizer", "desk"},
}
# Allowed, but refused for the state on this hub (no media server here; nothing live):
# the refusal must not be `forbidden`.
REFUSED_HERE = {"media": "unavailable", "voice": "conflict"}


def test_the_table_matches_the_protocol() -> None:
    assert {k: set(v) for k, v in COMMAND_ROLES.items()} == ALLOWED
    for command, roles in ALLOWED.items():
        for role in ROLES:
            if role in roles:
                check_allowed(role, command)
            else:
                with pytest.raises(HubError) as err:
                    check_allowed(role, command)
                assert err.value.code == "forbidden"


def frames(item: str, target: str) -> dict[str, dict[str, Any]]:
    return {
        "caption": {"type": "caption", "text": "hello", "seq": None},
        "ask": {"type": "ask", "kind": "comment", "text": "hi", "key": "perm"},
        "vote": {"type": "vote", "item": item},
        "withdraw": {"type": "withdraw", "item": item},
        "moderate": {"type": "moderate", "item": item, "action": "move", "before": None},
        "session": {"type": "session", "state": "live"},
        "note": {"type": "note", "to": target, "text": "hello"},
        "hub_status": {"type": "hub_status", "attendees": 3},
        "flag": {"type": "flag", "kind": "takeaway", "text": "Access matters"},
        "floor": {"type": "floor", "ordering": "balanced"},
        "forward": {"type": "forward", "item": "FORWARD"},
        "decline": {"type": "decline", "item": "DECLINE"},
        "ban": {"type": "ban", "identity": "BAN"},
        "ping": {"type": "ping"},
        "media": {"type": "media", "want": "listen"},
        "voice": {"type": "voice", "action": "mute"},
    }


@pytest.mark.parametrize("role", ROLES)
async def test_every_command_for_a_role(hub: RunningHub, role: str) -> None:
    created = await hub.session(settings={"premoderation": False})
    author = hub.client(created, "participant", name="Author")
    await author.connect()
    item = (await author.ok({"type": "ask", "kind": "question", "text": "Q", "key": "q"}))["item"]
    token = ADMIN_KEY if role == "organizer" else created["tokens"][role]
    client = Client(hub.ws_base, created["id"], token, name=f"A {role}")
    await client.connect()
    held = {"FORWARD": item, "DECLINE": item}
    if role == "hub":  # a hub forwards or declines what its own attendees asked
        held = await _attendee_items(hub, created, client)
    own = item
    for command, frame in frames(item, author.welcome["you"]["id"]).items():
        frame = {k: v for k, v in frame.items() if v is not None}
        if command == "withdraw":
            frame["item"] = own  # only an author may withdraw: use this client's own item
        if command in ("forward", "decline"):
            frame["item"] = held[frame["item"]]
        if command == "voice" and role == "desk":
            frame["action"] = "cut"  # the desk's only action (it does not hold the desk here)
        if command == "ban":  # ban a throwaway participant (the author is still needed)
            frame["identity"] = await _throwaway(hub, created)
        reply = await client.request(frame)
        if role in ALLOWED[command] and command in REFUSED_HERE:
            assert reply["type"] == "error" and reply["code"] == REFUSED_HERE[command], reply
        elif role in ALLOWED[command]:
            assert reply["type"] in ("ack", "pong"), (command, reply)
            if command == "ask":
                own = reply["item"]
        else:
            assert reply["type"] == "error" and reply["code"] == "forbidden", (command, reply)
    await client.close()
    await author.close()


async def _throwaway(hub: RunningHub, created: dict[str, Any]) -> str:
    someone = Client(hub.ws_base, created["id"], created["tokens"]["participant"], name="X")
    await someone.connect()
    await someone.close()
    return str(someone.welcome["you"]["id"])


async def _attendee_items(hub: RunningHub, created: dict[str, Any],
                          hub_client: Client) -> dict[str, str]:
    status, minted, _ = await ahttp(
        "POST", f"{hub.base}/api/sessions/{created['id']}/tokens", {"role": "participant"},
        token=hub_client.welcome["you"]["token"])
    assert status == 201, minted
    attendee = Client(hub.ws_base, created["id"], minted["token"], name="Attendee")
    await attendee.connect()
    held = {}
    for name in ("FORWARD", "DECLINE"):
        reply = await attendee.ok({"type": "ask", "kind": "question", "text": name, "key": name})
        held[name] = reply["item"]
    await attendee.close()
    return held


async def test_reads_follow_the_role(meeting: dict[str, Any]) -> None:
    """A participant never sees the moderation channel, another's private channel or
    another's pending item, even when it asks to resume them."""
    hub: RunningHub = meeting["server"]
    bob, mod = meeting["bob"], meeting["moderator"]
    created = meeting["session"]
    snoop = Client(hub.ws_base, created["id"], created["tokens"]["participant"])
    snoop.positions = {"moderation": dict(mod.positions["moderation"]),
                       "private": dict(bob.positions["private"])}
    welcome = await snoop.connect(resume=True)
    assert set(welcome["channels"]) == {"public", "private"}
    assert welcome["channels"]["private"]["recovered"] is False
    await bob.ok({"type": "ask", "kind": "question", "text": "secret pending", "key": "p"})
    await mod.wait_for(lambda c: c.kinds("item", "moderation"))
    await mod.ok({"type": "note", "to": bob.welcome["you"]["id"], "text": "for Bob"})
    await bob.wait_for(lambda c: c.kinds("note"))
    assert (await snoop.request({"type": "ping"}))["type"] == "pong"
    assert snoop.events == []
    assert all(f.get("channel") != "moderation" for f in snoop.frames)
    await snoop.close()
