"""A regional or national hub registered once for an event, with one link for the sessions it
follows: registration, the link on every transport, its retirement, two instances, and the
inputs from the regions over HTTP."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.domain import forum as fdomain
from hub.errors import HubError
from hub.tokens import Signer
from tests.support.event_hubs_support import (
    create_event,
    register,
    seed,
    seed_on_redis,
    session_links,
    sse_first,
)
from tests.support.harness import ADMIN_KEY, Client, HubProcess, ahttp
from tests.support.inprocess import RunningHub


async def refused(ws_base: str, session_id: str, token: str) -> dict[str, Any]:
    """The error frame a hello with `token` gets (the socket is then closed)."""
    client = Client(ws_base, session_id, token)
    with pytest.raises(RuntimeError) as error:
        await client.connect()
    text = str(error.value)
    assert "'type': 'error'" in text, text
    return {"text": text}


def test_an_event_link_names_no_session_and_only_the_event_check_opens_one() -> None:
    signer = Signer("s" * 40, "a" * 40)
    token = signer.mint(fdomain.log_id("igf"), "hub", identity="h1", ttl=60, generation=2)
    with pytest.raises(HubError, match="another session"):
        signer.verify(token, "igf-1")  # a caller that does not know events refuses it
    grant = signer.verify(token, "igf-1", events=True)
    assert (grant.forum, grant.identity, grant.generation, grant.role) == ("igf", "h1", 2, "hub")
    other_role = signer.mint(fdomain.log_id("igf"), "participant", ttl=60)
    with pytest.raises(HubError, match="not valid"):
        signer.verify(other_role, "igf-1", events=True)
    state = fdomain.new_forum("igf")
    fdomain.apply(state, fdomain.create({"title": "IGF", "start": "2030-01-02",
                                         "timezone": "Asia/Riyadh"}, now=1))
    state.sessions["igf-1"] = fdomain.ProgrammeSession("igf-1", "WS1", "Workshop", 1, 2)
    state.sessions["igf-2"] = fdomain.ProgrammeSession("igf-2", "WS2", "Workshop", 1, 2)
    fdomain.apply(state, fdomain.register_hub(state, {"name": "Kenya IGF", "kind": "nri",
                                                      "sessions": ["igf-1"]},
                                              hub_id="h1", now=1))
    assert fdomain.check_hub_link(state, "h1", 0, "igf-1").name == "Kenya IGF"
    for hub_id, generation, session, why in (
        ("h1", 0, "igf-2", "does not follow"), ("h1", 0, "other-1", "not one of them"),
        ("h1", 1, "igf-1", "replaced"), ("h2", 0, "igf-1", "no longer registered")):
        with pytest.raises(HubError, match=why) as refused:
            fdomain.check_hub_link(state, hub_id, generation, session)
        assert refused.value.code == "unauthorized"
    fdomain.apply(state, fdomain.replace_hub_link(state, "h1", now=2))
    assert fdomain.check_hub_link(state, "h1", 1).generation == 1
    # The day after the last day, ending at midnight in the event's time zone (UTC+3).
    assert fdomain.hub_link_expiry(state) == 1893704400  # 2030-01-04T00:00+03:00


async def test_registering_a_hub_is_the_secretariats_and_checked(hub: RunningHub) -> None:
    s1, s2, _ = await seed(hub.base, hub.app, "igf26", 3)
    url = f"{hub.base}/api/events/igf26/hubs"
    body = {"name": "Kenya IGF", "kind": "nri", "city": "Nairobi", "country": "ke",
            "sessions": [s1, s2]}
    status, _, _ = await ahttp("POST", url, body)
    assert status == 401
    moderator = (await session_links(hub.base, s1))["moderator"]
    status, _, _ = await ahttp("POST", url, body, token=moderator)
    assert status == 403
    for bad, code in (({**body, "kind": "club"}, 400), ({**body, "sessions": ["nope-1"]}, 404),
                      ({**body, "colour": "red"}, 400), ({**body, "country": "Kenya"}, 400),
                      ({"kind": "nri"}, 400)):
        status, answer, _ = await ahttp("POST", url, bad, token=ADMIN_KEY)
        assert status == code, (bad, answer)
    created = await register(hub.base, "igf26", **body)
    assert created["hub"]["country"] == "KE" and created["hub"]["sessions"] == [s1, s2]
    assert created["link"].endswith(f"/e/igf26/hub#token={created['token']}")
    assert created["expires"] > 0
    status, answer, _ = await ahttp("POST", url, {**body, "name": "kenya igf"}, token=ADMIN_KEY)
    assert status == 409 and "registered" in answer["error"]["message"]
    status, listed, _ = await ahttp("GET", url)  # public: who and where, never a link
    assert status == 200
    assert listed["hubs"] == [created["hub"]]
    assert created["token"] not in str(listed) and "generation" not in str(listed)
    hub_id = created["hub"]["id"]
    status, patched, _ = await ahttp("PATCH", f"{url}/{hub_id}", {"sessions": []},
                                     token=ADMIN_KEY)
    assert status == 200 and patched["hub"]["all_sessions"] is True
    assert len(patched["hub"]["sessions"]) == 3
    status, _, _ = await ahttp("PATCH", f"{url}/nobody", {"city": "X"}, token=ADMIN_KEY)
    assert status == 404
    status, again, _ = await ahttp("GET", f"{url}/{hub_id}/link", token=ADMIN_KEY)
    assert status == 200 and again["token"] == created["token"]  # the same link


async def test_one_link_joins_every_session_followed_and_no_other(hub: RunningHub) -> None:
    s1, s2, s3 = await seed(hub.base, hub.app, "igf26", 3)
    other = (await seed(hub.base, hub.app, "kigf", 1))[0]
    created = await register(hub.base, "igf26", name="Kenya IGF", city="Nairobi",
                             country="KE", sessions=[s1, s2])
    token, hub_id = created["token"], created["hub"]["id"]
    joined = []
    for session_id in (s1, s2):
        client = Client(hub.ws_base, session_id, token)
        welcome = await client.connect()
        assert welcome["you"]["id"] == hub_id and welcome["you"]["role"] == "hub"
        assert welcome["you"]["name"] == "Kenya IGF"
        await client.ok({"type": "hub_status", "attendees": 12})
        joined.append(client)
    # The same identity, with its place, in each session: the roll call's one hub.
    mod = Client(hub.ws_base, s2, (await session_links(hub.base, s2))["moderator"])
    await mod.connect()
    roll = mod.welcome["snapshot"]["hubs"]
    assert [(h["hub"], h["name"], h["place"]) for h in roll] == [
        (hub_id, "Kenya IGF", {"city": "Nairobi", "country": "KE"})]
    status, frame = await sse_first(hub.base, s2, token)
    assert status == 200 and frame is not None and frame["type"] == "welcome"
    assert frame["you"]["id"] == hub_id
    # Not on a session it does not follow, nor on another event's.
    for session_id, why in ((s3, "does not follow"), (other, "not one of them")):
        got = await refused(hub.ws_base, session_id, token)
        assert why in got["text"]
        status, _ = await sse_first(hub.base, session_id, token)
        assert status == 401
        status, _, _ = await ahttp("GET", f"{hub.base}/api/sessions/{session_id}", token=token)
        assert status == 401
    # Its attendees' links, per session, as with a session's own hub link.
    status, minted, _ = await ahttp("POST", f"{hub.base}/api/sessions/{s1}/tokens",
                                    {"role": "participant"}, token=token)
    assert status == 201 and minted["hub"] == hub_id
    assert minted["expires"] <= created["expires"]
    attendee = Client(hub.ws_base, s1, minted["token"], name="Wanjiru")
    await attendee.connect()
    await attendee.ok({"type": "ask", "kind": "question", "text": "And rural access?",
                        "key": "k1"})
    await joined[0].wait_for(lambda c: any(e["kind"] == "item" and e["data"]["status"] == "local"
                                           for e in c.events))
    status, _, _ = await ahttp("POST", f"{hub.base}/api/sessions/{s2}/tokens",
                               {"role": "moderator"}, token=token)
    assert status == 403
    for client in (*joined, mod, attendee):
        await client.close()


async def test_a_replaced_or_deleted_hub_link_is_refused(hub: RunningHub) -> None:
    s1, s2 = await seed(hub.base, hub.app, "igf26", 2)
    created = await register(hub.base, "igf26", name="Pacific hub", kind="regional",
                             sessions=[])
    old, hub_id = created["token"], created["hub"]["id"]
    pages = [Client(hub.ws_base, s, old) for s in (s1, s2)]
    for page in pages:
        await page.connect()
    # A session taken off its list: its page there is closed, the other stays.
    status, _, _ = await ahttp("PATCH", f"{hub.base}/api/events/igf26/hubs/{hub_id}",
                               {"sessions": [s1]}, token=ADMIN_KEY)
    assert status == 200
    await asyncio.wait_for(pages[1].closed.wait(), 10)
    assert pages[1].close_code == 4501 and not pages[0].closed.is_set()
    status, replaced, _ = await ahttp(
        "POST", f"{hub.base}/api/events/igf26/hubs/{hub_id}/link", token=ADMIN_KEY)
    assert status == 201 and replaced["token"] != old
    await asyncio.wait_for(pages[0].closed.wait(), 10)  # its open page is cut off at once
    assert pages[0].close_code == 4501
    assert any(f["type"] == "bye" and "retired" in f["reason"] for f in pages[0].frames)
    await ahttp("PATCH", f"{hub.base}/api/events/igf26/hubs/{hub_id}", {"sessions": []},
                token=ADMIN_KEY)
    got = await refused(hub.ws_base, s1, old)
    assert "retired" in got["text"]
    assert (await sse_first(hub.base, s1, old))[0] == 401
    status, answer, _ = await ahttp("GET", f"{hub.base}/api/events/igf26/hubs/me", token=old)
    assert status == 401 and answer["error"]["reason"] == "retired_link"
    client = Client(hub.ws_base, s2, replaced["token"])
    assert (await client.connect())["you"]["id"] == hub_id
    status, _, _ = await ahttp("DELETE", f"{hub.base}/api/events/igf26/hubs/{hub_id}",
                               token=ADMIN_KEY)
    assert status == 200
    await asyncio.wait_for(client.closed.wait(), 10)
    assert client.close_code == 4501
    assert "retired" in (await refused(hub.ws_base, s2, replaced["token"]))["text"]
    assert (await sse_first(hub.base, s2, replaced["token"]))[0] == 401
    status, listed, _ = await ahttp("GET", f"{hub.base}/api/events/igf26/hubs")
    assert listed["hubs"] == []
    status, _, _ = await ahttp("DELETE", f"{hub.base}/api/events/igf26/hubs/{hub_id}",
                               token=ADMIN_KEY)
    assert status == 404


async def test_the_hubs_own_view_lists_its_sessions_with_their_state(hub: RunningHub) -> None:
    s1, s2, s3 = await seed(hub.base, hub.app, "igf26", 3)
    created = await register(hub.base, "igf26", name="Brazil IGF", sessions=[s3, s1])
    await ahttp("PATCH", f"{hub.base}/api/sessions/{s1}", {"state": "live"}, token=ADMIN_KEY)
    status, mine, _ = await ahttp("GET", f"{hub.base}/api/events/igf26/hubs/me",
                                  token=created["token"])
    assert status == 200
    assert [(s["session"], s["state"], s["page"]) for s in mine["sessions"]] == [
        (s1, "live", f"/s/{s1}/hub"), (s3, "scheduled", f"/s/{s3}/hub")]
    assert mine["hub"]["name"] == "Brazil IGF" and mine["event"]["id"] == "igf26"
    moderator = (await session_links(hub.base, s2))["moderator"]
    status, _, _ = await ahttp("GET", f"{hub.base}/api/events/igf26/hubs/me", token=moderator)
    assert status == 401
    await create_event(hub.base, "other")
    status, _, _ = await ahttp("GET", f"{hub.base}/api/events/other/hubs/me",
                               token=created["token"])
    assert status == 401


async def test_the_digest_over_http_has_what_was_taken_up_only(hub: RunningHub) -> None:
    s1, s2 = await seed(hub.base, hub.app, "igf26", 2)
    created = await register(hub.base, "igf26", name="Kenya IGF", sessions=[s1, s2])
    token, hub_id = created["token"], created["hub"]["id"]
    await ahttp("PATCH", f"{hub.base}/api/sessions/{s1}",
                {"state": "live", "settings": {"premoderation": True}}, token=ADMIN_KEY)
    kenya = Client(hub.ws_base, s1, token)
    await kenya.connect()
    mod = Client(hub.ws_base, s1, (await session_links(hub.base, s1))["moderator"])
    await mod.connect()
    asked = {}
    for text in ("Taken up", "Left pending", "Rejected one"):
        ack = await kenya.ok({"type": "ask", "kind": "question", "text": text, "key": text})
        asked[text] = ack["item"]
    await mod.ok({"type": "moderate", "item": asked["Taken up"], "action": "approve"})
    await mod.ok({"type": "moderate", "item": asked["Rejected one"], "action": "reject"})
    status, digest, _ = await ahttp("GET", f"{hub.base}/api/events/igf26/hubs/digest")
    assert status == 200
    texts = [i["text"] for s in digest["sessions"] for i in s["inputs"]]
    assert texts == ["Taken up"]
    assert digest["counts"]["inputs"] == 1 and digest["hubs"][0]["id"] == hub_id
    status, markdown, headers = await ahttp(
        "GET", f"{hub.base}/api/events/igf26/hubs/{hub_id}/digest?format=md")
    assert status == 200 and headers["Content-Type"].startswith("text/markdown")
    assert "Taken up" in markdown and "Left pending" not in markdown
    status, html, _ = await ahttp("GET", f"{hub.base}/api/events/igf26/hubs/digest?format=html")
    assert status == 200 and "<h1>Inputs from the regions" in html and "Rejected one" not in html
    status, _, _ = await ahttp("GET", f"{hub.base}/api/events/igf26/hubs/digest?format=pdf")
    assert status == 400
    status, _, _ = await ahttp("GET", f"{hub.base}/api/events/igf26/hubs/nobody/digest")
    assert status == 404
    for client in (kenya, mod):
        await client.close()


@pytest.fixture
def instances(tmp_path: Path, redis_url: str) -> Iterator[tuple[list[HubProcess], str]]:
    """Two hub processes on the shared test Redis, under a key prefix of their own."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    hubs = [HubProcess(tmp_path / f"data{n}", redis_url=redis_url, redis_prefix=prefix)
            for n in range(2)]
    for each in hubs:
        each.start()
    yield hubs, prefix
    for each in hubs:
        each.kill()


