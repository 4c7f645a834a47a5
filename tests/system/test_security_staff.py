"""Staff access can be taken back: only the organizer mints staff tokens,
every token expires, and any identity can be revoked on every instance and transport."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import websockets

from hub import keys
from hub.config import Config
from hub.domain import commands, fact_kinds, roles, views
from hub.domain.commands import Actor
from hub.domain.fact_kinds import apply
from hub.domain.session import new_session
from hub.domain.snapshot import dump_state, restore
from hub.errors import HubError
from hub.tokens import DAY, Signer
from tests.support.harness import ADMIN_KEY, Client, HubProcess, ahttp, create_session
from tests.support.inprocess import HubFactory, RunningHub
from tests.support.staff_tokens import SECRET, signed

ORGANIZER = Actor("organizer", "organizer", "Organizer")


def payload(token: str) -> dict[str, Any]:
    """What a token says (the hub checks its signature; a test only reads it)."""
    raw = token.partition(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))))




async def mint(base: str, sid: str, body: dict[str, Any], token: str) -> tuple[int, Any]:
    status, answer, _ = await ahttp("POST", f"{base}/api/sessions/{sid}/tokens", body,
                                    token=token)
    return status, answer


async def hello_reply(ws_base: str, sid: str, token: str) -> dict[str, Any]:
    """The hub's first answer to a `hello` with `token`."""
    async with websockets.connect(f"{ws_base}/ws/{sid}") as ws:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        return dict(json.loads(await asyncio.wait_for(ws.recv(), 10)))


