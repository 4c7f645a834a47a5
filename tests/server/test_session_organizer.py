"""Session organizers: the organizer link of one session, what it may do there, and that
it does nothing anywhere else (HTTP, websocket, SSE, the events API)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from hub.domain import roles
from hub.errors import HubError
from tests.support.harness import ADMIN_KEY, Client, ahttp
from tests.support.inprocess import RunningHub
from tests.support.review_helpers import organizer_token, programme_event, set_state


@pytest.fixture
async def event(hub: RunningHub) -> dict[str, Any]:
    """An event with two programme sessions, and each one's organizer token."""
    a, b = await programme_event(hub.app)
    return {"a": a, "b": b, "token_a": await organizer_token(hub.base, a),
            "token_b": await organizer_token(hub.base, b)}


async def call(hub: RunningHub, method: str, path: str, token: str | None,
               body: Any = None) -> tuple[int, Any]:
    status, answer, _ = await ahttp(method, f"{hub.base}{path}", body, token=token)
    return status, answer


async def sse_first(hub: RunningHub, session_id: str, token: str) -> tuple[int, Any]:
    """The status of `GET /sse/{id}` and its first frame (None when refused)."""
    async with aiohttp.ClientSession() as http, http.get(
        f"{hub.base}/sse/{session_id}", params={"token": token}
    ) as response:
        if response.status != 200:
            return response.status, await response.json()
        async for raw in response.content:
            line = raw.decode().strip()
            if line.startswith("data: "):
                return 200, json.loads(line[6:])
    raise AssertionError("the stream ended without a frame")


# -- the link ---------------------------------------------------------------------------


async def test_the_secretariat_gets_each_session_organizer_link(
    hub: RunningHub, event: dict[str, Any]
) -> None:
    a = event["a"]
    status, body = await call(hub, "GET", f"/api/sessions/{a}/links", ADMIN_KEY)
    assert status == 200
    assert body["links"]["organizer"] == f"{hub.base}/s/{a}/organizer#token={event['token_a']}"
    assert set(body["links"]) == {*roles.LINK_ROLES, roles.ORGANIZER}
    # The session organizer gets the other links, not its own (nor can it make more).
    status, body = await call(hub, "GET", f"/api/sessions/{a}/links", event["token_a"])
    assert status == 200 and set(body["links"]) == set(roles.LINK_ROLES)
    status, body = await call(hub, "POST", f"/api/sessions/{a}/tokens", event["token_a"],
                              {"role": "organizer", "name": "Deputy"})
    assert status == 400 and "`role` must be one of" in body["error"]["message"]
    # A moderator is not an organizer.
    _, links = await call(hub, "GET", f"/api/sessions/{a}/links", ADMIN_KEY)
    status, body = await call(hub, "GET", f"/api/sessions/{a}/links", links["tokens"]["moderator"])
    assert status == 403


async def test_the_event_links_list_every_session_with_its_organizers(
    hub: RunningHub, event: dict[str, Any]
) -> None:
    status, body = await call(hub, "GET", "/api/events/igf26/links", ADMIN_KEY)
    assert status == 200, body
    assert body["event"] == "igf26" and body["title"] == "IGF 2026"
    assert [s["session"] for s in body["sessions"]] == [event["a"], event["b"]]
    first = body["sessions"][0]
    assert first["organizers"] == [{"name": "Amina Diallo", "email": "amina@example.org"},
                                   {"name": "Kenji Sato", "email": ""}]
    assert first["token"] == event["token_a"] and first["report"] == "none"
    assert first["link"] == f"{hub.base}/s/{event['a']}/organizer#token={event['token_a']}"
    assert first["external_id"] == "WS0" and first["title"].startswith("Workshop 0")
    # Only the Secretariat: not a session organizer (of this event's sessions either).
    status, body = await call(hub, "GET", "/api/events/igf26/links", event["token_a"])
    assert status == 403 and "Secretariat" in body["error"]["message"]
    status, body = await call(hub, "GET", "/api/events/igf26/links", None)
    assert status == 401
    status, body = await call(hub, "GET", "/api/events/nosuch/links", ADMIN_KEY)
    assert status == 404 and "no event 'nosuch'" in body["error"]["message"]


# -- what a session organizer may do on its session --------------------------------------