async def _until_refused(ws_base: str, session_id: str, token: str) -> str:
    """Join until the instance has heard of the change (it arrives through Redis)."""
    async with asyncio.timeout(15):
        while True:
            client = Client(ws_base, session_id, token)
            try:
                await client.connect()
            except RuntimeError as error:
                return str(error)
            await client.close()
            await asyncio.sleep(0.05)


async def test_two_instances_agree_on_a_hubs_link(
    instances: tuple[list[HubProcess], str], redis_url: str, tmp_path: Path
) -> None:
    (a, b), prefix = instances
    s1, s2, s3 = await seed_on_redis(a.url, redis_url, prefix, tmp_path / "seed", "igf26", 3)
    created = await register(a.url, "igf26", name="Kenya IGF", sessions=[s1, s2])
    token, hub_id = created["token"], created["hub"]["id"]
    on_b = Client(b.ws_url, s2, token)
    assert (await on_b.connect())["you"]["id"] == hub_id  # registered on A, joined on B
    await on_b.ok({"type": "hub_status", "attendees": 7})
    assert "does not follow" in await _until_refused(b.ws_url, s3, token)
    status, replaced, _ = await ahttp("POST", f"{a.url}/api/events/igf26/hubs/{hub_id}/link",
                                      token=ADMIN_KEY)
    assert status == 201
    await asyncio.wait_for(on_b.closed.wait(), 15)  # replaced on A: cut off on B
    assert on_b.close_code == 4501
    assert "retired" in await _until_refused(b.ws_url, s1, token)
    on_a = Client(a.ws_url, s1, replaced["token"])
    await on_a.connect()
    await on_a.close()
    status, from_b, _ = await ahttp("GET", f"{b.url}/api/events/igf26/hubs/{hub_id}/digest")
    assert status == 200
    attendance = from_b["hubs"][0]["attendance"]
    assert attendance["connected"] == 2  # s2 through B, s1 through A
    status, _, _ = await ahttp("DELETE", f"{b.url}/api/events/igf26/hubs/{hub_id}",
                               token=ADMIN_KEY)
    assert status == 200
    assert "retired" in await _until_refused(a.ws_url, s1, replaced["token"])


def test_a_relay_is_told_an_event_link_is_not_one_sessions() -> None:
    from hub.relay import Upstream

    token = Signer("s" * 40, "a" * 40).mint(fdomain.log_id("igf"), "hub", identity="h1",
                                             ttl=60)
    with pytest.raises(HubError, match="event's hub link"):
        Upstream.parse(f"https://m.example/s/igf-1/hub#token={token}", None)