class Stream:
    """An SSE reader: its frames, and whether the hub ended the stream."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http, self.url = http, url
        self.frames: list[dict[str, Any]] = []
        self.ended = asyncio.Event()
        self.welcomed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        response = await self.http.get(self.url)
        assert response.status == 200, await response.text()
        self.task = asyncio.create_task(self._read(response))
        await asyncio.wait_for(self.welcomed.wait(), 10)

    async def _read(self, response: aiohttp.ClientResponse) -> None:
        try:
            async for line in response.content:
                if line.startswith(b"data: "):
                    frame = json.loads(line[6:])
                    self.frames.append(frame)
                    if frame["type"] == "welcome":
                        self.welcomed.set()
        finally:
            response.release()
            self.ended.set()

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


# -- minting: only the organizer mints staff tokens ---------------------------------------


async def test_a_moderator_cannot_mint_moderator_or_captioner_tokens(hub: RunningHub) -> None:
    """Today's attack: a moderator minted moderator and captioner tokens nobody could take
    back. Now 403; the organizer mints them; moderators keep minting the other roles."""
    created = await hub.session()
    sid, moderator = created["id"], created["tokens"]["moderator"]
    mod = hub.client(created, "moderator", name="Chair")
    await mod.connect()
    for token in (moderator, mod.token):  # the join link and the personal token alike
        for role in ("moderator", "captioner"):
            status, body = await mint(hub.base, sid, {"role": role, "name": "Mallory"}, token)
            assert status == 403, body
            assert body["error"]["code"] == "forbidden"
            assert "only the organizer" in body["error"]["message"]
    for role in ("participant", "hub", "screen"):
        status, body = await mint(hub.base, sid, {"role": role, "name": f"A {role}"}, moderator)
        assert status == 201, body
        assert body["role"] == role and payload(body["token"])["i"] == body["identity"]
    for role in ("moderator", "captioner"):
        status, body = await mint(hub.base, sid, {"role": role, "name": "Trusted"}, ADMIN_KEY)
        assert status == 201, body
    # Refused mints left nothing behind: the list holds the five minted ones.
    status, listed, _ = await ahttp("GET", f"{hub.base}/api/sessions/{sid}/tokens",
                                    token=ADMIN_KEY)
    assert status == 200
    named = [t for t in listed["tokens"] if t["named"]]
    assert sorted(t["role"] for t in named) == sorted(
        ["participant", "hub", "screen", "moderator", "captioner"])
    assert "Mallory" not in json.dumps(listed)
    await mod.close()


# -- revocation ----------------------------------------------------------------------------


async def test_the_organizer_revokes_a_moderator_on_every_transport(
    hub: RunningHub, http: aiohttp.ClientSession
) -> None:
    created = await hub.session()
    sid = created["id"]
    status, minted = await mint(hub.base, sid, {"role": "moderator", "name": "Rogue"}, ADMIN_KEY)
    assert status == 201
    token, identity = minted["token"], minted["identity"]
    rogue = Client(hub.ws_base, sid, token)
    await rogue.connect()
    stream = Stream(http, f"{hub.base}/sse/{sid}?token={token}")
    await stream.open()
    status, _, _ = await ahttp("GET", f"{hub.base}/api/sessions/{sid}/report", token=token)
    assert status == 200
    alice = hub.client(created, "participant", name="Alice")
    await alice.connect()

    status, body, _ = await ahttp("DELETE", f"{hub.base}/api/sessions/{sid}/tokens/{identity}",
                                  {"reason": "Left the team"}, token=ADMIN_KEY)
    assert status == 200 and body == {"identity": identity, "revoked": True}
    await asyncio.wait_for(rogue.closed.wait(), 10)
    assert rogue.close_code == 4503
    bye = [f for f in rogue.frames if f["type"] == "bye"]
    assert bye and bye[0]["reconnect"] is False and "organizer" in bye[0]["reason"]
    await asyncio.wait_for(stream.ended.wait(), 10)  # the SSE stream is closed too
    assert [f for f in stream.frames if f["type"] == "bye"]

    reply = await hello_reply(hub.ws_base, sid, token)
    assert reply["code"] == "forbidden" and reply["reason"] == "banned"
    assert "organizer" in reply["message"]
    async with http.get(f"{hub.base}/sse/{sid}?token={token}") as response:
        assert response.status == 403
    for path in ("", "/report", "/floor", "/stats"):
        status, body, _ = await ahttp("GET", f"{hub.base}/api/sessions/{sid}{path}", token=token)
        assert status == 403 and body["error"]["code"] == "forbidden", (path, body)
    status, _ = await mint(hub.base, sid, {"role": "hub", "name": "x"}, token)
    assert status == 403
    # Everyone else goes on; the list says the token was revoked.
    assert (await alice.ok({"type": "ask", "kind": "question", "text": "Still here?",
                            "key": "q"}))["item"]
    status, listed, _ = await ahttp("GET", f"{hub.base}/api/sessions/{sid}/tokens",
                                    token=ADMIN_KEY)
    entry = next(t for t in listed["tokens"] if t["identity"] == identity)
    assert entry["revoked"] is True and entry["joined"] is True and entry["role"] == "moderator"
    await alice.close()
    await stream.close()


async def test_a_named_token_never_used_is_listed_and_revoked(hub: RunningHub) -> None:
    """A captioner token handed out and never used: the organizer finds it in the list
    (without the token itself) and revokes it; its caption ingest is refused."""
    created = await hub.session()
    sid = created["id"]
    status, minted = await mint(hub.base, sid, {"role": "captioner", "name": "CART agency"},
                                ADMIN_KEY)
    assert status == 201
    token, identity = minted["token"], minted["identity"]
    status, listed, _ = await ahttp("GET", f"{hub.base}/api/sessions/{sid}/tokens",
                                    token=ADMIN_KEY)
    assert status == 200 and token not in json.dumps(listed)
    entry = next(t for t in listed["tokens"] if t["identity"] == identity)
    assert entry == {"identity": identity, "role": "captioner", "name": "CART agency",
                     "named": True, "expires": minted["expires"], "minted_by": "organizer",
                     "since": entry["since"], "joined": False, "revoked": False}
    status, listed, _ = await ahttp("GET", f"{hub.base}/api/sessions/{sid}/tokens",
                                    token=created["tokens"]["moderator"])
    assert status == 403  # the list is the organizer's

    ingest = f"{hub.base}/api/sessions/{sid}/captions?token={token}"
    status, _, _ = await ahttp("POST", ingest, "Good morning", content_type="text/plain")
    assert status == 200
    status, _, _ = await ahttp("DELETE", f"{hub.base}/api/sessions/{sid}/tokens/{identity}",
                               token=ADMIN_KEY)
    assert status == 200
    status, body, _ = await ahttp("POST", ingest, "Injected words", content_type="text/plain")
    assert status == 403 and body["error"]["reason"] == "banned"
    status, body, _ = await ahttp("GET", f"{hub.base}/api/sessions/{sid}/captions/seq"
                                  f"?token={token}")
    assert status == 403
    status, body, _ = await ahttp("GET", f"{hub.base}/api/sessions/{sid}/transcript",
                                  token=ADMIN_KEY)
    assert "Good morning" in body and "Injected" not in body
    status, body, _ = await ahttp("DELETE", f"{hub.base}/api/sessions/{sid}/tokens/nobody",
                                  token=ADMIN_KEY)
    assert status == 404 and body["error"]["code"] == "not_found"


async def test_the_organizer_bans_a_captioner_over_the_websocket(meeting: dict[str, Any]) -> None:
    """The `ban` command, sent by the organizer, removes a captioner who joined by the join
    link; a moderator may not, and may still remove participants."""
    hub: RunningHub = meeting["server"]
    sid = meeting["session"]["id"]
    cap, mod, alice = meeting["captioner"], meeting["moderator"], meeting["alice"]
    cap_id, personal = cap.welcome["you"]["id"], cap.token
    refused = await mod.request({"type": "ban", "identity": cap_id})
    assert refused["code"] == "forbidden" and "only the organizer" in refused["message"]
    status, body, _ = await ahttp("DELETE", f"{hub.base}/api/sessions/{sid}/tokens/{cap_id}",
                                  token=mod.token)
    assert status == 403
    organizer = Client(hub.ws_base, sid, ADMIN_KEY)
    await organizer.connect()
    refused = await organizer.request({"type": "ban", "identity": "organizer"})
    assert refused["code"] == "forbidden" and "HUB_ADMIN_KEY" in refused["message"]
    await organizer.ok({"type": "ban", "identity": cap_id, "reason": "Wrong captions"})
    await asyncio.wait_for(cap.closed.wait(), 10)
    assert cap.close_code == 4503
    status, body, _ = await ahttp("POST", f"{hub.base}/api/sessions/{sid}/captions"
                                  f"?token={personal}", "Injected", content_type="text/plain")
    assert status == 403 and body["error"]["code"] == "forbidden"
    reply = await hello_reply(hub.ws_base, sid, personal)
    assert reply["code"] == "forbidden"
    status, listed, _ = await ahttp("GET", f"{hub.base}/api/sessions/{sid}/tokens",
                                    token=ADMIN_KEY)
    entry = next(t for t in listed["tokens"] if t["identity"] == cap_id)
    assert entry["named"] is False and entry["revoked"] is True
    # Moderators still remove participants, over HTTP too.
    alice_id = alice.welcome["you"]["id"]
    status, body, _ = await ahttp("DELETE", f"{hub.base}/api/sessions/{sid}/tokens/{alice_id}",
                                  token=mod.token)
    assert status == 200
    await asyncio.wait_for(alice.closed.wait(), 10)
    assert alice.close_code == 4503
    await organizer.close()


# -- expiry ------------------------------------------------------------------------------


async def test_an_expired_or_undated_token_is_refused_with_a_clear_message(
    hub_factory: HubFactory, http: aiohttp.ClientSession
) -> None:
    hub = await hub_factory(secret=SECRET)
    created = await hub.session()
    sid = created["id"]
    expired = hub.app[keys.SIGNER].mint(sid, "moderator", identity="old-mod", name="Old",
                                        expires=int(time.time()) - 5)
    undated = signed({"s": sid, "r": "moderator"})  # as every token was before
    for token in (expired, undated):
        reply = await hello_reply(hub.ws_base, sid, token)
        assert reply["code"] == "unauthorized" and reply["reason"] == "expired", reply
        assert "ask the organizer for a new link" in reply["message"]
        async with http.get(f"{hub.base}/sse/{sid}?token={token}") as response:
            assert response.status == 401
            assert (await response.json())["error"]["reason"] == "expired"
        status, body, _ = await ahttp("GET", f"{hub.base}/api/sessions/{sid}", token=token)
        assert status == 401 and body["error"]["reason"] == "expired"
    # The same token made with a current expiry works: only the date was wrong.
    fresh = signed({"s": sid, "r": "moderator", "x": int(time.time()) + 600})
    status, _, _ = await ahttp("GET", f"{hub.base}/api/sessions/{sid}", token=fresh)
    assert status == 200


async def test_every_minted_token_expires_within_the_bounds(hub: RunningHub) -> None:
    created = await hub.session()
    sid = created["id"]
    now = time.time()
    # Join links: the end of the UTC day 30 days from now, the same links all day long.
    assert created["expires"] % DAY == 0 and 0 <= created["expires"] - (now + 30 * DAY) <= DAY
    for token in created["tokens"].values():
        assert payload(token)["x"] == created["expires"]
    status, links, _ = await ahttp("GET", f"{hub.base}/api/sessions/{sid}/links",
                                   token=ADMIN_KEY)
    assert status == 200 and links["expires"] >= created["expires"]  # minted afresh

    status, short = await mint(hub.base, sid, {"role": "hub", "name": "Accra", "ttl": 600},
                               ADMIN_KEY)
    assert status == 201 and abs(short["expires"] - (now + 600)) < 60
    assert payload(short["token"])["x"] == short["expires"]
    for bad in (59, 180 * DAY + 1, "600", 1.5, True, -1):
        status, body = await mint(hub.base, sid, {"role": "hub", "name": "x", "ttl": bad},
                                  ADMIN_KEY)
        assert status == 400 and "`ttl`" in body["error"]["message"], bad
    # A hub's attendee link never outlives the hub's own token.
    accra = Client(hub.ws_base, sid, short["token"])
    await accra.connect()
    status, attendee = await mint(hub.base, sid, {"role": "participant", "ttl": 7 * DAY},
                                  accra.token)
    assert status == 201 and attendee["expires"] <= short["expires"]
    # A personal token expires a day (the grace) after the join link it came from.
    alice = hub.client(created, "participant", name="Alice")
    welcome = await alice.connect()
    assert payload(welcome["you"]["token"])["x"] == created["expires"] + DAY
    await alice.drop()
    assert (await alice.connect(resume=True))["you"]["id"] == welcome["you"]["id"]
    for each in (accra, alice):
        await each.close()


def test_token_lifetime_settings_are_checked() -> None:
    config = Config.from_env({"HUB_TOKEN_TTL_DAYS": "7", "HUB_TOKEN_MAX_TTL_DAYS": "14",
                              "HUB_TOKEN_GRACE_HOURS": "2"})
    assert (config.token_ttl_days, config.token_max_ttl_days, config.token_grace_hours) == (
        7, 14, 2)
    for env in ({"HUB_TOKEN_TTL_DAYS": "0"}, {"HUB_TOKEN_TTL_DAYS": "400"},
                {"HUB_TOKEN_GRACE_HOURS": "-1"}):
        with pytest.raises(ValueError, match="HUB_TOKEN_"):
            Config.from_env(env)


def test_signer_expiry_and_personal_tokens() -> None:
    signer = Signer(SECRET, "admin-key-" * 4, ttl=3600, grace=60)
    link = signer.mint("s1", "participant")
    grant = signer.verify(link, "s1")
    assert grant.expires is not None and abs(grant.expires - (time.time() + 3600)) < 60
    personal = signer.verify(signer.personal(grant, "id1"), "s1")
    assert personal.identity == "id1" and personal.expires == grant.expires + 60
    with pytest.raises(HubError, match="expired"):
        signer.verify(signer.mint("s1", "screen", ttl=-1), "s1")
    with pytest.raises(HubError, match="no expiry"):
        signer.verify(signed({"s": "s1", "r": "screen"}), "s1")
    with pytest.raises(HubError, match="not valid"):
        signer.verify(signed({"s": "s1", "r": "screen", "x": 2**40}, "another-secret"), "s1")


# -- the domain: who mints and revokes what, the fold ----------------------------------------


def test_who_may_mint_and_revoke_whom() -> None:
    for target in roles.LINK_ROLES:
        roles.check_may_mint(roles.ORGANIZER, target)
        roles.check_may_revoke(roles.ORGANIZER, target)
    for target in (roles.PARTICIPANT, roles.HUB, roles.SCREEN):
        roles.check_may_mint(roles.MODERATOR, target)
        roles.check_may_revoke(roles.MODERATOR, target)
    refused = [(roles.MODERATOR, t) for t in (roles.MODERATOR, roles.CAPTIONER)]
    refused += [(r, roles.PARTICIPANT) for r in (roles.CAPTIONER, roles.PARTICIPANT,
                                                 roles.SCREEN)]
    for actor, target in refused:
        with pytest.raises(HubError) as mint_exc:
            roles.check_may_mint(actor, target)
        assert mint_exc.value.code == "forbidden"
        with pytest.raises(HubError) as revoke_exc:
            roles.check_may_revoke(actor, target)
        assert revoke_exc.value.code == "forbidden"
    for actor in (roles.ORGANIZER, roles.MODERATOR):
        with pytest.raises(HubError, match="HUB_ADMIN_KEY"):
            roles.check_may_revoke(actor, roles.ORGANIZER)


def test_named_tokens_fold_and_can_be_banned_before_use() -> None:
    state = new_session("s1")
    decision = commands.name_token(state, ORGANIZER, identity="cap1", role="captioner",
                                   name="  CART  ", expires=2_000_000_000, now=5)
    assert decision.fact is not None and "token" not in {
        k for k, v in decision.fact.items() if isinstance(v, str) and "." in v}
    apply(state, decision.fact)
    assert state.holder("cap1") == ("captioner", "CART")
    with pytest.raises(HubError) as exc:
        commands.name_token(state, ORGANIZER, identity="cap1", role="captioner", name="x",
                            expires=1, now=6)
    assert exc.value.code == "conflict"
    mod = Actor("m1", "moderator", "Chair")
    with pytest.raises(HubError):
        commands.name_token(state, mod, identity="cap2", role="captioner", name="x",
                            expires=1, now=6)
    with pytest.raises(HubError):
        commands.ban(state, mod, "cap1", None, False)
    banned = commands.ban(state, ORGANIZER, "cap1", "gone", False)
    assert banned.fact is not None
    assert [p for p in fact_kinds.project(state, banned.fact) if p[1] == "ban"] == [
        ("moderation", "ban", {"identity": "cap1", "name": "CART", "banned": True,
                               "reason": "gone"})]
    apply(state, banned.fact)
    assert state.banned == {"cap1": "gone"}
    [entry] = views.token_holders(state)
    assert entry["revoked"] is True and entry["joined"] is False
    # A store that lost the session gets the named tokens back with the rest.
    again = new_session("s1")
    restore(again, {"kind": "restored", "state": dump_state(state)})
    assert again.tokens == state.tokens and again.banned == state.banned


# -- several instances on one Redis ----------------------------------------------------------


async def test_a_revoked_moderator_is_cut_off_on_the_other_instance(
    tmp_path: Path, redis_url: str, http: aiohttp.ClientSession
) -> None:
    """Revoked through instance A, the moderator connected to B loses its websocket and its
    SSE stream, and B refuses its token on every transport."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    a, b = (HubProcess(tmp_path / f"data{n}", redis_url=redis_url, redis_prefix=prefix)
            for n in range(2))
    try:
        a.start()
        b.start()
        created = await create_session(a.url, "Two instances", state="live")
        sid = created["id"]
        status, minted = await mint(a.url, sid, {"role": "moderator", "name": "Rogue"},
                                    ADMIN_KEY)
        assert status == 201
        token, identity = minted["token"], minted["identity"]
        rogue = Client(b.ws_url, sid, token)
        await rogue.connect()
        stream = Stream(http, f"{b.url}/sse/{sid}?token={token}")
        await stream.open()
        status, _, _ = await ahttp(
            "DELETE", f"{a.url}/api/sessions/{sid}/tokens/{identity}", token=ADMIN_KEY)
        assert status == 200
        await asyncio.wait_for(rogue.closed.wait(), 20)
        assert rogue.close_code == 4503
        await asyncio.wait_for(stream.ended.wait(), 20)
        reply = await hello_reply(b.ws_url, sid, token)
        assert reply["code"] == "forbidden" and reply["reason"] == "banned"
        async with http.get(f"{b.url}/sse/{sid}?token={token}") as response:
            assert response.status == 403
        status, _, _ = await ahttp("GET", f"{b.url}/api/sessions/{sid}/report", token=token)
        assert status == 403
        await stream.close()
    finally:
        a.kill()
        b.kill()