async def test_a_session_organizer_runs_its_session(
    hub: RunningHub, event: dict[str, Any]
) -> None:
    a, token = event["a"], event["token_a"]
    status, body = await call(hub, "PATCH", f"/api/sessions/{a}", token,
                              {"state": "live", "settings": {"room_count": 40,
                                                             "premoderation": False}})
    assert status == 200, body
    assert body["state"] == "live" and body["settings"]["room_count"] == 40
    # Weights and budgets of the fair floor are the organizer's (not a moderator's).
    status, body = await call(hub, "PATCH", f"/api/sessions/{a}", token,
                              {"floor": {"ordering": "balanced", "weights": {"votes": 1}}})
    assert status == 200 and body["floor"]["weights"]["votes"] == 1
    status, minted = await call(hub, "POST", f"/api/sessions/{a}/tokens", token,
                                {"role": "moderator", "name": "Co-chair"})
    assert status == 201 and minted["role"] == "moderator"
    status, listed = await call(hub, "GET", f"/api/sessions/{a}/tokens", token)
    assert status == 200 and [t["name"] for t in listed["tokens"]] == ["Co-chair"]
    status, body = await call(hub, "DELETE", f"/api/sessions/{a}/tokens/{minted['identity']}",
                              token)
    assert status == 200 and body["revoked"] is True
    status, body = await call(hub, "PATCH", f"/api/sessions/{a}", token,
                              {"rotate": ["participant"]})
    assert status == 200 and "organizer" not in body["links"]
    for path in ("report?format=json", "floor", "stats", "transcript", "interventions"):
        status, body = await call(hub, "GET", f"/api/sessions/{a}/{path}", token)
        assert status == 200, (path, body)


async def test_a_session_organizer_is_not_the_secretariat(
    hub: RunningHub, event: dict[str, Any]
) -> None:
    a, token = event["a"], event["token_a"]
    refused = [
        ("POST", "/api/sessions", {"title": "Mine"}),
        ("GET", "/api/sessions", None),
        ("DELETE", f"/api/sessions/{a}", None),
        ("GET", f"/api/sessions/{a}/people/organizer", None),
        ("DELETE", f"/api/sessions/{a}/people/organizer", None),
        ("POST", "/api/events", {"title": "Mine", "start": "2026-06-22", "timezone": "UTC"}),
        ("PATCH", "/api/events/igf26", {"title": "Renamed"}),
        ("POST", "/api/events/igf26/programme", None),
        ("GET", "/api/events/igf26/links", None),
        ("PATCH", f"/api/sessions/{a}", {"rotate": ["organizer"]}),
    ]
    for method, path, body in refused:
        status, answer = await call(hub, method, path, token, body)
        assert status == 403, (method, path, answer)
    status, answer = await call(hub, "GET", f"/api/sessions/{a}", ADMIN_KEY)
    assert status == 200  # nothing of it was deleted


async def test_a_session_organizer_link_does_nothing_on_another_session(
    hub: RunningHub, event: dict[str, Any]
) -> None:
    b, token = event["b"], event["token_a"]
    attempts = [
        ("GET", f"/api/sessions/{b}", None),
        ("GET", f"/api/sessions/{b}/links", None),
        ("PATCH", f"/api/sessions/{b}", {"state": "closed"}),
        ("POST", f"/api/sessions/{b}/tokens", {"role": "moderator", "name": "Intruder"}),
        ("GET", f"/api/sessions/{b}/tokens", None),
        ("GET", f"/api/sessions/{b}/report", None),
        ("GET", f"/api/sessions/{b}/review", None),
        ("PUT", f"/api/sessions/{b}/review", {"summary": "Not mine"}),
        ("POST", f"/api/sessions/{b}/review/publish", None),
    ]
    for method, path, body in attempts:
        status, answer = await call(hub, method, path, token, body)
        assert status == 401, (method, path, answer)
        assert "another session" in answer["error"]["message"]
    status, body = await call(hub, "GET", f"/api/sessions/{b}", ADMIN_KEY)
    assert body["state"] == "scheduled"  # nothing changed there
    status, body = await call(hub, "GET", f"/api/sessions/{b}/tokens", ADMIN_KEY)
    assert body["tokens"] == []


# -- websocket and SSE ------------------------------------------------------------------


async def test_the_websocket_and_sse_as_session_organizer(
    hub: RunningHub, event: dict[str, Any]
) -> None:
    a, b, token = event["a"], event["b"], event["token_a"]
    await set_state(hub.base, a, "live")
    organizer = Client(hub.ws_base, a, token, name="Amina Diallo")
    welcome = await organizer.connect()
    you = welcome["you"]
    assert you["role"] == "organizer" and you["name"] == "Amina Diallo"
    assert you["id"] != "organizer"  # not the Secretariat's identity
    assert set(welcome["channels"]) == {"public", "moderation"}
    personal = you["token"]
    assert personal != token  # a personal token, for resumes and HTTP
    ack = await organizer.ok({"type": "session", "settings": {"anonymous": False}})
    assert ack["type"] == "ack"
    alice = Client(hub.ws_base, a, (await call(hub, "GET", f"/api/sessions/{a}/links",
                                               ADMIN_KEY))[1]["tokens"]["participant"],
                   name="Alice")
    await alice.connect()
    item = (await alice.ok({"type": "ask", "kind": "question", "text": "Who pays?",
                            "key": "k1"}))["item"]
    await organizer.wait_for(lambda c: any(e["data"].get("id") == item
                                           for e in c.kinds("item", "moderation")))
    await organizer.ok({"type": "moderate", "item": item, "action": "approve"})
    # The personal token works over HTTP for this session, not another.
    status, _ = await call(hub, "GET", f"/api/sessions/{a}/tokens", personal)
    assert status == 200
    status, body = await call(hub, "GET", f"/api/sessions/{b}/tokens", personal)
    assert status == 401
    # Neither the link nor the personal token joins session B, by websocket or SSE.
    for credential in (token, personal):
        with pytest.raises(RuntimeError, match="another session"):
            await Client(hub.ws_base, b, credential).connect()
        status, body = await sse_first(hub, b, credential)
        assert status == 401 and "another session" in body["error"]["message"]
    status, frame = await sse_first(hub, a, token)
    assert status == 200 and frame["type"] == "welcome"
    assert frame["you"]["role"] == "organizer"
    await alice.close()
    await organizer.close()


async def test_the_secretariat_retires_a_session_organizer_link(
    hub: RunningHub, event: dict[str, Any]
) -> None:
    a, old = event["a"], event["token_a"]
    organizer = Client(hub.ws_base, a, old, name="Amina Diallo")
    personal = (await organizer.connect())["you"]["token"]
    status, body = await call(hub, "PATCH", f"/api/sessions/{a}", ADMIN_KEY,
                              {"rotate": ["organizer"]})
    assert status == 200
    new = body["tokens"]["organizer"]
    assert new != old and body["links"]["organizer"].endswith(f"#token={new}")
    # The connection goes at once; the link and its personal token are refused after.
    await organizer.closed.wait()
    assert organizer.close_code == 4501
    for credential in (old, personal):
        status, answer = await call(hub, "GET", f"/api/sessions/{a}/tokens", credential)
        assert status == 401 and "retired" in answer["error"]["message"]
        assert "Secretariat" in answer["error"]["message"]
        with pytest.raises(RuntimeError, match="retired"):
            await Client(hub.ws_base, a, credential).connect()
    status, _ = await call(hub, "GET", f"/api/sessions/{a}/tokens", new)
    assert status == 200
    # Other links are not retired with it, nor are people who joined by them.
    status, body = await call(hub, "GET", f"/api/sessions/{a}/links", ADMIN_KEY)
    assert status == 200 and body["tokens"]["organizer"] == new
    moderator = Client(hub.ws_base, a, body["tokens"]["moderator"])
    await moderator.connect()
    await moderator.close()


def test_an_organizer_is_never_removed_by_a_ban() -> None:
    with pytest.raises(HubError, match="rotate"):
        roles.check_may_revoke(roles.ORGANIZER, roles.ORGANIZER)


async def test_the_secretariat_exports_and_erases_a_session_organizers_data(
    hub: RunningHub, event: dict[str, Any]
) -> None:
    a = event["a"]
    organizer = Client(hub.ws_base, a, event["token_a"], name="Amina Diallo")
    you = (await organizer.connect())["you"]
    await organizer.close()
    path = f"/api/sessions/{a}/people/{you['id']}"
    status, body = await call(hub, "GET", path, event["token_a"])
    assert status == 403  # a session organizer is not the Secretariat
    status, body = await call(hub, "GET", path, ADMIN_KEY)
    assert status == 200 and body["identity"]["name"] == "Amina Diallo"
    status, body = await call(hub, "DELETE", path, ADMIN_KEY)
    assert status == 200, body
    status, body = await call(hub, "GET", f"/api/sessions/{a}/tokens", you["token"])
    assert status == 403 and body["error"]["reason"] == "erased"
